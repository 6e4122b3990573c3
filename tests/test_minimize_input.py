"""``minimize()`` with hostile objectives and arguments (issue 12), its weight (issue 9)
and its ``success``/``status`` convention (issue 13)."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import metaheur
from metaheur import _minimize
from metaheur._minimize import STATUS, OptimizeResult

BOX = [(-1.0, 1.0)] * 2


def sphere_point(x: np.ndarray) -> float:
    return float(np.sum((x - 0.3) ** 2))


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


# ------------------------------------------------------------------ objective values
def _torch_grad(x: np.ndarray) -> Any:
    torch = pytest.importorskip("torch")
    t = torch.tensor(x, requires_grad=True)
    return (t * t).sum()


BAD_VALUES = {
    "str": (lambda x: "0.5", "returned a str"),
    "dict": (lambda x: {"loss": 0.5}, "returned a dict"),
    "complex": (lambda x: complex(sphere_point(x), 1.0), "returned a complex number"),
    "bigint": (lambda x: 10**400, "returned a number too large for a float"),
    "none": (lambda x: None, "returned a NoneType"),
    "bool": (lambda x: True, "returned a bool"),
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_pointwise_non_numbers_are_failed_evaluations(kind: str) -> None:
    bad, reason = BAD_VALUES[kind]

    def fun(x: np.ndarray) -> Any:
        return bad(x) if x[0] > 0.0 else sphere_point(x)

    res = metaheur.minimize(fun, BOX, "pso", budget=60, pop_size=10, seed=0)
    assert res.nfev == 60 and 0 < res.n_failed < 60
    assert res.failures == {reason: res.n_failed}
    assert math.isfinite(res.fun) and res.x[0] <= 0.0
    with pytest.raises(TypeError, match=f"objective {reason}.*expected a real number"):
        metaheur.minimize(fun, BOX, "pso", budget=60, pop_size=10, seed=0, on_error="raise")


def test_pointwise_tensor_requiring_grad_is_a_number() -> None:
    res = metaheur.minimize(_torch_grad, BOX, "gwo", budget=40, pop_size=10, seed=0)
    assert res.n_failed == 0 and res.fun == pytest.approx(float(np.sum(res.x**2)), rel=1e-12)


def test_real_number_types_are_accepted() -> None:
    values = iter([Fraction(1, 3), np.float32(0.25), np.int64(2), complex(0.5, 0.0),
                   [0.125], np.array(0.75), np.array([0.5])] * 10)
    res = metaheur.minimize(lambda x: next(values), BOX, "gwo", budget=40, pop_size=10, seed=0)
    assert res.n_failed == 0 and res.fun == 0.125


def test_vectorised_imaginary_parts_are_not_dropped() -> None:
    def fun(X: np.ndarray) -> np.ndarray:
        return sphere(X) + 1j * (X[:, 0] > 0.0)

    res = metaheur.minimize(fun, BOX, "pso", budget=60, pop_size=10, seed=0, vectorized=True)
    assert 0 < res.n_failed < 60 and res.failures == {"returned a complex number": res.n_failed}
    assert res.x[0] <= 0.0
    with pytest.raises(TypeError, match="complex"):
        metaheur.minimize(fun, BOX, "pso", budget=60, pop_size=10, seed=0, vectorized=True,
                          on_error="raise")


def test_vectorised_objects_and_tensors() -> None:
    torch = pytest.importorskip("torch")

    def objs(X: np.ndarray) -> list[Any]:
        return ["x" if x[0] > 0 else float(sphere_point(x)) for x in X]

    res = metaheur.minimize(objs, BOX, "pso", budget=60, pop_size=10, seed=0, vectorized=True)
    assert 0 < res.n_failed and res.failures == {"returned a str": res.n_failed}

    def grad(X: np.ndarray) -> Any:
        t = torch.tensor(X, requires_grad=True)
        return (t * t).sum(dim=1)

    res = metaheur.minimize(grad, BOX, "pso", budget=60, pop_size=10, seed=0, vectorized=True)
    assert res.n_failed == 0 and math.isfinite(res.fun)


def test_non_finite_values_are_counted_by_reason() -> None:
    def fun(x: np.ndarray) -> float:
        if x[1] > 0.5:
            raise ZeroDivisionError
        return math.nan if x[0] > 0.5 else sphere_point(x)

    res = metaheur.minimize(fun, BOX, "aco", budget=80, pop_size=10, seed=0)
    assert set(res.failures) == {"raised ZeroDivisionError", "non-finite value"}
    assert sum(res.failures.values()) == res.n_failed


@pytest.mark.parametrize("vectorized", [False, True])
def test_objective_may_change_its_input(vectorized: bool) -> None:
    def fun(x: np.ndarray) -> Any:
        np.clip(x, -0.5, 0.5, out=x)
        return sphere(x) if vectorized else sphere_point(x)

    res = metaheur.minimize(fun, BOX, "poa", budget=70, pop_size=10, seed=0,
                            vectorized=vectorized)
    assert res.nfev == 70 and res.n_failed == 0


# ------------------------------------------------------------------ arguments
@pytest.mark.parametrize("bounds", [[(-1e308, 1e308)], [(0.0, 1.0), (-1.7e308, 1.7e308)]])
def test_bounds_whose_width_overflows_are_rejected(bounds: list) -> None:
    with pytest.raises(ValueError, match="width upper - lower overflows"):
        metaheur.minimize(sphere, bounds, "gwo", budget=100, vectorized=True)
    with pytest.raises(ValueError, match="could not convert"):
        metaheur.get("gwo")([(0, 10**400)], budget=30)
    ok = metaheur.get("gwo")([(-8e307, 8e307)], budget=30, pop_size=10, seed=0)
    assert np.isfinite(ok.ask()).all()


@pytest.mark.parametrize("x0, f0, name", [("a", None, "x0"), ([[0.0, 10**400]], None, "x0"),
                                          ([[0.0, 0.0]], ["a"], "f0")])
def test_bad_warm_start_names_the_argument(x0: Any, f0: Any, name: str) -> None:
    with pytest.raises(ValueError, match=f"{name} must be an array of real numbers"):
        metaheur.get("gwo")(BOX, budget=100, x0=x0, f0=f0)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, [1, -2]])
def test_bad_seed_names_the_argument(seed: Any) -> None:
    with pytest.raises(ValueError, match="seed must be"):
        metaheur.minimize(sphere, BOX, "gwo", budget=100, vectorized=True, seed=seed)


def test_bad_algo_and_callback() -> None:
    with pytest.raises(ValueError, match="algo must be a registered name or an Optimizer"):
        metaheur.minimize(sphere, BOX, dict, budget=100, vectorized=True)
    with pytest.raises(ValueError, match="callback must be callable"):
        metaheur.minimize(sphere, BOX, "gwo", budget=100, vectorized=True, callback=3)


@pytest.mark.parametrize("n_jobs", [0, 1.5, True, "2"])
def test_bad_n_jobs_names_the_argument(n_jobs: Any) -> None:
    with pytest.raises(ValueError, match="n_jobs must be"):
        metaheur.minimize(sphere_point, BOX, "gwo", budget=100, n_jobs=n_jobs)


def test_numpy_scalars_for_time_limit_and_target() -> None:
    res = metaheur.minimize(sphere, BOX, "gwo", budget=100, vectorized=True, seed=0,
                            time_limit=np.float32(60.0), target=np.float64(-1.0))
    assert res.nfev == 100
    res = metaheur.minimize(sphere, BOX, "gwo", budget=1000, vectorized=True, seed=0,
                            target=np.int64(1))
    assert res.status == 0 and res.fun <= 1
    for name in ("time_limit", "target"):
        for bad in (True, np.bool_(True), "1", math.inf):
            with pytest.raises(ValueError, match=f"{name} must be a finite real number"):
                metaheur.minimize(sphere, BOX, "gwo", budget=100, vectorized=True,
                                  **{name: bad})


# ------------------------------------------------------------------ status (issue 13)
def test_status_follows_scipy() -> None:
    kw: dict[str, Any] = dict(vectorized=True, seed=0, pop_size=10)
    res = metaheur.minimize(sphere, BOX, "gwo", budget=100, **kw)
    assert (res.status, res.success, res.message) == (1, False, STATUS[1])
    res = metaheur.minimize(sphere, BOX, "gwo", max_iter=3, **kw)
    assert (res.status, res.success, res.message) == (2, False, STATUS[2]) and res.nit == 3
    res = metaheur.minimize(sphere, BOX, "gwo", budget=10_000, target=1e-2, **kw)
    assert (res.status, res.success) == (0, True) and "target" in res.message
    res = metaheur.minimize(sphere, BOX, "gwo", budget=100, callback=lambda r: True, **kw)
    assert (res.status, res.success) == (99, False)
    for code in STATUS:
        assert f"\n        {code} " in metaheur.minimize.__doc__  # the documented table


# ------------------------------------------------------------------ result and history
def test_callback_does_not_build_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each callback got a rebuilt history table: quadratic cost in the run's length."""
    calls: list[int] = []
    real = _minimize._history
    monkeypatch.setattr(_minimize, "_history", lambda opt, rows, *more: calls.append(rows)
                        or real(opt, rows, *more))
    seen: list[int] = []
    res = metaheur.minimize(sphere, BOX, "pso", max_iter=50, pop_size=5, seed=0,
                            vectorized=True, callback=lambda r: seen.append(r.nit))
    assert len(seen) == 51 and calls == []
    h = res.history
    assert calls == [51] and len(h) == 51  # one row per iteration, t = 0..50
    assert list(h["nit"]) == list(range(51))

    rows: list[int] = []
    metaheur.minimize(sphere, BOX, "pso", max_iter=5, pop_size=5, seed=0, vectorized=True,
                      callback=lambda r: rows.append(len(r.history["nit"])))
    assert rows == [1, 2, 3, 4, 5, 6]  # a snapshot at the time of the call


