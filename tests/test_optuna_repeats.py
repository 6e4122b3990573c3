"""Issue 8, "no trial is spent twice", in a conditional (union) search space.

Two rows of one generation may differ only in dimensions their branch does not use (e.g. the
``svc_*`` parameters of a row whose ``classifier`` is ``knn``): the same configuration. Once
the first one's trial completes, the second must be answered from the study's history.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from helpers import load_benchmark
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metaheur.optuna import MetaheuristicSampler
from metaheur.optuna._index import TrialIndex
from metaheur.optuna._runspace import RunSpace
from metaheur.optuna._scheduler import pick_spare, running_configs

optuna.logging.set_verbosity(optuna.logging.WARNING)


def conditional(trial: optuna.Trial) -> float:
    """Branch ``knn`` has only 2 x 6 configurations; ``svc`` is continuous."""
    kind = trial.suggest_categorical("kind", ["svc", "knn"])
    if kind == "svc":
        c = trial.suggest_float("svc_C", 1e-3, 1e3, log=True)
        g = trial.suggest_float("svc_gamma", 1e-5, 1e1, log=True)
        return 1.0 + (math.log10(c) - 1.0) ** 2 + (math.log10(g) + 2.0) ** 2
    k = trial.suggest_int("knn_k", 1, 6)
    w = trial.suggest_categorical("knn_weights", ["uniform", "distance"])
    return abs(k - 4) + (w == "uniform") * 0.5


def repeats(study: optuna.Study) -> int:
    keys = [json.dumps(t.params, sort_keys=True) for t in study.trials]
    return len(keys) - len(set(keys))


@pytest.mark.parametrize("algo", ["gwo", "pso", "dlf-aoa"])
def test_no_repeats_when_rows_differ_only_in_inactive_dimensions(algo: str) -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, seed=0, n_trials=60, pop_size=8, warn_independent_sampling=False))
    study.optimize(conditional, n_trials=60)
    assert len(study.trials) == 60
    assert repeats(study) == 0
    assert study.best_value == 0.0  # knn_k = 4, distance: the branch was still optimised


def test_repeats_stay_allowed_without_skip_evaluated() -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", seed=0, n_trials=60, pop_size=8, skip_evaluated=False,
        warn_independent_sampling=False))
    study.optimize(conditional, n_trials=60)
    assert repeats(study) > 0


def tiny_conditional(trial: optuna.Trial) -> float:
    """Five configurations in all."""
    if trial.suggest_categorical("kind", ["a", "b"]) == "a":
        return trial.suggest_int("x", 0, 2) + 1.0
    return float(trial.suggest_int("y", 0, 1))


@pytest.mark.parametrize("algo", ["pso", "gwo"])
def test_a_study_longer_than_its_finite_conditional_space_keeps_going(algo: str) -> None:
    """Every configuration evaluated: the sampler evaluates one again (it does not loop
    answering from history, nor fail)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, seed=0, n_trials=30, pop_size=4, warn_independent_sampling=False))
    study.optimize(tiny_conditional, n_trials=30)
    assert len(study.trials) == 30
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({json.dumps(t.params, sort_keys=True) for t in study.trials}) == 5


def stepped(trial: optuna.Trial) -> float:
    return (trial.suggest_float("s", 0.0, 1.0, step=0.05) - 0.3) ** 2


