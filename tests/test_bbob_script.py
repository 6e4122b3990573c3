"""benchmarks/bbob.py: the table and the best-of-the-specs line (needs cocoex, from the
``bbob`` and ``test`` extras) and its spec parser (runs everywhere); and
:func:`metaheur.harness.bbob.bbob_problem`, the COCO bridge it and ``metaheur bench`` use."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
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



@pytest.mark.parametrize("option", [["--functions", "f1x"], ["--functions", "25"],
                                    ["--dims", "7"], ["--budgets", "0"]])
def test_bad_options_stop_before_any_run(option: list[str],
                                         capsys: pytest.CaptureFixture) -> None:
    """Regression (session 28's audit): ``--functions f1`` died on ``int()`` and
    ``--dims 7`` in a worker, with tracebacks; now one usage line each, exit 2."""
    bbob = load_benchmark("bbob")
    with pytest.raises(SystemExit) as stop:
        bbob.main(["pso", *option])
    assert stop.value.code == 2 and "error:" in capsys.readouterr().err


def test_seeds_and_the_paired_comparison(tmp_path, capsys: pytest.CaptureFixture) -> None:
    """``--seeds`` runs every problem once per seed (a ``seed`` column in the CSV, seed 0
    as a one-seed run), and ``--paired`` counts the seeds and the runs on which OTHER
    reached more targets, fewer or as many, from those very rows."""
    pytest.importorskip("cocoex")
    import pandas as pd

    bbob = load_benchmark("bbob")
    ref, other = "pso:pop_size=5", "aoa:pop_size=5"
    common = ["--budgets", "30", "--dims", "2", "--functions", "1,3,15", "--instances", "2"]
    path = tmp_path / "runs.csv"
    assert bbob.main([ref, other, *common, "--seeds", "3", "--paired", ref, other,
                      "--csv", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar when stderr is not a terminal
    rows = pd.read_csv(path)
    assert sorted(rows["seed"].unique()) == [0, 1, 2] and len(rows) == 2 * 3 * 2 * 3
    one = tmp_path / "one.csv"
    assert bbob.main([ref, *common, "--csv", str(one)]) == 0
    capsys.readouterr()
    seed0 = rows[(rows["algo"] == ref) & (rows["seed"] == 0)]
    assert pd.read_csv(one)["fraction"].tolist() == seed0["fraction"].tolist()

    wide = rows.pivot_table(index="seed", columns="algo", values="fraction", aggfunc="mean")
    x, y = wide[other].to_numpy(), wide[ref].to_numpy()
    runs = rows.pivot_table(index=["function", "instance", "seed"], columns="algo",
                            values="fraction")
    xr, yr = runs[other].to_numpy(), runs[ref].to_numpy()
    line = next(ln for ln in out.splitlines() if ln.startswith("| 30·d |")
                and ln.count("|") == 8)
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert float(cells[1]) == pytest.approx(y.mean(), abs=5e-5)
    assert float(cells[2]) == pytest.approx(x.mean(), abs=5e-5)
    assert cells[3] == f"{(x > y).sum()} / {(x < y).sum()} / {(x == y).sum()}"
    assert cells[5] == f"{(xr > yr).sum()} / {(xr < yr).sum()} / {(xr == yr).sum()}"
    assert 0.0 < float(cells[4]) <= 1.0 and 0.0 < float(cells[6]) <= 1.0
    lo_hi = re.search(re.escape(ref) + r" \|.*\| ([0-9.]+)\.\.([0-9.]+) \|", out)
    assert (float(lo_hi.group(1)), float(lo_hi.group(2))) == pytest.approx(
        (y.min(), y.max()), abs=5e-4)


def test_a_terminal_gets_a_progress_bar(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("cocoex")
    import metaheur.harness.progress as progress

    bbob = load_benchmark("bbob")
    monkeypatch.setattr(progress, "want_progress", lambda requested, stream=None: requested)
    assert bbob.main(["pso:pop_size=5", "--budgets", "10", "--dims", "2", "--functions",
                      "1,2", "--instances", "1", "--seeds", "2"]) == 0
    err = capsys.readouterr().err
    assert "bbob" in err and "4/4" in err


@pytest.mark.parametrize("option", [["--seeds", "0"], ["--paired", "pso", "aoa"]])
def test_bad_seeds_or_pairing_stop_before_any_run(option: list[str],
                                                  capsys: pytest.CaptureFixture) -> None:
    bbob = load_benchmark("bbob")
    with pytest.raises(SystemExit) as stop:
        bbob.main(["pso", *option])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and ("--seeds" in err or "not among the specs" in err)


# ------------------------------------------------------------ metaheur.harness.bbob
def test_bbob_problem_is_returned_unevaluated() -> None:
    """Regression: f_opt was read by evaluating the returned problem at its optimum, so the
    caller got a problem with ``evaluations == 1`` and ``final_target_hit`` already True
    (COCO's usual loop ``while not problem.final_target_hit`` then never ran)."""
    pytest.importorskip("cocoex")
    from metaheur.harness.bbob import bbob_problem

    problem, f_opt = bbob_problem(3, 5, 2)
    assert problem.evaluations == 0 and not problem.final_target_hit
    assert f_opt == 77.66  # COCO's f_opt of f3, instance 2 (rounded to 2 decimals by COCO)
    assert problem(np.zeros(5)) > f_opt and problem.evaluations == 1


def test_bbob_problem_from_threads(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: bbob_problem changes the process's working directory (COCO writes x_opt
    only to a file in the cwd); concurrent calls from threads read each other's file (wrong
    f_opt), failed with FileNotFoundError, and left the cwd in a deleted temporary folder."""
    pytest.importorskip("cocoex")
    from metaheur.harness.bbob import bbob_problem

    monkeypatch.chdir(tmp_path)  # restored on teardown even where the cwd was left deleted
    cases = [(f, 10, i) for f in range(1, 25) for i in (1, 2)]
    expected = {c: bbob_problem(*c)[1] for c in cases}
    cwd = os.getcwd()
    with ThreadPoolExecutor(8) as ex:
        got = dict(zip(cases, ex.map(lambda c: bbob_problem(*c)[1], cases), strict=True))
    assert os.getcwd() == cwd
    assert got == expected


@pytest.mark.parametrize("args, match", [
    ((1, 2, 1.5), "instance must be an integer in 1..2147483647; got 1.5"),
    ((1, 2, 2**31), "instance must be an integer in 1..2147483647; got 2147483648"),
    ((1, 2, 0), "instance must be an integer in 1..2147483647; got 0"),
    ((True, 2, 1), "function must be an integer in 1..24; got True"),
    ((2.0, 2, 1), "function must be an integer in 1..24; got 2.0"),
    ((25, 2, 1), "function must be an integer in 1..24; got 25"),
    ((1, 4, 1), "no dimension 4; allowed: 2, 3, 5, 10, 20, 40"),
])
def test_bbob_problem_bad_input(args: tuple, match: str) -> None:
    """Regression: instance 1.5 or function 2.0 reached COCO, which printed a warning,
    ignored the option and yielded its whole suite (an unclear RuntimeError); instance 2**31
    was silently instance 1's problem under the id ``i2147483648``."""
    pytest.importorskip("cocoex")
    from metaheur.harness.bbob import bbob_problem

    with pytest.raises(ValueError, match=re.escape(match)):
        bbob_problem(*args)
    problem, _ = bbob_problem(1, 2, 2**31 - 1)
    assert problem.id_instance == 2**31 - 1
