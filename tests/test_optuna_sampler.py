"""MetaheuristicSampler: Optuna's sampler contract, serial equivalence with minimize(),
FAIL/PRUNED, enqueued trials, restarts, stale RUNNING trials, threads and state sharing."""

from __future__ import annotations

import json
import math
import pickle
import warnings
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

import metaheur
from metaheur import Optimizer
from metaheur.optuna import (
    ACOSampler,
    AOASampler,
    DLFAOASampler,
    GWOSampler,
    MetaheuristicSampler,
    POASampler,
    PSOSampler,
    SearchSpaceEncoder,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

ALGOS = metaheur.available()
ATTR = "metaheur:"
SPACE = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(3)}
SPACE["lr"] = FloatDistribution(1e-4, 1.0, log=True)


def sphere_params(p: dict[str, Any]) -> float:
    return sum((p[f"x{i}"] - 1.0) ** 2 for i in range(3)) + (math.log10(p["lr"]) + 2) ** 2


def objective(trial: optuna.Trial) -> float:
    p = {name: trial.suggest_float(name, d.low, d.high, log=d.log) for name, d in SPACE.items()}
    return sphere_params(p)


def rows_of(study: optuna.Study, algo: str) -> list[list[float]]:
    return [t.system_attrs[ATTR + algo]["x"] for t in study.trials
            if "x" in t.system_attrs.get(ATTR + algo, {})]


def skipped(t: optuna.trial.FrozenTrial, algo: str) -> bool:
    return t.system_attrs.get(ATTR + algo) == {"v": 3, "skip": True}


def latest_record(study: optuna.Study, algo: str) -> dict[str, Any]:
    prefix = ATTR + algo + ":gen:"
    recs = [(int(k[len(prefix):]), v) for t in study.trials
            for k, v in t.system_attrs.items() if k.startswith(prefix)]
    return max(recs, key=lambda r: r[0])[1]


class RandomSearch(Optimizer):
    """A third-party optimizer that is not registered: uniform samples each iteration."""

    name = "third-party-random"
    _state_fields: ClassVar[tuple[str, ...]] = ("_X", "_f")

    def _init_state(self, X: np.ndarray, f: np.ndarray) -> None:
        self._X, self._f = X.copy(), f.copy()

    def _ask(self, t: int, r: int) -> np.ndarray:
        return self._uniform((self.pop_size, self.dim))

    def _tell(self, t: int, r: int, X: np.ndarray, f: np.ndarray) -> None:
        keep = f < self._f
        self._X[keep], self._f[keep] = X[keep], f[keep]

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self._X, self._f


# ----------------------------------------------------------- Optuna's own test cases
try:
    from optuna.testing.pytest_samplers import (
        BasicSamplerTestCase,
        RelativeSamplerTestCase,
        SingleOnlySamplerTestCase,
    )
except ImportError:  # Optuna < 4.8 ships no reusable sampler tests
    pass
else:

    class TestOptunaContract(
        BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase
    ):
        @pytest.fixture(params=["gwo", "poa"])
        def sampler(self, request: pytest.FixtureRequest) -> Any:
            return lambda: MetaheuristicSampler(request.param, seed=0, pop_size=4, n_trials=20)


# ------------------------------------------------------------ serial equivalence
@pytest.mark.parametrize("algo", ALGOS)
def test_serial_equivalence_with_minimize(algo: str) -> None:
    n_trials, pop = 47, 6  # a truncated last batch; POA has two rounds per iteration
    enc = SearchSpaceEncoder(SPACE)
    sampler = MetaheuristicSampler(algo, pop_size=pop, seed=3, n_trials=n_trials,
                                   search_space=SPACE, skip_evaluated=False)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)

    seen: list[np.ndarray] = []

    def f_encoded(x: np.ndarray) -> float:
        seen.append(x.copy())
        return sphere_params(enc.decode(x))

    res = metaheur.minimize(f_encoded, enc.bounds, algo, budget=n_trials, pop_size=pop, seed=3,
                            reuse_evaluated=False)  # as skip_evaluated=False above
    assert res.nfev == n_trials
    np.testing.assert_array_equal(np.array(rows_of(study, algo)), np.array(seen))
    for t, x in zip(study.trials, seen, strict=True):
        assert t.params == enc.decode(x)
    assert study.best_value == res.fun