@pytest.mark.parametrize("algo", ["gwo", "pso"])
def test_grid_values_written_with_float_noise_are_recognised_as_evaluated(algo: str) -> None:
    """Regression (session 25's audit): Optuna's own samplers write a stepped float as
    ``low + k * step`` (0.30000000000000004), this sampler decodes the grid point exactly
    (0.3), and the repeat check compared the two as text: a study begun with Optuna's
    RandomSampler (or this sampler's first, independently sampled trial) spent trials
    again on grid points it had evaluated."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    study.optimize(stepped, n_trials=6)
    noisy = [t.params["s"] for t in study.trials if round(t.params["s"], 9) != t.params["s"]]
    assert noisy, "the case needs grid values with binary noise"
    study.sampler = MetaheuristicSampler(algo, seed=0, n_trials=20, pop_size=4)
    study.optimize(stepped, n_trials=10)
    points = [round(t.params["s"], 9) for t in study.trials]
    ours = points[6:]  # (Optuna's RandomSampler itself may repeat: not ours to judge)
    assert len(ours) == 10 and not set(ours) & set(points[:6]), points
    assert len(set(ours)) == len(ours), points


def _records(study: optuna.Study, after: int) -> list[tuple[int, dict]]:
    """(generation, record) of the generations stored in trials numbered above ``after``."""
    return [(int(k.rsplit(":", 1)[1]), rec) for t in study.trials if t.number > after
            for k, rec in t.system_attrs.items() if ":gen:" in k]


def test_trials_made_before_a_parameter_existed_do_not_answer_rows() -> None:
    """Regression (session 27's audit): a parameter added to a running study (here
    ``dropout``) was taken as inactive in the trials made before it, like a conditional
    branch's. Every row whose other parameters matched an old trial was told that trial's
    value, whatever its ``dropout``: with 8 discrete configurations the sampler ran ~500
    generations answered from history, and the new parameter was hardly optimised."""
    def old(trial: optuna.Trial) -> float:
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        return (trial.suggest_int("layers", 1, 4) - 2) ** 2 + (opt == "sgd") + 0.25

    def new(trial: optuna.Trial) -> float:
        opt = trial.suggest_categorical("opt", ["adam", "sgd"])
        layers = trial.suggest_int("layers", 1, 4)
        drop = trial.suggest_float("dropout", 0.0, 0.9)
        return (layers - 2) ** 2 + (opt == "sgd") + (drop - 0.1) ** 2 + 0.09

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(old, n_trials=16)
    study.sampler = MetaheuristicSampler("gwo", seed=0, n_trials=40, pop_size=6)
    study.optimize(new, n_trials=24)
    # trial 16 still searches the study's space of then, {opt, layers}: every point of it
    # evaluated, it samples dropout independently; the run over all three starts at 17
    recs = _records(study, after=16)
    answered = [n for _, rec in recs for _, n, _ in rec["answered"]]
    answered += [n for _, rec in recs for n in rec.get("skipped", [])]
    assert not [n for n in answered if n < 16], answered
    assert max(gen for gen, _ in recs) < 10  # 23 trials: ~4 generations of 6


@pytest.mark.parametrize(("dist", "off", "grid_point"), [
    (IntDistribution(0, 10, step=2), 3, 4),
    (FloatDistribution(0.0, 1.0, step=0.1), 0.33, 0.3),
    (IntDistribution(0, 10), 15, 10),
])
def test_an_off_grid_enqueued_value_is_not_the_evaluation_of_a_grid_point(
        dist: BaseDistribution, off: float, grid_point: float) -> None:
    """Regression (session 27's audit): Optuna's ``enqueue_trial`` keeps a value off the
    grid or out of range (it only warns). The repeat check snapped it to the grid, so the
    trial at x = 3 answered the row x = 4 with its value."""
    def objective(trial: optuna.Trial) -> float:
        if isinstance(dist, IntDistribution):
            return float(trial.suggest_int("x", dist.low, dist.high, step=dist.step))
        return trial.suggest_float("x", dist.low, dist.high, step=dist.step)

    study = optuna.create_study()
    study.enqueue_trial({"x": off})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna: "fixed parameter ... out of the range"
        study.optimize(objective, n_trials=1)
    assert study.trials[0].params["x"] == off
    run = RunSpace({"x": dist}, "s")
    run.add(study.trials[0], float(off))
    assert run.lookup({"x": grid_point}) is None
    if isinstance(dist, FloatDistribution):  # the binary noise of low + k * step counts
        noisy = optuna.trial.create_trial(params={"x": 0.1 * 3}, distributions={"x": dist},
                                          value=1.0)  # 0.30000000000000004
        run.add(noisy, 1.0)
        assert run.lookup({"x": 0.3}) is not None


# --------------------------------------- session 27's second audit: keys of equal values
@pytest.mark.parametrize("dist, stored, proposed", [
    (FloatDistribution(-1.0, 1.0), -0.0, 0.0),  # SQLite reads -0.0 back as 0.0
    (FloatDistribution(1e-4, 1e-1, log=True), 1e-3, None),  # None: decode(encode(stored))
    (CategoricalDistribution([0, False, 1.0, True]), 0, False),  # Optuna stores choices' index
])
def test_a_value_written_otherwise_than_decode_writes_it_is_still_evaluated(
        dist: BaseDistribution, stored: object, proposed: object) -> None:
    """Regression: keys compared the value as written for continuous and categorical
    parameters, so an enqueued ``lr=1e-3`` (whose warm-start point decodes to
    0.0010000000000000002), ``-0.0`` against ``0.0`` and ``False`` against the stored
    ``0`` each cost a second trial of one configuration."""
    from metaheur.optuna._space import SearchSpaceEncoder

    enc = SearchSpaceEncoder({"x": dist})
    if proposed is None:
        proposed = enc.decode(enc.encode({"x": stored}))["x"]
        assert proposed != stored  # no exact pre-image: the defect's input
    run = RunSpace({"x": dist}, "s")
    run.add(optuna.trial.create_trial(params={"x": stored}, distributions={"x": dist},
                                      value=1.0), 1.0)
    assert run.lookup({"x": proposed}) is not None


def test_a_value_out_of_a_continuous_range_answers_no_row() -> None:
    """An enqueued value outside the range (Optuna keeps it, with a warning) evaluated no
    point of the box: it must not answer the row of the bound it would clip to."""
    dist = FloatDistribution(0.0, 1.0)
    run = RunSpace({"x": dist}, "s")
    run.add(optuna.trial.create_trial(params={"x": 0.5}, distributions={"x": dist},
                                      value=1.0), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study()
        study.enqueue_trial({"x": 1.5})
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
    run.add(study.trials[0], 1.5)
    assert run.lookup({"x": 1.0}) is None and run.lookup({"x": 0.5}) is not None


def test_no_repeats_with_enqueued_values_decode_writes_otherwise() -> None:
    def objective(t: optuna.Trial) -> float:
        a = t.suggest_int("a", 0, 3)
        lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        w = t.suggest_float("w", -1.0, 1.0)
        return (a - 1) ** 2 + abs(math.log10(lr) + 3) + abs(w)

    study = optuna.create_study(sampler=MetaheuristicSampler("aoa", seed=0, n_trials=60,
                                                             pop_size=6))
    for p in ({"a": 1, "lr": 1e-3, "w": -0.0}, {"a": 1, "lr": 3.3e-4, "w": 0.5},
              {"a": 2, "lr": 1e-2, "w": 0.1}):
        study.enqueue_trial(p)
    study.optimize(objective, n_trials=30)
    from metaheur.optuna._space import SearchSpaceEncoder

    enc = SearchSpaceEncoder(study.trials[0].distributions)
    keys = [tuple(enc.encode(t.params)) for t in study.trials]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("algo", ["gwo", "pso", "dlf-aoa"])
def test_a_point_whose_objective_returned_inf_is_not_evaluated_again(algo: str) -> None:
    """Regression (session 28): only a finite value answered a row, so an algorithm that
    proposed an infeasible point again (one whose objective returned ``inf``, the usual
    way to say "infeasible") spent a trial on it each time. The value is a result, not a
    failure: its row is bound to the trial that returned it."""
    bench = load_benchmark("infeasible_repeats")
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, seed=0, n_trials=60, pop_size=8))
    study.optimize(bench.infeasible_half, n_trials=60)
    counts = bench.count(study, algo)
    assert counts["infeasible"] > 5 and counts["optimum"] == 1
    assert counts["repeats"] == 0, counts


@pytest.mark.parametrize("algo", ["gwo", "pso", "dlf-aoa"])
def test_a_point_whose_trial_was_pruned_is_not_evaluated_again(algo: str) -> None:
    """Regression (session 38): a pruned trial answered no row, so an algorithm that
    proposed a pruned configuration again spent a trial on it each time (335 repeats in
    ``infeasible_repeats.py --pruned``), which the pruner stops again at the same step. Its
    row is bound to the pruned trial, as to one that returned ``inf``."""
    bench = load_benchmark("infeasible_repeats")
    study = optuna.create_study(pruner=bench.PRUNER, sampler=MetaheuristicSampler(
        algo, seed=0, n_trials=60, pop_size=8))
    study.optimize(bench.pruned_half, n_trials=60)
    counts = bench.count(study, algo)
    assert counts["pruned"] > 5 and counts["infeasible"] == 0 and counts["optimum"] == 1
    assert counts["repeats"] == 0, counts


def _half_bad_4x4(trial: optuna.Trial) -> float:
    """``x``, ``y`` in 0..3; ``x >= 2`` is infeasible (``inf``), or pruned at its first step
    by ``infeasible_repeats.PRUNER`` when the study has it."""
    x, y = trial.suggest_int("x", 0, 3), trial.suggest_int("y", 0, 3)
    trial.report(1000.0 if x >= 2 else 0.0, step=0)
    if trial.should_prune():
        raise optuna.TrialPruned()
    return math.inf if x >= 2 else float((x - 1) ** 2 + (y - 2) ** 2)


@pytest.mark.parametrize("pruned", [False, True])
@pytest.mark.parametrize("algo", ["pso", "gwo"])
def test_a_trial_without_a_claim_that_returned_inf_or_was_pruned_answers_a_row(
        algo: str, pruned: bool) -> None:
    """Regression (the 2 repeats left in ``infeasible_repeats.py``, and 2 with ``--pruned``):
    a record holds finite values only, so a row was bound to a finished trial that returned
    ``inf`` (or was pruned) only when that trial held a claim; one without (enqueued, drawn
    at random, another sampler's) answered no row, and its point was evaluated again. Here
    every infeasible point is enqueued: no later trial may repeat one. (With a pruner the
    run's first trial, drawn at random while no trial had completed, also took a pruned
    configuration: the fallback's draw avoided running and completed trials only.)"""
    bench = load_benchmark("infeasible_repeats")
    study = optuna.create_study(pruner=bench.PRUNER if pruned else None,
                                sampler=MetaheuristicSampler(algo, seed=0, n_trials=30,
                                                             pop_size=8))
    for x in (2, 3):
        for y in range(4):
            study.enqueue_trial({"x": x, "y": y})
    study.optimize(_half_bad_4x4, n_trials=14)
    keys = [(t.params["x"], t.params["y"]) for t in study.trials]
    assert len(keys) == 14 and len(set(keys)) == 14, keys


def test_a_trial_pruned_before_suggesting_its_branch_answers_no_row() -> None:
    """A trial can be pruned before it suggested every parameter of its branch. It then
    evaluated no configuration: it must not answer a row as if the missing parameters
    were inactive, nor teach the run which parameters are conditional. It answers rows
    once its parameters and categorical values are a completed trial's (its branch)."""
    space = {"kind": CategoricalDistribution(["a", "b"]), "x": IntDistribution(0, 3),
             "y": IntDistribution(0, 3)}

    def trial(number: int, state: optuna.trial.TrialState, **params: Any
              ) -> optuna.trial.FrozenTrial:
        t = optuna.trial.create_trial(
            params=params, distributions={n: space[n] for n in params}, state=state,
            value=1.0 if state == optuna.trial.TrialState.COMPLETE else None)
        t.number = number
        return t

    done, pruned = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    run = RunSpace(space, "s")
    run.add(trial(0, done, kind="a", x=1), 1.0)
    run.add_pruned(trial(1, pruned, kind="b"), claimed=True)  # pruned before its y
    run.add_pruned(trial(2, pruned, kind="a", x=2), claimed=True)
    run.add_pruned(trial(3, pruned, kind="b", y=2), claimed=True)  # branch b not seen yet
    assert run.lookup({"kind": "b", "x": 0, "y": 2}) is None
    assert "y" not in run.first and ("kind",) not in run.last  # pruned ones teach nothing
    run.add(trial(4, done, kind="b", y=0), 1.0)  # branch b completed: trial 3 is placed
    e = run.lookup({"kind": "a", "x": 2, "y": 3})
    assert e is not None and e.number == 2 and math.isinf(e.value) and e.claimed
    assert run.lookup({"kind": "b", "x": 0, "y": 2}).number == 3
    assert run.lookup({"kind": "b", "x": 3, "y": 0}).number == 4
    assert run.lookup({"kind": "b", "x": 3, "y": 1}) is None
    assert [e.number for e in run.pruned] == [1]


def test_pruned_configurations_may_run_again_without_skip_evaluated() -> None:
    bench = load_benchmark("infeasible_repeats")
    study = optuna.create_study(pruner=bench.PRUNER, sampler=MetaheuristicSampler(
        "gwo", seed=0, n_trials=60, pop_size=8, skip_evaluated=False))
    study.optimize(bench.pruned_half, n_trials=60)
    assert bench.count(study, "gwo")["repeats"] > 5


def test_a_failed_trial_answers_no_row() -> None:
    """A failure may be transient (out of memory, a lost connection): its configuration
    is tried again, unlike a pruned one."""
    def flaky(trial: optuna.Trial) -> float:
        x = trial.suggest_int("x", 0, 3)
        if x == 0:
            raise RuntimeError("transient")
        return float(x)

    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", seed=0, n_trials=30, pop_size=4))
    study.optimize(flaky, n_trials=30, catch=(RuntimeError,))
    failed = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) > 1 and all(t.params == {"x": 0} for t in failed)


def test_a_failure_reported_as_pruned_answers_no_row() -> None:
    """``metaheur.models`` reports a diverged or out-of-memory training run as a pruned
    trial with the user attribute ``failure``: a failure, which may be transient (another
    worker held the GPU's memory), so its configuration is tried again."""
    bench = load_benchmark("infeasible_repeats")

    def out_of_memory(trial: optuna.Trial) -> float:
        x, y = trial.suggest_int("x", 0, 12), trial.suggest_int("y", 0, 12)
        if x > 6:
            trial.set_user_attr("failure", "CUDA out of memory")
            raise optuna.TrialPruned()
        return float((x - 3) ** 2 + (y - 5) ** 2)

    study = optuna.create_study(sampler=MetaheuristicSampler(
        "aoa", seed=0, n_trials=100, pop_size=10))
    study.optimize(out_of_memory, n_trials=100)
    counts = bench.count(study, "aoa")
    assert counts["repeats"] > 3 and counts["optimum"] == 1, counts


def test_the_infeasible_repeats_benchmark_writes_its_table(tmp_path: Path, capsys) -> None:
    runs = load_benchmark("infeasible_repeats").main(
        ["--samplers", "pso", "aoa", "--seeds", "2", "--trials", "30", "--out", str(tmp_path)])
    assert list(runs.columns) == ["sampler", "seed", "trials", "repeats", "unclaimed",
                                  "infeasible", "pruned", "optimum"]
    assert len(runs) == 4 and (runs["repeats"] == runs["unclaimed"]).all()
    assert pd.read_csv(tmp_path / "infeasible_repeats.csv").equals(runs)
    assert "repeated configurations in 120 trials" in capsys.readouterr().out
    pruned = load_benchmark("infeasible_repeats").main(
        ["--samplers", "gwo", "--seeds", "1", "--trials", "30", "--out", str(tmp_path),
         "--pruned"])
    assert pruned.loc[0, "pruned"] > 0 and pruned.loc[0, "infeasible"] == 0
    assert pd.read_csv(tmp_path / "pruned_repeats.csv").equals(pruned)


def _ask_suggest_then_tell(study: optuna.Study, objective: Any, batches: int, k: int) -> None:
    """``k`` trials asked (each suggesting at once, as a worker whose objective has begun),
    then told together: a generation's rows are taken while earlier ones still run."""
    for _ in range(batches):
        asked = []
        for _ in range(k):
            trial = study.ask()
            asked.append((trial, objective(trial)))
        for trial, value in asked:
            study.tell(trial, value)


@pytest.mark.parametrize("algo", ["pso", "gwo", "dlf-aoa"])
def test_a_row_that_a_running_trial_evaluates_under_other_inactive_values_waits(
        algo: str) -> None:
    """Regression (session 29's audit, 0-2 repeats per 60 trials with 4 threads): a row
    differing from a running trial's row only in dimensions that trial's branch does not
    suggest was evaluated again by a second worker. It now waits for that trial's result
    (the deciding trial takes another row, or a spare where every row is taken)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, seed=0, n_trials=60, pop_size=8, warn_independent_sampling=False))
    study.optimize(conditional, n_trials=2)  # both branches seen: the run's union space
    assert {t.params["kind"] for t in study.trials} == {"svc", "knn"}
    _ask_suggest_then_tell(study, conditional, batches=14, k=4)
    assert len(study.trials) == 58
    assert repeats(study) == 0


def conditional_fixed(trial: optuna.Trial) -> float:
    """``conditional`` with a parameter ``PartialFixedSampler`` fixes, suggested first."""
    return conditional(trial) + trial.suggest_int("folds", 2, 10) / 100.0


@pytest.mark.parametrize("algo", ["pso", "gwo", "dlf-aoa"])
def test_a_parameter_fixed_by_a_wrapper_keeps_the_twin_checks_of_running_trials(
        algo: str) -> None:
    """Regression (session 32's audit, defect #6): ``PartialFixedSampler`` takes its fixed
    parameter out of the run's space, and a running trial that had suggested it had a name
    the run does not know: ``suggested`` gave up on it, so its twins were evaluated again
    while it ran. A completed trial's twins were answered all along (``lookup`` compares
    the run's parameters only); a running trial's are now held the same way."""
    sampler = MetaheuristicSampler(algo, seed=0, n_trials=60, pop_size=8,
                                   warn_independent_sampling=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        wrapper = optuna.samplers.PartialFixedSampler({"folds": 5}, sampler)
    study = optuna.create_study(sampler=wrapper)
    study.optimize(conditional_fixed, n_trials=2)
    _ask_suggest_then_tell(study, conditional_fixed, batches=14, k=4)
    assert {t.params["folds"] for t in study.trials} == {5}
    assert repeats(study) == 0


def three_branches(trial: optuna.Trial) -> float:
    """Branch ``a`` has 4 x 2 configurations, ``b`` 3, ``c`` is continuous."""
    model = trial.suggest_categorical("model", ["a", "b", "c"])
    if model == "a":
        return trial.suggest_int("a_n", 1, 4) + 0.1 * trial.suggest_categorical("a_k", [0, 1])
    if model == "b":
        return 2.0 + trial.suggest_int("b_n", 1, 3)
    return 5.0 + trial.suggest_float("c_x", -1.0, 1.0) ** 2


@pytest.mark.parametrize("algo", ["pso", "gwo", "dlf-aoa"])
def test_trials_that_claimed_but_did_not_suggest_yet_hold_their_rows_twins(algo: str) -> None:
    """Regression (the race left with threads, and batch asks whose trials suggest only
    after all the asks): a trial that claimed a row and had not suggested yet was no
    running configuration, so a later trial took a row of its generation that differs
    only in parameters the first one's branch does not use, and both evaluated one
    configuration. Such a trial's branch is now predicted from the completed trials (the
    parameters of those with its row's categorical values)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, seed=1, n_trials=60, pop_size=8, warn_independent_sampling=False))
    study.optimize(three_branches, n_trials=6)  # every branch seen, most likely
    assert {t.params["model"] for t in study.trials} == {"a", "b", "c"}
    while len(study.trials) < 60:
        asked = [study.ask() for _ in range(4)]  # all claim before any suggests
        for trial in asked:
            study.tell(trial, three_branches(trial))
    assert repeats(study) == 0


def test_the_parallel_repeats_benchmark_writes_its_table(tmp_path: Path, capsys) -> None:
    """Its batch and late modes are deterministic: trials asked one after another, each
    suggesting at once or only once all have claimed, repeat no configuration (6 first
    trials did in session 31, all of them drawn at random before any trial completed; the
    late mode repeated 14 in these 6 runs, 0-5 each, before claimed trials' branches were
    predicted)."""
    runs = load_benchmark("parallel_repeats").main(
        ["--samplers", "pso", "gwo", "--seeds", "3", "--trials", "40", "--modes", "batch",
         "late", "--trial-seconds", "0", "--out", str(tmp_path)])
    assert list(runs.columns) == ["mode", "sampler", "seed", "trials", "repeats",
                                  "unclaimed", "other_run", "same_run", "seconds"]
    assert len(runs) == 12 and (runs["trials"] == 40).all() and (runs["same_run"] == 0).all()
    assert (runs["repeats"] == runs["unclaimed"] + runs["other_run"]).all()
    assert runs["repeats"].sum() == 0
    assert pd.read_csv(tmp_path / "parallel_repeats.csv").equals(runs)
    assert "total repeats per mode" in capsys.readouterr().out


def test_the_parallel_repeats_benchmark_fixes_a_parameter_on_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--partial-fixed``: every trial has ``folds`` = 5, the enqueued first one too."""
    mod = load_benchmark("parallel_repeats")
    studies: list[optuna.Study] = []
    create = optuna.create_study
    monkeypatch.setattr(mod.optuna, "create_study",
                        lambda **kw: studies.append(create(**kw)) or studies[-1])
    runs = mod.main(["--samplers", "gwo", "--seeds", "2", "--trials", "30", "--modes",
                     "batch", "--trial-seconds", "0", "--space", "subset", "--partial-fixed",
                     "--out", str(tmp_path)])
    assert (runs["trials"] == 30).all() and runs["repeats"].sum() == 0
    assert pd.read_csv(tmp_path / "parallel_repeats_subset_fixed.csv").equals(runs)
    assert len(studies) == 2 and all(len(s.trials) == 30 for s in studies)
    assert {t.params["folds"] for s in studies for t in s.trials} == {5}
    assert all(s.trials[0].params == {"folds": 5, "use_y": 1, "x": 1, "y": 5} for s in studies)


def small_branch(trial: optuna.Trial) -> float:
    """Branch ``a`` has 3 x 2 configurations; ``b`` is continuous."""
    if trial.suggest_categorical("kind", ["a", "b"]) == "a":
        return trial.suggest_int("a_n", 1, 3) + 0.5 * trial.suggest_categorical("a_k", [0, 1])
    return 5.0 + trial.suggest_float("b_x", -1.0, 1.0) ** 2


@pytest.mark.parametrize("seed", range(10))
def test_trials_sampled_before_any_completes_share_no_configuration(seed: int) -> None:
    """Regression (session 31's ``parallel_repeats`` benchmark: 6 of its 9 repeats were
    between first trials): trials started before any completes have no space yet and are
    sampled independently, each by its own per-trial stream, so two of them could draw the
    same configuration of ``a``. The default fallback now gives a discrete parameter a value
    that no trial agreeing with it so far has taken, while one is left (at most 4 of these
    5 trials take ``a``, whose ``a_n`` has 3 values: each of them differs from the others)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "pso", seed=seed, n_trials=60, pop_size=8, warn_independent_sampling=False))
    _ask_suggest_then_tell(study, small_branch, batches=1, k=5)
    assert not any("row" in t.system_attrs["metaheur:pso"] for t in study.trials)
    assert repeats(study) == 0


def subset_branch(trial: optuna.Trial) -> float:
    """Branch ``use_y = 0``'s parameters are a subset of branch ``use_y = 1``'s."""
    use_y = trial.suggest_categorical("use_y", [0, 1])
    x = trial.suggest_int("x", 0, 2)
    return x + (trial.suggest_int("y", 0, 40) / 10 if use_y else 0.5)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("batch", [False, True], ids=["serial", "batch"])
def test_a_generation_made_while_the_space_looked_plain_still_answers_twins(
        seed: int, batch: bool) -> None:
    """Regression (session 32's audit: 2-3 repeats in 12 serial trials): a generation made
    while every completed trial had every parameter reserves its rows for trial numbers
    and skipped the twin checks, so once a trial without ``y`` completed, rows differing
    from it only in the inactive ``y`` were evaluated again. A trial whose reserved row
    turns out a twin now takes a spare; the row is answered once that trial has settled."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "pso", seed=seed, n_trials=40, pop_size=10, warn_independent_sampling=False))
    study.enqueue_trial({"use_y": 1, "x": 1, "y": 5})  # the first trial has every parameter
    study.optimize(subset_branch, n_trials=1)
    if batch:  # once a trial without y has completed, in generation 0 still
        while all("y" in t.params for t in study.trials):
            study.optimize(subset_branch, n_trials=1)
        _ask_suggest_then_tell(study, subset_branch, batches=4, k=4)
    else:
        study.optimize(subset_branch, n_trials=20)
    assert repeats(study) == 0


def grid9(trial: optuna.Trial) -> float:
    return (trial.suggest_int("x", 0, 2) - 1) ** 2 + trial.suggest_int("y", 0, 2)


@pytest.mark.parametrize("k", range(8))
def test_a_running_unclaimed_trial_protects_its_point(k: int) -> None:
    """Regression (session 32's audit; 7 of these 8 failed): an enqueued trial (or one
    drawn at random) claims no row, so while it ran, a row with its very point was
    evaluated again by another trial. A row equal to a running trial's suggested point now
    waits for its result, and since the enqueued trial counts as one this thread asked, a
    batch of asks does not wait for it (``wait_timeout``, 60 s) but takes a spare: here each
    of the 8 points other than the first trial's is enqueued in turn."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "pso", seed=0, n_trials=40, pop_size=8, warn_independent_sampling=False))
    study.optimize(grid9, n_trials=1)
    first = study.trials[0].params
    point = [p for p in ({"x": x, "y": y} for x in range(3) for y in range(3)) if p != first][k]
    study.enqueue_trial(point)
    _ask_suggest_then_tell(study, grid9, batches=1, k=8)  # the enqueued trial first
    assert study.trials[1].params == point
    assert repeats(study) == 0


@pytest.mark.parametrize("seed", range(6))
def test_a_spare_taken_when_every_row_waits_is_no_twin_of_a_trial_done_suggesting(
        seed: int) -> None:
    """Regression (the 3 "unclaimed" repeats of ``parallel_repeats.py`` with 4 threads, each
    a worker's second trial): while the first trial's branch was the only one completed,
    every row of the first generation was a twin of a running trial, since a running
    trial whose branch parameters are outside the run's space holds every row of its
    branch. Waiting would deadlock, so the trial took a spare, and among spares that were
    all twins it took the first: here the point of a trial that had suggested every
    parameter of the run. The trial of branch ``c``, which drew the float ``c_x`` outside
    the run's space, now holds no row, and a spare that must be a twin is preferably one
    of trials that draw a parameter afresh (the tests below)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "pso", seed=seed, n_trials=40, pop_size=10, warn_independent_sampling=False))
    for params in ({"model": "b", "b_n": 1}, {"model": "c", "c_x": 0.5},
                   {"model": "a", "a_n": 2, "a_k": 0}, {"model": "b", "b_n": 2}):
        study.enqueue_trial(params)
    first = [study.ask() for _ in range(4)]  # a worker each, started before any completes
    values = [three_branches(t) for t in first]
    study.tell(first[0], values[0])
    trial = study.ask()
    three_branches(trial)
    assert trial.params != first[3].params


def _three_branch_index(trials: list[dict]) -> tuple[optuna.Study, TrialIndex, RunSpace]:
    """A study whose first of ``trials`` completed while the others run (enqueued), its
    index, and the run over its completed trial's space."""
    study = optuna.create_study()
    for params in trials:
        study.enqueue_trial(params)
    asked = [study.ask() for _ in trials]
    for t in asked:
        three_branches(t)
    study.tell(asked[0], 3.0)
    index = TrialIndex(study._storage, study._study_id, "metaheur:pso",
                       "metaheur:pso:presumed-dead", 1.0)
    index.refresh()
    run = RunSpace({"b_n": IntDistribution(1, 3),
                    "model": CategoricalDistribution(["a", "b", "c"])}, "s")
    run.add(study.trials[0], 3.0)
    run.fixed = frozenset()  # the default fallback, no PartialFixedSampler
    return study, index, run


def test_a_spare_that_must_be_a_twin_is_one_of_trials_drawing_a_parameter_afresh() -> None:
    """Where every point is a twin of a running trial and waiting would deadlock, the spare
    is one whose twins draw a parameter outside the run's space again (``a_n``, ``a_k``:
    the default fallback gives a later trial another value), not the first point, here an
    exact repeat of the trial that suggested ``b_n = 2``."""
    _, index, run = _three_branch_index([{"model": "b", "b_n": 1},
                                         {"model": "a", "a_n": 2, "a_k": 0},
                                         {"model": "b", "b_n": 2}])
    configs = running_configs(index, run)
    assert sorted(configs) == [1, 2]
    points = [run.encoder.encode(p) for p in ({"b_n": 2, "model": "b"},
                                              {"b_n": 3, "model": "a"})]
    _, params = pick_spare(run, iter(points), set(), configs, index, must=True)
    assert params == {"b_n": 3, "model": "a"}
    assert pick_spare(run, iter(points), set(), configs, index, must=False) is None
    _, params = pick_spare(run, iter(points[:1]), set(), configs, index, must=True)
    assert params == {"b_n": 2, "model": "b"}  # no other point: deadlock is worse


def test_a_running_trial_that_drew_a_float_outside_the_run_holds_no_twin_rows() -> None:
    """A running trial whose branch suggested a float the run's space lacks is no twin of
    any row: a later trial with its values of the run's parameters draws that float
    again. Its rows used to wait for it (or, all rows waiting, the trial took a spare). A
    discrete parameter outside the space still holds them, and so does a float that a
    ``PartialFixedSampler`` sets or that another fallback sampler draws (it may draw the
    same value in every worker)."""
    _, index, run = _three_branch_index([{"model": "b", "b_n": 1}, {"model": "c", "c_x": 0.5},
                                         {"model": "a", "a_n": 2, "a_k": 0},
                                         {"model": "b", "b_n": 2}])
    assert sorted(running_configs(index, run)) == [2, 3]
    run.fixed = frozenset({"c_x"})
    assert sorted(running_configs(index, run)) == [1, 2, 3]
    run.fixed = None  # another fallback sampler, or an unknown wrapper
    assert sorted(running_configs(index, run)) == [1, 2, 3]


def _branch_b_float(trial: optuna.Trial) -> float:
    model = trial.suggest_categorical("model", ["a", "b", "c"])
    if model == "a":
        return float(trial.suggest_int("a_n", 1, 4))
    return 9.0 if model == "c" else 5.0 + trial.suggest_float("p", 0.0, 1.0)


def _wrapped_pso(fallback: bool) -> optuna.samplers.BaseSampler:
    """A worker's sampler: seeded alike in every worker, with ``RandomSampler(seed=0)`` as
    its fallback, or within two ``PartialFixedSampler``s, the inner one fixing ``p``."""
    options = {"seed": 0, "n_trials": 40, "pop_size": 8, "wait_timeout": 1.0,
               "warn_independent_sampling": False}
    if fallback:
        return MetaheuristicSampler(
            "pso", independent_sampler=optuna.samplers.RandomSampler(seed=0), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        inner = optuna.samplers.PartialFixedSampler(
            {"p": 0.5}, MetaheuristicSampler("pso", **options))
        return optuna.samplers.PartialFixedSampler({"q": 1}, inner)


@pytest.mark.parametrize("fallback", [True, False], ids=["same-seed-fallback", "nested-fixed"])
def test_a_float_outside_the_space_that_every_worker_draws_alike_still_holds_twin_rows(
        fallback: bool) -> None:
    """Regression (this session's audit of the rule above): two workers each drawing ``p``
    from a fallback seeded alike, or given it by a ``PartialFixedSampler`` nested in
    another, evaluated one configuration twice: the running trial of branch ``b`` was left
    out of the twin checks. The rule now holds only with the default fallback and with
    every wrapper's fixed names known; here the later trial waits for the first one
    (``wait_timeout``, 1 s: its thread is this one) and then evaluates a spare."""
    storage = optuna.storages.InMemoryStorage()
    base = optuna.create_study(storage=storage, study_name="s")
    model = CategoricalDistribution(["a", "b", "c"])
    for n in (1, 3):  # branch a only (and c): p is outside the run's space
        base.add_trial(optuna.trial.create_trial(
            params={"model": "a", "a_n": n}, value=float(n),
            distributions={"model": model, "a_n": IntDistribution(1, 4)}))
    base.add_trial(optuna.trial.create_trial(params={"model": "c"}, value=9.0,
                                             distributions={"model": model}))
    a, b = (optuna.load_study(study_name="s", storage=storage, sampler=_wrapped_pso(fallback))
            for _ in range(2))
    for _ in range(8):  # worker a, until a trial of branch b runs
        first = a.ask()
        value = _branch_b_float(first)
        if first.params["model"] == "b":
            break
        a.tell(first, value)
    assert first.params["model"] == "b"
    later = b.ask()  # worker b decides while it runs
    _branch_b_float(later)
    assert later.params != first.params



@pytest.mark.parametrize("algo", ["pso", "gwo"])
def test_a_trial_drawn_at_random_avoids_the_point_a_running_trial_claimed(algo: str) -> None:
    """Regression (the first-wave race of ``parallel_repeats.py``): a trial created before
    any trial completed is drawn at random, lazily, at its first ``suggest``. A trial that
    claimed a row after the first result has written its point in its claim but suggested
    nothing yet, so the fallback's draw did not see it and could take the same
    configuration (here 3 x 3 of them). The claim's point now counts as that trial's."""
    same = []
    for seed in range(40):
        study = optuna.create_study(sampler=MetaheuristicSampler(
            algo, seed=seed, n_trials=30, pop_size=4, warn_independent_sampling=False))
        first = study.ask()  # no trial has completed: both are drawn at random
        late = study.ask()
        study.tell(first, first.suggest_int("x", 0, 2) + first.suggest_int("y", 0, 2))
        claimed = study.ask()  # claims a row of the first generation
        drawn = (late.suggest_int("x", 0, 2), late.suggest_int("y", 0, 2))
        if drawn == (claimed.suggest_int("x", 0, 2), claimed.suggest_int("y", 0, 2)):
            same.append(seed)
    assert same == []


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_pruned_trials_count_with_their_last_intermediate_value_when_considered(
        direction: str) -> None:
    """``consider_pruned_trials=True``: a pruned trial's row is told its last reported
    value (in the minimisation sign), so a row of its configuration is answered with that
    value from history; by default it is ``+inf`` (a bound row, no answer in the record)."""
    sign = 1.0 if direction == "minimize" else -1.0

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_int("x", 0, 3), trial.suggest_int("y", 0, 3)
        trial.report(sign * (10.0 + x + y), step=0)
        if x >= 2:
            raise optuna.TrialPruned()
        return sign * float((x - 1) ** 2 + (y - 2) ** 2)

    answered = {}
    for considered in (False, True):
        study = optuna.create_study(direction=direction, sampler=MetaheuristicSampler(
            "pso", seed=0, n_trials=30, pop_size=8, consider_pruned_trials=considered))
        for x in (2, 3):
            for y in range(4):
                study.enqueue_trial({"x": x, "y": y})
        study.optimize(objective, n_trials=14)
        pruned = {t.number: t for t in study.trials if t.state.name == "PRUNED"}
        answered[considered] = [(n, v) for _, rec in _records(study, -1)
                                for _, n, v in rec["answered"] if n in pruned]
        for n, v in answered[considered]:
            t = pruned[n]
            assert v == 10.0 + t.params["x"] + t.params["y"]
        keys = [(t.params["x"], t.params["y"]) for t in study.trials]
        assert len(set(keys)) == len(keys) == 14
    assert answered[False] == [] and answered[True]
