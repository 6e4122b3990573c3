"""Branch repair (``metaheur.optuna._repair``): a population row that enters a branch of a
conditional space takes that branch's best trial's values, moved by the algorithm's step."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from metaheur import available, get
from metaheur.optuna import MetaheuristicSampler
from metaheur.optuna._repair import BranchMap, repaired_rows
from metaheur.optuna._store import GenerationStore, RunSpace

SPACE = {"c": CategoricalDistribution(["a", "b"]),
         "xa": FloatDistribution(-1.0, 1.0), "xb": FloatDistribution(-1.0, 1.0)}


def _add(run: RunSpace, number: int, value: float, **params: Any) -> None:
    t = optuna.trial.create_trial(params=params, distributions={k: SPACE[k] for k in params},
                                  value=value)
    t.number = number
    run.add(t, value)


def _conditional_run() -> RunSpace:
    run = RunSpace(SPACE, "s")
    _add(run, 0, 3.0, c="a", xa=0.5)
    _add(run, 1, 2.0, c="b", xb=-0.4)
    _add(run, 2, 1.0, c="b", xb=0.6)  # branch b's best
    return run


def test_active_parameters_and_donor_are_read_off_the_completed_trials() -> None:
    branches = BranchMap(_conditional_run())
    assert branches.active({"c": "a", "xa": 0.0, "xb": 0.0}) == {"c", "xa"}
    assert branches.active({"c": "b", "xa": 0.0, "xb": 0.0}) == {"c", "xb"}
    assert branches.donor({"c": "b", "xa": 0.0, "xb": 0.0}, frozenset({"xb"})).number == 2
    assert branches.donor({"c": "a", "xa": 0.0, "xb": 0.0}, frozenset({"xb"})) is None


def test_a_row_entering_a_branch_takes_its_best_values_moved_by_the_step() -> None:
    run = _conditional_run()
    # coordinates (c, xa, xb); c < 0 decodes to "a", c > 0 to "b"
    P = np.array([[-0.5, 0.1, -0.9], [0.5, 0.0, 0.2], [-0.5, 0.3, 0.0]])
    X = np.array([[0.5, 0.2, -0.8],   # a -> b: xb = 0.6 + (-0.8 - -0.9)
                  [0.5, 0.1, 0.3],    # stays in b
                  [0.5, 0.3, 0.9]])   # a -> b, the step pushes xb past the bound
    rows = repaired_rows(run, X, P)
    assert sorted(rows) == [0, 2]
    np.testing.assert_allclose(rows[0], [0.5, 0.2, 0.7])
    np.testing.assert_allclose(rows[2], [0.5, 0.3, 1.0])  # clipped to the box
    assert sorted(repaired_rows(run, X, P, skip=frozenset({0}))) == [2]


def test_nothing_is_repaired_in_a_plain_space_or_without_a_known_branch() -> None:
    X = np.array([[0.5, 0.2, -0.8]])
    P = np.array([[-0.5, 0.1, -0.9]])
    plain = RunSpace(SPACE, "s")
    _add(plain, 0, 1.0, c="b", xa=0.0, xb=0.6)
    assert repaired_rows(plain, X, P) == {}
    only_a = RunSpace(SPACE, "s")
    _add(only_a, 0, 1.0, c="a", xa=0.5)  # branch b never completed: nothing to take
    assert repaired_rows(only_a, X, P) == {}


def _fill(run: RunSpace, params: list[dict[str, Any]], values: np.ndarray, first: int) -> None:
    """Record a generation's rows as completed trials with only their branch's parameter."""
    for k, (p, v) in enumerate(zip(params, values, strict=True)):
        own = "xa" if p["c"] == "a" else "xb"
        _add(run, first + k, float(v), c=p["c"], **{own: p[own]})


@pytest.mark.parametrize("algo", [*available(), "pso-ipop"])
def test_every_algorithm_is_told_the_repaired_rows(algo: str) -> None:
    """The store edits the optimizer's pending batch: the generation's rows, its saved
    record and the next tell all hold the repaired points; without the switch they are
    the algorithm's own."""
    cls = get(algo)
    pop = max(cls.min_pop_size, 8)
    on = GenerationStore(cls, pop, 200, {})
    off = GenerationStore(cls, pop, 200, {}, branch_repair=False)
    run_on, run_off = RunSpace(SPACE, "s"), RunSpace(SPACE, "s")
    g_on = on.start(run_on, 0, 3, gen=0, restart=0, held={})
    g_off = off.start(run_off, 0, 3, gen=0, restart=0, held={})
    np.testing.assert_array_equal(g_on.X, g_off.X)  # generation 0 is never repaired
    f = np.linspace(1.0, 2.0, pop)
    for run in (run_on, run_off):
        _fill(run, g_on.params, f, 0)
    nxt_on = on.advance(run_on, g_on, pop, f, {i: i for i in range(pop)}, {})
    nxt_off = off.advance(run_off, g_off, pop, f, {i: i for i in range(pop)}, {})
    P = nxt_off.opt.population[0]
    expected = repaired_rows(run_off, nxt_off.X, P)
    assert expected, "the seed should make some row change branch"
    want = nxt_off.X.copy()
    for i, x in expected.items():
        want[i] = x
    np.testing.assert_array_equal(nxt_on.X, want)
    # the record's state asks the repaired rows, and accepts them with their values
    restored = cls.from_state(nxt_on.record.opt, check_version=False)
    np.testing.assert_array_equal(restored.ask(), nxt_on.X)
    restored.tell(nxt_on.X, np.ones(nxt_on.X.shape[0]))


def _switching(trial: optuna.Trial) -> float:
    c = trial.suggest_categorical("c", ["a", "b"])
    if c == "a":
        return 1.0 + trial.suggest_float("xa", -1.0, 1.0) ** 2
    return (trial.suggest_float("xb", -1.0, 1.0) - 0.3) ** 2


@pytest.mark.parametrize("repair", [True, False])
def test_a_conditional_study_with_and_without_repair(repair: bool) -> None:
    sampler = MetaheuristicSampler("dlf-aoa", n_trials=60, seed=1, branch_repair=repair)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_switching, n_trials=60)
    keys = {tuple(sorted(t.params.items())) for t in study.trials}
    assert len(keys) == 60  # no trial spent twice either way
    assert study.best_value < 0.05


def test_branch_repair_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="branch_repair must be True or False"):
        MetaheuristicSampler("pso", branch_repair="yes")
