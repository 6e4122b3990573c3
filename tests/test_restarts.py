"""The restart layer (metaheur.restarts): growing populations, local runs around the best
point, the best point kept, the exact budget, bit-identical export/restore across
restarts, any algorithm (plug-ins too)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
from helpers import GreedyAgents, check_invariants, json_paths, roundtrip, run, shifted_sphere
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metaheur
from metaheur import Optimizer
from metaheur.restarts import (
    GLOBAL,
    IPOP,
    LOCAL,
    MIN_LOCAL_WIDTH,
    RESTART_DEFAULTS,
    RESTART_POP_SIZE,
    RESTART_TUNED,
    local_box,
    with_restarts,
)

BOUNDS = [(-2.0, 3.0), (-1.0, 1.0), (0.0, 10.0)]
BUILT_INS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
# restart very often; global runs only (IPOP), unless a test turns local runs on
EAGER = {"restart_patience": 1, "restart_iters": 2, "restart_local": False}
LOCAL_ON = {"restart_local": True, "restart_patience": 1}  # local runs between global ones


def plateau(X: np.ndarray) -> np.ndarray:
    """Flat almost everywhere: every run stagnates at once."""
    return np.floor(shifted_sphere(X))


def drive(opt: Optimizer, fun: Any = shifted_sphere) -> list[tuple[int, int]]:
    """Run to the end; return (restart count, current run's pop_size) after every tell."""
    seen = []
    while not opt.done:
        X = opt.ask()
        opt.tell(X, fun(X))
        seen.append((opt.restarts, opt.current_run.pop_size))
    return seen


@pytest.mark.parametrize("algo", BUILT_INS)
def test_every_built_in_has_a_variant_and_plain_keys_stay_published(algo: str) -> None:
    cls = metaheur.get(f"{algo}-ipop")
    assert issubclass(cls, IPOP) and cls.inner_algo == algo
    assert not issubclass(metaheur.get(algo), IPOP)  # one argument away: the plain key
    assert set(cls.defaults) == set(metaheur.get(algo).defaults) | set(RESTART_DEFAULTS)
    assert with_restarts(algo) is cls


@pytest.mark.parametrize("algo", BUILT_INS)
def test_invariants_with_frequent_restarts(algo: str) -> None:
    """In the box, exact nfev, deterministic, bit-identical restore (also mid-run and with
    a batch pending), while restarting every few iterations."""
    check_invariants(f"{algo}-ipop", **EAGER)
    opt = metaheur.get(f"{algo}-ipop")(BOUNDS, pop_size=5, budget=104, seed=4, **EAGER)
    assert max(r for r, _ in drive(opt)) >= 2


def test_population_grows_and_best_point_is_kept_without_reevaluation() -> None:
    opt = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=400, seed=1,
                                   restart_patience=2, restart_growth=2.0)
    told: list[np.ndarray] = []
    starts = []
    while not opt.done:
        before = (opt.restarts, opt.best_x.copy(), opt.best_f)
        X = opt.ask()
        told.extend(X)
        opt.tell(X, plateau(X))
        if opt.restarts > before[0] and not opt.done:
            starts.append(before)
            run_ = opt.current_run
            # the new run holds the best point with its known value: N_k − 1 new rows
            # (at its origin when it is a centred local run)
            np.testing.assert_array_equal(run_._x_init[0] + opt.run_origin, before[1])
            assert run_._f_init.tolist() == [before[2]]
            assert opt.ask().shape[0] == min(run_.pop_size - 1, opt.budget - opt.nfev)
    assert len(starts) >= 2
    assert opt.nfev == 400 == len(told)
    assert opt.best_f == plateau(np.array(told)).min()


def test_population_sizes_follow_the_growth_factor() -> None:
    seen = drive(metaheur.get("gwo-ipop")(BOUNDS, pop_size=5, budget=2000, seed=0,
                                          restart_patience=1, restart_growth=1.5), plateau)
    sizes = sorted({n for _, n in seen})
    assert sizes[:4] == [5, 8, 11, 17]  # round(5 · 1.5^k)


def test_restart_iters_gives_each_run_its_own_horizon() -> None:
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=5, budget=300, seed=0, restart_iters=3,
                                   restart_patience=1000, restart_local=False)
    seen = drive(opt)
    # run 0: the initial population, then 3 iterations; the third one ends the run
    assert seen[:4] == [(0, 5), (0, 5), (0, 5), (1, 10)]
    assert opt.restarts >= 2 and opt.nfev == 300


def test_without_keep_best_a_new_run_starts_uniform() -> None:
    opt = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=200, seed=1,
                                   restart_patience=1, restart_keep_best=False,
                                   restart_local=False)
    while opt.restarts == 0:
        X = opt.ask()
        opt.tell(X, plateau(X))
    assert opt.current_run._f_init.size == 0 and opt.ask().shape[0] == 8


