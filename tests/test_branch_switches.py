"""Contract of ``benchmarks/branch_switches.py``: pairing trials with their row's previous
trial, and one tiny end-to-end run on the conditional task."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("sklearn")

from helpers import load_benchmark, restored_process_state  # noqa: E402


@pytest.fixture(scope="module")
def bs():
    with restored_process_state():
        yield load_benchmark("branch_switches")


def test_a_trial_is_paired_with_its_rows_trial_of_the_previous_generation(bs):
    trials = pd.DataFrame(
        [  # run, gen, row, branch, value
            (0, 0, 0, "svc", 0.5), (0, 0, 1, "logreg", 0.2),
            (0, 1, 0, "svc", 0.4),      # stay, improved
            (0, 1, 1, "svc", 0.3),      # switch, not improved
            (0, 2, 1, "logreg", 0.1),   # switch back, improved
            (1, 3, 0, "knn", 0.0),      # another run: generation 2 of run 1 does not exist
        ], columns=["run", "gen", "row", "branch", "value"])
    paired = bs.pair_with_previous(trials).sort_values(["gen", "row"])
    assert paired[["gen", "row", "kind", "improved"]].values.tolist() == [
        [1, 0, "stay", True], [1, 1, "switch", False], [2, 1, "switch", True]]
    assert paired["prev_branch"].tolist() == ["svc", "logreg", "svc"]


def test_tiny_run_writes_the_table(bs, tmp_path, capsys):
    assert bs.main(["--samplers", "dlf-aoa", "--seeds", "1", "--trials", "16",
                    "--out", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "branch_switches.csv")
    assert list(table.columns) == bs.COLUMNS
    assert set(table["kind"]) <= {"stay", "switch"} and set(table["sampler"]) == {"dlf-aoa"}
    # generations of isqrt(16) = 4 rows: the first has no predecessor, and the trials that
    # ran before the union space was known are not rows at all
    assert 0 < table["n"].sum() <= 12
    assert table["top_quarter_share"].between(0, 1).all()
    assert table["improved_share"].between(0, 1).all()
    assert "select-breast_cancer, 16 trials, seed 0:" in capsys.readouterr().out


def test_only_our_samplers_and_conditional_tasks_are_accepted(bs, tmp_path):
    with pytest.raises(SystemExit):
        bs.main(["--samplers", "tpe", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        bs.main(["--task", "svc-digits", "--out", str(tmp_path)])
