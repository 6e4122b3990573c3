"""End-to-end ``metaheur bench`` (and ``list``, ``minimize``) runs, and the harness statistics."""

from __future__ import annotations

import builtins
import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaheur.cli import main
from metaheur.harness import bench, stats


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
    # no value is known before the first population is evaluated (5 evaluations; Optuna's
    # random search has one after each): an empty field, never 'inf' (regression)
    assert "inf" not in (out / "raw" / "convergence.csv").read_text().lower()
    before = conv["nfev"] < np.where(conv["algo"] == "random", 1, 5)
    assert before.any() and conv.loc[before, "error"].isna().all()
    assert np.isfinite(conv.loc[~before, "error"]).all()
    assert (conv.loc[~before, "error"] >= 0).all()
    for name in ("sphere_d2", "ackley_d3"):
        md = (out / "tables" / f"{name}.md").read_text()
        assert "| algo | mean | std | median | best | worst |" in md and "vs_ref" in md
        assert (out / "plots" / f"convergence_{name}.png").is_file()
        assert (out / "plots" / f"box_{name}.png").is_file()
    assert (out / "wilcoxon.csv").is_file() and (out / "friedman.csv").is_file()
    assert "Friedman average ranks" in stdout and "## sphere, d=2" in stdout


@pytest.mark.parametrize("algo", ["pso", "random"])
def test_convergence_is_nan_until_a_finite_value_is_known(algo: str) -> None:
    """The best-so-far error is NaN (an empty CSV field) before the first evaluation and
    while every value so far was non-finite: never inf (regression)."""
    from types import SimpleNamespace

    calls = [0]

    def f(X: np.ndarray) -> np.ndarray:  # the first call (population or trial) overflows
        calls[0] += 1
        return np.full(len(X), np.inf) if calls[0] == 1 else (X**2).sum(axis=1)

    problem = SimpleNamespace(function="fake", dim=2, instance=0,
                              build=lambda: (f, np.array([[-1.0, 1.0]] * 2), 0.0))
    checkpoints = np.arange(1, 13)
    conv = bench._one_run(algo, problem, 0, 12, 4, np.random.SeedSequence(0),
                          checkpoints)["convergence"]
    first = 2 if algo == "random" else 8  # random: trial 2; pso: the second population
    assert np.isnan(conv[checkpoints < first]).all()
    assert np.isfinite(conv[checkpoints >= first]).all()
    assert (np.diff(conv[checkpoints >= first]) <= 0).all()  # best so far


def test_bench_is_reproducible_and_order_free(tmp_path: Path) -> None:
    kw = dict(runs=2, budget=30, pop_size=5, seed=3)
    a = bench.run_benchmark(["pso", "gwo"], ["rastrigin"], [2], **kw).runs
    b = bench.run_benchmark(["gwo", "pso"], ["rastrigin"], [2], n_jobs=2, **kw).runs
    key = ["algo", "run"]
    pd.testing.assert_series_equal(a.sort_values(key)["final_error"].reset_index(drop=True),
                                   b.sort_values(key)["final_error"].reset_index(drop=True))


def test_a_variant_with_hyper_parameters_is_an_algorithm_of_its_own(tmp_path: Path,
                                                                    capsys) -> None:
    """``--algos pso,pso:w=0.4`` compares PSO with a variant: each its own rows under its
    canonical label (``--ref`` spelled otherwise finds it), the variant's runs those of
    ``minimize(..., w=0.4)`` on the same seeds, the plain runs unchanged by its presence."""
    from metaheur import functions, minimize

    out = tmp_path / "b"
    assert main(_bench(out, "--algos", "pso,PSO:w=.40", "--ref", "pso:w=0.4")) == 0
    stdout = capsys.readouterr().out
    runs = pd.read_csv(out / "raw" / "runs.csv")
    assert list(dict.fromkeys(runs["algo"])) == ["pso", "pso:w=0.4"]
    assert "rank-sum test vs pso:w=0.4" in stdout
    fn = functions.get("sphere", 2, shift=True, seed=0)  # the problem of every run
    for run, ss in enumerate(np.random.SeedSequence(0).spawn(2)):
        got = runs[(runs["algo"] == "pso:w=0.4") & (runs["run"] == run)]["final_error"].item()
        res = minimize(fn, fn.bounds, "pso", budget=20, pop_size=5,
                       seed=np.random.default_rng(ss), vectorized=True, w=0.4)
        assert got == pytest.approx(max(res.fun - fn.f_opt, 0.0), rel=1e-14)  # CSV's digits
    assert not runs.groupby("run")["final_error"].nunique().eq(1).all()  # w changed the runs
    alone = bench.run_benchmark(["pso"], ["sphere"], [2], runs=2, budget=20, pop_size=5).runs
    np.testing.assert_allclose(runs[runs["algo"] == "pso"]["final_error"], alone["final_error"],
                               rtol=1e-14)
    assert bench.check_spec("dlf-aoa:levy_scale=1,boundary=reflect") == (
        "dlf-aoa:levy_scale=1:boundary=reflect", "dlf-aoa",
        {"levy_scale": 1, "boundary": "reflect"})