def test_a_collapsed_population_ends_the_run_at_once() -> None:
    """restart_xtol: every coordinate's spread <= xtol of the box ends a run (1.0: always)."""
    opt = metaheur.get("aco-ipop")(BOUNDS, pop_size=4, budget=200, seed=0,
                                   restart_patience=10**6, restart_xtol=1.0)
    seen = drive(opt)
    # run k: its initial population, then one iteration, then the next run starts
    assert [r for r, _ in seen[:5]] == [0, 1, 1, 2, 2]
    calm = metaheur.get("aco-ipop")(BOUNDS, pop_size=4, budget=200, seed=0,
                                    restart_patience=10**6, restart_xtol=1e-300)
    drive(calm)
    assert calm.restarts == 0


def test_no_restart_when_improving() -> None:
    """A smooth problem with a patient criterion: the run is the plain algorithm's."""
    opt = metaheur.get("pso-ipop")(BOUNDS, pop_size=10, budget=600, seed=3,
                                   restart_patience=10**6)
    plain = metaheur.get("pso")(BOUNDS, pop_size=10, budget=600, seed=3)
    a, b = run(opt, shifted_sphere), run(plain, shifted_sphere)
    assert opt.restarts == 0
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert opt.best_f == plain.best_f


def test_state_holds_the_restart_state_and_restores_across_restarts() -> None:
    opt = metaheur.get("poa-ipop")(BOUNDS, pop_size=5, budget=500, seed=2, **EAGER)
    while opt.restarts < 2:
        X = opt.ask()
        opt.tell(X, shifted_sphere(X))
    state = opt.get_state()
    assert state["algo"] == "poa-ipop"
    algo_state = state["algo_state"]
    assert algo_state["_restarts"] == 2
    assert algo_state["_inner_state"]["algo"] == "poa"
    assert algo_state["_inner_state"]["config"]["pop_size"] == 20
    twin = roundtrip(opt)
    assert isinstance(twin, IPOP) and twin.current_run.rng is twin.rng
    a, b = run(opt, shifted_sphere), run(twin, shifted_sphere)
    assert len(a) > 10 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert twin.best_f == opt.best_f and twin.restarts == opt.restarts > 2


@pytest.mark.parametrize("bit_generator", ["Philox", "SFC64", "MT19937", "PCG64DXSM"])
@pytest.mark.parametrize("algo", ["pso-ipop", "poa-ipop", "gwo"])
def test_state_round_trips_with_every_bit_generator(algo: str, bit_generator: str) -> None:
    """Regression: a restart run seeded with a Philox or SFC64 generator could not restore its
    own state ("array of dtype uint64 ... holds values of another type"): the generator's
    uint64 arrays, already encoded in the nested run's state, were encoded a second time
    with the restart layer's state, turning their large elements into ``__int__`` records."""
    rng = np.random.Generator(getattr(np.random, bit_generator)(7))
    opt = metaheur.get(algo)(BOUNDS, pop_size=5, budget=600, seed=rng, **(
        EAGER if algo.endswith("-ipop") else {}))
    while opt.nfev < 200:
        X = opt.ask()
        opt.tell(X, shifted_sphere(X))
    assert opt.restarts >= 1 if algo.endswith("-ipop") else True
    twin = roundtrip(opt)
    a, b = run(opt, shifted_sphere), run(twin, shifted_sphere)
    assert len(a) > 2 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


class _Walk(GreedyAgents):
    """A plug-in: every agent takes a uniform step around the best point so far."""

    name = "test-walk"
    defaults: ClassVar[dict[str, Any]] = {"step": 0.1}

    def _ask(self, t: int, r: int) -> np.ndarray:
        b = self._X[int(self._fX.argmin())]
        span = self.step * (self.upper - self.lower)
        return b + self.rng.uniform(-1.0, 1.0, self._X.shape) * span


def test_plug_in_algorithms_get_restarts_both_ways() -> None:
    if "test-walk" not in metaheur.available():
        metaheur.register(_Walk)
    cls = with_restarts("test-walk")
    assert cls.name == "test-walk-ipop" and metaheur.get("test-walk-ipop") is cls
    a = cls(BOUNDS, pop_size=4, budget=200, seed=0, step=0.2, **EAGER)
    b = metaheur.get("ipop")(BOUNDS, pop_size=4, budget=200, seed=0, inner="test-walk",
                             inner_params={"step": 0.2}, **EAGER)
    xa, xb = run(a, shifted_sphere), run(b, shifted_sphere)
    assert a.restarts >= 2
    assert all(np.array_equal(x, y) for x, y in zip(xa, xb, strict=True))
    restored = roundtrip(b)
    assert restored.params["inner"] == "test-walk"
    # local runs too: the plug-in on a smaller box, restored bit for bit mid-run
    c = cls(BOUNDS, pop_size=4, budget=600, seed=0, step=0.2, **LOCAL_ON)
    assert LOCAL in {r["kind"] for r in _runs(c)} and c.nfev == 600
    check_invariants("test-walk-ipop", step=0.2, **LOCAL_ON)


