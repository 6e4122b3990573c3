"""``benchmarks/trial_cost.py``: the former and the current trial path, compared in one run,
store the same numbers; and the trial loop freezes the objects alive before it (so Optuna's
collection after each trial is cheap) and unfreezes them after."""

from __future__ import annotations

import gc
import weakref

import optuna
import pytest
from helpers import load_benchmark, restored_process_state

from metaheur.harness.runs import _optimize


def test_trials_run_with_the_earlier_objects_frozen_and_unfrozen_after():
    before = gc.get_freeze_count()
    frozen_during: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        frozen_during.append(gc.get_freeze_count())
        return trial.suggest_float("x", 0.0, 1.0)

    study = optuna.create_study()
    _optimize(study, objective, 3, None)
    assert len(study.trials) == 3
    assert min(frozen_during) > before  # the collection after a trial skips them
    assert gc.get_freeze_count() == before  # nothing stays frozen for the caller


def test_a_freeze_made_before_the_loop_is_left_alone():
    """``gc.freeze`` is process-wide and has no partial undo: a caller's own freeze (a server
    freezing before it forks, or an outer trial loop around this one) must not be undone by
    the loop's unfreeze."""
    gc.collect()
    gc.freeze()
    try:
        _optimize(optuna.create_study(), lambda t: 0.0, 2, None)
        assert gc.get_freeze_count() > 0  # (less than before: frozen objects can still die)
    finally:
        gc.unfreeze()


def test_garbage_from_before_the_loop_is_collected_not_frozen():
    class Node:
        pass

    cycle = Node()
    cycle.self = cycle  # only the cyclic collector frees it
    ref = weakref.ref(cycle)
    del cycle
    alive_during: list[bool] = []

    def objective(trial: optuna.Trial) -> float:
        alive_during.append(ref() is not None)
        return 0.0

    gc.disable()  # no automatic collection between here and the loop's own
    try:
        assert ref() is not None
        _optimize(optuna.create_study(), objective, 1, None)
    finally:
        gc.enable()
    assert alive_during == [False]


def test_the_loop_unfreezes_when_a_trial_raises():
    before = gc.get_freeze_count()

    def objective(trial: optuna.Trial) -> float:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _optimize(optuna.create_study(), objective, 2, None)
    assert gc.get_freeze_count() == before


@pytest.fixture(scope="module")
def tc():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    import torch  # noqa: F401  (loaded first, so its thread count is restored afterwards)

    with restored_process_state():
        yield load_benchmark("trial_cost")


def test_legacy_path_is_restored_on_exit(tc):
    from metaheur.models.lstm_elu import LSTMELU
    from metaheur.models.objectives.lstm_elu import LSTMELUObjective

    import metaheur.harness.runs as runs

    current = LSTMELU._run, LSTMELUObjective._score, runs.gc
    with pytest.raises(RuntimeError), tc.legacy():
        assert LSTMELU._run is tc._former_run and runs.gc is tc._NoFreeze
        raise RuntimeError
    assert (LSTMELU._run, LSTMELUObjective._score, runs.gc) == current


def _full_collections(run) -> int:
    """How many full (generation 2) collections ``run()`` made; none automatic."""
    starts: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            starts.append(1)

    gc.callbacks.append(count)
    gc.disable()
    try:
        run()
    finally:
        gc.enable()
        gc.callbacks.remove(count)
    return len(starts)


def test_legacy_trial_loop_collects_as_the_former_one_did(tc):
    """The former loop (before the freeze) made one full collection a trial, Optuna's after
    it; the legacy path must not bill the former trials a second, at the loop's start."""
    from metaheur.harness.runs import _optimize as optimize

    def one_trial() -> None:
        optimize(optuna.create_study(), lambda t: 0.0, 1, None)

    with tc.legacy():
        assert _full_collections(one_trial) == 1


@pytest.mark.slow  # two tiny trials per path: about 8 s on 2 cores
def test_quick_run_prints_a_table_of_identical_pairs(tc, capsys):
    assert tc.main(["--quick", "--datasets", "digits", "--trials", "2"]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[:2]
    assert header.split() == ["dataset", "trials", "former_s", "current_s", "speed-up",
                              "cpu_former_s", "cpu_current_s", "cpu_speed-up",
                              "optuna_former_s", "optuna_current_s", "identical"]
    cells = row.split()
    assert cells[0] == "digits" and cells[1] == "2" and cells[-1] == "yes"
    assert float(cells[4]) > 0
    assert "load average" in out


def test_bad_arguments_are_refused(tc, capsys):
    with pytest.raises(SystemExit):
        tc.main(["--datasets", "mnist"])
    assert "unknown dataset(s) ['mnist']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tc.main(["--trials", "0"])
    assert "--trials must be >= 1" in capsys.readouterr().err