def test_serial_equivalence_maximize_and_failures() -> None:
    """Maximisation negates; FAIL and PRUNED trials are +inf, as minimize's failures."""
    algo, n_trials, pop = "pso", 40, 5
    enc = SearchSpaceEncoder(SPACE)

    def value(p: dict[str, Any]) -> float:
        if p["x0"] > 3.0:
            raise RuntimeError("boom")
        if p["x1"] < -3.0:
            raise optuna.TrialPruned()
        return -sphere_params(p)

    def obj(trial: optuna.Trial) -> float:
        return value({n: trial.suggest_float(n, d.low, d.high, log=d.log)
                      for n, d in SPACE.items()})

    study = optuna.create_study(direction="maximize", sampler=MetaheuristicSampler(
        algo, pop_size=pop, seed=1, n_trials=n_trials, search_space=SPACE,
        skip_evaluated=False))
    study.optimize(obj, n_trials=n_trials, catch=(RuntimeError,))
    states = {t.state for t in study.trials}
    assert {TrialState.FAIL, TrialState.PRUNED, TrialState.COMPLETE} <= states

    def f_encoded(x: np.ndarray) -> float:
        try:
            return -value(enc.decode(x))
        except (RuntimeError, optuna.TrialPruned):
            return math.nan

    seen: list[np.ndarray] = []
    res = metaheur.minimize(lambda x: (seen.append(x.copy()), f_encoded(x))[1], enc.bounds, algo,
                            budget=n_trials, pop_size=pop, seed=1)
    np.testing.assert_array_equal(np.array(rows_of(study, algo)), np.array(seen))
    assert study.best_value == -res.fun


def test_inferred_space_first_trial_is_a_warm_start_point() -> None:
    """Without search_space the fallback samples trial 0; it joins the population as x0/f0."""
    algo, n_trials, pop = "gwo", 30, 5
    enc = SearchSpaceEncoder(dict(sorted(SPACE.items())))  # Optuna's intersection is sorted
    study = optuna.create_study(sampler=MetaheuristicSampler(algo, pop_size=pop, seed=2,
                                                             n_trials=n_trials))
    study.optimize(objective, n_trials=n_trials)
    first = study.trials[0]
    assert skipped(first, algo)
    x0 = enc.encode(first.params)
    seen: list[np.ndarray] = []

    def f_encoded(x: np.ndarray) -> float:
        seen.append(x.copy())
        return first.value if np.array_equal(x, x0) else sphere_params(enc.decode(x))

    metaheur.minimize(f_encoded, enc.bounds, algo, budget=n_trials, pop_size=pop, seed=2,
                      x0=x0[None])
    np.testing.assert_array_equal(
        np.array([t.system_attrs[ATTR + algo]["x"] for t in study.trials[1:]]),
        np.array(seen[1:]),
    )


def test_third_party_unregistered_optimizer_class() -> None:
    sampler = MetaheuristicSampler(RandomSearch, pop_size=4, seed=0, n_trials=20)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=30)
    gens = {t.system_attrs[ATTR + "third-party-random"]["gen"] for t in study.trials[1:]}
    assert skipped(study.trials[0], "third-party-random")
    assert len(gens) >= 6


@pytest.mark.parametrize(
    ("cls", "algo"),
    [(AOASampler, "aoa"), (DLFAOASampler, "dlf-aoa"), (PSOSampler, "pso"),
     (ACOSampler, "aco"), (GWOSampler, "gwo"), (POASampler, "poa")],
)
def test_named_samplers(cls: type[MetaheuristicSampler], algo: str) -> None:
    study = optuna.create_study(sampler=cls(seed=0, n_trials=30))
    study.optimize(objective, n_trials=12)
    assert ATTR + algo in study.trials[-1].system_attrs
    assert str(study.sampler) == cls.__name__