# ------------------------------------------------------------------ local runs (BIPOP)
def _runs(opt: Optimizer, fun: Any = plateau) -> list[dict[str, Any]]:
    """Run to the end; one record per run: regime, population, box, budget, the best point
    when it started, and the evaluations it made."""
    runs: list[dict[str, Any]] = []
    while not opt.done:
        nfev = opt.nfev
        X = opt.ask()
        opt.tell(X, fun(X))
        r = opt.current_run
        if not opt.done and (not runs or runs[-1]["run"] is not r):
            if runs:
                runs[-1]["made"] = opt.nfev - runs[-1]["start"]
            off = opt.run_origin  # box and x0 in our coordinates
            runs.append({"run": r, "kind": opt._kind, "n": r.pop_size,
                         "start": opt.nfev if runs else nfev, "origin": off.copy(),
                         "box": np.column_stack([r.lower + off, r.upper + off]),
                         "budget": r.budget, "best_x": opt.best_x.copy(),
                         "best_f": opt.best_f, "x0": r._x_init + off, "f0": r._f_init.copy()})
    runs[-1]["made"] = opt.nfev - runs[-1]["start"]
    return runs


@pytest.mark.parametrize("algo", BUILT_INS)
def test_invariants_with_local_runs(algo: str) -> None:
    check_invariants(f"{algo}-ipop", **LOCAL_ON)


def test_local_runs_alternate_with_global_ones_by_budget() -> None:
    """BIPOP's balance: a local run (N_0 agents, a box around the best point, shrinking by
    restart_local_shrink per local run) whenever local runs have spent less than global
    ones; global runs grow as without local runs; the budget is spent exactly."""
    opt = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=3000, seed=2,
                                   restart_local_width=0.4, restart_local_shrink=0.5,
                                   **LOCAL_ON)
    runs = _runs(opt)
    kinds = [r["kind"] for r in runs]
    assert kinds[0] == GLOBAL and LOCAL in kinds and kinds.count(GLOBAL) >= 3
    assert opt.nfev == 3000 == sum(r["made"] for r in runs)
    lower, upper = np.array(BOUNDS).T
    spent = {GLOBAL: 0, LOCAL: 0}
    globals_, j = 0, 0
    for prev, r in zip(runs, runs[1:], strict=False):
        spent[prev["kind"]] += prev["made"]
        assert r["kind"] == (LOCAL if spent[LOCAL] < spent[GLOBAL] else GLOBAL)
        box = r["box"]
        if r["kind"] == GLOBAL:
            globals_, j = globals_ + 1, 0
            assert r["n"] == min(4 * 2**globals_, 3000 - r["start"])
            np.testing.assert_array_equal(box, np.array(BOUNDS))
            continue
        assert r["n"] == 4
        # the run's origin is the best point (restart_local_center), up to rounding
        np.testing.assert_array_equal(r["origin"], r["best_x"])
        tol = 4 * np.spacing(np.maximum(abs(lower), abs(upper)))
        assert (box[:, 0] >= lower - tol).all() and (box[:, 1] <= upper + tol).all()
        assert ((box[:, 0] <= r["best_x"]) & (r["best_x"] <= box[:, 1])).all()
        width = max(0.4 * 0.5**j, MIN_LOCAL_WIDTH) * 2 * (upper - lower)
        np.testing.assert_allclose(box[:, 1] - box[:, 0], width, rtol=1e-12)
        # the run holds the best point with its known value (not evaluated again)
        np.testing.assert_array_equal(r["x0"], r["best_x"][None, :])
        assert r["f0"].tolist() == [r["best_f"]]
        j += 1


def test_a_local_run_gets_half_the_last_global_runs_evaluations() -> None:
    opt = metaheur.get("aco-ipop")(BOUNDS, pop_size=5, budget=4000, seed=0, **LOCAL_ON)
    runs = _runs(opt)
    last_global, halves = None, 0
    for r in runs:
        if r["kind"] == GLOBAL:
            last_global = r["made"]
            continue
        assert r["made"] <= r["budget"]
        # or everything left, when half would leave too little for the next run
        assert r["budget"] in (last_global // 2, 4000 - r["start"])
        halves += r["budget"] == last_global // 2
    assert halves >= 2


def test_a_local_run_holds_the_best_point_even_without_keep_best() -> None:
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=5, budget=1500, seed=3,
                                   restart_keep_best=False, **LOCAL_ON)
    runs = _runs(opt)
    local = [r for r in runs if r["kind"] == LOCAL]
    assert local and all(r["f0"].tolist() == [r["best_f"]] for r in local)
    assert all(r["f0"].size == 0 for r in runs[1:] if r["kind"] == GLOBAL)


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6)), min_size=1,
                    max_size=4),
    where=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
    frac=st.floats(MIN_LOCAL_WIDTH, 0.5),
)
def test_property_a_local_box_lies_inside_the_bounds_around_its_centre(
    bounds: list[tuple[float, float]], where: list[float], frac: float,
) -> None:
    lower = np.array([lo for lo, _ in bounds])
    upper = lower + np.array([w for _, w in bounds])
    centre = np.clip(lower + np.array(where[: lower.size]) * (upper - lower), lower, upper)
    box = local_box(centre, lower, upper, frac)
    assert (box[:, 0] >= lower).all() and (box[:, 1] <= upper).all()
    assert (box[:, 0] < box[:, 1]).all()
    assert ((box[:, 0] <= centre) & (centre <= box[:, 1])).all()
    np.testing.assert_allclose(box[:, 1] - box[:, 0], 2 * frac * (upper - lower),
                               rtol=1e-9, atol=8 * np.spacing(np.abs(box).max()))