def test_optunas_samplers_take_options_in_a_spec(tmp_path: Path, capsys) -> None:
    """``--algos tpe,tpe:n_startup_trials=2``: TPE with fewer random trials is its own row,
    and its runs differ from the default's on the same seeds."""
    out = tmp_path / "b"
    assert main(_bench(out, "--algos", "tpe,tpe:n_startup_trials=2")) == 0
    runs = pd.read_csv(out / "raw" / "runs.csv")
    assert list(dict.fromkeys(runs["algo"])) == ["tpe", "tpe:n_startup_trials=2"]
    assert not runs.groupby("run")["final_error"].nunique().eq(1).all()
    alone = bench.run_benchmark(["tpe"], ["sphere"], [2], runs=2, budget=20, pop_size=5).runs
    np.testing.assert_allclose(runs[runs["algo"] == "tpe"]["final_error"], alone["final_error"],
                               rtol=1e-14)


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


@pytest.mark.parametrize("budget", ["-5d", "-100", -100, "0", 0, "0d", "1.5d", "d", "", "5 e"])
def test_parse_budget_says_what_is_allowed(budget: str | int) -> None:
    with pytest.raises(ValueError, match=r"budget must be a positive integer or '<k>d' with "
                                         r"k >= 1 \(k × dimension, e\.g\. 10000d\), got "):
        bench.parse_budget(budget, 3)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--algos", "pso,nope"], "unknown algorithm 'nope'"),
        (["--functions", "sphere,nofun"], "unknown function(s) nofun; allowed:"),
        (["--budget", "lots"], "budget must be a positive integer or '<k>d'"),
        (["--dim", "0"], "--dim values must be >= 1"),
        (["--runs", "0"], "argument --runs: must be >= 1"),
        (["--algos", "pso:foo=1"], "'pso:foo=1': hyper-parameter foo: pso has no such"),
        (["--algos", "pso:w=nan"], "w must be a finite real number, got nan"),
        (["--algos", "pso:pop_size=4"], "hyper-parameter pop_size: set it with --pop-size"),
        (["--algos", "tpe:w=1"], "'tpe:w=1': sampler 'tpe' has no option 'w'; allowed: "),
        (["--algos", "tpe:n_startup_trials=-1"],
         "n_startup_trials of Optuna's tpe sampler must be an int >= 0, got -1"),
        (["--algos", "cmaes:popsize=4"], "'cmaes:popsize=4' popsize: set it with "
                                         "--pop-size"),
        (["--algos", "cmaes:inc_popsize=3"], "'cmaes:inc_popsize=3': sampler 'cmaes': "
                                             "Optuna ignores inc_popsize since version 4.4"),
        (["--algos", "tpe:n_startup_trials=1e999"], "must be an int >= 0, got inf"),
        (["--algos", "pso:w"], "'pso:w': expected NAME or NAME:KEY=VALUE"),
    ],
)
def test_bench_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                         expected: str) -> None:
    assert main(["bench", "--out", str(tmp_path), "--quiet", *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_a_dimension_a_function_lacks_is_refused_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    """Regression (session 26's audit): rosenbrock needs d >= 2; ``--functions
    sphere,rosenbrock --dim 1`` ran every sphere job first and failed in a worker."""
    ran = []
    monkeypatch.setattr(bench, "_one_run", lambda *a, **k: ran.append(a))
    out = tmp_path / "out"
    assert main(["bench", "--out", str(out), "--quiet", "--functions", "sphere,rosenbrock",
                 "--dim", "1", "--algos", "pso", "--budget", "50"]) == 2
    err = capsys.readouterr().err
    assert "rosenbrock needs dimensions >= 2, got --dim 1" in err, err
    assert ran == [] and not out.exists()
    with pytest.raises(ValueError, match="rosenbrock needs dimensions >= 2"):
        bench.run_benchmark(["pso"], ["rosenbrock"], [1], budget=50, runs=1)


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


def test_an_interrupted_bench_keeps_its_finished_runs(tmp_path: Path, monkeypatch,
                                                     capsys: pytest.CaptureFixture) -> None:
    """Ctrl-C or SIGTERM stops ``bench`` "keeping what finished" (README): the finished runs'
    raw results are written and said so, without tables or statistics of incomplete runs;
    everything used to be lost."""
    real = bench._one_run
    calls = []

    def stop_at_third(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "_one_run", stop_at_third)
    out = tmp_path / "b"
    rc = main(["bench", "--algos", "pso,gwo", "--functions", "sphere", "--dim", "2",
               "--runs", "4", "--budget", "10", "--pop-size", "5", "--n-jobs", "1", "--quiet",
               "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 130
    assert "2 of 8 runs finished" in err and str(out / "raw") in err
    runs = pd.read_csv(out / "raw" / "runs.csv")
    assert len(runs) == 2 and (runs["final_error"] >= 0).all()
    assert len(pd.read_csv(out / "raw" / "convergence.csv")) > 0
    assert not (out / "report.md").exists() and not (out / "summary.csv").exists()


def test_a_rerun_in_the_same_folder_leaves_no_stale_results(tmp_path: Path, capsys) -> None:
    """A second bench into the same --out leaves only its own results: the first run's
    tables, plots and wilcoxon.csv used to stay beside a report.md that no longer had them
    (e.g. rank-sum tests of a reference the second run did not include)."""
    out = tmp_path / "b"
    common = ["--dim", "2", "--runs", "2", "--budget", "10", "--pop-size", "5", "--n-jobs", "1",
              "--quiet", "--out", str(out)]
    assert main(["bench", "--algos", "pso,gwo", "--functions", "sphere,ackley", "--ref", "pso",
                 *common]) == 0
    assert (out / "wilcoxon.csv").is_file() and (out / "tables" / "ackley_d2.md").is_file()
    (out / "notes.txt").write_text("mine")  # not the bench's: kept
    assert main(["bench", "--algos", "gwo", "--functions", "sphere", *common]) == 0
    assert not (out / "wilcoxon.csv").exists()
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["sphere_d2.md"]
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["box_sphere_d2.png",
                                                                 "convergence_sphere_d2.png"]
    assert (out / "notes.txt").read_text() == "mine"
    capsys.readouterr()


def test_clearing_old_results_spares_the_users_files(tmp_path: Path) -> None:
    """The clean-up before writing removes only names a benchmark writes: a user's
    ``tables/my_data.md`` or ``plots/box_and_dots.png`` matched the former globs
    (``tables/*_d*.md``, ``plots/box_*_d*.png``) and were deleted (review finding)."""
    mine = ["tables/my_data.md", "tables/notes_draft.md", "tables/my_d3.md",
            "plots/box_and_dots.png", "plots/convergence_old_dataset.png",
            "plots/box_sphere_d2.md", "raw/notes.csv"]
    stale = ["tables/sphere_d2.md", "tables/f24_d40.md", "tables/styblinski-tang_d5.md",
             "plots/box_f1_d2.png", "plots/convergence_ackley_d10.png", "summary.csv"]
    for name in mine + stale:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    result = bench.BenchResult(pd.DataFrame({"algo": ["pso"]}), pd.DataFrame({"it": [0]}), {})
    bench.write_raw(result, tmp_path)
    assert [n for n in mine if not (tmp_path / n).exists()] == []
    assert [n for n in stale if (tmp_path / n).exists()] == []


def test_function_names_are_canonical(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--functions accepts any case and ``_`` for ``-`` (as --algos does) and reports the
    registry name; the same function twice is refused (``Sphere`` used to label its own
    tables, and ``sphere,Sphere`` ran and ranked one function as two)."""
    rc = main(["bench", "--algos", "pso", "--functions", "Sphere,STYBLINSKI_TANG", "--dim", "2",
               "--runs", "1", "--budget", "10", "--pop-size", "5", "--n-jobs", "1", "--quiet",
               "--out", str(tmp_path / "b")])
    assert rc == 0, capsys.readouterr().err
    runs = pd.read_csv(tmp_path / "b" / "raw" / "runs.csv")
    assert sorted(runs["function"]) == ["sphere", "styblinski-tang"]
    assert main(["bench", "--functions", "sphere,Sphere", "--quiet",
                 "--out", str(tmp_path / "c")]) == 2
    assert "--functions names sphere twice" in capsys.readouterr().err


@pytest.mark.parametrize("dim", ["1", "4", "2,60"])
def test_bbob_dimension_outside_the_suite(tmp_path: Path, capsys: pytest.CaptureFixture,
                                          dim: str) -> None:
    """COCO's bbob suite has d = 2, 3, 5, 10, 20, 40 only: another dimension is bad input
    (it used to crash in a worker, or silently run every dimension's first problem, d = 2)."""
    pytest.importorskip("cocoex")
    rc = main(["bench", "--suite", "bbob", "--functions", "1", "--dim", dim, "--runs", "1",
               "--budget", "30d", "--pop-size", "6", "--n-jobs", "1", "--quiet",
               "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "2, 3, 5, 10, 20, 40" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="2, 3, 5, 10, 20, 40"):
        bench.bbob_problem(1, int(dim.split(",")[-1]), 1)


def test_bbob_default_dimensions_exist(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Without --dim the bbob suite runs dimensions it has (the functions' default 10,30
    used to run d = 2 under the label d = 30)."""
    pytest.importorskip("cocoex")
    rc = main(["bench", "--suite", "bbob", "--algos", "pso", "--functions", "1", "--runs", "1",
               "--budget", "3d", "--pop-size", "6", "--n-jobs", "1", "--quiet",
               "--out", str(tmp_path / "b")])
    assert rc == 0, capsys.readouterr().err
    runs = pd.read_csv(tmp_path / "b" / "raw" / "runs.csv")
    assert sorted(runs["dim"]) == [10, 20] and sorted(runs["nfev"]) == [30, 60]


@pytest.mark.parametrize("instance", [1, 6, 15, 16, 31])
def test_bbob_instance_is_the_instance_number(instance: int) -> None:
    """Run ``r`` is BBOB instance ``r + 1`` as documented: not the ``r + 1``-th entry of
    COCO's default instance list (1-5, 71-80), past whose end every run fell back to
    instance 1."""
    pytest.importorskip("cocoex")
    problem, f_opt = bench.bbob_problem(3, 5, instance)
    assert (problem.id_function, problem.id_instance, problem.dimension) == (3, instance, 5)
    assert np.isfinite(f_opt)


def test_list_and_minimize(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "dlf-aoa" in listed
    assert main(["minimize", "--function", "sphere", "--dim", "3", "--budget", "300",
                 "--algo", "pso", "--json", "--quiet"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["nfev"] == 300 and res["error"] >= 0


# ------------------------------------------------------------------ statistics (issue 13)
def _tie_corrected_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Mann-Whitney p from the normal approximation with the tie correction and
    the continuity correction, written out from the textbook formula."""
    from math import erfc, sqrt

    from scipy.stats import rankdata

    n1, n2 = len(x), len(y)
    n = n1 + n2
    ranks = rankdata(np.r_[x, y])
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    _, t = np.unique(np.r_[x, y], return_counts=True)
    var = n1 * n2 / 12 * ((n + 1) - (t**3 - t).sum() / (n * (n - 1)))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sqrt(var)
    return erfc(z / sqrt(2))


def _tied_samples() -> tuple[np.ndarray, np.ndarray]:
    """30 vs 30 runs where most reach exactly zero error (23 and 12 of them)."""
    return (np.r_[np.zeros(23), np.linspace(1e-3, 1e-2, 7)],
            np.r_[np.zeros(12), np.linspace(1e-3, 1e-2, 18)])


def test_rank_sum_is_tie_aware() -> None:
    """Regression: ``scipy.stats.ranksums`` ignores ties, common when runs reach 0 error."""
    from scipy.stats import ranksums

    x, y = _tied_samples()
    u, p = stats.rank_sum(x, y)
    assert p == pytest.approx(_tie_corrected_p(x, y), rel=1e-9)
    assert p == pytest.approx(0.0066, abs=1e-4) and ranksums(x, y).pvalue > 0.0145
    assert u < 30 * 30 / 2  # x (the reference) ranks lower
    assert stats.rank_sum(np.zeros(5), np.zeros(7)) == (17.5, 1.0)


def test_holm_against_a_known_table() -> None:
    # m = 4: sorted p 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, max(1*0.04, 0.06)
    np.testing.assert_allclose(stats.holm(np.array([0.01, 0.04, 0.03, 0.005])),
                               [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm(np.array([0.5, 0.9])), [1.0, 1.0])


def test_tie_aware_verdict_after_holm_over_five_algorithms() -> None:
    """The tie-blind test said '=' here (p 0.0147 × 4 > 0.05); the tie-aware one says '+'."""
    ref, other = _tied_samples()
    rows = [{"algo": a, "function": "f", "dim": 2, "run": r, "final_error": e[r]}
            for a, e in (("ref", ref), ("b", other), ("c", ref[::-1]), ("d", np.roll(ref, 3)),
                         ("e", np.roll(ref, 7))) for r in range(30)]
    wil = stats.wilcoxon_holm(pd.DataFrame(rows), "ref").set_index("algo")
    assert wil.loc["b", "p_holm"] == pytest.approx(4 * _tie_corrected_p(ref, other), rel=1e-9)
    assert wil.loc["b", "result"] == "+"
    assert (wil.loc[["c", "d", "e"], "result"] == "=").all()


def test_signed_rank_is_paired() -> None:
    """Paired by run: a consistent 0.001 advantage hidden under a large per-run effect."""
    block = np.linspace(0.0, 1.0, 10)  # what a seed does to every algorithm alike
    x, y = block, block + 0.001 * np.r_[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    w, p = stats.signed_rank(x, y)
    assert w == -55.0 and p == pytest.approx(2 / 2**10)  # every sign negative: 2 of 1024
    assert stats.rank_sum(x, y)[1] > 0.5  # the unpaired test sees nothing
    assert stats.signed_rank(np.ones(4), np.ones(4)) == (0.0, 1.0)


@pytest.mark.parametrize(("d", "w", "p"), [
    # one zero difference (zsplit: it takes rank 1, its rank split between the signs, and it
    # never flips): ranks 2-6 all positive, 2 of the 32 sign patterns as extreme
    ([1, 2, 3, 4, 5, 0], 20.0, 2 / 32),
    # tied magnitudes share rank 1.5; |T| >= 7 in 12 of the 32 patterns (counted by hand)
    ([-1, -1, -2, 3, -4], -7.0, 12 / 32),
    # no ties, no zeros: the classical exact table (scipy's exact p, every version)
    ([0.1, -0.25, 0.3, 0.45, 0.5, 0.61, 0.7], 24.0, 6 / 128),
])
def test_signed_rank_exact_with_zeros_and_ties(d, w, p) -> None:
    """Exact conditional p-values, the same on every SciPy (SciPy < 1.15 switches to a normal
    approximation at the first zero difference and ignores ties in its exact table)."""
    got_w, got_p = stats.signed_rank(np.asarray(d, dtype=float), np.zeros(len(d)))
    assert got_w == pytest.approx(w) and got_p == pytest.approx(p, rel=1e-12)


def test_signed_rank_large_samples_use_the_tie_corrected_normal_law() -> None:
    d = np.r_[np.arange(1.0, 301.0), -np.arange(1.0, 101.0)]  # 400 pairs, ties in |d|
    w, p = stats.signed_rank(d, np.zeros(d.size))
    r = np.asarray(pd.Series(np.abs(d)).rank())
    from scipy.stats import norm

    assert w == pytest.approx(np.sum(np.sign(d) * r))
    assert p == pytest.approx(2 * norm.sf(abs(w) / np.sqrt(np.sum(r**2))), rel=1e-12)


def test_signed_rank_missing_and_infinite_values() -> None:
    """A NaN leaves its pair out; equal infinities are a tie, not NaN; shapes must match."""
    x = np.array([np.inf, 1.0, 2.0, 3.0, np.nan])
    assert stats.signed_rank(x, x.copy()) == (0.0, 1.0)
    assert stats.signed_rank(np.array([np.nan, 1.0]), np.array([0.0, 0.0]))[0] == 1.0
    with pytest.raises(ValueError, match="same shape"):
        stats.signed_rank(np.arange(3.0), np.zeros(1))


def test_paired_verdict_matches_runs_and_says_which_side() -> None:
    block = np.linspace(0.0, 1.0, 10)
    rows = [{"algo": a, "function": "f", "dim": 2, "run": r, "final_error": block[r] + d}
            for a, d in (("ref", 0.0), ("worse", 0.001), ("better", -0.001), ("same", 0.0))
            for r in range(10)]
    rows.append({"algo": "worse", "function": "f", "dim": 2, "run": 99, "final_error": -5.0})
    runs = pd.DataFrame(rows)
    paired = stats.wilcoxon_holm(runs, "ref", paired=True).set_index("algo")
    assert paired.loc["worse", "result"] == "+" and paired.loc["better", "result"] == "-"
    assert paired.loc["same", "result"] == "=" and paired.loc["same", "p"] == 1.0
    assert stats.wilcoxon_holm(runs, "ref").set_index("algo").loc["worse", "result"] == "="
    with pytest.raises(ValueError, match="'run'"):
        stats.wilcoxon_holm(runs.drop(columns="run"), "ref", paired=True)


def test_an_undefined_p_value_is_no_verdict() -> None:
    """Regression: a NaN p-value (no run in common) read as "significantly worse"."""
    rows = [{"algo": "ref", "function": "f", "dim": 2, "run": r, "final_error": float(r)}
            for r in range(5)]
    rows += [{"algo": "other", "function": "f", "dim": 2, "run": r + 10, "final_error": 9.0}
             for r in range(5)]
    res = stats.wilcoxon_holm(pd.DataFrame(rows), "ref", paired=True)
    assert res["result"].tolist() == ["="] and np.isnan(res["p"].iloc[0])
    np.testing.assert_allclose(stats.holm(np.array([0.01, np.nan, 0.02])),
                               [0.02, np.nan, 0.02])  # a NaN is not counted as a test


def test_friedman_note() -> None:
    assert stats.friedman_note(3, 2) is None
    assert "here 4 algorithm(s) and 1 function(s)" in stats.friedman_note(4, 1)


def _tied_runs(dims: tuple[int, ...] = (2,)) -> pd.DataFrame:
    """3 algorithms x 2 functions x 3 runs, every final error 0 (all solved), in ``dims``;
    in d = 5 (when asked) gwo is worse on one function."""
    rows = [{"algo": a, "function": f, "dim": d, "run": r,
             "final_error": 1.0 if (d, a, f) == (5, "gwo", "ackley") else 0.0}
            for d in dims for a in ("pso", "gwo", "aco") for f in ("sphere", "ackley")
            for r in range(3)]
    return pd.DataFrame(rows)


def test_friedman_all_tied_is_explained_without_a_scipy_warning() -> None:
    """Regression: every algorithm tied on every function made SciPy print 'invalid value
    encountered in scalar divide' and friedman_chi2/p NaN with no note saying why."""
    import warnings

    runs = _tied_runs((2, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fr = stats.friedman_ranks(runs)
        notes = stats.friedman_notes(runs)
    d2 = fr[fr["dim"] == 2]
    assert (d2["mean_rank"] == 2.0).all()
    assert d2["friedman_chi2"].isna().all() and d2["friedman_p"].isna().all()
    assert np.isfinite(fr.loc[fr["dim"] == 5, "friedman_p"]).all()  # one function differs
    assert list(notes) == [2]
    assert "every algorithm has the same mean final error on each of the 2 functions" in notes[2]
    two = runs[(runs["algo"] != "aco") & (runs["dim"] == 2)]  # too few: that note first
    assert stats.friedman_notes(two) == {2: stats.friedman_note(2, 2)}
    gap = runs[~((runs["algo"] == "aco") & (runs["function"] == "ackley"))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stats.friedman_ranks(gap)["friedman_p"].isna().all()
    assert stats.friedman_notes(gap) == {
        2: "no final error (no run, or NaN) for aco on ackley",
        5: "no final error (no run, or NaN) for aco on ackley"}
    # the report's table shows the missing test as a dash, not "nan" (session 32's
    # walk-through); friedman.csv keeps the empty cells
    table = stats.markdown_table(fr[fr["dim"] == 2], floatfmt=".4g")
    assert "nan" not in table and table.splitlines()[2].endswith("| — | — |")


def test_bench_report_notes_an_all_tied_friedman_test(tmp_path: Path) -> None:
    import warnings

    runs = _tied_runs()
    conv = runs.assign(nfev=10, error=runs["final_error"])[
        ["algo", "function", "dim", "run", "nfev", "error"]]
    settings = {"suite": "functions", "runs": 3, "budget": "10", "seed": 0,
                "pop_sizes": {"pso": 5, "gwo": 5, "aco": 5}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        written = bench.write_outputs(bench.BenchResult(runs, conv, settings), tmp_path)
    why = [n for n in written["notes"] if n.startswith("no Friedman test for d=2")]
    assert len(why) == 1 and "same mean final error" in why[0]
    assert why[0] in (tmp_path / "report.md").read_text()


# ------------------------------------------------------- progress, notes, outputs (12, 15)
def test_cost_model_weighs_runs_by_measured_cost() -> None:
    cost = bench._CostModel([("pso", 100)] * 4 + [("tpe", 100)] * 2)
    assert cost.add("pso", 100, 0.01) is None
    done, left = cost.work()
    assert done == pytest.approx(0.01) and left == pytest.approx(5 * 0.01)  # tpe unseen
    note = cost.add("tpe", 100, 20.0)
    assert note is not None and "tpe costs 2,000 times more per evaluation than pso" in note
    done, left = cost.work()
    assert left == pytest.approx(3 * 0.01 + 1 * 20.0)
    assert cost.add("tpe", 100, 20.0) is None  # noted once


def test_progress_eta_from_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from metaheur.harness import progress

    now = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    bar = progress.ProgressBar(10, enabled=False)
    assert np.isnan(bar.eta())
    now[0] = 110.0
    bar.set_work(2.0, 6.0)  # 10 s for 2 units of work: 6 units left take 30 s
    assert bar.eta() == pytest.approx(30.0)
    now[0] = 120.0  # no completion for 10 s: the estimate moves (it does not freeze)
    assert bar.eta() == pytest.approx(60.0)
    assert progress.format_seconds(3725) == "1:02:05" and progress.format_seconds(75) == "1:15"
    assert not progress.want_progress(True, stream=open(__file__))  # noqa: SIM115


def _bench(out: Path, *extra: str) -> list[str]:
    return ["bench", "--functions", "sphere", "--dim", "2", "--runs", "2", "--budget", "20",
            "--pop-size", "5", "--n-jobs", "1", "--quiet", "--out", str(out), *extra]


def test_bench_says_why_statistics_are_missing(tmp_path: Path, capsys) -> None:
    """Regression: rank-sum tests were dropped silently and Friedman printed a bare nan."""
    argv = [a for a in _bench(tmp_path / "b", "--algos", "pso,gwo,aco", "--ref", "dlf-aoa")
            if a != "--quiet"]  # -q: no notes
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "note: no rank-sum tests: the reference algorithm dlf-aoa is not among" in captured.err
    assert "note: no Friedman test for d=2: the Friedman test needs at least 3 algorithms " \
           "and 2 functions; here 3 algorithm(s) and 1 function(s)" in captured.err
    report = (tmp_path / "b" / "report.md").read_text()
    assert "## Notes" in report and "no rank-sum tests" in report


def test_bench_refuses_duplicates(tmp_path: Path, capsys) -> None:
    """Regression: ``--algos pso,PSO`` ran pso twice and counted the runs as independent."""
    assert main(_bench(tmp_path / "b", "--algos", "pso,PSO")) == 2
    err = capsys.readouterr().err
    assert "--algos names pso twice (items 1 and 2)" in err
    assert not (tmp_path / "b" / "raw").exists()


def test_bench_json(tmp_path: Path, capsys) -> None:
    assert main(_bench(tmp_path / "b", "--algos", "pso,gwo", "--ref", "pso", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["algos"] == ["pso", "gwo"] and len(data["summary"]) == 2
    assert data["wilcoxon"][0]["algo"] == "gwo"


def test_bench_json_numbers_are_the_tables_numbers(tmp_path: Path, capsys) -> None:
    """Regression: ``--json`` rounded every number to 10 decimals (pandas' to_json): the
    JSON must carry the exact values of summary.csv, friedman.csv and wilcoxon.csv."""
    out = tmp_path / "b"
    assert main(_bench(out, "--algos", "pso,gwo,aco", "--functions", "sphere,ackley",
                       "--ref", "pso", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    for name in ("summary", "friedman", "wilcoxon"):
        with open(out / f"{name}.csv", newline="") as fh:
            table = list(csv.DictReader(fh))  # the text pandas wrote: repr, exact
        assert data[name] and len(data[name]) == len(table)
        for row, csv_row in zip(data[name], table, strict=True):
            assert list(row) == list(csv_row)
            for key, text in csv_row.items():
                value = row[key]
                if isinstance(value, str):
                    assert value == text, (name, key)
                else:  # a number or null (an empty field: NaN)
                    assert value == (float(text) if text else None), (name, key, value, text)


def test_bench_json_values_keep_precision_and_tell_inf_from_nan() -> None:
    """Regression: 1.23e-11 became 0.0 (nearly solved read as solved), 7.98e-67 became 0.0
    and inf became null like NaN. Now: exact floats, NaN null, ±inf "inf"/"-inf" (as in the
    CSV tables), and strict JSON."""
    from metaheur.cli.bench_cmd import json_records

    frame = pd.DataFrame({"algo": ["a", "b", "c", "d"],
                          "mean": [7.161712538322018e-09, 1.23e-11, np.inf, np.nan],
                          "p": [7.98e-67, -np.inf, 0.5, 1.0],
                          "n": np.array([1, 2, 3, 4], dtype=np.int64)})
    text = json.dumps(json_records(frame), allow_nan=False)
    assert json.loads(text) == [
        {"algo": "a", "mean": 7.161712538322018e-09, "p": 7.98e-67, "n": 1},
        {"algo": "b", "mean": 1.23e-11, "p": "-inf", "n": 2},
        {"algo": "c", "mean": "inf", "p": 0.5, "n": 3},
        {"algo": "d", "mean": None, "p": 1.0, "n": 4},
    ]
    assert json_records(None) is None


def test_without_pop_size_each_algorithm_runs_from_its_own_default(tmp_path: Path,
                                                                  capsys) -> None:
    """``--pop-size`` not given: ``pso-ipop`` from its tuned 20 (docs/algorithms.md §12.3),
    the others from 30 (Optuna's CMA-ES keeps 30 too); ``minimize`` says which it used."""
    argv = ["bench", "--functions", "sphere", "--dim", "2", "--runs", "1", "--budget", "60",
            "--n-jobs", "1", "--quiet", "--json", "--out", str(tmp_path / "b"),
            "--algos", "pso,pso-ipop", "--ref", "pso"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["pop_size"] is None  # as requested; what each algorithm used:
    assert data["settings"]["pop_sizes"] == {"pso": 30, "pso-ipop": 20}
    assert "pop_size pso 30, pso-ipop 20" in (tmp_path / "b" / "report.md").read_text()
    for algo, pop in (("pso-ipop", 20), ("gwo-ipop", 30), ("pso", 30)):
        assert main(["minimize", "--dim", "2", "--budget", "100", "--algo", algo, "--json",
                     "--quiet"]) == 0
        assert json.loads(capsys.readouterr().out)["pop_size"] == pop
    assert main([*argv[:-4], "--budget", "25", "--algos", "gwo,pso-ipop"]) == 2
    assert "at least one population (gwo: pop_size=30)" in capsys.readouterr().err
    assert main([*argv[:-4], "--budget", "25", "--algos", "random,pso-ipop"]) == 0


@pytest.mark.parametrize("where", ["file", "under-file"])
def test_bench_checks_its_output_place_first(tmp_path: Path, capsys, monkeypatch,
                                             where: str) -> None:
    """Regression: a bad --out was found only after the whole benchmark had run."""
    (tmp_path / "f").write_text("x")
    out = tmp_path / "f" if where == "file" else tmp_path / "f" / "sub"
    ran = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **k: ran.append(1))
    assert main(_bench(out, "--algos", "pso")) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"metaheur bench: error: cannot write to {out}: ")
    assert len(err.strip().splitlines()) == 1 and not ran


@pytest.mark.parametrize(("code", "reason"), [(30, "Read-only file system"),
                                              (13, "Permission denied"),
                                              (28, "No space left on device")])
def test_bench_storage_failures_are_one_line(tmp_path: Path, capsys, monkeypatch, code: int,
                                             reason: str) -> None:
    import os

    from metaheur.harness import storage

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(storage.tempfile, "mkstemp", failing)  # the write test, before work
    assert main(_bench(tmp_path / "b", "--algos", "pso")) == 2
    err = capsys.readouterr().err
    assert f"cannot write to {tmp_path / 'b'}: {reason}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    monkeypatch.undo()
    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)  # the disk fills up during writing
    assert main(_bench(tmp_path / "c", "--algos", "pso")) == 2
    err = capsys.readouterr().err
    assert err.startswith("metaheur bench: error: ") and reason in err
    assert len(err.strip().splitlines()) == 1


def test_compare_functions_script_draws_no_bar_into_a_log(tmp_path: Path) -> None:
    """``benchmarks/compare_functions.py > log 2>&1`` (how long runs are started) wrote the
    progress bar's carriage-return frames into the log: it forced the bar on."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_functions.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--algos", "pso,gwo", "--functions", "sphere", "--dim",
         "2", "--runs", "2", "--budget", "60", "--n-jobs", "1", "--out", str(tmp_path / "cf")],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "bench:" not in proc.stderr
    assert (tmp_path / "cf" / "raw" / "runs.csv").is_file()


def test_optunas_gp_is_a_bench_peer() -> None:
    """``--algos gp`` (Optuna's GPSampler, one trial per evaluation) runs beside ours: after
    its three start-up trials its Gaussian process finds a 2-d sphere's basin, which 16
    random points do not (0.12 against 330 on this seed)."""
    pytest.importorskip("torch")
    runs = bench.run_benchmark(["gp:n_startup_trials=3", "random"], ["sphere"], [2], runs=1,
                               budget=16, pop_size=5).runs.set_index("algo")["final_error"]
    assert runs["gp:n_startup_trials=3"] < 1.0 < 100.0 < runs["random"]


def test_log_axis_tick_labels_are_numbers_not_formula_code(tmp_path, monkeypatch) -> None:
    """Regression (session 26's audit): with mathtext off for user text, the log axes of the
    bench plots printed their tick labels as code (``$\\mathdefault{10^{2}}$``)."""
    import pandas as pd

    from metaheur.harness import plots

    labels: list[str] = []
    save = plots._save

    def spy(plt, fig, path):  # type: ignore[no-untyped-def]
        fig.canvas.draw()
        for ax in fig.axes:
            labels.extend(t.get_text() for t in [*ax.get_xticklabels(), *ax.get_yticklabels(),
                                                 *ax.get_yticklabels(minor=True),
                                                 *ax.get_xticklabels(minor=True)])
        return save(plt, fig, path)

    monkeypatch.setattr(plots, "_save", spy)
    runs = pd.DataFrame({"algo": ["a$b"] * 3, "function": "f", "dim": 2,
                         "final_error": [1e-3, 10.0, 1e4]})
    plots.plot_boxes(runs, "f", 2, tmp_path / "box.png")
    conv = pd.DataFrame({"algo": "a", "function": "f", "dim": 2, "run": 0,
                         "nfev": [10, 100, 1000, 10000], "error": [1e3, 1.0, 1e-3, 1e-6]})
    plots.plot_convergence(conv, "f", 2, tmp_path / "conv.png")
    shown = [t for t in labels if t]
    assert shown and not any("mathdefault" in t or "$" in t for t in shown if t != "a$b"), shown
    assert "a$b" in shown  # the user's text stays as it is


def test_quiet_bench_prints_no_notes(tmp_path: Path, capsys) -> None:
    """Regression: ``-q`` promises "no progress bar and no notes; warnings and errors only",
    but ``bench -q`` printed its ``note:`` lines on stderr (the report still has them)."""
    assert main(_bench(tmp_path / "b", "--algos", "pso,gwo")) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "no rank-sum tests" in (tmp_path / "b" / "report.md").read_text()
    argv = [a for a in _bench(tmp_path / "c", "--algos", "pso,gwo") if a != "--quiet"]
    assert main(argv) == 0
    assert "note: no rank-sum tests" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--functions", "--dim"])
def test_an_empty_list_is_refused_not_replaced_by_the_default(tmp_path: Path, capsys,
                                                              option: str) -> None:
    """Regression: ``--functions ''`` (an unset shell variable) ran the six default
    functions, and ``--dim ''`` the default dimensions, instead of saying the list is
    empty."""
    ran = []
    out = tmp_path / "b"
    argv = [a for a in _bench(out, "--algos", "pso") if a]
    argv[argv.index(option) + 1] = ""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bench, "_one_run", lambda *a, **k: ran.append(a))
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{option} must not be empty" in err and ran == [] and not out.exists()


def test_algos_keep_the_commas_of_a_json_value(tmp_path: Path, capsys) -> None:
    """Regression: ``--algos`` was cut at every comma, so a variant whose JSON value holds
    one (``ipop:inner_params={"w":0.5,"c1":2}``, as algo_params.parse_spec documents) was
    refused as malformed JSON; a comma before ``KEY=`` continues the variant too."""
    spec = 'pso,ipop:inner_params={"w":0.5,"c1":2},pso:w=0.5,c1=1.0'
    assert main(_bench(tmp_path / "b", "--algos", spec, "--budget", "40")) == 0, \
        capsys.readouterr().err
    runs = pd.read_csv(tmp_path / "b" / "raw" / "runs.csv")
    assert list(runs["algo"].unique()) == [
        "pso", 'ipop:inner_params={"c1": 2, "w": 0.5}', "pso:w=0.5:c1=1.0"]


def test_a_failed_run_keeps_the_finished_runs_and_names_itself(tmp_path: Path, monkeypatch,
                                                               capsys) -> None:
    """Regression: one run that raised (a plug-in's bug, a value its constraints accept in
    1-D only) ended ``bench`` with its bare message ("matrix is singular", or a traceback
    for other exception types), saying neither which run failed nor keeping the runs that
    had finished: everything was lost."""
    real = bench._one_run

    def fail_in_d3(label, problem, run, *args):  # noqa: ANN001, ANN002, ANN202
        if problem.dim == 3 and label == "gwo":
            raise ZeroDivisionError("matrix is singular")
        return real(label, problem, run, *args)

    monkeypatch.setattr(bench, "_one_run", fail_in_d3)
    out = tmp_path / "b"
    rc = main(_bench(out, "--algos", "pso,gwo", "--dim", "2,3"))
    err = capsys.readouterr().err
    assert rc == 1
    assert "run 0 of gwo on sphere d=3 failed: ZeroDivisionError: matrix is singular" in err
    assert "5 of 8 runs finished" in err and str(out / "raw") in err
    runs = pd.read_csv(out / "raw" / "runs.csv")
    assert len(runs) == 5 and not (out / "report.md").exists()
    with pytest.raises(bench.RunFailed, match="run 0 of gwo on sphere d=3 failed") as info:
        bench.run_benchmark(["pso", "gwo"], ["sphere"], [3], runs=1, budget=20, pop_size=5)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert len(info.value.result.runs) == 1 and info.value.planned == 2
