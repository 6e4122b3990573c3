"""Invariants every registered algorithm must satisfy (docs/algorithms.md §10.1, STYLE §8).

Parametrised over ``metaheur.available()`` at collection time, so a new algorithm or
an installed plugin is tested without editing this file. Also: bad input, the
registry (with simulated entry-point plugins) and ``minimize``'s stopping rules.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import metaheur
from metaheur import Optimizer, _registry
from metaheur._base import STATE_FORMAT

ALGOS = metaheur.available()
D = 4

Objective = Callable[[NDArray], NDArray]


# ------------------------------------------------------------------ helpers
def _n(cls: type[Optimizer]) -> int:
    return max(cls.min_pop_size, 6)


def _make(algo: str, *, budget: int | None = None, max_iter: int | None = None, seed: Any = 0,
          bounds: Any = None, pop_size: int | None = None, **kw: Any) -> Optimizer:
    cls = metaheur.get(algo)
    N = pop_size or _n(cls)
    if budget is None and max_iter is None:
        budget = N * 25 + 3
    if bounds is None:
        bounds = [(-5.0, 5.0)] * (D - 1) + [(-1.0, 3.0)]  # asymmetric last dimension
    return cls(bounds, pop_size=N, budget=budget, max_iter=max_iter, seed=seed, **kw)


def _drive(opt: Optimizer, f: Objective, steps: int | None = None) -> list[NDArray]:
    """Run ask/tell pairs until done (or ``steps`` pairs); return every asked array."""
    asked = []
    while not opt.done and (steps is None or len(asked) < steps):
        X = opt.ask()
        asked.append(X)
        opt.tell(X, f(X))
    return asked


def _check_in_box(opt: Optimizer, X: NDArray) -> None:
    assert X.ndim == 2 and X.shape[1] == opt.dim and 1 <= X.shape[0]
    assert np.isfinite(X).all(), "asked a non-finite point"
    assert (X >= opt.lower).all() and (X <= opt.upper).all(), "asked a point outside the box"


def _non_increasing(a: Any) -> bool:
    a = np.asarray(a, dtype=float)
    return bool((a[1:] <= a[:-1]).all())  # np.diff would turn inf - inf into NaN


def sphere(X: NDArray) -> NDArray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def sphere_point(x: NDArray) -> float:
    return float(np.sum((x - 0.3) ** 2, axis=-1))


def rastrigin(X: NDArray) -> NDArray:
    Z = X - 0.7
    return 10.0 * X.shape[-1] + np.sum(Z * Z - 10.0 * np.cos(2 * np.pi * Z), axis=-1)


def neg_sum(X: NDArray) -> NDArray:
    return -np.sum(X, axis=-1)  # pushes every agent into the upper corner


def pos_sum(X: NDArray) -> NDArray:
    return np.sum(X, axis=-1)  # ... and the lower corner


def all_nan(X: NDArray) -> NDArray:
    return np.full(X.shape[0], np.nan)


def all_inf(X: NDArray) -> NDArray:
    return np.full(X.shape[0], np.inf)


def neg_inf(X: NDArray) -> NDArray:
    return np.where(X[:, 0] > 4.0, -np.inf, sphere(X))  # -inf also counts as a failure


def some_nan(X: NDArray) -> NDArray:
    return np.where(X[:, 0] > 0.5, np.nan, sphere(X))


class _Alternating:
    """All-NaN generations alternating with finite ones."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, X: NDArray) -> NDArray:
        self.calls += 1
        return all_nan(X) if self.calls % 3 != 2 else rastrigin(X)


def huge(X: NDArray) -> NDArray:
    return 1e300 * (1.0 + np.sum(X * X, axis=-1))


OBJECTIVES: dict[str, Callable[[], Objective]] = {
    "sphere": lambda: sphere,
    "rastrigin": lambda: rastrigin,
    "neg_sum": lambda: neg_sum,
    "pos_sum": lambda: pos_sum,
    "all_nan": lambda: all_nan,
    "all_inf": lambda: all_inf,
    "neg_inf": lambda: neg_inf,
    "some_nan": lambda: some_nan,
    "alternating_nan": _Alternating,
    "huge": lambda: huge,
}


# ------------------------------------------------------------------ in the box, finite
@pytest.mark.parametrize("objective", list(OBJECTIVES))
def test_points_in_box_and_finite(algo: str, objective: str) -> None:
    f = OBJECTIVES[objective]()
    opt = _make(algo, seed=1)
    asked = _drive(opt, f)
    for X in asked:
        _check_in_box(opt, X)
    assert sum(X.shape[0] for X in asked) == opt.budget == opt.nfev
    best = opt.history["best_f"]
    assert _non_increasing(best)
    if objective in ("all_nan", "all_inf"):
        assert opt.best_f == math.inf and opt.n_failed == opt.budget
    if objective == "neg_sum":  # the walls are reached, not crossed
        assert np.isclose(opt.best_x, opt.upper, atol=0.5).any()


