"""Third-party algorithms: the README's plug-in path end to end, in fresh processes.

An entry-point plug-in is installed here as a real distribution would be (a ``*.dist-info``
folder with ``entry_points.txt`` on ``sys.path``), and every check that depends on the
order of imports runs in a subprocess, where ``import metaheur`` happens for real.
"""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metaheur
from metaheur import Choice, Field, Integer, Real, _registry

ROOT = Path(__file__).resolve().parents[1]


def _readme_walk() -> str:
    """The README's RandomWalk example, as a module that does not register itself."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                 if "class RandomWalk" in b)
    assert block.startswith("import metaheur\nfrom metaheur import Field, Real")
    return block.replace("@metaheur.register\n", "")


def _install(site: Path, *, entry_point: bool = True) -> Path:
    """``mywalk_pkg.walk:RandomWalk`` under ``site``, published through the entry-point
    group when ``entry_point``."""
    pkg = site / "mywalk_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "walk.py").write_text(_readme_walk())
    if entry_point:
        info = site / "mywalk_pkg-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mywalk-pkg\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[metaheur.optimizers]\nrandom-walk = mywalk_pkg.walk:RandomWalk\n")
    return site


def _python(site: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_entry_point_plugin_with_the_documented_imports_loads(tmp_path: Path) -> None:
    """``import metaheur`` must not load plug-ins: a plug-in module that itself imports
    metaheur would meet a half-initialised package (a circular import)."""
    site = _install(tmp_path / "site")
    out = _python(site, "import metaheur; print(metaheur.available())")
    assert out.returncode == 0, out.stderr
    assert "random-walk" in ast.literal_eval(out.stdout), out.stdout
    out = _python(site, "import metaheur; print(metaheur.get('random-walk').__module__)")
    assert out.returncode == 0 and out.stdout.strip() == "mywalk_pkg.walk", out.stderr


def test_import_metaheur_loads_no_plugin(tmp_path: Path) -> None:
    code = ("import importlib.metadata as md, sys\n"
            "seen = []\n"
            "real = md.entry_points\n"
            "md.entry_points = lambda **kw: seen.append(kw) or real(**kw)\n"
            "import metaheur, metaheur.optimizers, metaheur.restarts\n"
            "assert seen == [], seen\n"
            "metaheur.available()\n"
            "assert seen == [{'group': 'metaheur.optimizers'}], seen\n")
    out = _python(tmp_path, code)
    assert out.returncode == 0, out.stderr


# ------------------------------------------------------------------ in-process registry


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A private copy of the registry, restored after the test."""
    reg = dict(_registry._REGISTRY)
    monkeypatch.setattr(_registry, "_REGISTRY", reg)
    return reg


def _walk_class(sigma: float = 0.1, module: str = "__main__", qualname: str = "RandomWalk",
                name: str = "random-walk", **attrs: object) -> type:
    """The README's RandomWalk, defined afresh (as a re-run notebook cell defines it)."""
    namespace: dict = {}
    exec(_readme_walk(), namespace)  # noqa: S102 - the README's own example
    base = namespace["RandomWalk"]
    attrs = {"name": name, "defaults": {"sigma": sigma}, "__module__": module,
             "__qualname__": qualname, **attrs}
    return type("RandomWalk", (base,), attrs)


def test_registering_a_redefinition_replaces_the_class(registry: dict) -> None:
    first = metaheur.register(_walk_class())
    again = metaheur.register(_walk_class(sigma=0.2))  # the same cell run again
    assert again is not first and metaheur.get("random-walk") is again
    assert metaheur.get("random-walk").defaults == {"sigma": 0.2}
    # another class under the same name is still refused, naming the one registered
    with pytest.raises(ValueError, match=r"'random-walk' is already registered by "
                                         r"__main__\.RandomWalk"):
        metaheur.register(_walk_class(module="other_pkg.walk"))
    with pytest.raises(ValueError, match="already registered"):
        metaheur.register(_walk_class(qualname="Other"))
    # a built-in is never replaced by a class of the same name elsewhere
    with pytest.raises(ValueError, match="already registered by metaheur.optimizers.pso.PSO"):
        metaheur.register(_walk_class(name="pso"))


