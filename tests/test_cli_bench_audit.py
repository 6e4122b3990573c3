"""Regressions found by auditing ``metaheur bench`` as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaheur.cli import main


@pytest.mark.parametrize(("algos", "pop"), [("pso,gwo", "1"), ("random,gwo", "2")])
def test_a_pop_size_an_algorithm_refuses_is_bad_input_before_any_run(
        tmp_path: Path, capsys: pytest.CaptureFixture, algos: str, pop: str) -> None:
    # found by `metaheur bench --pop-size 1`: every run failed in a worker (exit 1, "a run
    # failed"), and an earlier benchmark's results in --out were removed for a partial one
    out = tmp_path / "b"
    assert main(["bench", "--algos", "pso,gwo,random", "--functions", "sphere", "--dim", "2",
                 "--runs", "2", "--budget", "40", "--pop-size", "5", "-j", "1", "-q",
                 "--out", str(out)]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    capsys.readouterr()
    rc = main(["bench", "--algos", algos, "--functions", "sphere", "--dim", "2", "--runs", "2",
               "--budget", "40", "--pop-size", pop, "-j", "1", "-q", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "pop_size" in err and ">=" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


@pytest.mark.parametrize("how", ["interrupt", "fail"])
def test_a_stopped_rerun_keeps_the_earlier_benchmark(tmp_path: Path, monkeypatch,
                                                     capsys: pytest.CaptureFixture,
                                                     how: str) -> None:
    # found by SIGTERM to a rerun into a finished benchmark's --out (the default --out is
    # one folder for every bench): its report, tables, plots and statistics were deleted and
    # replaced by the raw results of the few runs the stopped rerun had finished
    import pandas as pd

    from metaheur.harness import bench

    out = tmp_path / "b"
    common = ["--functions", "sphere", "--dim", "2", "--runs", "3", "--budget", "20",
              "--pop-size", "5", "-j", "1", "-q", "--out", str(out)]
    assert main(["bench", "--algos", "pso,gwo", *common]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real, calls = bench._one_run, []

    def stop_at_third(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt if how == "interrupt" else RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(bench, "_one_run", stop_at_third)
    capsys.readouterr()
    rc = main(["bench", "--algos", "pso,gwo,aoa", *common])
    err = capsys.readouterr().err
    assert rc == (130 if how == "interrupt" else 1)
    assert {p: p.read_bytes() for p in before} == before  # the earlier results, untouched
    partial = out / "raw-partial"
    assert "2 of 9 runs finished" in err and str(partial) in err and "kept" in err
    assert len(pd.read_csv(partial / "runs.csv")) == 2
    assert len(pd.read_csv(partial / "convergence.csv")) > 0
    # a finished run replaces both: no stale partial results beside a new report
    monkeypatch.setattr(bench, "_one_run", real)
    assert main(["bench", "--algos", "pso,gwo,aoa", *common]) == 0
    assert not partial.exists()
    assert len(pd.read_csv(out / "raw" / "runs.csv")) == 9


def test_ref_and_algos_name_a_variant_however_it_is_spelled(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    # found by `--algos pso:c1=2:w=0.5,gwo --ref pso:w=.5:c1=2.0`: the reference, the same
    # variant as the first algorithm, was "not among the algorithms run" (no tests at all)
    out = tmp_path / "b"
    common = ["--functions", "sphere", "--dim", "2", "--runs", "2", "--budget", "40",
              "--pop-size", "5", "-j", "1", "--json", "--out", str(out)]
    assert main(["bench", "--algos", "pso:c1=2:w=0.5,gwo", "--ref", "pso:w=.5:c1=2.0",
                 *common]) == 0
    import json

    res = json.loads(capsys.readouterr().out)
    assert [w["algo"] for w in res["wilcoxon"]] == ["gwo"]
    assert not any("no rank-sum tests" in n for n in res["notes"])
    # and the same variant spelled twice is run once, not twice under two names
    rc = main(["bench", "--algos", "pso:w=0.5:c1=2,gwo,pso:c1=2.0:w=.5", *common])
    err = capsys.readouterr().err
    assert rc == 2 and "twice" in err and "items 1 and 3" in err


def test_convergence_plot_tells_more_than_ten_algorithms_apart(tmp_path: Path,
                                                              monkeypatch) -> None:
    # found by a bench of 13 algorithms: the 11th-13th lines (cmaes, random, tpe) had the
    # colours of the 1st-3rd (aco, aco-ipop, aoa), same style: the plot could not tell them apart
    import matplotlib.colors as mcolors
    import numpy as np
    import pandas as pd

    from metaheur.harness import plots

    algos = [f"a{i}" for i in range(23)]
    conv = pd.DataFrame([{"algo": a, "function": "sphere", "dim": 2, "run": r, "nfev": n,
                          "error": 10.0 / n + i} for i, a in enumerate(algos)
                         for r in range(2) for n in (1, 10, 100)])
    seen: list[tuple] = []
    real = plots._save

    def keep(plt, fig, path):  # noqa: ANN001, ANN202
        for line in fig.axes[0].get_lines():
            seen.append((line.get_label(), mcolors.to_hex(line.get_color()),
                         line.get_linestyle()))
        return real(plt, fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    plots.plot_convergence(conv, "sphere", 2, tmp_path / "c.png")
    assert [s[0] for s in seen] == algos
    assert len({s[1:] for s in seen}) == len(algos)
    assert np.all([s[2] == "-" for s in seen[:10]])  # up to ten: colours only, as before


def test_a_stop_while_plotting_keeps_the_report_and_statistics(tmp_path: Path, monkeypatch,
                                                              capsys) -> None:
    # found by Ctrl-C while a finished bench drew its PNGs (the slow part of the writing):
    # the tables were interleaved with the plots and report.md came last, so every run had
    # finished but the report, statistics and most tables were missing, and stderr said
    # only "interrupted"
    from metaheur.harness import bench_report

    def stop(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_report, "plot_convergence", stop)
    out = tmp_path / "b"
    rc = main(["bench", "--algos", "pso,gwo,aoa", "--functions", "sphere,ackley", "--dim", "2",
               "--runs", "2", "--budget", "20", "--pop-size", "5", "-j", "1", "-q",
               "--ref", "pso", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 130
    for name in ("report.md", "summary.csv", "friedman.csv", "wilcoxon.csv", "raw/runs.csv",
                 "tables/sphere_d2.md", "tables/ackley_d2.md"):
        assert (out / name).is_file(), name
    assert "ackley, d=2" in (out / "report.md").read_text()
    assert "12 of 12 runs finished" in captured.err and "plots" in captured.err


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_out_is_refused_not_the_current_folder(tmp_path: Path, monkeypatch,
                                                       capsys, value: str) -> None:
    # found by `--out "$OUT"` with OUT unset: the benchmark went into the current folder,
    # replacing a report.md and summary.csv of the user's there
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.md").write_text("mine")
    rc = main(["bench", "--algos", "pso,gwo", "--functions", "sphere", "--dim", "2",
               "--runs", "1", "--budget", "60", "-j", "1", "-q", "--out", value])
    err = capsys.readouterr().err
    assert rc == 2 and "--out" in err and "--out ." in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    assert (tmp_path / "report.md").read_text() == "mine"


def test_a_failed_write_leaves_no_truncated_csv(tmp_path: Path, monkeypatch) -> None:
    # found by a full disk during a bench's writing: runs.csv was written in place, so a
    # cut-off write left a shorter file that reads back as valid CSV with fewer runs
    import pandas as pd

    from metaheur.harness import bench

    res = bench.run_benchmark(["pso", "gwo"], ["sphere"], [2], runs=3, budget=40, pop_size=5,
                              n_jobs=1)
    real = pd.DataFrame.to_csv

    def full_disk(self, path, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        text = real(self, None, *args, **kwargs)
        Path(path).write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError):
        bench.write_raw(res, tmp_path)
    assert not (tmp_path / "raw" / "runs.csv").exists()
    assert [p.name for p in (tmp_path / "raw").iterdir()] == []  # no temporary file left


def test_a_second_bench_into_a_busy_folder_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    # found by two bench commands started into one --out (the default is one folder for
    # every bench): each overwrote the other's raw results, tables and report as it wrote
    from metaheur.harness.outlock import LOCK_NAME, exclusive

    out = tmp_path / "b"
    out.mkdir()
    argv = ["bench", "--algos", "pso,gwo", "--functions", "sphere", "--dim", "2", "--runs",
            "1", "--budget", "40", "-j", "1", "-q", "--out", str(out)]
    with exclusive(out, "metaheur bench"):  # the first command, still running
        assert (out / LOCK_NAME).exists()
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, err
        assert "another metaheur bench is writing to" in err and "--out" in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]
    assert not (out / LOCK_NAME).exists()  # released and removed on the way out
    assert main(argv) == 0  # the folder is free again
    assert (out / "report.md").exists() and not (out / LOCK_NAME).exists()


def test_a_lock_whose_file_was_replaced_is_taken_on_the_new_file(tmp_path: Path,
                                                                 monkeypatch) -> None:
    from metaheur.harness import outlock

    real, calls = outlock._try_lock, []

    def racing(fd: int) -> bool:  # the holder removes the file between open and lock
        if not calls:
            (tmp_path / outlock.LOCK_NAME).unlink()
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(outlock, "_try_lock", racing)
    with outlock.exclusive(tmp_path, "x"):
        assert len(calls) == 2 and (tmp_path / outlock.LOCK_NAME).exists()