def test_a_local_run_works_in_coordinates_centred_on_the_best_point() -> None:
    """restart_local_center: the run sees y = x − c (c: the best point when it started), so
    its x0 is the origin and its box holds it; we ask its points + c and tell it its own;
    :attr:`population` is in our coordinates. Off: the run works in ours (origin 0)."""
    for center in (True, False):
        opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=4, budget=800, seed=4,
                                       restart_local_center=center, **LOCAL_ON)
        seen = 0
        while not opt.done:
            X = opt.ask()
            run_ = opt.current_run
            c = opt.run_origin
            if run_ is None:
                assert not c.any()
                opt.tell(X, plateau(X))
                continue
            if opt._kind == GLOBAL or not center:
                assert not c.any()
            elif run_.nfev == 0:  # its first batch is asked: x0 (known) + N − 1 new
                seen += 1
                np.testing.assert_array_equal(run_._x_init[:1], np.zeros((1, 3)))
                assert run_._f_init.tolist() == [opt.best_f]
                assert ((run_.lower <= 0) & (0 <= run_.upper)).all()
                np.testing.assert_array_equal(c, opt.best_x)
            np.testing.assert_array_equal(
                X, np.clip(run_.ask() + c, *np.array(BOUNDS).T))
            opt.tell(X, plateau(X))
            if not opt.done:  # a new run's population: its known rows until its first batch
                run_ = opt.current_run
                P, fP = opt.population
                Y, fY = (run_.population if run_._initialized
                         else (run_._x_init[: run_._f_init.size], run_._f_init))
                np.testing.assert_array_equal(P, Y + opt.run_origin)
                np.testing.assert_array_equal(fP, fY)
        assert opt.nfev == 800 and (seen > 0) == center


def test_centred_local_runs_overcome_the_origin_bias_of_gwo() -> None:
    """GWO's steps scale with |x| (docs/algorithms.md §0.3): on a shifted sphere its local
    runs stall far from the optimum unless they are centred on the best point."""
    shift = np.array([1.3, -2.1, 0.7, 2.9, -0.4])

    def f(X: np.ndarray) -> np.ndarray:
        return ((X - shift) ** 2).sum(axis=1)

    best = {}
    for center in (True, False):
        errs = []
        for seed in range(3):
            opt = metaheur.get("gwo-ipop")([(-5.0, 5.0)] * 5, budget=5000, seed=seed,
                                           restart_iters=30, restart_local_center=center)
            while not opt.done:
                X = opt.ask()
                opt.tell(X, f(X))
            errs.append(opt.best_f)
        best[center] = max(errs)
    assert best[True] < 1e-8 < 1e-5 < best[False]  # measured: 1.5e-9 against 7e-5


def test_local_runs_are_on_by_default_and_one_argument_turns_them_off() -> None:
    make = lambda **kw: metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=1000,  # noqa: E731
                                                 seed=1, restart_patience=1, **kw)
    assert {r["kind"] for r in _runs(make())} == {GLOBAL, LOCAL}
    assert {r["kind"] for r in _runs(make(restart_local=False))} == {GLOBAL}