# ------------------------------------------------------------------ best-so-far
@pytest.mark.parametrize("objective", ["rastrigin", "some_nan", "alternating_nan"])
def test_best_so_far_is_the_running_minimum(algo: str, objective: str) -> None:
    f = OBJECTIVES[objective]()
    opt = _make(algo, seed=2)
    values: list[NDArray] = []
    best_hist: list[float] = []
    while not opt.done:
        X = opt.ask()
        y = f(X)
        values.append(np.where(np.isfinite(y), y, np.inf))
        opt.tell(X, y)
        best_hist.append(opt.best_f)
    allv = np.concatenate(values)
    assert _non_increasing(best_hist), "best-so-far got worse"
    assert opt.best_f == allv.min()
    assert opt.n_failed == int((~np.isfinite(allv)).sum())
    if math.isfinite(opt.best_f):
        pure = {"rastrigin": rastrigin, "some_nan": sphere, "alternating_nan": rastrigin}
        assert pure[objective](opt.best_x[None])[0] == opt.best_f
    h = opt.history
    assert _non_increasing(h["best_f"]) and (np.diff(h["nfev"]) > 0).all()
    assert h["nit"][-1] == opt.nit


def test_history_ends_with_the_final_evaluations(algo: str) -> None:
    """The last history row is the end of the run, also when the budget ends mid-iteration."""
    opt = _make(algo, seed=2)
    N = opt.pop_size
    for budget in (opt.budget, N + 1, N + sum(opt._rounds()) + 1):
        opt = _make(algo, seed=2, budget=budget)
        _drive(opt, rastrigin)
        h = opt.history
        assert opt.nfev == budget
        assert h["nfev"][-1] == budget, f"budget={budget}"
        assert h["best_f"][-1] == opt.best_f


# ------------------------------------------------------------------ exact budget
EXTRA = {  # evaluations after the initial population, as a function of N
    "0": lambda N: 0,
    "1": lambda N: 1,
    "N-1": lambda N: N - 1,
    "2N": lambda N: 2 * N,
    "2N+3": lambda N: 2 * N + 3,  # POA: phase 1 of its second iteration cut short
    "5N": lambda N: 5 * N,
    "5N+1": lambda N: 5 * N + 1,
    "6N+N//2+1": lambda N: 6 * N + N // 2 + 1,
    "7N-1": lambda N: 7 * N - 1,  # POA: phase 2 one point short
}


@pytest.mark.parametrize("extra", list(EXTRA))
def test_exact_budget(algo: str, extra: str) -> None:
    cls = metaheur.get(algo)
    N = _n(cls)
    budget = N + EXTRA[extra](N)
    opt = _make(algo, budget=budget)
    rounds = opt._rounds()
    asked = _drive(opt, sphere)
    sizes = [X.shape[0] for X in asked]
    assert sum(sizes) == budget == opt.nfev and opt.done
    assert sizes[0] == N and all(s <= max(rounds) for s in sizes[1:])
    assert all(s == r for s, r in zip(sizes[1:-1], rounds * len(sizes), strict=False))
    with pytest.raises(RuntimeError, match="budget"):
        opt.ask()
    # the same through minimize: the objective sees exactly `budget` points
    seen = []
    res = metaheur.minimize(lambda X: seen.append(X.shape[0]) or sphere(X), opt_bounds(opt),
                            algo, budget=budget, pop_size=N, seed=0, vectorized=True)
    assert sum(seen) == budget == res.nfev
    assert seen == sizes


def opt_bounds(opt: Optimizer) -> NDArray:
    return np.column_stack([opt.lower, opt.upper])


def test_budget_from_max_iter(algo: str) -> None:
    opt = _make(algo, max_iter=7)
    asked = _drive(opt, sphere)
    assert opt.nit == 7 and sum(X.shape[0] for X in asked) == opt.nfev == opt.budget
    assert opt.budget == _n(metaheur.get(algo)) + 7 * sum(opt._rounds())


# ------------------------------------------------------------------ determinism
def test_same_seed_same_run(algo: str) -> None:
    a = _drive(_make(algo, seed=123), rastrigin)
    b = _drive(_make(algo, seed=123), rastrigin)
    assert len(a) == len(b)
    for Xa, Xb in zip(a, b, strict=True):
        assert np.array_equal(Xa, Xb)
    c = _drive(_make(algo, seed=np.random.default_rng(123)), rastrigin)
    assert all(np.array_equal(Xa, Xc) for Xa, Xc in zip(a, c, strict=True))
    d = _drive(_make(algo, seed=124), rastrigin)
    assert not np.array_equal(a[0], d[0]) and not np.array_equal(a[-1], d[-1])