def test_mixed_space_int_step_categorical() -> None:
    def obj(trial: optuna.Trial) -> float:
        a = trial.suggest_int("a", -10, 10)
        b = trial.suggest_int("b", 1, 1000, log=True)
        c = trial.suggest_int("c", 0, 12, step=3)
        d = trial.suggest_float("d", 0.0, 1.0, step=0.1)
        e = trial.suggest_categorical("e", ["relu", None, 3.5, True])
        return abs(a - 3) + abs(math.log(b) - 3) + abs(c - 6) + d + (e != 3.5)

    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=200))
    study.optimize(obj, n_trials=200)
    for t in study.trials:
        for name, dist in t.distributions.items():
            assert dist._contains(dist.to_internal_repr(t.params[name]))
    assert study.best_value < 3.0
    df = study.trials_dataframe()
    assert len(df) == 200 and "params_e" in df


# ------------------------------------------------------------- restarts / horizon
def test_restart_past_the_horizon_keeps_best_half() -> None:
    algo, n_trials, pop = "aoa", 30, 6
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, pop_size=pop, seed=0, n_trials=n_trials, search_space=SPACE))
    study.optimize(objective, n_trials=100)
    record = latest_record(study, algo)
    assert record["restart"] >= 2
    json.dumps(record, allow_nan=False)
    # every trial holds a row and the run keeps improving after restarts
    assert all(ATTR + algo in t.system_attrs for t in study.trials)
    best_first = min(t.value for t in study.trials[:n_trials])
    assert study.best_value <= best_first
    # the restarted optimizer's first batch re-uses no evaluation: its warm rows are told
    opt = Optimizer.from_state(record["opt"])
    assert opt.max_iter == math.ceil((n_trials - pop) / pop)


# ---------------------------------------------------------------- enqueued trials
def test_enqueued_trials_are_warm_start_points_not_rows() -> None:
    algo, n_trials, pop = "pso", 30, 6
    enc = SearchSpaceEncoder(SPACE)
    sampler = MetaheuristicSampler(algo, pop_size=pop, seed=4, n_trials=n_trials,
                                   search_space=SPACE)
    study = optuna.create_study(sampler=sampler)
    warm = [{"x0": 1.0, "x1": 1.0, "x2": 0.5, "lr": 0.01}, {"x0": 0.0, "x1": 0.0, "x2": 0.0,
                                                             "lr": 0.1}]
    for p in warm:
        study.enqueue_trial(p)
    study.optimize(objective, n_trials=n_trials)
    assert [t.params for t in study.trials[:2]] == warm
    assert all(skipped(t, algo) for t in study.trials[:2])

    # the same run by hand: x0/f0 = the enqueued points (best first), budget minus them
    order = sorted(range(2), key=lambda i: sphere_params(warm[i]))
    X0 = np.array([enc.encode(warm[i]) for i in order])
    f0 = np.array([sphere_params(warm[i]) for i in order])
    opt = metaheur.get(algo)(enc.bounds, pop_size=pop, budget=n_trials - 2, seed=4, x0=X0, f0=f0)
    seen: list[np.ndarray] = []
    while len(seen) < n_trials - 2:
        X = opt.ask()
        opt.tell(X, [sphere_params(enc.decode(x)) for x in X])
        seen.extend(X)
    np.testing.assert_array_equal(np.array(rows_of_tail(study, algo, 2)), np.array(seen))


def rows_of_tail(study: optuna.Study, algo: str, start: int) -> list[list[float]]:
    return [t.system_attrs[ATTR + algo]["x"] for t in study.trials[start:]]