# ------------------------------------------------------- restart variants of plug-ins
_SAVE = """
import json, sys
import numpy as np
import {module}
from metaheur.restarts import with_restarts
opt = with_restarts("random-walk")([(-1.0, 1.0)] * 2, pop_size=4, budget=200, seed=0,
                                   restart_patience=2)
for _ in range(12):
    X = opt.ask()
    opt.tell(X, (X ** 2).sum(axis=1))
assert opt.restarts >= 1
json.dump({{"state": opt.get_state(), "next": opt.ask().tolist()}}, open(sys.argv[1], "w"))
"""
_LOAD = """
import json, sys
import numpy as np
{imports}
from metaheur import Optimizer
saved = json.load(open(sys.argv[1]))
opt = Optimizer.from_state(saved["state"])
assert opt.name == "random-walk-ipop", opt.name
assert np.array_equal(opt.ask(), saved["next"])
"""


def test_a_plugins_restart_variant_restores_in_a_new_process(tmp_path: Path) -> None:
    site = _install(tmp_path / "site", entry_point=False)
    (site / "rw.py").write_text(_readme_walk().replace("class RandomWalk",
                                                       "@metaheur.register\nclass RandomWalk"))
    state = tmp_path / "state.json"
    out = _python(site, _SAVE.format(module="rw"), str(state))
    assert out.returncode == 0, out.stderr
    out = _python(site, _LOAD.format(imports="import rw"), str(state))
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
def test_an_entry_point_plugins_restart_variant_everywhere(tmp_path: Path) -> None:
    """Installed through the entry point: its ``-ipop`` variant is restored with no import
    of the plug-in, listed, and a CLI choice."""
    site = _install(tmp_path / "site")
    state = tmp_path / "state.json"
    out = _python(site, _SAVE.format(module="metaheur"), str(state))
    assert out.returncode == 0, out.stderr
    out = _python(site, _LOAD.format(imports=""), str(state))
    assert out.returncode == 0, out.stderr
    cli = "import sys; from metaheur.cli import main; sys.exit(main(sys.argv[1:]))"
    out = _python(site, cli, "list")
    assert out.returncode == 0, out.stderr
    assert re.search(r"^\s*random-walk-ipop\s", out.stdout, re.M), out.stdout
    out = _python(site, cli, "bench", "--algos", "random-walk-ipop,random-walk",
                  "--functions", "sphere", "--dim", "2", "--runs", "1", "--budget", "120",
                  "-j", "1", "--out", str(tmp_path / "bench"), "--json")
    assert out.returncode == 0, out.stderr
    assert "random-walk-ipop" in out.stdout


def test_get_makes_the_restart_variant_of_a_registered_plugin(registry: dict) -> None:
    metaheur.register(_walk_class())
    assert "random-walk-ipop" in metaheur.available()
    cls = metaheur.get("Random_Walk-IPOP")
    assert cls.inner_algo == "random-walk" and cls.defaults["sigma"] == 0.1
    assert metaheur.get("random-walk-ipop") is cls
    opt = cls([(-1.0, 1.0)] * 2, pop_size=4, budget=60, seed=0, sigma=0.3)
    assert opt.current_run is None and opt.params["sigma"] == 0.3
    # a redefinition of the plug-in remakes its variant with the new declarations
    metaheur.register(_walk_class(sigma=0.2))
    assert metaheur.get("random-walk-ipop").defaults["sigma"] == 0.2
    # no variant of a variant, nor of the restart layer itself
    assert "random-walk-ipop-ipop" not in metaheur.available()
    for name in ("random-walk-ipop-ipop", "ipop-ipop"):
        with pytest.raises(ValueError, match="already restarts"):
            metaheur.get(name)
    with pytest.raises(ValueError, match="unknown algorithm 'nope-ipop'"):
        metaheur.get("nope-ipop")