# ------------------------------------------------------------------ export / restore
def _json_round_trip(opt: Optimizer) -> dict[str, Any]:
    return json.loads(json.dumps(opt.get_state(), allow_nan=False))


@pytest.mark.parametrize("pending", [False, True], ids=["between", "pending"])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 6, -1])
def test_restore_continues_bit_identically(algo: str, k: int, pending: bool) -> None:
    f = some_nan  # infs in the state exercise the strict-JSON encoding
    ref_opt = _make(algo, seed=7)
    ref = _drive(ref_opt, f)
    if k == -1:
        k = len(ref) - 1  # the last (possibly truncated) batch
    opt = _make(algo, seed=7)
    before = _drive(opt, f, steps=k)
    if pending:
        X_pending = opt.ask()
    state = _json_round_trip(opt)
    assert state["algo"] == algo and state["format"] == STATE_FORMAT
    restored = Optimizer.from_state(state)
    assert type(restored) is type(opt)
    assert type(metaheur.get(algo).from_state(state)) is type(opt)
    if pending:
        X = restored.ask()
        assert np.array_equal(X, X_pending)
        restored.tell(X, f(X))
        before.append(X)
    after = _drive(restored, f)
    asked = before + after
    assert len(asked) == len(ref)
    for i, (Xa, Xr) in enumerate(zip(asked, ref, strict=True)):
        assert np.array_equal(Xa, Xr), f"batch {i} differs after restoring at step {k}"
    assert restored.best_f == ref_opt.best_f and np.array_equal(restored.best_x, ref_opt.best_x)
    assert restored.nfev == ref_opt.nfev and restored.n_failed == ref_opt.n_failed
    for key in ("nit", "nfev", "best_f"):
        assert np.array_equal(restored.history[key], ref_opt.history[key])
    # exporting does not disturb the exporter
    assert json.dumps(_json_round_trip(restored), sort_keys=True) == json.dumps(
        _json_round_trip(ref_opt), sort_keys=True)


def test_restore_twice_mid_iteration(algo: str) -> None:
    """Restore a restored optimizer again, every step (covers all rounds of an iteration)."""
    ref = _drive(_make(algo, seed=3, budget=60), rastrigin)
    opt = _make(algo, seed=3, budget=60)
    asked = []
    while not opt.done:
        opt = Optimizer.from_state(_json_round_trip(opt))
        X = opt.ask()
        opt = Optimizer.from_state(_json_round_trip(opt))  # with the batch pending
        asked.append(opt.ask())
        opt.tell(asked[-1], rastrigin(asked[-1]))
    assert all(np.array_equal(a, b) for a, b in zip(asked, ref, strict=True))
    assert len(asked) == len(ref) and np.array_equal(X, ref[-1])


def test_restore_errors(algo: str) -> None:
    opt = _make(algo)
    _drive(opt, sphere, steps=2)
    state = _json_round_trip(opt)
    other = next((a for a in ALGOS if a != algo), None)
    if other is not None:
        with pytest.raises(ValueError, match=f"state is for algorithm '{algo}'"):
            metaheur.get(other).from_state(state)
    with pytest.raises(ValueError, match="format"):
        Optimizer.from_state({**state, "format": STATE_FORMAT + 1})
    with pytest.raises(ValueError, match="version"):
        Optimizer.from_state({**state, "version": "0.0.0-other"})
    assert Optimizer.from_state({**state, "version": "0.0.0-other"}, check_version=False)
    for bad, why in (({}, "a dict without 'format', 'algo'"), ([], "a list"),
                     ("state", "a str"), ({"format": STATE_FORMAT}, "a dict without 'algo'")):
        with pytest.raises(ValueError, match="not a metaheur optimizer state") as info:
            Optimizer.from_state(bad)  # type: ignore[arg-type]
        assert str(info.value).endswith(f"got {why}")  # it said "expected a dict" of a dict
    with pytest.raises(ValueError, match="unknown algorithm 'no-such-algo'"):
        Optimizer.from_state({**state, "algo": "no-such-algo"})