def test_partially_enqueued_trial_uses_fallback_without_warning() -> None:
    study = optuna.create_study(sampler=PSOSampler(pop_size=4, seed=0, search_space=SPACE))
    study.optimize(objective, n_trials=3)
    study.enqueue_trial({"x0": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(objective, n_trials=1)
    t = study.trials[-1]
    assert t.params["x0"] == 1.0 and skipped(t, "pso")


# ------------------------------------------------------- fallback and validation
def test_dynamic_space_warns_once() -> None:
    def obj(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1, 1)
        if trial.number % 2:
            return x**2 + trial.suggest_float(f"y{trial.number % 4}", -1, 1) ** 2
        return x**2

    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=40))
    with pytest.warns(UserWarning, match="outside the relative search space") as rec:
        study.optimize(obj, n_trials=40)
    assert sum("outside the relative search space" in str(w.message) for w in rec) == 1


def test_validation_errors() -> None:
    with pytest.raises(ValueError, match="unknown algorithm 'nope'; available: aco"):
        MetaheuristicSampler("nope")
    with pytest.raises(ValueError, match="pop_size must be >= 3 for gwo, got 2"):
        MetaheuristicSampler("gwo", pop_size=2)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1, got 0"):
        MetaheuristicSampler("gwo", n_trials=0)
    for bad in (-1, math.inf, "10"):
        with pytest.raises(ValueError, match="wait_timeout must be None"):
            MetaheuristicSampler("gwo", wait_timeout=bad)
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        MetaheuristicSampler("pso", omega=3)
    for flag in ("skip_evaluated", "speculative", "union_space"):
        with pytest.raises(ValueError, match=f"{flag} must be True or False, got 1"):
            MetaheuristicSampler("pso", **{flag: 1})
    with pytest.raises(ValueError, match="search_space must be None or a dict"):
        MetaheuristicSampler("pso", search_space=[1])  # type: ignore[arg-type]
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=GWOSampler(seed=0))
    with pytest.raises(ValueError, match="multi-objective"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


def test_seed_is_checked_as_optuna_and_minimize_check_it() -> None:
    """Regression: a SeedSequence, Generator, 'a' or 1.5 gave a TypeError from NumPy's
    _mt19937.pyx, -1 'Seed must be between 0 and 2**32 - 1', and True was accepted."""
    for bad in (True, 1.5, "a", -1, 2**32):
        with pytest.raises(ValueError, match=r"seed must be None or an integer in "
                                             r"\[0, 2\*\*32 - 1\]"):
            MetaheuristicSampler("pso", n_trials=10, seed=bad)
    for obj in (np.random.SeedSequence(3), np.random.default_rng(3), np.random.PCG64(3)):
        with pytest.raises(ValueError, match=r"seed.*shared storage.*integer"):
            MetaheuristicSampler("pso", n_trials=10, seed=obj)
    kw = dict(n_trials=20, pop_size=5, search_space=SPACE)
    runs = []
    for seed in (np.int64(3), np.uint32(3), 3):
        study = optuna.create_study(sampler=MetaheuristicSampler("pso", seed=seed, **kw))
        study.optimize(objective, n_trials=12)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1] == runs[2]


def test_budget_and_max_iter_are_not_sampler_options() -> None:
    """Regression: budget=100 gave 'give exactly one of budget ... or max_iter; got
    budget=100, max_iter=1' though the user never passed max_iter."""
    for key in ("budget", "max_iter"):
        with pytest.raises(ValueError, match=rf"{key}.*takes n_trials"):
            MetaheuristicSampler("pso", n_trials=10, **{key: 100})
    for key in ("x0", "f0"):
        with pytest.raises(ValueError, match=rf"{key}.*enqueue_trial"):
            MetaheuristicSampler("pso", n_trials=10, **{key: [[0.0]]})


def test_no_warnings_per_trial_and_pickle() -> None:
    sampler = DLFAOASampler(seed=0, n_trials=50, search_space=SPACE)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(objective, n_trials=25)
    clone = pickle.loads(pickle.dumps(sampler))
    study.sampler = clone
    study.optimize(objective, n_trials=25)
    assert len({t.system_attrs[ATTR + "dlf-aoa"]["gen"] for t in study.trials}) >= 5