def test_minimize_and_the_optuna_sampler_use_it_unchanged() -> None:
    res = metaheur.minimize(shifted_sphere, BOUNDS, "gwo-ipop", budget=300, pop_size=5,
                            seed=0, vectorized=True, restart_patience=2)
    assert res.nfev == 300 and res.optimizer.restarts >= 1
    res2 = metaheur.minimize(shifted_sphere, BOUNDS, "ipop", budget=300, pop_size=5, seed=0,
                             vectorized=True, inner="gwo", restart_patience=2)
    assert res2.fun == res.fun

    from metaheur.optuna import MetaheuristicSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = MetaheuristicSampler("pso-ipop", pop_size=4, seed=0, n_trials=60,
                                   restart_patience=1)
    study = optuna.create_study(sampler=sampler)
    study.enqueue_trial({"x": 0.5, "y": 0.5})
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2
                   + (t.suggest_float("y", -1, 1) + 0.2) ** 2, n_trials=60)
    assert len(study.trials) == 60 and study.best_value < 0.05


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"restart_growth": 0.5}, "restart_growth"),
        ({"restart_growth": float("nan")}, "restart_growth"),
        ({"restart_patience": 0}, "restart_patience"),
        ({"restart_patience": None}, "restart_patience"),
        ({"restart_keep_best": 1}, "restart_keep_best"),
        ({"restart_iters": 1.5}, "restart_iters"),
        ({"restart_ftol": -1.0}, "restart_ftol"),
        ({"restart_xtol": float("inf")}, "restart_xtol"),
        ({"restart_local": 1}, "restart_local"),
        ({"restart_local_width": 0.0}, "restart_local_width"),
        ({"restart_local_width": 0.6}, "restart_local_width"),
        ({"restart_local_shrink": 1.5}, "restart_local_shrink"),
        ({"inner": "nope"}, "inner must be the name of a registered algorithm .*got 'nope'"),
        ({"inner": "gwo-ipop"}, "without restarts"),
        ({"inner": "pso", "inner_params": {"w": "x"}}, "w must be"),
        ({"inner": "pso", "inner_params": [1]}, "inner_params must be a dict"),
    ],
)
def test_bad_settings_name_what_is_wrong(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        metaheur.get("ipop")(BOUNDS, budget=100, **params)


def test_inner_hyper_parameters_are_checked_by_the_inner_class() -> None:
    with pytest.raises(ValueError, match="levy_scale"):
        metaheur.get("dlf-aoa-ipop")(BOUNDS, budget=100, levy_scale=-1.0)
    with pytest.raises(ValueError, match="already restarts"):
        with_restarts("gwo-ipop")


# ------------------------------------------------------------------ restored states
def _states_along(opt: Optimizer, fun: Any = plateau) -> list[tuple[int, dict[str, Any]]]:
    """Run to the end; the JSON state before every 5th ask and with every 7th batch pending,
    keyed by the number of batches asked so far."""
    states = []
    while not opt.done:
        if len(states) % 5 == 0:
            states.append((opt.nfev, roundtrip(opt).get_state()))
        X = opt.ask()
        if opt.nit % 7 == 3:
            states.append((opt.nfev, roundtrip(opt).get_state()))
        opt.tell(X, fun(X))
    return states


@pytest.mark.parametrize(
    "kw",
    [
        # runs grow far beyond the first population (pending batches of 512 points)
        {"pop_size": 4, "budget": 3000, "restart_patience": 1},
        # our own warm start with a known value: the first run adopts every value
        {"pop_size": 5, "budget": 300, "restart_patience": 2, "x0": np.full((2, 3), 0.5),
         "f0": [1.0]},
        # growth 1 with the best point kept: more batches than the first run's max_iter
        {"pop_size": 4, "budget": 400, "restart_patience": 1, "restart_growth": 1.0},
        # one long run: its history alone outgrows the first population's shapes
        {"pop_size": 4, "budget": 1000, "restart_patience": 10**6, "restart_xtol": 0.0},
        # each run with its own horizon, the last one cut by the budget
        {"pop_size": 5, "budget": 700, "restart_iters": 3, "restart_patience": 10**6},
        # local runs between global ones
        {"pop_size": 4, "budget": 2000, **LOCAL_ON},
        {"pop_size": 5, "budget": 600, "restart_iters": 3, **LOCAL_ON},
        # GWO's local runs, centred on the best point (its origin bias, §0.3)
        {"algo": "gwo-ipop", "pop_size": 4, "budget": 2000, **LOCAL_ON},
    ],
)
def test_restored_states_continue_bit_identically(kw: dict[str, Any]) -> None:
    """Regression (merge of the strict restore): every state of these runs was refused."""
    kw = dict(kw)
    algo = kw.pop("algo", "pso-ipop")
    make = lambda: metaheur.get(algo)(BOUNDS, seed=0, **kw)  # noqa: E731
    asked = run(make(), plateau)
    for nfev, state in _states_along(make()):
        twin = Optimizer.from_state(state)
        assert twin.nfev == nfev
        rest = run(twin, plateau)
        done = len(asked) - len(rest)
        assert all(np.array_equal(a, b) for a, b in zip(asked[done:], rest, strict=True))


@pytest.mark.parametrize("algo", ["pso-ipop", "gwo-ipop", "ipop"])
def test_states_restore_when_the_box_excludes_the_origin(algo: str) -> None:
    """Regression (session 25's audit): ``_offset``, the current run's origin (zero except
    in a centred local run), was declared a point of the box, so with bounds like [1, 5]
    every state after the first tell was refused: no ``-ipop`` run there could resume."""
    bounds = [(1.0, 5.0), (2.0, 3.0)]
    kw = {} if algo == "ipop" else {"pop_size": 4}
    make = lambda: metaheur.get(algo)(bounds, budget=300, seed=0, restart_patience=2,  # noqa: E731
                                      **kw)
    fun = lambda X: np.floor(((X - 2.5) ** 2).sum(axis=1) * 4)  # noqa: E731
    asked = run(make(), fun)
    for nfev, state in _states_along(make(), fun):
        twin = Optimizer.from_state(state)
        assert twin.nfev == nfev
        rest = run(twin, fun)
        done = len(asked) - len(rest)
        assert all(np.array_equal(a, b) for a, b in zip(asked[done:], rest, strict=True))


@pytest.mark.parametrize("budget", range(10, 40))
def test_a_restart_with_too_few_evaluations_left_keeps_the_books(budget: int) -> None:
    """Regression (session 25's audit): a restart that found too few evaluations left for
    a new run had already booked the finished run's evaluations, so the run went on with
    books that disagreed with it, and its exported state was refused ("follows runs of
    [12, 0] evaluations ... but starts after 4")."""
    opt = metaheur.get("pso-ipop")([(-1.0, 1.0)] * 2, pop_size=4, budget=budget, seed=0,
                                   restart_patience=1, restart_local=False)
    while not opt.done:
        X = opt.ask()
        opt.tell(X, np.ones(len(X)))  # flat: every run stalls at once
        if not opt.done:
            Optimizer.from_state(json.loads(json.dumps(opt.get_state())))


def _eager_state(algo: str = "pso-ipop", *, pending: bool = True,
                 local: bool = False) -> dict[str, Any]:
    """A state after two restarts (``local``: in a local run, after a global restart)."""
    kw = {**EAGER, "restart_local": True} if local else EAGER
    opt = metaheur.get(algo)(BOUNDS, pop_size=4, budget=400 if local else 200, seed=1,
                             **kw)
    while opt.restarts < 2 or (local and (opt._kind != LOCAL or opt._globals < 1)):
        X = opt.ask()
        opt.tell(X, plateau(X))
    if pending:
        opt.ask()
    return json.loads(json.dumps(opt.get_state(), allow_nan=False))


def _inner(s: dict[str, Any]) -> dict[str, Any]:
    return s["algo_state"]["_inner_state"]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda s: s["core"].update(nfev=s["core"]["nfev"] + 1), "counters"),
        (lambda s: _inner(s)["core"].update(nfev=_inner(s)["core"]["nfev"] + 1),
         "current run: state core counters"),
        (lambda s: s["algo_state"].update(_restarts=5), "run 5 with 2 global restarts"),
        (lambda s: s["algo_state"].update(_restarts=-1), "_restarts"),
        (lambda s: s["algo_state"].update(_stall=50), "ended but no restart"),
        (lambda s: s["algo_state"].update(_run_mark=-1e9), "best values"),
        (lambda s: s["algo_state"].update(_inner_state=None), "_inner_state.*present"),
        (lambda s: s["algo_state"].update(_inner_state=[1.0]), "_inner_state.*optimizer state"),
        (lambda s: _inner(s).update(algo="gwo"), "cannot restore it into"),
        (lambda s: _inner(s)["config"].update(bounds=[[-20.0, 20.0]] * 3), "configuration"),
        (lambda s: s["algo_state"].update(_run_start=s["algo_state"]["_run_start"] + 1),
         "evaluations"),
        (lambda s: _inner(s)["config"]["params"].update(w=0.5), "configuration"),
        (lambda s: _inner(s)["core"].update(pending=None, pending_full=None), "pending batch"),
        (lambda s: s["config"]["params"].update(restart_patience=0), "restart_patience"),
        # only a centred local run moves the origin
        (lambda s: s["algo_state"]["_offset"]["__ndarray__"].__setitem__(0, 1.0), "origin"),
    ],
)
def test_junk_restart_states_are_refused(mutate: Any, match: str) -> None:
    state = _eager_state()
    assert state["algo_state"]["_restarts"] == 2
    mutate(state)
    with pytest.raises(ValueError, match=match):
        Optimizer.from_state(state)