# ------------------------------------------------------------------ vectorised == looped
def test_vectorised_pointwise_and_joblib_agree(algo: str) -> None:
    bounds = [(-2.0, 3.0)] * 3
    N = _n(metaheur.get(algo))
    budget = 8 * N + 5
    rows: dict[str, list[NDArray]] = {"vec": [], "pt": []}

    def vec(X: NDArray) -> NDArray:
        rows["vec"].append(X.copy())
        return sphere(X)

    def pt(x: NDArray) -> float:
        rows["pt"].append(x[None].copy())
        return sphere_point(x)

    kw: dict[str, Any] = {"budget": budget, "pop_size": N, "seed": 5}
    r_vec = metaheur.minimize(vec, bounds, algo, vectorized=True, **kw)
    r_pt = metaheur.minimize(pt, bounds, algo, reuse_evaluated=False, **kw)  # every call
    r_par = metaheur.minimize(sphere_point, bounds, algo, n_jobs=2, **kw)
    assert np.array_equal(np.vstack(rows["vec"]), np.vstack(rows["pt"]))
    for r in (r_pt, r_par):
        assert np.array_equal(r.x, r_vec.x) and r.fun == r_vec.fun
        assert r.nfev == r_vec.nfev == budget and r.nit == r_vec.nit
        assert r.history.equals(r_vec.history)
        assert r.optimizer.get_state() == r_vec.optimizer.get_state()


# ------------------------------------------------------------------ hypothesis: bounds
@st.composite
def boxes(draw: st.DrawFn) -> NDArray:
    d = draw(st.integers(1, 20))
    kind = draw(st.sampled_from(["unit", "tiny", "huge", "asymmetric", "ulps"]))
    centre = np.array(draw(st.lists(st.floats(-1e3, 1e3), min_size=d, max_size=d)))
    if kind == "unit":
        lo, hi = centre - 1.0, centre + 1.0
    elif kind == "tiny":
        w = np.array(draw(st.lists(st.floats(1e-9, 1e-6), min_size=d, max_size=d)))
        lo, hi = centre - w, centre + w
    elif kind == "huge":
        c = centre * 1e9
        w = np.array(draw(st.lists(st.floats(1e6, 1e12), min_size=d, max_size=d)))
        lo, hi = c - w, c + w
    elif kind == "asymmetric":
        a = np.array(draw(st.lists(st.floats(1e-3, 1e4), min_size=d, max_size=d)))
        b = np.array(draw(st.lists(st.floats(1e-3, 1e2), min_size=d, max_size=d)))
        lo, hi = centre - a, centre + b
    else:  # a handful of representable numbers wide
        k = draw(st.integers(1, 64))
        lo = centre
        hi = centre.copy()
        for _ in range(k):
            hi = np.nextafter(hi, np.inf)
    assert (lo < hi).all()
    return np.column_stack([lo, hi])


@pytest.mark.parametrize("algo", ALGOS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bounds=boxes(), objective=st.sampled_from(["sphere_box", "neg_sum", "pos_sum", "all_nan"]),
       seed=st.integers(0, 2**31), extra=st.integers(0, 40))
