"""The restart layer (metaheur.restarts): growing populations, the best point kept, the
exact budget, bit-identical export/restore across restarts, any algorithm (plug-ins too)."""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
from helpers import check_invariants, json_paths, roundtrip, run, shifted_sphere
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metaheur
from metaheur import Optimizer
from metaheur.restarts import IPOP, RESTART_DEFAULTS, with_restarts

BOUNDS = [(-2.0, 3.0), (-1.0, 1.0), (0.0, 10.0)]
BUILT_INS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
EAGER = {"restart_patience": 1, "restart_iters": 2}  # restart very often


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
            np.testing.assert_array_equal(run_._x_init[0], before[1])
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
                                   restart_patience=1000)
    seen = drive(opt)
    # run 0: the initial population, then 3 iterations; the third one ends the run
    assert seen[:4] == [(0, 5), (0, 5), (0, 5), (1, 10)]
    assert opt.restarts >= 2 and opt.nfev == 300


def test_without_keep_best_a_new_run_starts_uniform() -> None:
    opt = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=200, seed=1,
                                   restart_patience=1, restart_keep_best=False)
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


class _Walk(Optimizer):
    """A plug-in: every agent takes a uniform step around the best point so far."""

    name = "test-walk"
    defaults: ClassVar[dict[str, Any]] = {"step": 0.1}
    _state_fields = ("_X", "_fX")

    def _init_state(self, X: np.ndarray, f: np.ndarray) -> None:
        self._X, self._fX = X.copy(), f.copy()

    def _ask(self, t: int, r: int) -> np.ndarray:
        b = self._X[int(self._fX.argmin())]
        span = self.step * (self.upper - self.lower)
        return b + self.rng.uniform(-1.0, 1.0, self._X.shape) * span

    def _tell(self, t: int, r: int, X: np.ndarray, f: np.ndarray) -> None:
        keep = f < self._fX
        self._X[keep], self._fX[keep] = X[keep], f[keep]

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self._X, self._fX


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
    ],
)
def test_restored_states_continue_bit_identically(kw: dict[str, Any]) -> None:
    """Regression (merge of the strict restore): every state of these runs was refused."""
    make = lambda: metaheur.get("pso-ipop")(BOUNDS, seed=0, **kw)  # noqa: E731
    asked = run(make(), plateau)
    for nfev, state in _states_along(make()):
        twin = Optimizer.from_state(state)
        assert twin.nfev == nfev
        rest = run(twin, plateau)
        done = len(asked) - len(rest)
        assert all(np.array_equal(a, b) for a, b in zip(asked[done:], rest, strict=True))


def _eager_state(algo: str = "pso-ipop", *, pending: bool = True) -> dict[str, Any]:
    opt = metaheur.get(algo)(BOUNDS, pop_size=4, budget=200, seed=1, **EAGER)
    while opt.restarts < 2:
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
        (lambda s: s["algo_state"].update(_restarts=5), "agents, restart 5 has"),
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
    ],
)
def test_junk_restart_states_are_refused(mutate: Any, match: str) -> None:
    state = _eager_state()
    assert state["algo_state"]["_restarts"] == 2
    mutate(state)
    with pytest.raises(ValueError, match=match):
        Optimizer.from_state(state)


_JUNK: list[Any] = [None, True, -1, 0, 1, 3, 10**30, 1.5, 1e308, "x", [], {},
                    {"__float__": "nan"}, {"__float__": "inf"}, {"__int__": "99"}]


_BASES = [_eager_state(a, pending=p) for a in ("pso-ipop", "poa-ipop") for p in (False, True)]


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