def _box(s: dict[str, Any], lo: float, hi: float) -> None:
    _inner(s)["config"]["bounds"][0] = [lo, hi]


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda s: s["algo_state"].update(_kind=GLOBAL), "impossible"),
        (lambda s: s["algo_state"].update(_kind=2), "_kind"),
        (lambda s: s["config"]["params"].update(restart_local=False), "impossible"),
        (lambda s: s["algo_state"].update(_globals=s["algo_state"]["_restarts"] + 1),
         "impossible"),
        (lambda s: s["algo_state"].update(_local_runs=s["algo_state"]["_restarts"]),
         "impossible"),
        (lambda s: s["algo_state"]["_spent"]["__ndarray__"].__setitem__(0, 0),
         "follows runs of"),
        (lambda s: s["algo_state"].update(_last_global=10**6), "follows runs of"),
        (lambda s: s["algo_state"].update(_last_global=-1), "_last_global"),
        # a local box reaching out of the bounds, or one without the best point (in the
        # run's coordinates: its origin is the best point, -0.33 in the first coordinate)
        (lambda s: _box(s, -1.7, 3.4), "configuration"),
        (lambda s: _box(s, 2.9, 3.0), "current run: .*best_x"),
        (lambda s: _inner(s)["config"].update(pop_size=5), "current run: .*shape"),
        (lambda s: _inner(s)["config"].update(budget=_inner(s)["config"]["budget"] + 1),
         "budget"),
        # a centred run whose origin moved: its box leaves the bounds or loses best_x
        (lambda s: s["algo_state"]["_offset"]["__ndarray__"].__setitem__(0, 3.0),
         "configuration|best_x"),
        (lambda s: s["algo_state"]["_offset"]["__ndarray__"].__setitem__(0, 9.0),
         "_offset"),
        (lambda s: s["config"]["params"].update(restart_local_center=False), "origin"),
    ],
)
def test_junk_local_run_states_are_refused(mutate: Any, match: str) -> None:
    state = _eager_state(local=True)
    assert state["algo_state"]["_kind"] == LOCAL
    Optimizer.from_state(copy.deepcopy(state))  # the unmutated state restores
    mutate(state)
    with pytest.raises(ValueError, match=match):
        Optimizer.from_state(state)