def test_result_is_a_dict_with_attributes() -> None:
    res = metaheur.minimize(sphere, BOX, "aoa", budget=70, pop_size=10, seed=0,
                            vectorized=True)
    assert isinstance(res, OptimizeResult) and isinstance(res, dict)
    as_dict = dict(res)
    assert not isinstance(as_dict["history"], _minimize._Lazy)
    assert {**res}["history"] is res.history is res["history"] is res.get("history")
    assert res.fun == res["fun"] and "history" in dir(res) and "fun:" in repr(res)
    res.extra = 1
    assert res["extra"] == 1
    fresh = metaheur.minimize(sphere, BOX, "gwo", budget=40, pop_size=10, seed=0,
                              vectorized=True)
    again = pickle.loads(pickle.dumps(fresh))  # e.g. returned by a joblib worker
    assert again.history["best_f"].iloc[-1] == again.fun == fresh.fun
    with pytest.raises(AttributeError):
        _ = res.no_such_field


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_and_first_minimize_load_no_heavy_modules() -> None:
    heavy = ("pandas", "scipy", "matplotlib", "torch")
    loaded = _run(f"""
        import sys
        import metaheur, metaheur.optuna
        res = metaheur.minimize(lambda x: float(x @ x), [(-1, 1)] * 2, "gwo", budget=50)
        res.fun, res.x, res.success
        print(sorted(m for m in {heavy!r} if m in sys.modules))
    """)
    assert loaded == "[]"