def test_property_ask_within_random_boxes(
    algo: str, bounds: NDArray, objective: str, seed: int, extra: int
) -> None:
    cls = metaheur.get(algo)
    N = cls.min_pop_size + seed % 5
    target = bounds[:, 0] + 0.37 * (bounds[:, 1] - bounds[:, 0])
    f = {
        "sphere_box": lambda X: np.sum(((X - target) / (bounds[:, 1] - bounds[:, 0])) ** 2, 1),
        "neg_sum": neg_sum,
        "pos_sum": pos_sum,
        "all_nan": all_nan,
    }[objective]
    opt = cls(bounds, pop_size=N, budget=6 * N + extra, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow/invalid on the way
        asked = _drive(opt, f)
    for X in asked:
        _check_in_box(opt, X)
    assert opt.nfev == opt.budget


# ------------------------------------------------------------------ bad input
def test_bad_bounds(algo_cls: type[Optimizer]) -> None:
    from scipy.optimize import Bounds

    cases = [
        ([(0.0, np.inf)], "finite"),
        ([(np.nan, 1.0)], "finite"),
        ([], "bounds"),
        (np.empty((0, 2)), "at least one"),
        ([(0.0, 1.0, 2.0)], r"shape \(d, 2\)"),
        ([1.0, 2.0], r"shape \(d, 2\)"),
        ([(1.0, 1.0)], "lower must be < upper"),
        ([(0.0, 1.0), (2.0, -2.0)], r"lower must be < upper .*dimension\(s\) \[1\]"),
        (SimpleNamespace(lb=[0.0, 0.0], ub=[1.0, 1.0, 1.0]), "same length"),
        ([("a", "b")], "bounds"),
    ]
    for bounds, match in cases:
        with pytest.raises(ValueError, match=match):
            algo_cls(bounds, budget=100)
    # scipy Bounds are accepted
    opt = algo_cls(Bounds([0.0, -1.0], [1.0, 1.0]), budget=100, seed=0)
    assert opt.dim == 2


def test_bad_sizes(algo_cls: type[Optimizer]) -> None:
    b = [(0.0, 1.0)] * 2
    with pytest.raises(ValueError, match="pop_size"):
        algo_cls(b, pop_size=algo_cls.min_pop_size - 1, budget=100)
    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(ValueError, match="pop_size"):
            algo_cls(b, pop_size=bad, budget=100)
    with pytest.raises(ValueError, match="budget must be at least one population"):
        algo_cls(b, pop_size=10, budget=9)
    with pytest.raises(ValueError, match="exactly one of budget"):
        algo_cls(b, pop_size=10)
    with pytest.raises(ValueError, match="exactly one of budget"):
        algo_cls(b, pop_size=10, budget=100, max_iter=3)
    with pytest.raises(ValueError, match="max_iter"):
        algo_cls(b, pop_size=10, max_iter=0)
    with pytest.raises(ValueError, match="budget"):
        algo_cls(b, pop_size=10, budget=100.5)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        algo_cls(b, pop_size=10, budget=100, no_such_parameter=1)


def test_tell_misuse(algo: str) -> None:
    opt = _make(algo)
    with pytest.raises(RuntimeError, match="ask"):
        opt.tell(np.zeros((3, D)), np.zeros(3))
    X = opt.ask()
    assert np.array_equal(opt.ask(), X)  # a second ask returns the pending batch
    with pytest.raises(ValueError, match="f must have shape"):
        opt.tell(X, np.zeros(X.shape[0] + 1))
    with pytest.raises(ValueError, match="tell"):
        opt.tell(X + 1e-3, sphere(X))


@pytest.mark.parametrize("vectorized", [True, False])
def test_objective_wrong_shape(algo: str, vectorized: bool) -> None:
    b = [(0.0, 1.0)] * 3
    bad = (lambda X: np.zeros((X.shape[0], 1))) if vectorized else (lambda x: np.zeros(2))
    match = "vectorized objective must return shape" if vectorized else "one number per point"
    with pytest.raises(ValueError, match=match):
        metaheur.minimize(bad, b, algo, budget=100, vectorized=vectorized, seed=0)
    if vectorized:
        with pytest.raises(ValueError, match="objective"):
            metaheur.minimize(lambda X: 0.0, b, algo, budget=100, vectorized=True, seed=0)


def test_failures_count_as_inf(algo: str) -> None:
    b = [(-1.0, 1.0)] * 3

    def flaky(x: NDArray) -> float:
        if x[0] > 0.6:
            raise ZeroDivisionError("boom")
        if x[1] > 0.6:
            return float("nan")
        return sphere_point(x)

    seen: list[NDArray] = []
    res = metaheur.minimize(lambda x: seen.append(x) or flaky(x), b, algo, budget=97, seed=0,
                            reuse_evaluated=False)  # counts calls: no answers from memory
    X = np.array(seen)
    assert np.isfinite(X).all() and (np.abs(X) <= 1.0).all()  # raising never leaks out
    expected = int(((X[:, 0] > 0.6) | (X[:, 1] > 0.6)).sum())
    assert expected > 0 and res.n_failed == expected
    assert res.status == 1 and not res.success  # SciPy: an exhausted budget is no success
    assert math.isfinite(res.fun) and res.nfev == 97
    assert sum(res.failures.values()) == expected and res.failures["raised ZeroDivisionError"]
    assert res.x[0] <= 0.6 and res.x[1] <= 0.6

    with pytest.raises(ZeroDivisionError, match="boom"):
        metaheur.minimize(flaky, b, algo, budget=97, seed=0, on_error="raise")

    def vec_raises(X: NDArray) -> NDArray:
        raise ZeroDivisionError("vectorised boom")

    with pytest.warns(RuntimeWarning, match="ZeroDivisionError.*first batch"):
        res = metaheur.minimize(vec_raises, b, algo, budget=50, seed=0, vectorized=True)
    assert res.n_failed == 50 and not res.success and res.fun == math.inf
    assert "every evaluation failed" in res.message
    assert np.isnan(res.x).all()
    with pytest.raises(ZeroDivisionError):
        metaheur.minimize(vec_raises, b, algo, budget=50, seed=0, vectorized=True,
                          on_error="raise")
    with pytest.raises(ValueError, match="on_error"):
        metaheur.minimize(sphere_point, b, algo, budget=50, on_error="ignore")


# ------------------------------------------------------------------ minimize
def test_minimize_result_fields(algo: str) -> None:
    res = metaheur.minimize(sphere, [(-1.0, 1.0)] * 3, algo, budget=211, seed=0,
                            vectorized=True)
    for field in ("x", "fun", "nfev", "nit", "n_failed", "success", "history", "message",
                  "status", "optimizer"):
        assert field in res
    assert res.x.shape == (3,) and res.fun == sphere(res.x[None])[0]
    assert res.nfev == 211 and res.n_failed == 0 and not res.success and res.status == 1
    assert list(res.history.columns) == ["nit", "nfev", "best_f"]
    assert res.history["best_f"].iloc[-1] == res.fun and res.history["nit"].iloc[-1] == res.nit
    assert "budget" in res.message


def test_minimize_callback_target_time_limit(algo: str) -> None:
    b = [(-1.0, 1.0)] * 2
    N = _n(metaheur.get(algo))
    seen: list[Any] = []

    def cb(r: Any) -> bool:
        seen.append((r.nit, r.nfev, r.fun))
        return len(seen) == 3

    res = metaheur.minimize(sphere, b, algo, budget=1000, pop_size=N, seed=0,
                            vectorized=True, callback=cb)
    assert res.status == 99 and not res.success and "callback" in res.message
    # called after the initial population (nit 0), then after every full iteration
    assert [s[0] for s in seen] == [0, 1, 2] and res.nit == 2 and res.nfev < 1000
    assert seen[-1][1] == res.nfev and seen[-1][2] == res.fun

    def cb_stop(r: Any) -> None:
        raise StopIteration

    res = metaheur.minimize(sphere, b, algo, budget=1000, pop_size=N, seed=0,
                            vectorized=True, callback=cb_stop)
    assert res.status == 99 and res.nit == 0 and res.nfev == N

    res = metaheur.minimize(sphere, b, algo, budget=100_000, pop_size=N, seed=0,
                            vectorized=True, target=10.0)
    assert res.status == 0 and res.success and res.fun <= 10.0 and res.nfev < 100_000

    def slow(X: NDArray) -> NDArray:
        time.sleep(0.01)
        return sphere(X)

    t0 = time.monotonic()
    res = metaheur.minimize(slow, b, algo, budget=100_000, pop_size=N, seed=0,
                            vectorized=True, time_limit=0.1)
    assert res.status == 3 and "time limit" in res.message and res.nfev < 100_000
    assert not res.success
    assert time.monotonic() - t0 < 5.0
    for bad in ({"target": float("nan")}, {"time_limit": 0}, {"time_limit": -1.0}):
        with pytest.raises(ValueError, match="target|time_limit"):
            metaheur.minimize(sphere, b, algo, budget=100, vectorized=True, **bad)


# ------------------------------------------------------------------ registry
class ThirdPartyRandomSearch(Optimizer):
    """A plugin-style optimizer: uniform random search with a greedy population."""

    name = "third-party-rs"
    summary = "uniform random search (test plugin)"
    _state_fields = ("_X", "_fX")

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._X, self._fX = X.copy(), f.copy()

    def _ask(self, t: int, r: int) -> NDArray:
        return self._uniform((self.pop_size, self.dim))

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        keep = f < self._fX
        self._X[keep], self._fX[keep] = X[keep], f[keep]

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        return self._X, self._fX


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, type[Optimizer]]:
    """A private copy of the registry, restored after the test."""
    reg = dict(_registry._REGISTRY)
    monkeypatch.setattr(_registry, "_REGISTRY", reg)
    return reg


