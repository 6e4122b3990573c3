"""benchmarks/training_cost.py: samplers compared at equal training cost (epochs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from helpers import load_benchmark, restored_process_state  # noqa: E402


@pytest.fixture(scope="module")
def tc():
    with restored_process_state():
        yield load_benchmark("training_cost")


def _row(steps: list[int], values: list[float | None]) -> pd.Series:
    """A runs.csv row of one run: per-trial epochs and values (None: pruned or failed)."""
    best, trace = None, []
    for v in values:
        if v is not None and (best is None or v < best):
            best = v
        trace.append(best)
    return pd.Series({"task": "sgd-digits-pruned", "sampler": "x", "seed": 0,
                      "trials": len(steps), "best": best, "steps": json.dumps(steps),
                      "trace": json.dumps(trace)})


def test_a_budget_counts_the_trials_that_ended_within_it(tc):
    """Trials of 20, 3, 20 and 5 epochs end at 20, 23, 43 and 48 epochs; a trial that would
    run past the budget is not counted, and a budget the run never reached says nothing."""
    row = _row([20, 3, 20, 5], [1.0, None, 0.5, 0.25])
    best, ended = tc.best_at_costs(row, [10, 20, 22, 23, 43, 47, 48, 49])
    assert ended[:-1].tolist() == [0, 1, 1, 2, 3, 3, 4] and np.isnan(ended[-1])
    assert np.isnan(best[0])  # no trial had ended
    assert best[1:-1].tolist() == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]


def test_a_run_that_ended_before_a_budget_is_left_out_there(tc, caplog):
    runs = pd.DataFrame([
        {**_row([20, 20], [0.5, 0.4]), "sampler": "a"},
        {**_row([20, 2, 2], [0.6, None, None]), "sampler": "b"},
        {**_row([20, 20], [0.3, 0.2]), "sampler": "a", "seed": 1},
        {**_row([20, 20], [0.9, 0.1]), "sampler": "b", "seed": 1},
    ])
    pts = tc.at_costs(runs, [20, 40])
    assert len(pts) == 7  # b seed 0 spent 24 epochs: nothing at 40
    with caplog.at_level("WARNING"):
        s = tc.hpo.summarise(runs, [20, 40], ["a", "b"], points=tc.at_costs, unit="epochs")
    assert "at 40 epochs: seeds [0] lack some samplers" in caplog.text
    assert s.set_index(["budget", "sampler"]).loc[(40, "a"), "n_seeds"] == 1
    assert s.set_index(["budget", "sampler"]).loc[(20, "b"), "n_seeds"] == 2
    assert tc.run_epochs(runs).tolist() == [40, 24, 40, 40]
    assert tc.default_budgets(24) == [6, 12, 24] and tc.full_trial(runs) == 20


@given(st.lists(st.tuples(st.integers(1, 20), st.one_of(st.none(), st.floats(0, 1))),
                min_size=1, max_size=30))
def test_property_best_at_cost_never_rises_and_ends_at_the_runs_best(tc, trials):
    steps = [k for k, _ in trials]
    row = _row(steps, [v for _, v in trials])
    grid = np.arange(1, sum(steps) + 1)
    best, ended = tc.best_at_costs(row, grid)
    assert not np.isnan(ended).any() and (np.diff(ended) >= 0).all() and ended[-1] == len(steps)
    finite = best[~np.isnan(best)]
    assert (np.diff(finite) <= 0).all()
    assert np.isnan(best[-1]) if row["best"] is None else best[-1] == tc.hpo._sig(row["best"])
    assert np.isnan(tc.best_at_costs(row, [sum(steps) + 1])[1][0])


def test_cli_reports_a_pruned_task_at_equal_epochs(tc, tmp_path, capsys):
    hpo = tc.hpo
    assert hpo.main(["--tasks", "sgd-digits-pruned", "--samplers", "gwo", "random",
                     "--trials", "8", "--report", "8", "--seeds", "2", "--out", str(tmp_path),
                     "--no-plot"]) == 0
    capsys.readouterr()
    assert tc.main(["--out", str(tmp_path), "--paired", "random", "gwo"]) == 0
    text = capsys.readouterr().out
    assert "complete trials of 20 epochs" in text and "trials ended within the budget" in text
    summary = pd.read_csv(tmp_path / "cost_summary.csv")
    runs = hpo.read_runs(tmp_path / "runs.csv")
    least = min(sum(json.loads(s)) for s in runs["steps"])
    assert sorted(set(summary["budget"])) == sorted({least // 4, least // 2, least})
    assert set(summary["sampler"]) == {"gwo", "random"} and (summary["n_seeds"] == 2).all()
    assert (tmp_path / "best_by_cost.png").stat().st_size > 0
    assert len(pd.read_csv(tmp_path / "cost_paired.csv")) == 3
    # a budget past the end of some run: said, not compared on the runs that reached it
    assert tc.main(["--out", str(tmp_path), "--budgets", str(least), str(10 * least),
                    "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert f"no seed on which every sampler's run reached {10 * least} epochs" in text
    assert text.count("trials ended within the budget") == 1


def test_cli_says_what_is_wrong_with_runs_without_epochs(tc, tmp_path, capsys):
    hpo = tc.hpo
    assert hpo.main(["--tasks", "select-breast_cancer", "--samplers", "random", "--trials",
                     "3", "--report", "3", "--seeds", "1", "--out", str(tmp_path),
                     "--no-plot"]) == 0
    capsys.readouterr()
    assert tc.main(["--out", str(tmp_path), "--no-plot"]) == 2  # the task reports no epochs
    assert "reported no intermediate values" in capsys.readouterr().err
    runs = pd.read_csv(tmp_path / "runs.csv").drop(columns="steps")
    runs.to_csv(tmp_path / "runs.csv", index=False)
    assert tc.main(["--out", str(tmp_path), "--no-plot"]) == 2
    assert "recorded the epochs of its trials" in capsys.readouterr().err
    assert tc.main(["--out", str(tmp_path / "nowhere")]) == 2


def test_matched_gives_ref_the_epochs_of_others_whole_run(tc, caplog):
    """Seed 0: OTHER's run spent 40 epochs and ended at 0.3; REF's longest run of that seed
    had ended three trials (5 + 5 + 20 epochs) within them, best 0.4, the fourth trial
    (0.1) would end at 50. Seed 1: REF's run ended at 30 epochs, before OTHER's 40: left out.
    Seed 2 has no run of REF."""
    runs = pd.DataFrame([
        {**_row([20, 20], [0.5, 0.3]), "sampler": "o"},
        {**_row([20, 20], [0.2, None]), "sampler": "o", "seed": 1},
        {**_row([20, 20], [0.2, None]), "sampler": "o", "seed": 2},
    ])
    peers = pd.DataFrame([
        {**_row([5, 5], [0.6, 0.4]), "sampler": "r"},  # shorter run of seed 0: not read
        {**_row([5, 5, 20, 20], [0.6, 0.4, None, 0.1]), "sampler": "r"},
        {**_row([10, 20], [0.1, 0.1]), "sampler": "r", "seed": 1},
    ])
    with caplog.at_level("WARNING"):
        m = tc.matched(runs, peers, "r", "o")
    assert "the runs of r on seeds [1] ended before the epochs of o's run" in caplog.text
    row = m.iloc[0]
    assert (row["n_seeds"], row["n_short"], row["median_epochs"]) == (1, 1, 40)
    assert (row["median_ref_trials"], row["median_ref"], row["median_other"]) == (3, 0.4, 0.3)
    assert (row["better"], row["worse"], row["equal"]) == (1, 0, 0)


def test_matched_counts_a_run_without_a_value_as_the_worst(tc):
    runs = pd.DataFrame([{**_row([2, 2], [None, None]), "sampler": "o"},
                         {**_row([2, 2], [0.5, None]), "sampler": "o", "seed": 1}])
    peers = pd.DataFrame([{**_row([2, 2, 2], [0.9, 0.8, 0.1]), "sampler": "r"},
                          {**_row([5], [None]), "sampler": "r", "seed": 1}])
    m = tc.matched(runs, peers, "r", "o").iloc[0]
    assert (m["better"], m["worse"], m["median_ref_trials"]) == (1, 1, 1)  # 2 and 0 trials
    assert m["median_ref"] == np.inf  # seed 0: 0.8 within 4 epochs; seed 1: nothing ended


def test_cli_matches_a_samplers_runs_with_longer_runs_of_a_peer(tc, tmp_path, capsys):
    hpo, long = tc.hpo, tmp_path / "long"
    for out, smp, n in ((tmp_path, "gwo", "8"), (long, "random", "30")):
        assert hpo.main(["--tasks", "sgd-digits-pruned", "--samplers", smp, "--trials", n,
                         "--report", n, "--seeds", "2", "--out", str(out), "--no-plot"]) == 0
    capsys.readouterr()
    assert tc.main(["--out", str(tmp_path), "--no-plot", "--matched", "random", "gwo",
                    "--matched-runs", str(long / "runs.csv")]) == 0
    assert "the epochs OTHER's whole run spent" in capsys.readouterr().out
    m = pd.read_csv(tmp_path / "cost_matched.csv")
    assert len(m) == 1 and m["n_seeds"].iloc[0] + m["n_short"].iloc[0] == 2
    gwo = hpo.read_runs(tmp_path / "runs.csv")
    assert m["median_epochs"].iloc[0] == np.median([sum(json.loads(s)) for s in gwo["steps"]])
    with pytest.raises(SystemExit):  # no run of random in --out's runs.csv
        tc.main(["--out", str(tmp_path), "--no-plot", "--matched", "random", "gwo"])
    assert "needs runs of random in" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tc.main(["--out", str(tmp_path), "--matched-runs", str(long / "runs.csv")])
    assert "--matched-runs is read only for --matched" in capsys.readouterr().err
    other = tmp_path / "other"
    assert hpo.main(["--tasks", "select-breast_cancer", "--samplers", "random", "--trials",
                     "2", "--report", "2", "--seeds", "1", "--out", str(other),
                     "--no-plot"]) == 0
    capsys.readouterr()
    assert tc.main(["--out", str(tmp_path), "--no-plot", "--matched", "random", "gwo",
                    "--matched-runs", str(other / "runs.csv")]) == 2
    assert "not only of sgd-digits-pruned" in capsys.readouterr().err
