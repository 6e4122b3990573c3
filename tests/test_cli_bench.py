"""End-to-end ``metaheur bench`` (and ``list``, ``minimize``) runs, and the harness statistics."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaheur.harness import bench, stats
from metaheur.cli import main


def test_bench_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "b"
    rc = main(["bench", "--algos", "dlf-aoa,pso,gwo,random", "--functions", "sphere,ackley",
               "--dim", "2,3", "--runs", "2", "--budget", "20d", "--pop-size", "5",
               "--n-jobs", "1", "--quiet", "--out", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    runs = pd.read_csv(out / "raw" / "runs.csv")
    assert len(runs) == 4 * 2 * 2 * 2
    assert set(runs["nfev"][runs["dim"] == 3]) == {60} and (runs["final_error"] >= 0).all()
    conv = pd.read_csv(out / "raw" / "convergence.csv")
    assert set(conv.columns) >= {"algo", "function", "dim", "run", "nfev", "error"}
    last = conv.sort_values("nfev").groupby(["algo", "function", "dim", "run"]).last()
    merged = last.merge(runs.set_index(["algo", "function", "dim", "run"]),
                        left_index=True, right_index=True)
    np.testing.assert_allclose(merged["error"], merged["final_error"], rtol=1e-9, atol=1e-12)
    for name in ("sphere_d2", "ackley_d3"):
        md = (out / "tables" / f"{name}.md").read_text()
        assert "| algo | mean | std | median | best | worst |" in md and "vs_ref" in md
        assert (out / "plots" / f"convergence_{name}.png").is_file()
        assert (out / "plots" / f"box_{name}.png").is_file()
    assert (out / "wilcoxon.csv").is_file() and (out / "friedman.csv").is_file()
    assert "Friedman average ranks" in stdout and "## sphere, d=2" in stdout


def test_bench_is_reproducible_and_order_free(tmp_path: Path) -> None:
    kw = dict(runs=2, budget=30, pop_size=5, seed=3)
    a = bench.run_benchmark(["pso", "gwo"], ["rastrigin"], [2], **kw).runs
    b = bench.run_benchmark(["gwo", "pso"], ["rastrigin"], [2], n_jobs=2, **kw).runs
    key = ["algo", "run"]
    pd.testing.assert_series_equal(a.sort_values(key)["final_error"].reset_index(drop=True),
                                   b.sort_values(key)["final_error"].reset_index(drop=True))


def test_statistics_by_hand() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for f in ("f", "g", "h"):
        ref = rng.random(10)
        for algo, errors in (("ref", ref), ("bad", 100.0 + rng.random(10)), ("same", ref[::-1])):
            for r in range(10):
                rows.append({"algo": algo, "function": f, "dim": 2, "run": r,
                             "final_error": errors[r]})
    runs = pd.DataFrame(rows)
    summ = stats.summary_table(runs)
    assert list(summ.columns) == ["function", "dim", "algo", "mean", "std", "median", "best",
                                  "worst"]
    wil = stats.wilcoxon_holm(runs, "ref").set_index(["function", "algo"])
    assert (wil.xs("bad", level="algo")["result"] == "+").all()
    assert (wil.xs("same", level="algo")["result"] == "=").all()
    assert (wil["p_holm"] >= wil["p"]).all()
    fr = stats.friedman_ranks(runs).set_index("algo")
    assert fr.loc["bad", "mean_rank"] == 3.0
    assert fr["mean_rank"].sum() == pytest.approx(6.0)
    assert np.isfinite(fr["friedman_p"]).all()
    np.testing.assert_allclose(stats.holm(np.array([0.01, 0.04, 0.03])), [0.03, 0.06, 0.06])


@pytest.mark.parametrize(("budget", "dim", "expected"),
                         [("10000d", 10, 100_000), ("500", 3, 500), (7, 2, 7), ("3d", 4, 12)])
def test_parse_budget(budget: str | int, dim: int, expected: int) -> None:
    assert bench.parse_budget(budget, dim) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--algos", "pso,nope"], "unknown algorithm 'nope'"),
        (["--functions", "sphere,nofun"], "unknown function(s) nofun; allowed:"),
        (["--budget", "lots"], "budget must be an integer or '<k>d'"),
        (["--dim", "0"], "--dim values must be >= 1"),
        (["--runs", "0"], "--runs must be >= 1"),
    ],
)
def test_bench_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                         expected: str) -> None:
    assert main(["bench", "--out", str(tmp_path), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_bbob_without_cocoex(tmp_path: Path, capsys: pytest.CaptureFixture,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_cocoex(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if name == "cocoex":
            raise ImportError("No module named 'cocoex'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cocoex)
    assert main(["bench", "--suite", "bbob", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "pip install coco-experiment" in err and len(err.strip().splitlines()) == 1


def test_bbob_suite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("cocoex")
    rc = main(["bench", "--suite", "bbob", "--algos", "pso,dlf-aoa", "--functions", "1,f15",
               "--dim", "2", "--runs", "2", "--budget", "30d", "--pop-size", "6",
               "--n-jobs", "1", "--quiet", "--out", str(tmp_path / "bbob")])
    assert rc == 0, capsys.readouterr().err
    runs = pd.read_csv(tmp_path / "bbob" / "raw" / "runs.csv")
    assert set(runs["function"]) == {"f1", "f15"} and set(runs["instance"]) == {1, 2}
    assert (runs["final_error"] >= 0).all()
    assert not list(Path.cwd().glob("._bbob_problem_best_parameter.txt"))


def test_list_and_minimize(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "dlf-aoa" in listed
    assert main(["minimize", "--function", "sphere", "--dim", "3", "--budget", "300",
                 "--algo", "pso", "--json", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["nfev"] == 300 and res["error"] >= 0