def _case_variants(name: str, flips: list[bool], underscores: bool) -> str:
    s = "".join(c.upper() if f else c for c, f in zip(name, flips + [False] * len(name),
                                                        strict=False))
    return s.replace("-", "_") if underscores else s


@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_property_registry_names_normalise(data: st.DataObject) -> None:
    if not ALGOS:
        return
    name = data.draw(st.sampled_from(ALGOS))
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    variant = _case_variants(name, flips, data.draw(st.booleans()))
    pad = data.draw(st.sampled_from(["", " ", "  "]))
    assert metaheur.get(pad + variant + pad) is metaheur.get(name)


@settings(max_examples=50, deadline=None)
@given(name=st.text(min_size=0, max_size=20))
def test_property_unknown_names_list_valid_ones(name: str) -> None:
    if name.strip().lower().replace("_", "-") in ALGOS:
        return
    with pytest.raises(ValueError, match="unknown algorithm") as info:
        metaheur.get(name)
    for valid in ALGOS:
        assert valid in str(info.value)


def test_get_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        metaheur.get(3)  # type: ignore[arg-type]


def test_register_duplicate_raises(clean_registry: dict) -> None:
    for algo in ALGOS:
        clash = type("Clash", (ThirdPartyRandomSearch,), {"name": algo})
        with pytest.raises(ValueError, match=f"'{algo}' is already registered"):
            metaheur.register(clash)
        assert metaheur.get(algo) is not clash
        metaheur.register(metaheur.get(algo))  # re-registering the same class is fine
    bad_name = type("BadName", (ThirdPartyRandomSearch,), {"name": "Bad_Name"})
    with pytest.raises(ValueError, match="kebab-case"):
        metaheur.register(bad_name)
    with pytest.raises(ValueError, match="non-empty"):
        metaheur.register(type("NoName", (ThirdPartyRandomSearch,), {"name": ""}))
    with pytest.raises(TypeError):
        metaheur.register(dict)  # type: ignore[arg-type]


