"""``metaheur report`` and the harness pieces under it: storage URLs and their secrets,
report files of old and empty studies, ROC/AUC and confusion counts (fast: no training)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from metaheur.cli import main
from metaheur.harness import plots, report, storage

optuna.logging.set_verbosity(optuna.logging.ERROR)

#: Every form a password can take in a storage URL (issue 12), and the secret in each.
PASSWORD_FORMS = [
    ("postgresql://alice:s3cr3t-pw@127.0.0.1:1/db", "s3cr3t-pw"),
    ("postgresql://127.0.0.1:1/db?user=alice&password=qry-s3cr3t", "qry-s3cr3t"),
    ("postgresql://alice:has space@127.0.0.1:1/db", "has space"),
    ("postgresql://alice:a%40b-enc@127.0.0.1:1/db", "a@b-enc"),
    ("postgresql://alice:at@sign-pw@127.0.0.1:1/db", "at@sign-pw"),
    ("postgresql://alice@127.0.0.1:1/db?sslpassword=ssl-s3cr3t", "ssl-s3cr3t"),
    ("alice:no-scheme-pw@127.0.0.1/db", "no-scheme-pw"),
]


@pytest.mark.parametrize(("url", "secret"), PASSWORD_FORMS)
def test_mask_url_hides_every_password_form(url: str, secret: str) -> None:
    shown = storage.mask_url(url)
    assert secret not in shown and secret.split("@")[-1] not in shown
    assert "alice" in shown or shown.startswith("<unparsable")
    text = f"could not connect to {url}: password {secret} rejected"
    assert secret not in storage.mask_text(text, url)


def test_mask_url_keeps_urls_without_secrets() -> None:
    assert storage.mask_url("sqlite:///a/b.db") == "sqlite:///a/b.db"
    assert storage.mask_url("postgresql://u@h/db?sslmode=require") == \
        "postgresql://u@h/db?sslmode=require"
    assert storage.mask_url("not-a-url") == "not-a-url"


def test_storage_url_reads_a_path_as_an_sqlite_file_only_where_it_is_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``tune --storage``: URLs pass as they are (a malformed one that starts with a
    dialect, ``sqlite:x.db``, is for opening to report); a path is an SQLite file's when it
    names one or ends in an SQLite suffix, colons and all; any other word is refused, a
    secret in it masked."""
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///a.db", "postgresql://u@h/db", "sqlite:x.db", "mysql+pymysql:x",
                "PostgreSQL+psycopg2:x"):
        assert storage.storage_url(url) == url
    for name in ("s.db", "S.SQLITE", "sub/s.sqlite3", "~/s.db", "run-2024-01-01T10:00.db",
                 "results:v2/x.db", "lr=0.1.db"):
        got = storage.storage_url(name)
        assert got == storage.sqlite_url(Path(name).expanduser().absolute()), name
    (tmp_path / "kept").write_bytes(storage.SQLITE_HEADER + b"\0" * 84)
    (tmp_path / "notes.txt").write_text("SQLite format 3 is not this")
    assert storage.storage_url("kept") == storage.sqlite_url(tmp_path / "kept")
    for word in ("notes.txt", "study", "postgres//h/db", "."):
        with pytest.raises(storage.StorageError, match=f"--storage {word}: not a storage URL"):
            storage.storage_url(word)
    with pytest.raises(storage.StorageError, match="not shown>: not a storage URL") as err:
        storage.storage_url("alice:no-scheme-pw@h/db")  # no scheme: no path either
    assert "no-scheme-pw" not in str(err.value)
    with pytest.raises(storage.StorageError, match="no such user's home folder"):
        storage.storage_url("~no-such-user-4e1f/s.db")  # RuntimeError from expanduser


