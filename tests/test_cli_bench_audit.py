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
