"""The trial loop of ``metaheur tune`` (metaheur.harness.runs): what ends a run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from metaheur.harness.runs import run_trials
from metaheur.harness.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _sampler(worker: int = 0) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=worker)


@pytest.mark.parametrize("value", [math.nan, np.float32("nan"), None, "0.5 or so", [1.0]])
def test_a_value_optuna_fails_without_raising_ends_the_run_with_an_error(
        tmp_path: Path, value: Any) -> None:
    """Regression (session 25's audit): Optuna stores a NaN (or a value that is not a
    number) as FAIL without raising, FAIL trials do not count towards ``n_trials``, so
    ``run_trials`` (and ``metaheur tune`` with a registered model) started trial after
    trial for ever. The first such value now ends the run with an error naming it."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_storage(url)
    optuna.create_study(storage=url, study_name="s")

    def objective(trial: optuna.Trial) -> Any:
        trial.suggest_float("x", 0.0, 1.0)
        return value

    out = run_trials(url, "s", sampler_factory=_sampler, objective_factory=lambda: objective,
                     n_trials=3, timeout=20.0, progress=False)
    assert out.error is not None and "trial #0 returned" in out.error, out
    assert "+inf" in out.error and "TrialPruned" in out.error
    states = [t.state for t in optuna.load_study(study_name="s", storage=url).trials]
    assert states == [TrialState.FAIL]


@pytest.mark.parametrize("value", [math.inf, 2, np.float64(0.25)])
def test_finite_and_infinite_numbers_are_results(tmp_path: Path, value: Any) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_storage(url)
    optuna.create_study(storage=url, study_name="s")
    out = run_trials(url, "s", sampler_factory=_sampler,
                     objective_factory=lambda: (lambda trial: value), n_trials=2,
                     progress=False)
    assert out.error is None and out.finished == 2