@pytest.mark.parametrize(("url", "secret"), PASSWORD_FORMS)
def test_unreachable_storage_error_is_masked(url: str, secret: str, capsys) -> None:
    assert main(["report", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert secret not in err and len(err.strip().splitlines()) == 1


def _study(db: Path, name: str = "s", *, old: bool = True, n: int = 3) -> optuna.Study:
    """A study as ``metaheur tune`` stored it before the harness (metrics as one dict,
    predictions as a user attribute, no objective label)."""
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name=name)
    study.set_user_attr("model", "lstm-elu")
    rng = np.random.default_rng(0)
    for i in range(n):
        t = study.ask()
        x = t.suggest_float("lr", 1e-4, 1e-1, log=True)
        y = rng.integers(0, 3, 30)
        proba = rng.dirichlet(np.ones(3), 30)
        t.set_user_attr("metrics", {"f1": 0.5 + i / 10, "accuracy": 0.6})
        t.set_user_attr("val_predictions", {"y": y.tolist(), "proba": proba.tolist()})
        t.set_user_attr("fit_seconds", 1.5)
        if i == 2:
            t.set_user_attr("reused_from", 0)
        study.tell(t, x)
    return study


def test_report_on_a_study_from_before_the_harness(tmp_path: Path, capsys) -> None:
    _study(tmp_path / "old.db")
    rc = main(["report", "--storage", f"sqlite:///{tmp_path / 'old.db'}", "--out",
               str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "best trial #" in out and ": 1 − validation macro-F1 = " in out
    for name in ("trials.csv", "best.json", "history.png", "confusion_matrix.png", "roc.png"):
        assert (tmp_path / "rep" / name).is_file(), name
    best = json.loads((tmp_path / "rep" / "best.json").read_text())
    assert best["objective_label"] == "1 − validation macro-F1"
    assert best["best"]["metrics"]["f1"] == pytest.approx(0.5 + best["best"]["number"] / 10)
    trials = pd.read_csv(tmp_path / "rep" / "trials.csv")
    assert list(trials.columns[:len(report.TRIAL_COLUMNS)]) == report.TRIAL_COLUMNS
    assert trials["reused_from"].tolist()[2] == 0 and np.isnan(trials["fit_s"][2])
    assert trials["fit_s"][0] == 1.5


def test_report_json(tmp_path: Path, capsys) -> None:
    _study(tmp_path / "old.db")
    assert main(["report", "--storage", f"sqlite:///{tmp_path / 'old.db'}", "--out",
                 str(tmp_path / "rep"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trials"]["complete"] == 3


def test_report_of_a_moved_run_folder(tmp_path: Path, capsys, caplog) -> None:
    """A run folder copied elsewhere (e.g. from a cluster) keeps its confusion matrix and
    ROC: the predictions are read from ``artifacts/`` beside the SQLite file when the
    stored absolute ``artifact_dir`` is gone (they used to be dropped, with an INFO line
    saying the trial stored none); where they cannot be found, a warning says so."""
    import shutil

    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    run = tmp_path / "run"
    store_dir = run / "artifacts"
    store_dir.mkdir(parents=True)
    study = optuna.create_study(storage=f"sqlite:///{run / 'study.db'}", study_name="s")
    study.set_user_attr("artifact_dir", str(store_dir))
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"y": [0, 1, 2, 1], "proba": np.eye(3)[[0, 1, 2, 0]].tolist()}))
    trial.set_user_attr("val_predictions_artifact", upload_artifact(
        artifact_store=FileSystemArtifactStore(str(store_dir)), file_path=str(preds),
        study_or_trial=trial))
    study.tell(trial, 0.25)
    del study
    moved = tmp_path / "copied" / "run"
    shutil.move(str(run), str(moved))
    assert main(["report", "--storage", f"sqlite:///{moved / 'study.db'}", "--out",
                 str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "confusion_matrix.png").is_file()
    assert (tmp_path / "rep" / "roc.png").is_file()

    shutil.rmtree(moved / "artifacts")
    with caplog.at_level("WARNING"):
        assert main(["report", "--storage", f"sqlite:///{moved / 'study.db'}", "--out",
                     str(tmp_path / "rep2")]) == 0
    assert not (tmp_path / "rep2" / "roc.png").exists()
    assert "validation predictions" in caplog.text and "cannot be read" in caplog.text


@pytest.mark.parametrize("recorded", [False, True])
def test_predictions_without_their_artifact_folder_say_why(tmp_path: Path, caplog,
                                                           recorded: bool) -> None:
    """A study that recorded no artifact folder (e.g. made by another tool in PostgreSQL):
    the warning says so instead of "cannot be read from None" (review finding). One that
    recorded a folder which is not here (a report on another machine than the worker's)
    said "no artifact folder recorded" too (session 28's new-user walk-through): it names
    the recorded folder and where to copy it."""
    from metaheur.harness.report import write_report

    study = optuna.create_study()
    folder = tmp_path / "worker-A" / "artifacts"
    if recorded:
        study.set_user_attr("artifact_dir", str(folder))
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.set_user_attr("val_predictions_artifact", "some-id")
    study.tell(trial, 0.25)
    with caplog.at_level("WARNING"):
        write_report(study, tmp_path / "rep")
    assert "from None" not in caplog.text
    assert ("no artifact folder recorded" in caplog.text) is not recorded
    assert (f"recorded folder {folder} is not here" in caplog.text) is recorded
    assert str(tmp_path / "rep" / "artifacts") in caplog.text


def test_report_of_an_empty_study(tmp_path: Path) -> None:
    """Regression: a run stopped before any trial wrote a 1-byte trials.csv and an empty
    history.png."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'e.db'}", study_name="e")
    written = report.write_report(study, tmp_path / "rep")
    assert "history" not in written and not (tmp_path / "rep" / "history.png").exists()
    header = (tmp_path / "rep" / "trials.csv").read_text().splitlines()
    assert header == [",".join(report.TRIAL_COLUMNS)]


@pytest.mark.parametrize("folder", ["q?x=1", "50%20off", "plain name"])
def test_sqlite_url_of_a_folder_with_url_characters(tmp_path: Path, folder: str) -> None:
    """``metaheur tune --out DIR`` stores the study in ``DIR/study.db`` whatever DIR holds:
    a ``?`` used to cut the path (the database landed in a file named ``q``) and ``%20``
    was decoded (no such folder: the storage could not be opened)."""
    db = tmp_path / folder / "study.db"
    db.parent.mkdir()
    url = storage.sqlite_url(db)
    optuna.create_study(storage=storage.open_storage(url), study_name="s")
    assert db.is_file() and sorted(p.name for p in tmp_path.iterdir()) == [folder]
    if folder == "plain name":
        assert url == f"sqlite:///{db}"  # readable where nothing needs escaping


def test_report_of_a_maximised_study(tmp_path: Path, capsys) -> None:
    """A study that maximises (e.g. accuracy) reports its highest value as the best, with a
    rising best-so-far; it used to report the lowest as "(minimised)"."""
    db = tmp_path / "max.db"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="acc",
                                direction="maximize")
    for x in (0.5, 0.1, 0.9, 0.3):
        study.enqueue_trial({"x": x})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)
    assert main(["report", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "best trial #2: objective = 0.9 (maximised)" in out
    best = json.loads((tmp_path / "r" / "best.json").read_text())["best"]
    assert (best["number"], best["value"]) == (2, 0.9)
    frame = pd.read_csv(tmp_path / "r" / "trials.csv")
    assert list(frame["best_so_far"]) == [0.5, 0.5, 0.9, 0.9]
    assert report.best_trial(study).number == 2


def test_report_of_a_multi_objective_study(tmp_path: Path, capsys) -> None:
    """A multi-objective study has no single best trial: one line saying so (it used to
    end in a traceback from Optuna)."""
    db = tmp_path / "mo.db"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="mo",
                                directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    assert main(["report", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "2 objectives" in err and "single-objective" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()  # refused before its folder was made (review)


def test_report_does_not_create_a_database(tmp_path: Path, capsys, monkeypatch) -> None:
    """Regression: ``report --storage sqlite:///typo.db`` created an empty database."""
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--storage", "sqlite:///typo.db"]) == 2
    err = capsys.readouterr().err
    assert "no SQLite database typo.db" in err and not (tmp_path / "typo.db").exists()


def test_report_keeps_a_hostile_study_name_inside_its_folder(tmp_path: Path, monkeypatch
                                                              ) -> None:
    """Regression: a study named ``../../x`` wrote its report outside metaheur-runs/."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")
    _study(tmp_path / "h.db", name="../../x")
    assert main(["report", "--storage", f"sqlite:///{tmp_path / 'h.db'}"]) == 0
    assert (tmp_path / "a" / "b" / "metaheur-runs" / "report-x" / "best.json").is_file()
    assert not (tmp_path / "x").exists() and not (tmp_path / "report-x").exists()


def test_check_output_dir(tmp_path: Path) -> None:
    assert storage.check_output_dir(tmp_path / "new" / "dir").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(storage.OutputError, match="a file is in the way"):
        storage.check_output_dir(tmp_path / "f")
    with pytest.raises(storage.OutputError, match="is a file, not a folder"):
        storage.check_output_dir(tmp_path / "f" / "sub")
    assert not list((tmp_path / "new" / "dir").iterdir())  # the probe file is removed


# --------------------------------------------------------------- metrics (issue 13)
def test_roc_fallback_equals_scikit_learn() -> None:
    pytest.importorskip("sklearn")
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200).astype(bool)
    s = np.round(rng.random(200) + 0.3 * y, 1)  # many tied scores
    fpr, tpr, auc = plots.roc_curve(y, s)
    f2, t2, a2 = plots._roc_curve(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s), rel=1e-12)
    assert a2 == pytest.approx(auc, rel=1e-12)
    np.testing.assert_allclose(np.c_[f2, t2], np.unique(np.c_[fpr, tpr], axis=0), atol=0)


def test_roc_fallback_needs_no_numpy_2(monkeypatch) -> None:
    """Regression: ``np.trapezoid`` exists only from NumPy 2 (pyproject allows 1.24)."""
    monkeypatch.delattr(np, "trapezoid", raising=False)
    _, _, auc = plots._roc_curve(np.array([True, False, True, False]),
                                 np.array([0.9, 0.1, 0.4, 0.6]))
    assert auc == pytest.approx(0.75)


def test_roc_of_one_class_is_undefined() -> None:
    assert np.isnan(plots.roc_curve(np.ones(5, bool), np.linspace(0, 1, 5))[2])


def test_confusion_counts_equal_scikit_learn() -> None:
    pytest.importorskip("sklearn")
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(4)
    y, p = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    np.testing.assert_array_equal(plots.confusion_counts(y, p, 3),
                                  confusion_matrix(y, p, labels=[0, 1, 2]))


def test_eta_work_ignores_reused_trials(tmp_path: Path) -> None:
    """Regression: the ETA counted reused (instant) trials as work done."""
    import time

    from metaheur.harness import runs

    since = time.time() - 1.0
    study = _study(tmp_path / "w.db")  # 3 trials, the third reused from the first
    assert runs._evaluated(study, since) == 2
    assert runs._evaluated(study, time.time() + 60) == 0  # trials of earlier runs: not ours


def test_study_attributes_named_like_report_keys_keep_both(tmp_path: Path) -> None:
    """Regression (session 25's audit): a study user attribute ``study`` or ``note`` (or
    ``best``, ``trials``...) replaced best.json's own entry, so best.json named another
    study and lost the disclaimer; or the report's entry replaced the attribute."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'a.db'}", study_name="real")
    mine = {"study": "pilot experiment 3", "note": "lr sweep", "best": "see wiki", "lr": 2}
    for key, value in mine.items():
        study.set_user_attr(key, value)
    study.add_trial(optuna.trial.create_trial(value=1.0))
    report.write_report(study, tmp_path / "rep", plots=False)
    best = json.loads((tmp_path / "rep" / "best.json").read_text())
    assert best["study"] == "real" and best["note"] == report.DISCLAIMER
    assert best["best"]["value"] == 1.0 and best["lr"] == 2
    assert best["user_attrs"] == {"study": "pilot experiment 3", "note": "lr sweep",
                                  "best": "see wiki"}


def test_trials_csv_marks_reissued_rows(tmp_path: Path) -> None:
    """Regression: trials.csv did not say which trials re-ran a population row."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", study_name="r")
    for number, row in enumerate([0, 1, 1, 2]):  # trial 2 re-issues trial 1's row
        t = study.ask()
        study._storage.set_trial_system_attr(
            t._trial_id, "metaheur:pso", {"run": "abc", "gen": 0, "token": 7, "row": row,
                                          "x": [0.5], "t": 0.0})
        study.tell(t, float(number))
    frame = report.trials_frame(study)
    assert frame["reissue_of"].isna().tolist() == [True, True, False, True]
    assert frame["reissue_of"][2] == 1


@pytest.mark.parametrize("field, junk", [("gen", [0]), ("row", {"a": 1}), ("token", [7])])
def test_row_records_that_are_junk_are_ignored_not_a_crash(tmp_path: Path, field: str,
                                                            junk: object) -> None:
    """Regression (session 25's audit): a stored row record (untrusted input) with a list
    or dict field made ``metaheur report``, and tune's final report, fail with
    ``TypeError: unhashable type`` and a traceback."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'j.db'}", study_name="j")
    for number in range(3):
        t = study.ask()
        rec = {"run": "abc", "gen": 0, "token": 7, "row": 0} | {field: junk}
        study._storage.set_trial_system_attr(t._trial_id, "metaheur:pso", rec)
        study.tell(t, float(number))
    assert report.trials_frame(study)["reissue_of"].isna().all()


@pytest.mark.parametrize("name", ["研究" * 45, "lstm-" + "x" * 300])
def test_report_of_a_study_with_a_long_name(tmp_path: Path, monkeypatch, name: str) -> None:
    """Regression: the default folder ``metaheur-runs/report-<study>`` of a study named with
    over ~250 bytes (90 CJK characters) failed with "File name too long"; the name is cut
    (at a character) and a digest of the whole name keeps it apart from other studies."""
    from metaheur.cli.report_cmd import safe_name

    monkeypatch.chdir(tmp_path)
    _study(tmp_path / "long.db", name=name, n=2)
    assert main(["report", "--storage", f"sqlite:///{tmp_path / 'long.db'}"]) == 0
    (folder,) = (tmp_path / "metaheur-runs").iterdir()
    assert (folder / "best.json").is_file() and len(folder.name.encode()) <= 128
    assert folder.name == f"report-{safe_name(name)}" and folder.name.startswith("report-")
    assert safe_name(name) != safe_name(name[:-1] + "y")
    assert safe_name("lstm-elu-dlf-aoa") == "lstm-elu-dlf-aoa"  # short names as they are
