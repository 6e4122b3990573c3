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