_JUNK: list[Any] = [None, True, -1, 0, 1, 3, 10**30, 1.5, 1e308, "x", [], {},
                    {"__float__": "nan"}, {"__float__": "inf"}, {"__int__": "99"}]


_BASES = [_eager_state(a, pending=p, local=loc) for a in ("pso-ipop", "poa-ipop")
          for p in (False, True) for loc in (False, True)]
# a centred local run of an origin-biased algorithm (its origin, _offset, is junk too)
_BASES += [_eager_state("gwo-ipop", pending=p, local=True) for p in (False, True)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mutated_restart_states_raise_value_error_or_run_in_box(
    data: st.DataObject,
) -> None:
    """Junk anywhere in the wrapper's state or its nested run's: a ValueError, or a run
    that stays in the box and spends exactly the budget."""
    state = copy.deepcopy(data.draw(st.sampled_from(_BASES)))
    paths = [p for p in json_paths(state, 4)[1:] if "params" not in p]
    path = data.draw(st.sampled_from(paths))
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(_JUNK)))
    try:
        opt = Optimizer.from_state(state)
    except ValueError:
        return
    start = opt.nfev
    evaluated = 0
    with np.errstate(all="ignore"):
        while not opt.done:
            X = opt.ask()
            assert np.isfinite(X).all() and (X >= opt.lower).all() and (X <= opt.upper).all()
            evaluated += X.shape[0]
            opt.tell(X, shifted_sphere(X))
    assert opt.nfev == opt.budget == start + evaluated


def test_gwo_ipop_gives_each_global_run_a_short_horizon_by_default() -> None:
    """RESTART_TUNED: gwo-ipop's global runs have 30 iterations each (its ``a`` must reach
    0 for small steps, docs/algorithms.md §12.2), and so do ``ipop``'s with inner="gwo";
    POA's 100; the others keep one horizon for the budget left (ACOR's tuned values are
    its own hyper-parameters, tests/test_aco_rotation.py)."""
    iters = {"gwo": 30, "poa": 100}
    assert {k: v for k, v in RESTART_TUNED.items() if k != "aco"} == {
        k: {"restart_iters": v} for k, v in iters.items()}
    for algo in BUILT_INS:
        assert metaheur.get(f"{algo}-ipop").defaults["restart_iters"] == iters.get(algo)
    assert IPOP.defaults["restart_iters"] is None
    assert IPOP.validate_params(inner="gwo")["restart_iters"] == 30
    for name in ("GWO", "Gwo"):  # the registry's spelling-insensitive lookup: same tuning
        assert IPOP.validate_params(inner=name)["restart_iters"] == 30
    assert IPOP.validate_params(inner="POA")["restart_iters"] == 100
    assert IPOP.validate_params(inner="gwo", restart_iters=None)["restart_iters"] is None
    assert IPOP.validate_params(inner="pso")["restart_iters"] is None
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=5, budget=3000, seed=0,
                                   restart_patience=10**6)
    assert opt.params["restart_iters"] == 30
    runs = _runs(opt, shifted_sphere)
    first = [r for r in runs if r["kind"] == GLOBAL]
    assert len(first) >= 2 and first[0]["run"].max_iter == 30


def test_pso_ipop_starts_from_a_tuned_first_population_of_20() -> None:
    """RESTART_POP_SIZE: ``pso-ipop`` starts from 20 agents when ``pop_size`` is not given
    (docs/algorithms.md §12.3); every other variant, ``ipop`` whatever its ``inner``, and
    the published ``pso`` from 30; a given ``pop_size`` always wins."""
    assert RESTART_POP_SIZE == {"pso": 20}
    for algo in BUILT_INS:
        want = 20 if algo == "pso" else 30
        assert metaheur.get(f"{algo}-ipop")(BOUNDS, budget=200).pop_size == want
        assert metaheur.get(algo)(BOUNDS, budget=200).pop_size == 30  # published: unchanged
    assert metaheur.get("pso-ipop").default_pop_size == 20
    for kw in ({}, {"inner": "pso"}, {"inner": "gwo"}):
        assert metaheur.get("ipop")(BOUNDS, budget=200, **kw).pop_size == 30
    assert metaheur.get("pso-ipop")(BOUNDS, budget=200, pop_size=30).pop_size == 30
    res = metaheur.minimize(shifted_sphere, BOUNDS, "pso-ipop", budget=300, seed=0,
                            vectorized=True)
    assert res.optimizer.pop_size == 20  # the first run's population
    assert metaheur.get("pso-ipop")(BOUNDS, budget=200).ask().shape[0] == 20
    assert metaheur.minimize(shifted_sphere, BOUNDS, "pso", budget=300, seed=0,
                             vectorized=True).optimizer.pop_size == 30