# ------------------------------------------------------------------- declarations
@pytest.mark.parametrize("name", [
    "dim", "lower", "pop_size", "done", "history", "rounds", "population", "nit", "nfev",
    "rng", "best_f", "budget", "seed", "x0", "bounds", "ask", "name", "params", "_hidden"])
def test_a_hyper_parameter_may_not_shadow_the_optimizer(name: str) -> None:
    with pytest.raises(TypeError, match=rf"^RandomWalk hyper-parameter\(s\) \['{name}'\] are "
                                        r"reserved \(attributes of Optimizer"):
        _walk_class(defaults={"sigma": 0.1, name: 1.0})


def test_a_hyper_parameter_may_not_shadow_a_method_of_the_class() -> None:
    with pytest.raises(TypeError, match=r"\['step'\] are reserved .* or of RandomWalk"):
        _walk_class(defaults={"sigma": 0.1, "step": 1.0}, step=lambda self: None)


def test_every_attribute_the_base_sets_is_reserved() -> None:
    from metaheur._reserved import reserved_names

    opt = metaheur.get("poa")([(0.0, 1.0)] * 2, budget=50, seed=0)
    while not opt.done:
        opt.tell(X := opt.ask(), X.sum(axis=1))
    reserved = reserved_names(type(opt))
    assert set(vars(opt)) - set(opt.params) <= reserved | {n for n in vars(opt) if n[0] == "_"}
    assert not reserved & {k for a in metaheur.available() for k in metaheur.get(a).defaults}


@pytest.mark.parametrize("shape, symbol", [(("N", "K"), "'K'"), (("n",), "'n'"), ((-1,), "-1"),
                                           ((2.0,), "2.0"), (("N", True), "True")])
def test_a_state_field_names_only_known_shape_symbols(shape: tuple, symbol: str) -> None:
    with pytest.raises(ValueError, match=rf"bad state Field shape {re.escape(repr(shape))}: "
                                         rf"{re.escape(symbol)} .*allowed: 'N' \(pop_size\), "
                                         r"'D' \(dimension\), 'M' \(largest batch\)"):
        Field(shape, "real")
    with pytest.raises(ValueError, match=r"bad state Field shape 'N'.*a tuple"):
        Field("N", "real")  # type: ignore[arg-type]


def test_a_state_field_lists_the_allowed_kinds() -> None:
    with pytest.raises(ValueError, match=r"bad state Field kind 'vector'; allowed: 'point', "
                                         r"'value', 'real', 'index', 'count', 'integer', "
                                         r"'state'"):
        Field(("N",), "vector")
    with pytest.raises(ValueError, match=r"bad state Field present 'always'; allowed: None, "
                                         r"'pending', 'iteration'"):
        Field(("N",), "real", present="always")
    with pytest.raises(ValueError, match=r"bad state Field bounds: low 1 > high 0"):
        Field(("N",), "real", low=1, high=0)


@pytest.mark.parametrize("make, message", [
    (lambda: Real(1, 0), r"Real: low 1 > high 0"),
    (lambda: Real(0, 0, low_open=True), r"Real: \(0, 0\] holds no number"),
    (lambda: Real("a"), r"Real: low must be a real number, got 'a'"),
    (lambda: Real(high=float("nan")), r"Real: high must be a real number, got nan"),
    (lambda: Real(True), r"Real: low must be a real number, got True"),
    (lambda: Integer(5, 1), r"Integer: low 5 > high 1"),
    (lambda: Integer(0.5), r"Integer: low must be an integer, an infinity or None, got 0.5"),
    (lambda: Choice(), r"Choice: give at least one option"),
    (lambda: Choice(none=True), r"Choice: give at least one option"),
])
def test_a_constraint_that_allows_nothing_is_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("default, constraint", [(-1.0, Real(0.0)), (None, Real(0.0)),
                                                 ("fast", Choice("slow")), (0, Integer(1))])
