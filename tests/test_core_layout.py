"""How the core is put together (issue 9): no import circles, one way to declare and
validate hyper-parameters, declared state fields, public names for what others read."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metaheur
from metaheur import Optimizer
from metaheur._params import Choice, Dict, Flag, Integer, Real

PACKAGE = Path(metaheur.__file__).parent
BUILTIN = [a for a in metaheur.available() if metaheur.get(a).__module__.startswith("metaheur.")]


def _runtime_imports(path: Path) -> set[str]:
    """metaheur modules a file imports anywhere (functions too), except for type checking."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("metaheur.")}


def test_core_modules_import_no_circle() -> None:
    modules = {f"metaheur.{p.stem}": p for p in PACKAGE.glob("_*.py") if p.stem != "__init__"}
    graph = {m: _runtime_imports(p) & set(modules) for m, p in modules.items()}
    state: dict[str, int] = {}

    def dfs(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            if state.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack, m, n]))
            if n not in state:
                dfs(n, [*stack, m])
        state[m] = 2

    for m in graph:
        if m not in state:
            dfs(m, [])
    assert "metaheur._base" not in graph["metaheur._registry"]
    assert "metaheur._registry" in graph["metaheur._snapshot"]  # from_state dispatch


@pytest.mark.parametrize("algo", BUILTIN)
def test_every_hyper_parameter_has_a_declared_constraint(algo: str) -> None:
    cls = metaheur.get(algo)
    assert set(cls.constraints) == set(cls.defaults)
    assert cls.validate_params() == cls.defaults  # the published defaults are valid
    for key, spec in cls.constraints.items():
        assert isinstance(spec, (Real, Integer, Flag, Choice, Dict))
        for bad in ("x", [], float("nan")):
            with pytest.raises(ValueError, match=f"^{key} must be .*, got"):
                cls.validate_params(**{key: bad})
            with pytest.raises(ValueError, match=f"^{key} must be"):
                cls([(0.0, 1.0)], pop_size=10, budget=100, **{key: bad})


def test_validate_params_without_a_box() -> None:
    cls = metaheur.get("aco")
    assert cls.validate_params(pop_size=5, q=np.float32(0.5), n_ants=np.int64(3)) == {
        "q": 0.5, "xi": 0.85, "n_ants": 3, "kernel_per_dim": False, "rotation": False}
    with pytest.raises(ValueError, match="pop_size must be an integer >= 2, got 1"):
        cls.validate_params(pop_size=1)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        cls.validate_params(nope=1)
    with pytest.raises(ValueError, match=r"^n_ants must be an integer >= 1 or None, got 0$"):
        cls.validate_params(n_ants=0)


@pytest.mark.parametrize(
    "spec, good, bad",
    [
        (Real(0.0, 1.0, low_open=True), [1, 0.5, np.float32(1e-3)], [0, 1.5, True, "0.5", None]),
        (Real(none=True), [None, -1e300], [float("inf"), np.bool_(True)]),
        (Integer(low=2, high=4), [2, np.int8(4)], [1, 5, 2.0, True]),
        (Flag(), [True, np.bool_(False)], [1, 0, "yes", None]),
        (Choice("a", "b"), ["a", "b"], ["c", 1, None]),
    ],
)
def test_constraints(spec: Any, good: list, bad: list) -> None:
    for value in good:
        spec.check("p", value)
    for value in bad:
        with pytest.raises(ValueError, match="^p must be " + re.escape(spec.describe())):
            spec.check("p", value)


def test_constraints_must_name_hyper_parameters() -> None:
    with pytest.raises(TypeError, match="names no hyper-parameter"):
        type("Bad", (metaheur.get("gwo"),), {"constraints": {"sigma": Real()}})


