"""README "Command line" claims checked against the CLI (fast: no training).

Bad input such as an empty ``--storage ""``, ``--study`` or ``--out`` (what an unset shell
variable gives) is refused with one line and exit status 2 by every command that takes the
option; ``metaheur report`` used to take ``--out ""`` as its default folder and to report
``--storage ""`` as ``.: Is a directory``.
"""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from metaheur.cli import main

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(db: Path) -> None:
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{db}")
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)


@pytest.mark.parametrize("option", ["--storage", "--study", "--out"])
@pytest.mark.parametrize("empty", ["", "  "])
def test_report_refuses_an_empty_option(tmp_path: Path, monkeypatch, capsys, option: str,
                                        empty: str) -> None:
    monkeypatch.chdir(tmp_path)
    _study(tmp_path / "study.db")
    argv = {"--storage": "study.db", "--study": "s", "--out": "rep"}
    argv[option] = empty
    rc = main(["report", *(w for kv in argv.items() for w in kv)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"argument {option}: must not be empty" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "metaheur-runs").exists()  # no default folder in its place
    assert not (tmp_path / "rep").exists()


def test_report_default_out_and_study(tmp_path: Path, monkeypatch, capsys) -> None:
    """README: --study defaults to the storage's only study, --out to
    metaheur-runs/report-<study>; the storage is only read."""
    monkeypatch.chdir(tmp_path)
    _study(tmp_path / "study.db")
    before = (tmp_path / "study.db").read_bytes()
    assert main(["report", "--storage", "study.db"]) == 0
    out = tmp_path / "metaheur-runs" / "report-s"
    assert {"trials.csv", "best.json", "history.png"} <= {p.name for p in out.iterdir()}
    assert (tmp_path / "study.db").read_bytes() == before


def test_no_piece_of_a_password_with_a_raw_at_sign_is_printed(capsys) -> None:
    """README: a storage password is masked ... passwords containing ``@``."""
    assert main(["report", "--storage", "postgresql://alice:at@sign-pw@127.0.0.1:1/db"]) == 2
    err = capsys.readouterr().err
    assert "sign-pw" not in err and len(err.strip().splitlines()) == 1
