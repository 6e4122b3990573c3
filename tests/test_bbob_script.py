"""benchmarks/bbob.py: the table and the best-of-the-specs line (needs cocoex, which is not
in the test extra), and its spec parser (runs everywhere)."""

from __future__ import annotations

import re

import pytest
from helpers import load_benchmark


def test_table_and_best_of_the_specs(capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("cocoex")
    bbob = load_benchmark("bbob")
    specs = ["pso:pop_size=5", "aco-ipop:pop_size=5:restart_local=true"]
    assert bbob.main([*specs, "--budgets", "20", "--dims", "2", "--functions", "1,15",
                      "--instances", "1"]) == 0
    out = capsys.readouterr().out
    scores = [float(re.search(re.escape(s) + r" \| ([0-9.]+) \|", out).group(1))
              for s in specs]
    best = float(re.search(r"best of these 2 per \(function, d, instance\) at 20·d: "
                           r"all ([0-9.]+), d=2 ([0-9.]+)", out).group(1))
    assert max(scores) <= best <= 1.0
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_the_csv_keeps_a_spec_with_commas_in_one_column(tmp_path) -> None:
    """Regression (session 26's audit): rows were joined with bare commas, so a spec with
    a comma (``pso:pop_size=5,inertia=linear``, or in a JSON value) shifted later columns."""
    pytest.importorskip("cocoex")
    import pandas as pd

    bbob = load_benchmark("bbob")
    spec = "pso:pop_size=5,inertia=linear"
    path = tmp_path / "runs.csv"
    assert bbob.main([spec, "--budgets", "20", "--dims", "2", "--functions", "1",
                      "--instances", "1", "--csv", str(path)]) == 0
    rows = pd.read_csv(path)
    assert rows["algo"].tolist() == [spec] and rows["fraction"].between(0, 1).all()


def test_bad_spec_is_refused() -> None:
    bbob = load_benchmark("bbob")
    with pytest.raises(SystemExit, match="expected NAME or NAME:KEY=VALUE"):
        bbob.parse_spec("pso:pop_size")
    assert bbob.parse_spec("dlf-aoa:levy_scale=0.1:inertia=linear") == (
        "dlf-aoa", {"levy_scale": 0.1, "inertia": "linear"})