def test_history_without_pandas_is_a_dict_of_arrays() -> None:
    kind = _run("""
        import sys
        sys.modules["pandas"] = None  # as if pandas were not installed
        import metaheur
        res = metaheur.minimize(lambda x: float(x @ x), [(-1, 1)] * 2, "gwo", budget=50)
        print(type(res.history).__name__, sorted(res.history), len(res.history["nit"]))
    """)
    assert kind == "dict ['best_f', 'nfev', 'nit'] 2"


# ------------------------------------------------------------- vectorized= and callback
def test_pointwise_objective_passed_as_vectorised_warns_once() -> None:
    """Regression: every batch raised TypeError, the whole budget was spent and the result
    said only 'every evaluation failed': the logger's warning never showed (NullHandler)."""
    box = [(-1.0, 1.0)] * 3
    with pytest.warns(RuntimeWarning) as rec:
        res = metaheur.minimize(lambda x: float(x[0] ** 2 + x[1] ** 2 + x[2] ** 2), box,
                                budget=60, pop_size=10, vectorized=True, seed=0)
    assert len(rec) == 1 and rec[0].filename == __file__  # points at the caller
    text = str(rec[0].message)
    assert "TypeError" in text and "vectorized=True" in text and "(10, 3)" in text
    assert res.failures == {"raised TypeError": 60} and res.n_failed == 60  # as before
    calls = []

    def later(X: np.ndarray) -> np.ndarray:  # fails after the first batch: no warning
        calls.append(1)
        if len(calls) > 1:
            raise ValueError("later")
        return sphere(X)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = metaheur.minimize(later, BOX, budget=40, pop_size=10, vectorized=True, seed=0)
    assert res.failures == {"raised ValueError": 30}


def _typo(x: np.ndarray) -> float:
    return float(x @ y)  # type: ignore[name-defined]  # noqa: F821  (the user's typo)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("reuse", [True, False])
