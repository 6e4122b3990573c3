"""The files ``write_report`` leaves in its folder can be trusted: each is written whole or
not at all (a stop, a full disk or a concurrent reader never sees half a file, a failed
rewrite keeps the earlier one). Fast: no training."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import optuna
import pandas as pd
import pytest

from metaheur.harness import report

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(n: int = 3) -> optuna.Study:
    """An in-memory study of ``n`` complete trials (history.png and importances.png)."""
    study = optuna.create_study(study_name="s")
    for i in range(n):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        trial.suggest_int("k", 1, 9)
        study.tell(trial, 1.0 / (i + 1))
    return study


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _disk_full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# --------------------------------------------------------- every file written whole
def _half_csv(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
    Path(str(path)).write_text("number,state,val")
    raise _disk_full()


def _half_json(obj: object, fh: object, *args: object, **kwargs: object) -> None:
    fh.write('{"note": "Research')  # type: ignore[attr-defined]
    raise _disk_full()


def _half_png(self: object, fname: object, *args: object, **kwargs: object) -> None:
    Path(str(fname)).write_bytes(b"\x89PNG\r\n\x1a\n")
    raise _disk_full()


@pytest.mark.parametrize(("name", "target", "attr", "broken"), [
    ("trials.csv", pd.DataFrame, "to_csv", _half_csv),
    ("best.json", json, "dump", _half_json),
    ("history.png", "matplotlib.figure.Figure", "savefig", _half_png),
])
def test_a_failed_rewrite_keeps_the_earlier_file_and_no_temporary_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, target: object, attr: str,
        broken: object) -> None:
    """Regression: trials.csv, best.json and the PNGs were written in place, so a rewrite
    that failed half-way (a full disk, a stop) left half a file where the earlier report's
    good one was, and a reader (another worker's report, a dashboard) could see it."""
    study = _study()
    report.write_report(study, tmp_path)
    before = _files(tmp_path)
    assert name in before
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.suggest_int("k", 1, 9)
    study.tell(trial, 0.01)
    if isinstance(target, str):
        import matplotlib.figure

        target = matplotlib.figure.Figure
    monkeypatch.setattr(target, attr, broken)
    with pytest.raises(OSError, match="No space left"):
        report.write_report(study, tmp_path)
    after = _files(tmp_path)
    assert after[name] == before[name]
    assert sorted(after) == sorted(before)  # no temporary file left behind


def test_atomic_path_replaces_on_success_and_cleans_up_on_error(tmp_path: Path) -> None:
    from metaheur.harness.atomic import atomic_path

    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".tmp") and tmp.is_file()
        tmp.write_text("half")
        raise KeyboardInterrupt  # a Ctrl-C in the middle of the write
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["f.txt"]
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # a reader sees the old file until the end
    assert target.read_text() == "new" and sorted(os.listdir(tmp_path)) == ["f.txt"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_files_get_the_permissions_open_gives(tmp_path: Path) -> None:
    """A temporary file from ``mkstemp`` is private (0600); a report shared with other
    users (a dashboard, a group's run folder) keeps the permissions ``open`` gives."""
    from metaheur.harness.atomic import atomic_path

    (tmp_path / "plain").write_text("x")
    with atomic_path(tmp_path / "atomic") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "atomic").stat().st_mode == (tmp_path / "plain").stat().st_mode
