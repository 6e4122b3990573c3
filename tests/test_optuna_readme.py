"""README "Optuna samplers" claims checked against the code (regressions found by a check)."""

from __future__ import annotations

import warnings

import optuna
import pytest

import metaheur.optuna as mo


def _f(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", -5, 5) ** 2 + trial.suggest_float("y", -5, 5) ** 2


def test_system_exit_in_optimize_gives_the_row_back() -> None:
    """README: "A trial interrupted by Ctrl-C (KeyboardInterrupt, SystemExit) is not a
    result: its row goes back to the queue." Optuna's optimize does not catch SystemExit
    (a sys.exit() in the objective, caught by a notebook), so the trial stayed RUNNING and,
    its thread alive, held its row for ever: every later trial was a spare and the run never
    left that generation."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=mo.GWOSampler(seed=0, n_trials=40, pop_size=4))
    calls = [0]

    def exits(trial: optuna.Trial) -> float:
        value = _f(trial)
        calls[0] += 1
        if calls[0] == 7:
            raise SystemExit
        return value

    with pytest.raises(SystemExit):
        study.optimize(exits, n_trials=10)
    lost = study.trials[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(_f, n_trials=20)
    assert study.trials[lost.number].state == optuna.trial.TrialState.FAIL
    assert study.trials[lost.number + 1].params == lost.params  # its row, evaluated again
    gens = {k for t in study.trials for k in t.system_attrs if ":gen:" in k}
    assert len(gens) >= 4  # the run goes on past the interrupted generation


def test_batch_ask_inside_optimize_is_not_abandoned() -> None:
    """A trial asked by study.ask() (not by optimize) and not yet told keeps its row."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=mo.GWOSampler(seed=0, n_trials=40, pop_size=4))
    study.optimize(_f, n_trials=5)
    held = study.ask()
    _f(held)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(_f, n_trials=3)
    assert study.trials[held.number].state == optuna.trial.TrialState.RUNNING
    study.tell(held, _f(held))


def test_a_trial_asked_inside_an_objective_is_not_abandoned() -> None:
    """study.ask() called by an objective run by optimize: the trial is the caller's to
    tell, not optimize's, and keeps its row."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=mo.GWOSampler(seed=0, n_trials=40, pop_size=4))
    study.optimize(_f, n_trials=5)
    held: list[optuna.Trial] = []

    def asks(trial: optuna.Trial) -> float:
        if not held:
            held.append(study.ask())
            _f(held[0])
        return _f(trial)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(asks, n_trials=3)
    assert study.trials[held[0].number].state == optuna.trial.TrialState.RUNNING
    study.tell(held[0], _f(held[0]))