def test_a_default_population_grows_to_hold_the_warm_start() -> None:
    """Regression: 25 warm-start points were refused by ``pso-ipop`` (default first swarm
    20) although the user never chose a population; a given ``pop_size`` is still a limit."""
    x0 = np.random.default_rng(0).uniform(*np.asarray(BOUNDS).T, (25, len(BOUNDS)))
    assert metaheur.get("pso-ipop")(BOUNDS, budget=200, x0=x0).pop_size == 25
    assert metaheur.get("pso-ipop")(BOUNDS, budget=200, x0=x0[:5]).pop_size == 20
    assert metaheur.get("pso")(BOUNDS, budget=200, x0=x0).pop_size == 30
    with pytest.raises(ValueError, match="m <= pop_size=20"):
        metaheur.get("pso-ipop")(BOUNDS, budget=200, x0=x0, pop_size=20)


def test_default_first_population_state_round_trip_and_null_pop_size_refused() -> None:
    """A ``pso-ipop`` made without ``pop_size`` exports 20 and continues bit for bit; a
    state whose ``pop_size`` is null is refused (the constructor's default is for
    callers, never filled into an untrusted state)."""
    opt = metaheur.get("pso-ipop")(BOUNDS, budget=900, seed=5, restart_patience=3)
    run(opt, shifted_sphere, stop_nit=12)
    state = json.loads(json.dumps(opt.get_state(), allow_nan=False))
    assert state["config"]["pop_size"] == 20
    twin = Optimizer.from_state(state)
    a, b = run(opt, shifted_sphere), run(twin, shifted_sphere)
    assert opt.restarts >= 1 and len(a) == len(b)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert opt.best_f == twin.best_f
    state["config"]["pop_size"] = None
    with pytest.raises(ValueError, match="pop_size"):
        Optimizer.from_state(state)
    plain = json.loads(json.dumps(metaheur.get("pso")(BOUNDS, budget=90).get_state()))
    plain["config"]["pop_size"] = None
    with pytest.raises(ValueError, match="pop_size"):
        Optimizer.from_state(plain)


def test_population_right_after_a_restart_is_the_new_runs_known_rows() -> None:
    """Regression: between a restart and the new run's first batch, ``population`` raised
    AttributeError (GWO has no pack yet); it is the run's known row, the best point."""
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=4, budget=400, seed=0,
                                   restart_patience=1, restart_local=False)
    while opt.restarts == 0:
        X = opt.ask()
        opt.tell(X, plateau(X))
    X, f = opt.population
    np.testing.assert_array_equal(X, opt.best_x[None, :])
    assert f.tolist() == [opt.best_f]


def _first_release_layout(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` as metaheur 0.1.0 first wrote it: no ``_offset``, no
    ``restart_local_center`` (its local runs were never centred)."""
    old = copy.deepcopy(state)
    del old["algo_state"]["_offset"]
    del old["config"]["params"]["restart_local_center"]
    return old


@pytest.mark.parametrize("stop", [0, 12, 140, 290])
def test_a_state_of_the_first_release_restores_as_the_run_it_was(stop: int) -> None:
    """Regression: ipop states written before centred local runs (no ``_offset``) were
    refused. They restore as uncentred runs and continue bit for bit like one."""
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=4, budget=600, seed=5,
                                   restart_local_center=False, **LOCAL_ON)
    while opt.nfev < stop:
        X = opt.ask()
        opt.tell(X, plateau(X))
    assert stop == 0 or opt._kind == LOCAL  # the other stops are in local runs
    state = json.loads(json.dumps(opt.get_state()))
    old = metaheur.Optimizer.from_state(_first_release_layout(state))
    new = metaheur.Optimizer.from_state(state)
    assert old.restart_local_center is False
    while not new.done:
        X = new.ask()
        np.testing.assert_array_equal(old.ask(), X)
        old.tell(X, plateau(X))
        new.tell(X, plateau(X))
    assert old.best_f == new.best_f and old.restarts == new.restarts > 0


def test_states_written_by_the_first_release_continue_bit_for_bit() -> None:
    """tests/data/ipop_states_0.1.0.json: gwo-, pso- and poa-ipop states (in a global run,
    a local run, before the first tell) as metaheur 0.1.0 wrote them, with the next 12
    batches that release asked; restored here they ask the same points."""
    path = Path(__file__).parent / "data" / "ipop_states_0.1.0.json"
    cases = json.loads(path.read_text())
    assert [c["kind"] for c in cases] == [GLOBAL, LOCAL, None]

    def f(X: np.ndarray) -> np.ndarray:  # the objective the fixtures were written with
        return ((X - 0.3) ** 2).sum(axis=1) + np.abs(X).sum(axis=1)

    for case in cases:
        opt = metaheur.Optimizer.from_state(case["state"])
        assert opt.name == case["algo"] and opt.restart_local_center is False
        for X_old in case["next"]:
            X = opt.ask()
            np.testing.assert_array_equal(X, np.array(X_old))
            opt.tell(X, f(X))
        assert opt.best_f == case["best_f"]


def test_a_state_without_offset_but_with_centring_is_refused() -> None:
    opt = metaheur.get("gwo-ipop")(BOUNDS, pop_size=4, budget=600, seed=5, **LOCAL_ON)
    X = opt.ask()
    opt.tell(X, plateau(X))
    state = json.loads(json.dumps(opt.get_state()))
    del state["algo_state"]["_offset"]
    with pytest.raises(ValueError, match="_offset"):
        metaheur.Optimizer.from_state(state)