def test_pointwise_objective_that_always_raises_warns_once_with_its_message(
        n_jobs: int, reuse: bool) -> None:
    """Regression (audit): an objective with a NameError spent the whole budget in silence,
    and under n_jobs > 1 the message never left the worker (only 'raised NameError')."""
    with pytest.warns(RuntimeWarning) as rec:
        res = metaheur.minimize(_typo, BOX, "pso", budget=30, pop_size=10, seed=0,
                                n_jobs=n_jobs, reuse_evaluated=reuse)
    assert len(rec) == 1 and rec[0].filename == __file__  # once, at the caller
    text = str(rec[0].message)
    assert "NameError: name 'y' is not defined" in text and "10 points" in text
    assert "on_error='raise'" in text
    assert res.failures == {"raised NameError": 30} and res.n_failed == 30  # the run goes on


def test_pointwise_objective_failing_on_some_points_does_not_warn() -> None:
    def some(x: np.ndarray) -> float:
        if x[0] > 0.5:
            raise ValueError("infeasible")
        return float(x @ x)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = metaheur.minimize(some, BOX, "pso", budget=40, pop_size=10, seed=0)
    assert 0 < res.n_failed < 40


@pytest.mark.parametrize("flag", ["yes", 1, None, np.array([True, False])])
def test_vectorized_must_be_a_bool(flag: Any) -> None:
    with pytest.raises(ValueError, match="vectorized must be True or False"):
        metaheur.minimize(sphere, BOX, budget=40, vectorized=flag)


@pytest.mark.parametrize("flag", ["no", 1, None])
def test_reuse_evaluated_must_be_a_bool(flag: Any) -> None:
    """Regression (session 26's audit): ``reuse_evaluated="no"`` is truthy and switched the
    reuse silently on."""
    with pytest.raises(ValueError, match="reuse_evaluated must be True or False"):
        metaheur.minimize(sphere_point, BOX, budget=40, reuse_evaluated=flag)


def test_args_that_is_not_a_tuple_is_one_argument() -> None:
    """Regression (session 26's audit): ``args=5`` made every call raise TypeError, so the
    whole budget was spent on failures. As in SciPy, it is passed as one argument."""
    res = metaheur.minimize(lambda x, c: float(np.sum((x - c) ** 2)), BOX, budget=60,
                            args=0.5, seed=0)
    assert res.n_failed == 0 and np.isfinite(res.fun)
    res = metaheur.minimize(lambda x, c: float(np.sum((x - c) ** 2)), BOX, budget=60,
                            args=np.array([0.5, -0.5]), seed=0)
    assert res.n_failed == 0


def test_vectorized_may_be_a_numpy_bool() -> None:
    """``np.True_`` (e.g. from a config array) was accepted before the bool check."""
    res = metaheur.minimize(sphere, BOX, budget=40, vectorized=np.True_, seed=0)
    assert res.nfev == 40


@pytest.mark.parametrize(("answer", "stops"), [(True, True), ("stop", True),
                                               (np.True_, True), (1, True), (None, False),
                                               (False, False), (0, False), ("", False)])
def test_any_truthy_callback_answer_stops(answer: Any, stops: bool) -> None:
    """The docstring said 'returning True'; any truthy answer stops (SciPy's
    differential_evolution alike), and the docstring now says so."""
    res = metaheur.minimize(sphere, BOX, budget=100, pop_size=10, vectorized=True, seed=0,
                            callback=lambda r: answer)
    assert (res.status == 99) == stops and (res.nfev == 10) == stops
    assert "returns a truthy value" in metaheur.minimize.__doc__


@pytest.mark.parametrize(("scipy_name", "ours"), [("popsize", "pop_size"),
                                                  ("maxiter", "max_iter"),
                                                  ("maxfev", "budget"), ("workers", "n_jobs"),
                                                  ("rng", "seed"), ("random_state", "seed")])
def test_a_scipy_keyword_names_its_metaheur_spelling(scipy_name: str, ours: str) -> None:
    """SciPy's optimisers spell these otherwise; the error listed only the hyper-parameters
    (``unknown hyper-parameter(s) ['popsize'] for 'pso'; allowed: w, c1, ...``)."""
    with pytest.raises(ValueError, match=rf"\['{scipy_name}'\].*'{scipy_name}' is {ours}="):
        metaheur.minimize(sphere, BOX, "pso", **{scipy_name: 10})
