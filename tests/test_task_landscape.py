"""benchmarks/task_landscape.py: the spread of a tuning task and its roughness near the top."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import load_benchmark


def test_landscape_writes_its_samples_and_moves(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    bench = load_benchmark("task_landscape")
    assert bench.main(["--tasks", "svc-digits", "--samples", "6", "--top", "2",
                       "--perturb", "2", "--out", str(tmp_path)]) == 0
    samples = pd.read_csv(tmp_path / "landscape_samples.csv")
    moves = pd.read_csv(tmp_path / "landscape_moves.csv")
    assert len(samples) == 6 and samples["value"].notna().all()
    best = sorted(samples["value"])[:2]
    assert sorted(moves["value"].unique()) == sorted(set(best))
    assert (moves["move"].str.startswith("continuous").sum() == 4
            and moves["move"].str.startswith("n_components").sum() in (2, 3, 4))
    assert (moves["relative_change"] >= 0).all()
    assert "quantiles of the value" in capsys.readouterr().out


def test_moves_stay_inside_the_ranges() -> None:
    import numpy as np
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution

    bench = load_benchmark("task_landscape")
    trial = optuna.trial.create_trial(
        params={"a": 1.0, "b": 1e-3, "k": 1, "s": 0.5},
        distributions={"a": FloatDistribution(0.0, 1.0),
                       "b": FloatDistribution(1e-3, 1.0, log=True),
                       "k": IntDistribution(1, 3), "s": FloatDistribution(0.0, 1.0, step=0.5)},
        value=0.0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        moved = bench.continuous_move(trial, rng)
        assert 0.0 <= moved["a"] <= 1.0 and 1e-3 <= moved["b"] <= 1.0
        assert moved["k"] == 1 and moved["s"] == 0.5  # integers and stepped floats stay
    assert bench.integer_steps(trial) == [("k 2", {"a": 1.0, "b": 1e-3, "k": 2, "s": 0.5})]


def test_trials_that_report_progress_are_never_pruned(monkeypatch) -> None:
    """Regression (session 38): the sampled study had Optuna's default MedianPruner, which
    stops trials that report progress (LSTM-ELU, SGD) and stores their last intermediate
    value as the trial's value: the landscape counted those values as the objective's."""
    import math

    import optuna

    bench = load_benchmark("task_landscape")

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(3):
            trial.report(100.0 + trial.number, step)  # each trial looks worse than the last
            if trial.should_prune():
                raise optuna.TrialPruned()
        return x

    task = bench.get_task("svc-digits")
    monkeypatch.setattr(bench, "get_task", lambda name: type(task)(name, "", lambda: objective))
    samples, moves = bench.landscape("reporting", samples=8, top=2, perturb=2, seed=0)
    assert len(samples) == 8 and (samples["value"] <= 1.0).all()
    assert (moves["moved_value"] <= 1.0).all()
    assert math.isnan(bench.evaluate(lambda t: math.nan, {}))
