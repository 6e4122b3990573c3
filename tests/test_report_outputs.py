"""The files ``write_report`` leaves in its folder can be trusted: each is written whole or
not at all (a stop, a full disk or a concurrent reader never sees half a file, a failed
rewrite keeps the earlier one), and a stale plot is removed only where a metaheur report
wrote it (its manifest ``.metaheur-report.json``; a user's own file is kept). Fast: no
training."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from pathlib import Path

import optuna
import pandas as pd
import pytest

from metaheur.harness import report

optuna.logging.set_verbosity(optuna.logging.ERROR)

MANIFEST = ".metaheur-report.json"


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


# ------------------------------------------------ only metaheur's stale plots removed
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_manifest_names_the_plots_the_report_wrote(tmp_path: Path) -> None:
    written = report.write_report(_study(), tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["files"] == {p.name: _sha(p) for key, p in written.items()
                                 if key in report.PLOTS}
    assert set(manifest["files"]) == {"history.png", "importances.png"}


def test_a_stale_plot_metaheur_wrote_is_removed(tmp_path: Path, caplog) -> None:
    report.write_report(_study(), tmp_path)
    assert (tmp_path / "history.png").is_file()
    with caplog.at_level(logging.INFO):
        report.write_report(_study(), tmp_path, plots=False)
    assert not (tmp_path / "history.png").exists()
    assert not (tmp_path / "importances.png").exists()
    assert "removed history.png, importances.png" in caplog.text
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == {}


def test_a_users_own_plot_is_kept(tmp_path: Path, caplog) -> None:
    """Regression: a file named roc.png (or history.png, ...) in the output folder was
    removed whether or not a metaheur report had written it."""
    (tmp_path / "roc.png").write_bytes(b"my own ROC curve")
    with caplog.at_level(logging.INFO):
        report.write_report(_study(), tmp_path)  # no predictions: no roc.png drawn
    assert (tmp_path / "roc.png").read_bytes() == b"my own ROC curve"
    assert "kept roc.png" in caplog.text and "not written by a metaheur report" in caplog.text
    assert "roc.png" not in json.loads((tmp_path / MANIFEST).read_text())["files"]


def test_a_plot_replaced_by_the_user_since_is_kept(tmp_path: Path, caplog) -> None:
    report.write_report(_study(), tmp_path)
    (tmp_path / "history.png").write_bytes(b"my own drawing")  # same name, other bytes
    with caplog.at_level(logging.INFO):
        report.write_report(_study(), tmp_path, plots=False)
    assert (tmp_path / "history.png").read_bytes() == b"my own drawing"
    assert not (tmp_path / "importances.png").exists()  # unchanged since: ours, removed
    assert "kept history.png" in caplog.text and "changed since" in caplog.text


def test_a_report_that_fails_half_way_still_lists_the_plots_it_drew(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report whose second plot failed had replaced history.png but left the manifest of
    the earlier report: the new history.png then read as 'changed since', a user's file,
    and was never removed as stale."""
    report.write_report(_study(), tmp_path)
    old = json.loads((tmp_path / MANIFEST).read_text())["files"]

    def full_disk(*args: object, **kwargs: object) -> None:
        raise _disk_full()

    monkeypatch.setattr(report, "plot_importances", full_disk)
    with pytest.raises(OSError):
        report.write_report(_study(5), tmp_path)
    files = json.loads((tmp_path / MANIFEST).read_text())["files"]
    assert files["history.png"] == _sha(tmp_path / "history.png") != old["history.png"]
    assert files["importances.png"] == old["importances.png"]  # the earlier file, kept
    monkeypatch.undo()
    report.write_report(_study(), tmp_path, plots=False)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".png"]


@pytest.mark.parametrize("manifest", [
    b"{not json", b"[1, 2]", b'{"files": ["history.png"]}', b'{"files": {"history.png": 5}}',
    b"\xff\xfe\x00", b"", b'{"files": {"history.png": "' + b"a" * 64 + b'"}, "x": NaN}',
    "folder",
])
def test_a_corrupt_manifest_removes_nothing_and_warns(tmp_path: Path, caplog,
                                                       manifest: bytes | str) -> None:
    """The manifest is untrusted input: one that cannot be read means 'nothing is known to
    be ours', never a crash."""
    report.write_report(_study(), tmp_path)
    path = tmp_path / MANIFEST
    if manifest == "folder":  # unreadable and not replaceable
        path.unlink()
        path.mkdir()
    else:
        path.write_bytes(manifest)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING):
        written = report.write_report(_study(), tmp_path, plots=False)
    assert set(written) == {"trials", "best"}
    assert (tmp_path / "history.png").is_file() and (tmp_path / "importances.png").is_file()
    assert MANIFEST in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_manifest_entry_for_another_name_is_ignored(tmp_path: Path) -> None:
    """Only the plot names of :data:`PLOTS` are ever removed, whatever the manifest says."""
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / MANIFEST).write_text(json.dumps(
        {"files": {"notes.txt": _sha(tmp_path / "notes.txt"), "../x.png": "0" * 64}}))
    report.write_report(_study(), tmp_path, plots=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_study_name_the_font_lacks_is_one_log_line(tmp_path: Path, caplog) -> None:
    """Regression (session 28's report audit): a CJK study name printed 8 or more
    multi-line "Glyph ... missing from font" UserWarnings on stderr; now one log line."""
    import warnings

    study = optuna.create_study(study_name="研究名前テスト")
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1),
                   n_trials=6)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING"):
        warnings.simplefilter("always")
        report.write_report(study, tmp_path / "r")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert "the font lacks 7 character(s)" in caplog.text