@pytest.mark.parametrize("algo", BUILTIN)
def test_state_fields_are_declared(algo: str) -> None:
    cls = metaheur.get(algo)
    assert cls.state_fields and cls._state_fields == tuple(cls.state_fields)
    opt = cls([(0.0, 1.0)] * 2, pop_size=10, budget=100, seed=0)
    opt.tell(opt.ask(), np.zeros(10))
    assert set(opt.get_state()["algo_state"]) == set(cls.state_fields)
    # one naming rule: state is private (leading underscore); the public view is
    # `population`, `best_x`, `best_f`
    assert all(name.startswith("_") for name in cls.state_fields), cls.state_fields


def test_public_round_and_rounds() -> None:
    opt = metaheur.get("poa")([(0.0, 1.0)], pop_size=4, budget=100, seed=0)
    assert opt.rounds == (4, 4) and opt.round == 0
    for expected in (0, 0, 1, 0):  # initial population, then phase 1, phase 2, phase 1
        assert opt.round == expected
        opt.tell(opt.ask(), np.zeros(4))
    assert metaheur.get("aco")([(0.0, 1.0)], pop_size=4, budget=100, n_ants=3).rounds == (3,)


def test_plugin_with_names_only_still_restores() -> None:
    class Walk(Optimizer):
        name = "walk-test"
        _state_fields = ("_X", "_f")

        def _init_state(self, X: Any, f: Any) -> None:
            self._X, self._f = X.copy(), f.copy()

        def _ask(self, t: int, r: int) -> Any:
            return self._X + 0.1 * self.rng.standard_normal(self._X.shape)

        def _tell(self, t: int, r: int, X: Any, f: Any) -> None:
            better = f < self._f
            self._X[better], self._f[better] = X[better], f[better]

        @property
        def population(self) -> Any:
            return self._X, self._f

    opt = Walk([(0.0, 1.0)] * 2, pop_size=5, budget=50, seed=0)
    opt.tell(opt.ask(), np.zeros(5))
    again = Walk.from_state(opt.get_state())
    assert np.array_equal(again.ask(), opt.ask())
    state = opt.get_state()
    state["algo_state"]["_X"] = [0.0] * 10**6
    with pytest.raises(ValueError, match="'_X' holds more than"):
        Walk.from_state(state)


def test_declarations_are_public_and_checked() -> None:
    assert {"Real", "Integer", "Flag", "Choice", "Field"} <= set(metaheur.__all__)
    with pytest.raises(TypeError, match="state_fields must map names to Field"):
        type("Bad", (metaheur.get("gwo"),), {"state_fields": {"_X": ("N", "D")}})
    with pytest.raises(ValueError, match="bad state Field"):
        metaheur.Field(("N",), "vector")


def test_levy_beta_below_the_mantegna_overflow_is_refused() -> None:
    """levy_beta=1e-300 passed validation and then raised a raw OverflowError at ask."""
    cls = metaheur.get("dlf-aoa")
    with pytest.raises(ValueError, match=r"levy_beta must be .* in \[0.001, 2\]"):
        cls([(0.0, 1.0)], budget=100, levy_beta=1e-300)
    opt = cls([(0.0, 1.0)] * 2, budget=60, pop_size=10, seed=0, levy_beta=1e-3)
    while not opt.done:
        X = opt.ask()
        assert np.isfinite(X).all()
        opt.tell(X, np.sum(X * X, axis=1))


def test_modules_and_classes_stay_small() -> None:
    """Issue 9: no module over 450 lines and no class over 300 in metaheur/ or models/."""
    import ast
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    files = [p for top in ("metaheur", "models") for p in (repo / top).rglob("*.py")]
    assert len(files) > 40
    big_modules, big_classes = {}, {}
    for path in files:
        text = path.read_text()
        name = path.relative_to(repo).as_posix()
        if len(text.splitlines()) > 450:
            big_modules[name] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                big_classes[f"{name}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert not big_modules, big_modules
    assert not big_classes, big_classes


def test_test_files_have_unique_names() -> None:
    """pytest imports the test files without packages by their base name: two files of one
    name in different folders stop the collection ("import file mismatch")."""
    files = sorted((Path(__file__).parent).rglob("test_*.py"))
    names = [f.name for f in files]
    assert len(files) > 40
    assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