def test_a_default_must_meet_its_own_constraint(default: Any, constraint: Any) -> None:
    with pytest.raises(TypeError, match=r"^RandomWalk\.defaults\['a'\] breaks its constraint: "
                                        r"a must be "):
        _walk_class(defaults={"sigma": 0.1, "a": default},
                    constraints={"sigma": Real(0.0, low_open=True), "a": constraint})


def test_a_default_population_must_reach_the_minimum() -> None:
    with pytest.raises(TypeError, match=r"^RandomWalk\.default_pop_size 30 is below its "
                                        r"min_pop_size 40"):
        _walk_class(min_pop_size=40)


# ------------------------------------------------------------------ ipop around a plug-in
def test_ipop_starts_from_the_inner_algorithms_minimum_population(registry: dict) -> None:
    metaheur.register(_walk_class(min_pop_size=40, default_pop_size=40))
    ipop, box = metaheur.get("ipop"), [(0.0, 1.0)] * 2
    assert ipop(box, budget=500, inner="random-walk").pop_size == 40  # not ipop's 30
    assert ipop(box, budget=500, inner="random-walk", x0=np.full((45, 2), 0.5)).pop_size == 45
    assert ipop(box, budget=500, inner="gwo").pop_size == 30
    assert metaheur.get("random-walk-ipop")(box, budget=500).pop_size == 40
    with pytest.raises(ValueError, match=r"pop_size must be an integer >= 40, got 35"):
        ipop(box, budget=500, inner="random-walk", pop_size=35)


def test_a_samplers_default_population_reaches_the_algorithms_minimum(registry: dict) -> None:
    """The sampler clipped its default population to [max(min_pop_size, 4), 30] with the
    class's own minimum: ``ipop`` around a plug-in needing 40 agents got 10, and the
    plug-in or its ``-ipop`` 30 ("pop_size must be an integer >= 40")."""
    from metaheur.optuna import MetaheuristicSampler

    metaheur.register(_walk_class(min_pop_size=40, default_pop_size=40))
    for algo, kw in (("ipop", {"inner": "random-walk"}), ("random-walk-ipop", {}),
                     ("random-walk", {})):
        assert MetaheuristicSampler(algo, seed=0, n_trials=100, **kw)._pop_size == 40
    assert MetaheuristicSampler("ipop", seed=0, n_trials=100, inner="gwo")._pop_size == 10
    assert MetaheuristicSampler("pso", seed=0, n_trials=2000)._pop_size == 30


def test_ipop_given_an_inner_hyper_parameter_points_to_inner_params(registry: dict) -> None:
    metaheur.register(_walk_class())
    ipop, box = metaheur.get("ipop"), [(0.0, 1.0)] * 2
    with pytest.raises(ValueError, match=r"^unknown hyper-parameter\(s\) \['sigma'\] for 'ipop' "
                                         r"\(hyper-parameters of 'random-walk': pass them as "
                                         r"inner_params=\{'sigma': \.\.\.\}\); allowed: inner, "):
        ipop(box, budget=500, inner="random-walk", sigma=0.2)
    with pytest.raises(ValueError, match=r"\['a', 'sigma'\] for 'ipop'; allowed: inner, "):
        ipop(box, budget=500, inner="random-walk", sigma=0.2, a=1)
    with pytest.raises(ValueError, match=r"hyper-parameters of 'pso': pass them as inner_params="
                                         r"\{'inertia': \.\.\., 'w': \.\.\.\}"):
        ipop.validate_params(inertia="constant", w=0.5)  # inner: the default, "pso"
    assert ipop(box, budget=500, inner="random-walk",
                inner_params={"sigma": 0.2})._inner_params == {"sigma": 0.2}