def test_pruners_and_dataframe() -> None:
    def obj(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        for step in range(5):
            trial.report((x - 1) ** 2 + 5 - step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return (x - 1) ** 2

    for pruner in (optuna.pruners.MedianPruner(n_startup_trials=3),
                   optuna.pruners.HyperbandPruner(min_resource=1, max_resource=5)):
        study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=60), pruner=pruner)
        study.optimize(obj, n_trials=60)
        assert len(study.trials_dataframe()) == 60
        assert study.best_value < 0.5


# ------------------------------------------------- storage-held state and workers
def test_late_worker_continues_the_same_run() -> None:
    """A new sampler instance (a restarted worker) continues from the storage."""
    kw = dict(pop_size=5, seed=7, n_trials=40, search_space=SPACE)
    ref = optuna.create_study(sampler=MetaheuristicSampler("poa", **kw))
    ref.optimize(objective, n_trials=50)

    study = optuna.create_study(sampler=MetaheuristicSampler("poa", **kw))
    study.optimize(objective, n_trials=23)
    study.sampler = MetaheuristicSampler("poa", **kw)
    study.optimize(objective, n_trials=27)
    assert [t.params for t in study.trials] == [t.params for t in ref.trials]


# ------------------------------------------------------------------------ factories
def test_make_sampler_and_pruner_by_name() -> None:
    from metaheur.optuna import PRUNERS, make_pruner, make_sampler, sampler_names

    assert sampler_names()[:len(ALGOS)] == ALGOS
    assert sampler_names()[-4:] == ["tpe", "cmaes", "gp", "random"]
    s = make_sampler("DLF_AOA", seed=0, pop_size=5, n_trials=30, search_space=SPACE)
    assert isinstance(s, MetaheuristicSampler) and s._cls.name == "dlf-aoa" and s._pop_size == 5
    assert isinstance(make_sampler("tpe", seed=0), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random"), optuna.samplers.RandomSampler)
    assert isinstance(make_sampler("GP", seed=0), optuna.samplers.GPSampler)
    with pytest.raises(ValueError, match="unknown sampler 'nope'; allowed: aco"):
        make_sampler("nope")
    with pytest.raises(ValueError, match="sampler 'tpe' has no option 'omega'; allowed: "):
        make_sampler("tpe", omega=1)
    for name in ("tpe", "gp", "random"):  # regression: pop_size=5 was ignored silently
        with pytest.raises(ValueError, match=f"sampler '{name}' has no population"):
            make_sampler(name, pop_size=5)
    assert make_sampler("cmaes", pop_size=5)._popsize == 5
    kinds = {name: type(make_pruner(name)).__name__ for name in PRUNERS}
    assert kinds == {"none": "NopPruner", "median": "MedianPruner",
                     "hyperband": "HyperbandPruner",
                     "successive-halving": "SuccessiveHalvingPruner"}
    with pytest.raises(ValueError, match="unknown pruner 'x'; allowed: none"):
        make_pruner("x")


def test_optuna_samplers_take_their_plain_options() -> None:
    """Options of Optuna's samplers reach them; the names follow the installed Optuna's
    signatures (callables, samplers and seed/popsize are not options)."""
    import warnings

    from metaheur.optuna import make_sampler, optuna_options

    tpe = optuna_options("tpe")
    assert {"n_startup_trials", "multivariate", "n_ei_candidates"} <= set(tpe)
    assert not {"seed", "gamma", "weights", "constraints_func"} & set(tpe)
    assert not {"seed", "popsize", "x0", "independent_sampler", "restart_strategy",
                "inc_popsize"} & set(optuna_options("cmaes"))  # the last two: ignored
    assert optuna_options("random") == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate is experimental in Optuna
        s = make_sampler("tpe", seed=0, multivariate=True, n_startup_trials=3)
    assert s._multivariate is True and s._n_startup_trials == 3
    c = make_sampler("cmaes", seed=0, pop_size=6, sigma0=0.5, n_startup_trials=2)
    assert (c._popsize, c._sigma0, c._n_startup_trials) == (6, 0.5, 2)
    assert make_sampler("tpe", n_startup_trials=np.int64(4))._n_startup_trials == 4
    g = make_sampler("gp", seed=0, n_startup_trials=3, deterministic_objective=True)
    assert (g._n_startup_trials, g._deterministic) == (3, True)
    assert not {"seed", "independent_sampler", "constraints_func"} & set(optuna_options("gp"))
    assert make_sampler("tpe", n_startup_trials=10**400)._n_startup_trials == 10**400  # int


@pytest.mark.parametrize(("name", "params", "message"), [
    ("tpe", {"n_startup_trials": -1}, "n_startup_trials of Optuna's tpe sampler must be an int "
                                      ">= 0, got -1"),
    ("tpe", {"n_startup_trials": 2.5}, "must be an int >= 0, got 2.5"),
    ("tpe", {"n_startup_trials": True}, "must be an int >= 0, got True"),
    ("tpe", {"multivariate": 1}, "multivariate of Optuna's tpe sampler must be a bool"),
    ("tpe", {"prior_weight": float("nan")}, "prior_weight of Optuna's tpe sampler must be a "
                                            "float > 0"),
    ("tpe", {"prior_weight": 0.0}, "must be a float > 0"),
    ("tpe", {"n_ei_candidates": 0}, "n_ei_candidates of Optuna's tpe sampler must be an int "
                                    ">= 1, got 0"),
    ("tpe", {"gamma": 0.1}, "sampler 'tpe' has no option 'gamma'; allowed: "),
    ("cmaes", {"popsize": 4}, "sampler 'cmaes': popsize is set by make_sampler's pop_size"),
    ("cmaes", {"sigma0": 0}, "sigma0 of Optuna's cmaes sampler must be a float > 0 or none"),
    ("cmaes", {"restart_strategy": "ipop"}, "sampler 'cmaes': Optuna ignores restart_strategy "
                                            "since version 4.4 (deprecated); leave it out"),
    ("tpe", {"consider_prior": False}, "Optuna ignores consider_prior since version 4.3"),
    ("cmaes", {"with_margin": None}, "with_margin of Optuna's cmaes sampler must be a bool, "
                                     "got None"),
    ("cmaes", {"n_startup_trials": 1.5}, "n_startup_trials of Optuna's cmaes sampler must be "
                                         "an int >= 0, got 1.5"),
    ("tpe", {"n_startup_trials": np.float64(2.0)}, "must be an int >= 0, got"),
    ("random", {"x": 1}, "sampler 'random' has no option 'x'; allowed: none"),
    ("gp", {"n_startup_trials": -1}, "n_startup_trials of Optuna's gp sampler must be an int "
                                     ">= 0, got -1"),
    ("gp", {"deterministic_objective": "yes"}, "deterministic_objective of Optuna's gp "
                                               "sampler must be a bool"),
])
def test_optuna_sampler_options_are_checked(name: str, params: dict, message: str) -> None:
    from metaheur.optuna import make_sampler

    with pytest.raises(ValueError) as info:
        make_sampler(name, seed=0, **params)
    assert message in str(info.value)


def test_gp_sampler_fits_its_model_after_the_start_up_trials() -> None:
    """Optuna's GP, which led the ten samplers on lstm-digits (docs/benchmarks.md §7), by
    name: after its start-up trials it proposes points from its Gaussian process."""
    from metaheur.optuna import make_sampler

    study = optuna.create_study(sampler=make_sampler("gp", seed=0, n_startup_trials=3,
                                                     deterministic_objective=True))
    study.optimize(lambda t: (t.suggest_float("x", -1.0, 1.0) - 0.3) ** 2
                   + 0.1 * t.suggest_int("k", 0, 3), n_trials=8)
    assert len(study.trials) == 8 and study.best_value < 0.05


def test_gp_without_pytorch_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Optuna's GP needs PyTorch, which a core install (no ``models`` extra) lacks: the
    error says so when the sampler is made, not at its first model fit."""
    import sys

    from metaheur.optuna import make_sampler

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ValueError, match="sampler 'gp' needs PyTorch"):
        make_sampler("gp", seed=0)


def test_partial_fixed_sampler_parameters_leave_the_population_space() -> None:
    """Regression (session 25's audit): Optuna's PartialFixedSampler around this sampler
    replaced the value of a parameter after its row was claimed, so every row was told the
    value of another point (f(x, y_fixed) as f(x, y_row)). The parameters the wrapper fixes
    now leave the space the population searches: its rows claim x only."""
    from metaheur.optuna._protocol import Claim, parse_ticket

    def obj(t: optuna.Trial) -> float:
        x, y = t.suggest_float("x", -2, 2), t.suggest_float("y", -2, 2)
        return x * x + (y - 1) ** 2

    sampler = MetaheuristicSampler("gwo", seed=0, n_trials=40, pop_size=4)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        wrapper = optuna.samplers.PartialFixedSampler({"y": 1.0}, sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no override warning: nothing claimed is overridden
        study.optimize(obj, n_trials=6)
        study.sampler = wrapper
        study.optimize(obj, n_trials=8)
    later = study.trials[6:]
    assert all(t.params["y"] == 1.0 for t in later)
    claims = [parse_ticket(t.system_attrs[sampler._attr]) for t in later]
    assert all(isinstance(c, Claim) and c.names == ("x",) for c in claims)
    assert [t.params["x"] for t in later] == [
        pytest.approx(2 * c.x[0]) for c in claims]  # the claimed point was evaluated


def test_another_wrapper_that_overrides_claimed_parameters_is_warned_once() -> None:
    """A wrapper this sampler does not know (here a copy of PartialFixedSampler) still
    overrides claimed values: the population is told other points' values, with a warning."""

    class Pin(optuna.samplers.BaseSampler):
        def __init__(self, base: optuna.samplers.BaseSampler) -> None:
            self.base = base

        def infer_relative_search_space(self, study, trial):  # type: ignore[no-untyped-def]
            space = self.base.infer_relative_search_space(study, trial)
            return {k: v for k, v in space.items() if k != "y"}

        def sample_relative(self, study, trial, space):  # type: ignore[no-untyped-def]
            return self.base.sample_relative(study, trial, space)

        def sample_independent(self, study, trial, name, dist):  # type: ignore[no-untyped-def]
            return 1.0 if name == "y" else self.base.sample_independent(study, trial, name,
                                                                        dist)

        def before_trial(self, study, trial):  # type: ignore[no-untyped-def]
            self.base.before_trial(study, trial)

        def after_trial(self, study, trial, state, values):  # type: ignore[no-untyped-def]
            self.base.after_trial(study, trial, state, values)

    def obj(t: optuna.Trial) -> float:
        x, y = t.suggest_float("x", -2, 2), t.suggest_float("y", -2, 2)
        return x * x + (y - 1) ** 2

    sampler = MetaheuristicSampler("gwo", seed=0, n_trials=40, pop_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(obj, n_trials=6)
    study.sampler = Pin(sampler)
    with pytest.warns(UserWarning, match=r"(?s)evaluated y = 1\.0, .*PartialFixedSampler") as rec:
        study.optimize(obj, n_trials=8)
    assert sum("evaluated y" in str(w.message) for w in rec) == 1


def test_a_float_grid_too_fine_for_optunas_check_evaluates_the_claimed_points() -> None:
    """Regression (session 25's audit): on a grid of 10**9 steps Optuna's ``_contains``
    refuses many exact grid values (its test of ``(v - low) / step`` has float noise above
    about 5e7 steps). Optuna then asked ``sample_independent``, the fallback drew a random
    value, and the claimed row was told the value of that other point. The claimed value is
    now returned there."""
    dist = FloatDistribution(0.0, 1.0, step=1e-9)

    def obj(t: optuna.Trial) -> float:
        x, y = t.suggest_float("x", 0.0, 1.0, step=1e-9), t.suggest_float("y", -1.0, 1.0)
        return (x - 0.3) ** 2 + y * y

    study = optuna.create_study(sampler=MetaheuristicSampler("pso", seed=0, pop_size=6))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither the fallback nor the override warning
        study.optimize(obj, n_trials=30)
    xs = [t.params["x"] for t in study.trials]
    assert sum(not dist._contains(x) for x in xs) > 0  # the case the test is about happened


def test_a_multi_objective_study_is_refused_without_leaving_a_running_trial() -> None:
    """Regression (sampler audit): ``before_trial`` raised Optuna's multi-objective error
    from ``study.ask()``, before any objective ran, so the trial it had just created stayed
    RUNNING in the storage for ever. It is now FAIL, and the error says what to use."""
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=MetaheuristicSampler("gwo", seed=0, n_trials=20))
    with pytest.raises(ValueError, match=r"(?s)single objective.*2 objectives.*NSGAIISampler"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=3)
    with pytest.raises(ValueError, match="single objective"):
        study.ask()
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.FAIL]


def test_a_parameter_suggested_with_another_range_evaluates_the_claimed_point() -> None:
    """Regression (sampler audit): when the objective suggests a parameter with another
    distribution than the one its row was claimed in (``search_space`` disagreeing with the
    objective, or a range widened mid-study), Optuna asks ``sample_independent``, which drew
    a random value: the row was told the value of another point, and the warning blamed a
    wrapping sampler. The claimed value is used where the new range holds it, with one
    warning naming both distributions; a value outside it is sampled independently."""
    from metaheur.optuna._protocol import Claim, parse_ticket

    space = {"x": FloatDistribution(-5.0, 5.0), "y": FloatDistribution(-1.0, 1.0)}
    sampler = MetaheuristicSampler("gwo", seed=0, n_trials=30, pop_size=4, search_space=space)
    study = optuna.create_study(sampler=sampler)

    def wide(t: optuna.Trial) -> float:
        x, y = t.suggest_float("x", -10.0, 10.0), t.suggest_float("y", -1.0, 1.0)
        return (x - 1) ** 2 + y * y

    with pytest.warns(UserWarning, match=r"(?s)'x' with FloatDistribution\(.*high=10\.0.*"
                      r"high=5\.0.*claimed value is used") as rec:
        study.optimize(wide, n_trials=12)
    assert len(rec) == 1  # once; not the override warning (no wrapper), nor the fallback's
    enc = SearchSpaceEncoder(space)
    for t in study.trials:
        c = parse_ticket(t.system_attrs[sampler._attr])
        assert isinstance(c, Claim)
        assert t.params == enc.decode(np.array(c.x))  # the point its row was told

    def narrow(t: optuna.Trial) -> float:
        x, y = t.suggest_float("x", 4.9, 5.0), t.suggest_float("y", -1.0, 1.0)
        return (x - 1) ** 2 + y * y

    with pytest.warns(UserWarning, match=r"(?s)'x' with FloatDistribution.*outside it"):
        study.optimize(narrow, n_trials=4)
    assert all(4.9 <= t.params["x"] <= 5.0 for t in study.trials[12:])


def test_a_population_not_below_n_trials_warns_that_the_algorithm_never_iterates() -> None:
    """Issue 8 (sampler-side bound): ``pop_size >= n_trials`` spent every planned trial on
    the initial population (random search) without a word; ``metaheur tune`` warned, the
    sampler did not. A defaulted or smaller population stays silent, and ``tune``'s own
    sampler leaves the advice to the CLI (one warning, not two)."""
    from metaheur.harness.seeding import tune_sampler

    with pytest.warns(UserWarning, match=r"pop_size is not below n_trials \(pop_size=20, "
                      r"n_trials=20\).*pso's initial population.*never iterates"):
        MetaheuristicSampler("pso", n_trials=20, pop_size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MetaheuristicSampler("pso", n_trials=20, pop_size=19)
        MetaheuristicSampler("gwo", n_trials=2)  # defaulted: the smallest population
        tune_sampler("pso", 0, 30, 20, {}, {})