def test_third_party_subclass_works_with_minimize(clean_registry: dict) -> None:
    metaheur.register(ThirdPartyRandomSearch)
    assert "third-party-rs" in metaheur.available()
    assert metaheur.get("Third_Party_RS") is ThirdPartyRandomSearch
    res = metaheur.minimize(sphere, [(-1.0, 1.0)] * 3, "third-party-rs", budget=95, seed=0,
                            vectorized=True, pop_size=10)
    assert res.nfev == 95 and res.status == 1 and res.fun < 1.0
    # its state round-trips through the registry like a built-in's
    opt = ThirdPartyRandomSearch([(-1.0, 1.0)] * 3, budget=95, pop_size=10, seed=0)
    _drive(opt, sphere, steps=3)
    again = Optimizer.from_state(_json_round_trip(opt))
    assert np.array_equal(again.ask(), opt.ask())


class _FakeEntryPoint:
    def __init__(self, name: str, value: str, load: Callable[[], Any]) -> None:
        self.name, self.value, self._load = name, value, load

    def load(self) -> Any:
        return self._load()


def test_entry_point_plugins(clean_registry: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise ImportError("No module named 'missing_dependency'")

    eps = [
        _FakeEntryPoint("third-party-rs", "tp.rs:ThirdPartyRandomSearch",
                        lambda: ThirdPartyRandomSearch),
        _FakeEntryPoint("broken", "tp.broken:Broken", broken),
        _FakeEntryPoint("clash", "tp.clash:Clash",
                        lambda: type("Clash", (ThirdPartyRandomSearch,),
                                     {"name": ALGOS[0] if ALGOS else "third-party-rs"})),
    ]
    groups: list[str] = []

    def fake_entry_points(*, group: str) -> list[_FakeEntryPoint]:
        groups.append(group)
        return eps

    monkeypatch.setattr(_registry, "entry_points", fake_entry_points)
    monkeypatch.setattr(_registry, "_entry_points_loaded", False)
    with pytest.warns(RuntimeWarning) as record:
        names = metaheur.available()
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2, messages
    assert "plugin 'broken' (tp.broken:Broken): No module named" in messages[0]
    assert groups == [_registry.ENTRY_POINT_GROUP]
    assert "third-party-rs" in names and set(ALGOS) <= set(names)
    assert "plugin 'clash'" in messages[1] and "already registered" in messages[1]
    # loaded once: no second scan, no second warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metaheur.available() == names
    assert groups == [_registry.ENTRY_POINT_GROUP]
    res = metaheur.minimize(sphere, [(-1.0, 1.0)] * 2, "third-party-rs", budget=40,
                            pop_size=10, seed=0, vectorized=True)
    assert res.nfev == 40


# ------------------------------------------------------------------ audit: argument edges
def test_real_hyper_parameter_beyond_float_range_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"c1 must be a finite real number >= 0 or None, got 1000"):
        metaheur.get("pso")([(-1.0, 1.0)] * 2, budget=50, c1=10**400)


@pytest.mark.parametrize("value", [np.str_("linear"), np.array(["constant", "linear"])[1]])
def test_choice_accepts_numpy_scalars(value: Any) -> None:
    """The constraints take NumPy scalars (a grid from ``np.array``), Choice too."""
    opt = metaheur.get("pso")([(-1.0, 1.0)] * 2, budget=50, inertia=value)
    assert opt.inertia == "linear" and type(opt.inertia) is str
    assert type(opt.get_state()["config"]["params"]["inertia"]) is str


def test_choice_keeps_types_apart_for_numpy_scalars() -> None:
    from metaheur import Choice

    spec = Choice(1, 2.5, True)
    assert spec.check("p", np.int64(1)) == 1 and type(spec.check("p", np.int64(1))) is int
    assert spec.check("p", np.float64(2.5)) == 2.5 and spec.check("p", np.bool_(True)) is True
    for bad in (np.float64(1.0), np.int64(0), 1.0, np.bool_(False)):
        with pytest.raises(ValueError, match="p must be one of 1, 2.5, True"):
            spec.check("p", bad)


def test_ragged_x0_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="x0 must be an array of real numbers"):
        metaheur.get("pso")([(-1.0, 1.0)] * 2, budget=50, x0=[[0.1, 0.2], [0.3]])