@pytest.mark.parametrize("param", ["restarts", "current_run", "inner_algo", "restart_growth"])
def test_a_plugin_whose_names_the_restart_layer_uses_has_no_variant(registry: dict,
                                                                     param: str) -> None:
    metaheur.register(_walk_class(defaults={"sigma": 0.1, param: 1}))
    assert "random-walk" in metaheur.available()
    assert "random-walk-ipop" not in metaheur.available()
    with pytest.raises(ValueError, match=rf"^'random-walk' has hyper-parameters \['{param}'\] "
                                         r"that the restart layer uses"):
        metaheur.get("random-walk-ipop")


def test_a_constructor_may_name_its_own_hyper_parameters() -> None:
    def __init__(self: Any, bounds: Any, *, sigma: float = 0.1, **kw: Any) -> None:
        super(cls, self).__init__(bounds, sigma=sigma, **kw)

    cls = _walk_class(__init__=__init__)
    assert cls([(0.0, 1.0)], budget=40, sigma=0.3).sigma == 0.3


def test_importlib_reload_of_a_plugin_module(registry: dict, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    (tmp_path / "rw_reload.py").write_text(
        _readme_walk().replace("class RandomWalk", "@metaheur.register\nclass RandomWalk"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("rw_reload")
        first = metaheur.get("random-walk")
        assert metaheur.get("random-walk-ipop")._variant_of is first
        again = importlib.reload(module).RandomWalk
        assert again is not first and metaheur.get("random-walk") is again
        assert metaheur.get("random-walk-ipop")._variant_of is again
    finally:
        sys.modules.pop("rw_reload", None)


# ----------------------------------------------------------- review of the plug-in fixes
def test_threads_asking_first_all_see_an_installed_plugin(tmp_path: Path) -> None:
    """The lazy load marked itself done before loading: while one thread imported a slow
    plug-in, the others were told it was an unknown algorithm."""
    site = _install(tmp_path / "site")
    walk = site / "mywalk_pkg" / "walk.py"
    walk.write_text("import time\ntime.sleep(0.5)\n" + walk.read_text())
    code = ("import threading, metaheur\n"
            "res = {}\n"
            "def work(i):\n"
            "    try:\n"
            "        res[i] = metaheur.get('random-walk').name\n"
            "    except Exception as exc:\n"
            "        res[i] = repr(exc)\n"
            "ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]\n"
            "[t.start() for t in ts]; [t.join() for t in ts]\n"
            "assert res == {i: 'random-walk' for i in range(3)}, res\n"
            "assert metaheur.get('random-walk-ipop') is metaheur.get('random-walk-ipop')\n")
    out = _python(site, code)
    assert out.returncode == 0, out.stderr


def test_a_broken_plugin_warned_as_an_error_does_not_stop_the_others(tmp_path: Path) -> None:
    """Under ``-W error::RuntimeWarning`` the first broken plug-in's warning escaped the
    loop, and the plug-ins after it were never loaded."""
    site = _install(tmp_path / "site")
    info = site / "mywalk_pkg-1.0.dist-info" / "entry_points.txt"
    info.write_text("[metaheur.optimizers]\naaa-broken = no_such_module:Nothing\n"
                    "random-walk = mywalk_pkg.walk:RandomWalk\n")
    code = ("import metaheur\n"
            "try:\n"
            "    metaheur.available()\n"
            "except RuntimeWarning as w:\n"
            "    assert 'aaa-broken' in str(w), w\n"
            "assert 'random-walk' in metaheur.available()\n")
    out = _python(site, code)
    assert out.returncode == 0, out.stderr


def test_a_variant_that_cannot_be_remade_is_no_longer_listed(registry: dict) -> None:
    """A redefinition with a name the restart layer uses left the old ``-ipop`` listed,
    which ``get`` then refused (``metaheur list`` failed, ``ipop(inner='nope')`` gave the
    plug-in's message instead of naming the bad inner)."""
    metaheur.register(_walk_class())
    assert "random-walk-ipop" in metaheur.available()
    metaheur.register(_walk_class(defaults={"sigma": 0.1, "restarts": 1}))
    assert "random-walk-ipop" not in metaheur.available()
    assert "random-walk-ipop" not in registry
    with pytest.raises(ValueError, match="that the restart layer uses"):
        metaheur.get("random-walk-ipop")
    with pytest.raises(ValueError, match="inner"):
        metaheur.get("ipop")([(-1.0, 1.0)] * 2, budget=100, inner="nope")


def test_a_class_of_its_own_may_take_a_name_a_variant_was_made_under(registry: dict) -> None:
    """Any ``available()`` or unknown-name ``get()`` makes every variant; another
    package's own class named ``<x>-ipop`` was then refused as already registered."""
    metaheur.register(_walk_class())
    with pytest.raises(ValueError, match="unknown algorithm"):
        metaheur.get("nmae")
    own = metaheur.register(_walk_class(name="random-walk-ipop", module="pkg_b"))
    assert metaheur.get("random-walk-ipop") is own


def test_a_class_registered_by_contract_does_not_break_the_listing(registry: dict) -> None:
    class Duck:
        name = "duck"

        def ask(self) -> None: ...
        def tell(self, X: Any, f: Any) -> None: ...
        def get_state(self) -> None: ...
        @classmethod
        def from_state(cls, s: Any) -> None: ...
        def _init_state(self, X: Any, f: Any) -> None: ...
        def _ask(self, t: int, r: int) -> None: ...
        def _tell(self, t: int, r: int, X: Any, f: Any) -> None: ...

    metaheur.register(Duck)  # type: ignore[arg-type]
    names = metaheur.available()
    assert "duck" in names and "duck-ipop" not in names
    with pytest.raises(ValueError, match="unknown algorithm 'nope'"):
        metaheur.get("nope")


def test_declarations_that_worked_before_still_work() -> None:
    """A list shape, an infinite or whole-float Integer bound and descriptive names
    (``reference``, ``summary``) were accepted before the declaration checks, harmlessly."""
    assert Field(["N", "D"], "point").shape == ("N", "D")  # type: ignore[arg-type]
    assert Integer(1, float("inf")) == Integer(1, None)  # type: ignore[arg-type]
    assert Integer(1.0, 5.0) == Integer(1, 5)  # type: ignore[arg-type]
    assert Integer(float("-inf"), 3).check("k", 2) == 2  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="integer"):
        Integer(1.5)  # type: ignore[arg-type]
    for name in ("reference", "summary"):
        cls = _walk_class(defaults={"sigma": 0.1, name: 1.0})
        assert name in cls.defaults


def test_a_generic_plugin_is_checked_against_the_optimizer() -> None:
    """``class H(Optimizer, Generic[T])``: the reserved names were taken from typing.Generic
    (the first class defining ``__init_subclass__``), so ``seed`` was let through."""
    from typing import Generic, TypeVar

    T = TypeVar("T")
    namespace: dict = {}
    exec(_readme_walk(), namespace)  # noqa: S102 - the README's own example
    base = namespace["RandomWalk"]
    with pytest.raises(TypeError, match="seed"):
        class H(base, Generic[T]):  # type: ignore[valid-type, misc]
            name = "h"
            defaults = {"sigma": 0.1, "seed": 1}  # noqa: RUF012


# ------------------------------------------------- session 27's audit of the plug-in path
@pytest.mark.parametrize("attrs, match", [
    ({"constraints": {"sigma": (0, 1)}}, r"constraints\['sigma'\] must be a metaheur constraint"),
    ({"state_fields": ["_X", "_f"]}, r"state_fields must be a dict"),
    ({"defaults": [("sigma", 0.1)]}, r"defaults must be a dict"),
])
def test_a_declaration_of_the_wrong_type_is_a_type_error_naming_it(registry: dict,
                                                                    attrs: dict,
                                                                    match: str) -> None:
    """Regression: these raised ``AttributeError: 'tuple' object has no attribute 'check'``
    (or ``'list' ... 'items'``), naming neither the class nor the declaration."""
    with pytest.raises(TypeError, match=rf"RandomWalk\.{match}"):
        metaheur.register(_walk_class(name="bad-decl", **attrs))


@pytest.mark.parametrize("name", ["my walk", "-walk", "walk!", "wälk", "walk.v2", "walk-"])
def test_a_name_must_be_kebab_case(registry: dict, name: str) -> None:
    """Regression: only the normalised form was compared, so names the CLI cannot take
    (``--algo -walk``) or that are not kebab-case registered."""
    with pytest.raises(ValueError, match="kebab-case"):
        metaheur.register(_walk_class(name=name))


def test_an_entry_point_named_otherwise_than_its_class_or_not_a_class_is_warned(
        tmp_path: Path) -> None:
    """Regression: ``my-walk = pkg:RandomWalk`` (whose name is ``random-walk``) registered
    under the class's name without a word, so ``get("my-walk")`` said "unknown"; an entry
    point naming a function was dropped silently."""
    site = _install(tmp_path / "site")
    (site / "mywalk_pkg" / "fn.py").write_text("def factory():\n    return None\n")
    info = site / "mywalk_pkg-1.0.dist-info" / "entry_points.txt"
    info.write_text("[metaheur.optimizers]\nmy-walk = mywalk_pkg.walk:RandomWalk\n"
                    "fn = mywalk_pkg.fn:factory\n")
    code = ("import warnings, metaheur\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    names = metaheur.available()\n"
            "text = ' | '.join(str(x.message) for x in w)\n"
            "assert 'random-walk' in names, names\n"
            "assert \"'my-walk'\" in text and \"'random-walk'\" in text, text\n"
            "assert \"'fn'\" in text and 'Optimizer subclass or a module' in text, text\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(site)}, timeout=120)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("attr", ["_pending", "_history", "_round"])
def test_a_hook_that_sets_a_private_attribute_of_the_base_is_refused(attr: str) -> None:
    """Regression (session 27's audit): a plug-in keeping its own ``self._pending`` (or
    ``_history``, ``_round``) overwrote the base class's books, and the run crashed later
    with ``TypeError: 'NoneType' object is not subscriptable``."""
    namespace: dict = {}
    exec(_readme_walk(), namespace)  # noqa: S102 - the README's own example
    base = namespace["RandomWalk"]

    def _ask(self, t: int, r: int) -> np.ndarray:
        X = base._ask(self, t, r)
        self._scratch = X if self._round >= 0 else X  # its own name; reading the base's
        return X

    src = (f"def _tell(self, t, r, X, f):\n    self.{attr} = X\n"
           "    base._tell(self, t, r, X, f)\n")
    scope = {"base": base}
    exec(src, scope)  # noqa: S102
    with pytest.raises(TypeError, match=rf"self\.{attr}.*Optimizer's own"):
        type("Clobber", (base,), {"name": "clobber", "_tell": scope["_tell"]})
    type("Fine", (base,), {"name": "fine", "_ask": _ask})  # reading the books is allowed


def test_a_variant_that_cannot_be_made_is_tried_once_per_class(
        registry: dict, caplog: pytest.LogCaptureFixture) -> None:
    """Regression: every ``available()`` call tried ``"<name>-ipop-ipop"`` again and logged
    "no variant" for each name (``metaheur tune -vv`` was flooded); a new class of that
    name is tried afresh."""
    metaheur.available()
    with caplog.at_level(logging.DEBUG, logger="metaheur._registry"):
        metaheur.available()
        metaheur.available()
    assert not [r for r in caplog.records if "no variant" in r.getMessage()]
    walk = _walk_class()
    metaheur.register(walk)
    assert "random-walk-ipop" in metaheur.available()
    with caplog.at_level(logging.DEBUG, logger="metaheur._registry"):
        metaheur.available()
        metaheur.available()
    tried = [r for r in caplog.records if "no variant" in r.getMessage()]
    assert [r.getMessage().split("'")[1] for r in tried] == ["random-walk-ipop-ipop"]