def test_warm_start_with_every_value_known_asks_an_empty_batch_first(algo: str) -> None:
    """docs/algorithms.md §0.1: ``x0`` and ``f0`` for every agent leave the initial
    population nothing to evaluate; the first ``ask`` is a ``(0, d)`` batch, told with an
    empty ``f``, and costs nothing."""
    cls = metaheur.get(algo)
    N = _n(cls)
    x0 = np.linspace(-1.0, 1.0, N * D).reshape(N, D)
    opt = cls([(-2.0, 2.0)] * D, pop_size=N, budget=3 * N, seed=0, x0=x0,
              f0=np.arange(N, 0, -1.0))
    X = opt.ask()
    assert X.shape == (0, D) and opt.best_f == 1.0
    opt.tell(X, np.empty(0))
    assert opt.nfev == 0 and opt.history["nit"].tolist() == [0]
    X = opt.ask()
    assert X.shape[0] > 0
    opt.tell(X, sphere(X))
    _drive(opt, sphere)
    assert opt.nfev == opt.budget == 3 * N


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(data=st.data())
def test_property_books_follow_any_sequence_of_calls(data: st.DataObject) -> None:
    """Random ask / repeated ask / tell / export-and-restore sequences, warm starts and
    budgets that do not divide: ``nfev``, ``n_failed`` and ``best_f`` always equal what the
    told values say (f0 included), asks stay in the box and within the budget."""
    cls = metaheur.get(data.draw(st.sampled_from(ALGOS)))
    N = data.draw(st.integers(cls.min_pop_size, cls.min_pop_size + 3))
    d, m = data.draw(st.integers(1, 3)), data.draw(st.integers(0, N))
    k = data.draw(st.integers(0, m))
    budget = data.draw(st.integers(max(N - k, 1), max(N - k, 1) + 4 * N))
    opt = cls([(-1.0, 1.0)] * d, pop_size=N, budget=budget, seed=0,
              x0=np.full((m, d), 0.25) if m else None, f0=np.linspace(1.0, 2.0, k) if k else None)
    best, failed, nfev = (1.0 if k else math.inf), 0, 0
    values = st.sampled_from([0.5, 3.0, -2.0, math.nan, math.inf, -math.inf, 1e300])
    for _ in range(data.draw(st.integers(1, 30))):
        if opt.done:
            break
        op = data.draw(st.sampled_from(["ask", "tell", "tell", "restore"]))
        if op == "restore":
            opt = Optimizer.from_state(json.loads(json.dumps(opt.get_state(), allow_nan=False)))
            continue
        X = opt.ask()
        assert X.shape[1] == d and (np.abs(X) <= 1.0).all() and X.shape[0] <= budget - nfev
        if op == "ask":
            assert np.array_equal(opt.ask(), X)
            continue
        f = np.array(data.draw(st.lists(values, min_size=len(X), max_size=len(X))), dtype=float)
        opt.tell(X, f)
        nfev, failed = nfev + len(X), failed + int((~np.isfinite(f)).sum())
        best = min([best, *f[np.isfinite(f)]])
        assert (opt.nfev, opt.n_failed, opt.best_f) == (nfev, failed, best)
        assert _non_increasing(opt.history["best_f"])  # inf, inf included
    assert opt.done == (opt.nfev == budget)


# ------------------------------------------------------------------ a box near the float range
@pytest.mark.parametrize("box", [(0.0, 1e308), (-8e307, 8e307), (1e300, 1e308)])
@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["low-end", "high-end"])
def test_a_box_near_the_float_range_gives_points_in_it_without_warnings(
        algo: str, box: tuple[float, float], sign: float) -> None:
    """Regression: GWO asked NaN (inf − inf) in (0, 1e308) and stopped with "a bug in the
    algorithm"; AOA, DLF-AOA, ACOR and POA warned of overflows that the box clips by design."""
    opt = metaheur.get(algo)([box] * 3, pop_size=10, budget=200, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for X in _drive(opt, lambda X: sign * np.sum(X / box[1], axis=1)):
            _check_in_box(opt, X)
    assert opt.nfev == 200 and opt.n_failed == 0


def test_population_is_a_copy(algo: str) -> None:
    """Regression: ACOR, GWO, POA and PSO returned their live arrays, so a caller that
    edited ``population`` changed the run (AOA and DLF-AOA copied)."""
    a, b = _make(algo, seed=3), _make(algo, seed=3)
    _drive(a, sphere, steps=2)
    _drive(b, sphere, steps=2)
    X, f = a.population
    X += 100.0
    f[:] = -1e9
    for x, y in zip(_drive(a, sphere), _drive(b, sphere), strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.best_f == b.best_f
