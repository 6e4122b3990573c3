"""The result files of ``metaheur report`` (and of tune's final report): which trial's
artifacts they read, stale plots, corrupt artifacts, non-finite values, untrusted storages
(the audit of issue 8's spirit: nothing lost silently). Fast: no training."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from metaheur.cli import main
from metaheur.harness import report

optuna.logging.set_verbosity(optuna.logging.ERROR)

PLOTS = ("history.png", "importances.png", "confusion_matrix.png", "roc.png")


def _upload(trial: optuna.Trial, store_dir: Path, preds: dict, tmp: Path) -> str:
    from optuna.artifacts import FileSystemArtifactStore, upload_artifact

    store_dir.mkdir(parents=True, exist_ok=True)
    path = tmp / f"preds-{trial.number}.json"
    path.write_text(json.dumps(preds))
    return upload_artifact(artifact_store=FileSystemArtifactStore(str(store_dir)),
                           file_path=str(path), study_or_trial=trial)


def _preds(n: int = 12, k: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"y": rng.integers(0, k, n).tolist(), "proba": rng.dirichlet(np.ones(k), n).tolist()}


def _add(study: optuna.Study, value: float, store_dir: Path | None, tmp: Path,
         preds: dict | None = None) -> int:
    """One complete trial of ``value``; its predictions uploaded to ``store_dir``."""
    trial = study.ask()
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    if store_dir is not None:
        trial.set_user_attr("val_predictions_artifact",
                            _upload(trial, store_dir, preds or _preds(seed=trial.number), tmp))
    study.tell(trial, value)
    return trial.number


def _run_folder(run: Path, tmp: Path) -> optuna.Study:
    """A run folder as tune writes it: study.db, artifacts/ (recorded as the study's
    absolute ``artifact_dir``), one trial."""
    run.mkdir(parents=True)
    study = optuna.create_study(storage=f"sqlite:///{run / 'study.db'}", study_name="s")
    study.set_user_attr("artifact_dir", str(run / "artifacts"))
    _add(study, 0.5, run / "artifacts", tmp)
    return study


def _load(db: Path) -> optuna.Study:
    return optuna.load_study(study_name="s", storage=f"sqlite:///{db}")


# ------------------------------------------------- defect 1: copied or moved run folders
def test_a_copied_run_reads_each_trials_artifact_where_it_is(tmp_path: Path, caplog) -> None:
    """Regression: a run folder copied and resumed put its new trials' predictions in the
    copy's artifacts/ while the report kept reading the stored (old, still existing) folder:
    "cannot be read from .../t1/artifacts", no confusion matrix / ROC."""
    t1, t4 = tmp_path / "t1", tmp_path / "t4"
    _run_folder(t1, tmp_path)
    shutil.copytree(t1, t4)
    best = _add(_load(t4 / "study.db"), 0.1, t4 / "artifacts", tmp_path)  # a resumed trial
    shutil.copytree(t4, tmp_path / "t8")
    with caplog.at_level("WARNING"):
        assert main(["report", "--storage", f"sqlite:///{tmp_path / 't8' / 'study.db'}",
                     "--out", str(tmp_path / "t8")]) == 0
    assert "cannot be read" not in caplog.text
    assert (tmp_path / "t8" / "roc.png").is_file()
    study = _load(tmp_path / "t8" / "study.db")
    dirs = report.artifact_dirs(study, f"sqlite:///{tmp_path / 't8' / 'study.db'}",
                                tmp_path / "t8")
    assert dirs == [t1 / "artifacts", tmp_path / "t8" / "artifacts"]
    got = report.val_predictions(study.trials[best], dirs)
    assert got is not None and got[0].tolist() == _preds(seed=best)["y"]


def test_predictions_found_in_the_output_folder(tmp_path: Path) -> None:
    """The third place looked in: ``<out>/artifacts`` (a database kept apart from its run
    folder, whose recorded folder is gone)."""
    run = tmp_path / "run"
    _run_folder(run, tmp_path)
    shutil.move(str(run / "artifacts"), str(tmp_path / "out" / "artifacts"))
    assert main(["report", "--storage", f"sqlite:///{run / 'study.db'}", "--out",
                 str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "confusion_matrix.png").is_file()


def test_stale_plots_of_another_best_trial_are_removed(tmp_path: Path, caplog) -> None:
    """Regression: best.json named the new best trial while confusion_matrix.png and roc.png
    of an earlier report (another trial) stayed beside it."""
    run = tmp_path / "run"
    study = _run_folder(run, tmp_path)
    assert main(["report", "--storage", f"sqlite:///{run / 'study.db'}", "--out",
                 str(run)]) == 0
    assert all((run / name).is_file() for name in ("confusion_matrix.png", "roc.png"))
    trial = study.ask()  # a better trial whose predictions are nowhere to be found
    trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.set_user_attr("val_predictions_artifact", "0123-lost")
    study.tell(trial, 0.01)
    with caplog.at_level("WARNING"):
        assert main(["report", "--storage", f"sqlite:///{run / 'study.db'}", "--out",
                     str(run)]) == 0
    assert not (run / "confusion_matrix.png").exists() and not (run / "roc.png").exists()
    assert "removed" in caplog.text and "confusion_matrix.png" in caplog.text
    assert (run / "history.png").is_file()


def test_an_artifact_id_cannot_leave_its_folder(tmp_path: Path) -> None:
    """The artifact id is read from the storage (untrusted): ``../x`` is not a file to open."""
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr("val_predictions_artifact", "../secret.json")
    study.tell(trial, 1.0)
    (tmp_path / "secret.json").write_text(json.dumps(_preds()))
    (tmp_path / "a").mkdir()
    assert report.val_predictions(study.trials[0], [tmp_path / "a"]) is None


def test_tunes_report_reads_the_new_trials_from_its_output_folder(tmp_path: Path) -> None:
    """tune's final report (``write_report`` without ``artifact_dir``) of a copied run
    folder: the resumed trials' predictions are in ``<out>/artifacts``, not in the folder the
    study recorded (which still exists, with the old trials' only)."""
    t1, t4 = tmp_path / "t1", tmp_path / "t4"
    _run_folder(t1, tmp_path)
    shutil.copytree(t1, t4)
    study = _load(t4 / "study.db")
    _add(study, 0.1, t4 / "artifacts", tmp_path)
    written = report.write_report(study, t4)
    assert {"confusion_matrix", "roc"} <= set(written)


# ------------------------------------------------- defect 3: corrupt prediction artifacts
def _cut(p: dict) -> dict:
    return {"y": p["y"][:-5], "proba": p["proba"]}


def _label7(p: dict) -> dict:
    return {"y": [7, *p["y"][1:]], "proba": p["proba"]}


CORRUPT = [
    (_cut, "7 labels but 12 rows of probabilities"),
    (_label7, "labels outside 0..2"),
    (lambda p: {"y": p["y"], "proba": "abc"}, "not an array of numbers"),
    (lambda p: {"y": p["y"], "proba": [[0.5, float("nan"), 0.5]] * 12},
     "not finite"),
    (lambda p: {"y": [0.5] * 12, "proba": p["proba"]}, "not integers"),
    (lambda p: {"y": ["a"] * 12, "proba": p["proba"]}, "not integers"),
    (lambda p: {"y": p["y"], "proba": [[[0.1]]] * 12}, "shape"),
    (lambda p: {"y": p["y"], "proba": [[1.0, 0.0], [0.5]] + p["proba"][2:]},
     "not an array of numbers"),
    (lambda p: {"y": p["y"]}, "no 'proba'"),
    (lambda p: [1, 2], "not a JSON object"),
    (lambda p: {"y": [], "proba": []}, "empty"),
]


@pytest.mark.parametrize(("corrupt", "what"), CORRUPT)
def test_a_corrupt_predictions_artifact_is_one_warning(tmp_path: Path, caplog, corrupt,
                                                       what: str) -> None:
    """Regression: a corrupt artifact crashed ``report`` (and tune's final report) with a
    raw traceback (``IndexError: shape mismatch``, ``index 7 is out of bounds``, "could not
    convert string to float: 'abc'" naming no file). Now: one warning naming the file and
    what is wrong, no confusion matrix / ROC, everything else written."""
    run = tmp_path / "run"
    run.mkdir()
    study = optuna.create_study(storage=f"sqlite:///{run / 'study.db'}", study_name="s")
    study.set_user_attr("artifact_dir", str(run / "artifacts"))
    _add(study, 0.5, run / "artifacts", tmp_path, preds=corrupt(_preds()))
    _add(study, 0.7, None, tmp_path)
    art = study.trials[0].user_attrs["val_predictions_artifact"]
    with caplog.at_level("WARNING"):
        assert main(["report", "--storage", f"sqlite:///{run / 'study.db'}", "--out",
                     str(run)]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert str(run / "artifacts" / art) in warnings[0] and what in warnings[0], warnings[0]
    assert "no confusion matrix / ROC" in warnings[0]
    assert not (run / "roc.png").exists() and not (run / "confusion_matrix.png").exists()
    for name in ("trials.csv", "best.json", "history.png"):
        assert (run / name).is_file()


def test_an_unreadable_artifact_file_is_named(tmp_path: Path) -> None:
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr("val_predictions_artifact", "a1")
    study.tell(trial, 1.0)
    (tmp_path / "a1").write_text("{not json")
    with pytest.raises(ValueError, match=r"a1 is not JSON"):
        report.val_predictions(study.trials[0], tmp_path)


def test_confusion_counts_refuse_labels_out_of_range() -> None:
    from metaheur.harness import plots

    with pytest.raises(ValueError, match="labels outside 0..2"):
        plots.confusion_counts([0, 1, 7], [0, 1, 2], 3)


# ------------------------------------------ defect 4: non-finite values and best_so_far
def _nonfinite_study(direction: str = "minimize") -> optuna.Study:
    """Values 0.5, -inf, 0.3, a FAIL, inf, a PRUNED, 0.2 (maximise: signs flipped)."""
    study = optuna.create_study(direction=direction)
    sign = 1.0 if direction == "minimize" else -1.0
    for value in (0.5, -math.inf, 0.3, "fail", math.inf, "pruned", 0.2):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        if value == "fail":
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif value == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, sign * value)
    return study


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_best_so_far_skips_non_finite_values_as_the_best_trial_does(
        tmp_path: Path, direction: str) -> None:
    """Regression: one trial valued -inf blanked best_so_far for every later row of
    trials.csv (and stopped history.png's line) while best.json's best skipped it."""
    study = _nonfinite_study(direction)
    report.write_report(study, tmp_path)
    frame = pd.read_csv(tmp_path / "trials.csv")
    sign = 1.0 if direction == "minimize" else -1.0
    expected = [0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.2]
    assert frame["best_so_far"].tolist() == [sign * v for v in expected]
    best = json.loads((tmp_path / "best.json").read_text())["best"]
    assert best["value"] == frame["best_so_far"].iloc[-1] == sign * 0.2
    assert (tmp_path / "history.png").is_file()


def test_history_legend_counts_the_trials_it_does_not_draw() -> None:
    from metaheur.harness import plots

    frame = report.trials_frame(_nonfinite_study())
    assert plots.history_not_drawn(frame) == (
        "not drawn: 2 non-finite values, 1 pruned, 1 failed")
    assert plots.history_not_drawn(frame[frame["number"] == 0]) is None


# ------------------------------------------------- defect 5: files that are not studies
def _sqlite_without_optuna(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (x)")
    con.close()


@pytest.mark.parametrize(("make", "what"), [
    (lambda p: p.write_bytes(b""), "is an empty file, not an Optuna database"),
    (lambda p: p.write_text("hello, not a database\n" * 10), "is not an SQLite database"),
    (_sqlite_without_optuna, "is an SQLite database without Optuna's tables"),
])
def test_report_refuses_a_file_that_is_not_an_optuna_database(
        tmp_path: Path, capsys, make, what: str) -> None:
    """Regression: ``report --storage sqlite:///empty.db`` turned a 0-byte file into a
    114,688-byte Optuna database, then said "give --study; studies in ...: none"."""
    db = tmp_path / "x.db"
    make(db)
    before = db.read_bytes()
    assert main(["report", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert what in err and str(db) in err and len(err.strip().splitlines()) == 1, err
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]


def test_report_of_a_storage_without_a_study(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.db"
    optuna.delete_study(study_name="s", storage=optuna.create_study(
        storage=f"sqlite:///{db}", study_name="s")._storage)
    assert main(["report", "--storage", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert "holds no study" in err and "give --study" not in err, err
    assert main(["report", "--storage", f"sqlite:///{db}", "--study", "x"]) == 2
    assert "holds no study" in capsys.readouterr().err


# ------------------------------------------------- defect 6: '$' in user text
def test_dollar_signs_in_user_text_are_drawn_as_they_are(tmp_path: Path, capsys) -> None:
    """Regression: a study named ``cost $\\frac$ x`` made ``report`` fail with
    "metaheur report: error: \\frac" (matplotlib's mathtext) after trials.csv and best.json
    were written. Study name, objective label, parameter and class names are user text."""
    run = tmp_path / "run"
    run.mkdir()
    study = optuna.create_study(storage=f"sqlite:///{run / 'study.db'}",
                                study_name="cost $\\frac$ x")
    study.set_user_attr("objective_label", "1 - $x^$ score")
    study.set_user_attr("artifact_dir", str(run / "artifacts"))
    for i in range(3):
        trial = study.ask()
        trial.suggest_float("$\\alpha$", 0, 1)
        trial.suggest_float("$b_", 0, 1)
        preds = {**_preds(seed=i), "class_names": ["$\\frac$", "a$b", "$"]}
        trial.set_user_attr("val_predictions_artifact",
                            _upload(trial, run / "artifacts", preds, tmp_path))
        study.tell(trial, 0.1 * (i + 1))
    assert main(["report", "--storage", f"sqlite:///{run / 'study.db'}", "--out",
                 str(run)]) == 0, capsys.readouterr().err
    for name in PLOTS:
        assert (run / name).is_file(), name


# ----------------------------------- defect 8: failed training, integer trial references
def test_failed_training_is_not_counted_as_pruned(tmp_path: Path) -> None:
    """Regression: trials whose training failed (models/train.py stores ``failure`` and
    prunes them) were counted as "pruned" in best.json even with --pruner none, and
    trials.csv had no column for the reason; ``reused_from``/``reissue_of`` were written as
    floats (``0.0``)."""
    from optuna.trial import TrialState

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    for kind in ("ok", "pruned", "diverged", "fail", "reused"):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        if kind == "diverged":
            trial.set_user_attr("failure", "the training loss is nan at epoch 2")
            study.tell(trial, state=TrialState.PRUNED)
        elif kind == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        elif kind == "fail":
            study.tell(trial, state=TrialState.FAIL)
        else:
            if kind == "reused":
                trial.set_user_attr("reused_from", 0)
            study.tell(trial, 0.5 if kind == "ok" else 0.4)
    report.write_report(study, tmp_path / "r")
    counts = json.loads((tmp_path / "r" / "best.json").read_text())["trials"]
    assert counts == {"total": 5, "complete": 2, "pruned": 1, "failed_training": 1, "fail": 1,
                      "running": 0, "waiting": 0}
    frame = pd.read_csv(tmp_path / "r" / "trials.csv", dtype=str, keep_default_na=False)
    assert frame["failure"].tolist() == ["", "", "the training loss is nan at epoch 2", "", ""]
    assert frame["reused_from"].tolist() == ["", "", "", "", "0"]
    from metaheur.harness import plots

    assert plots.history_not_drawn(report.trials_frame(study)) == (
        "not drawn: 1 pruned, 1 failed in training, 1 failed")


# ---------------------------------------------------- rev11a's review of the fixes above
def test_an_artifact_id_whose_lookup_raises_is_not_found(tmp_path: Path) -> None:
    """Regression: ``is_file()`` raises on a 300-character name (ENAMETOOLONG), which
    aborted the whole report; the id is untrusted, a failed look-up means 'not here'."""
    (tmp_path / "a").mkdir()
    from metaheur.harness.predictions import find_artifact

    assert find_artifact("a" * 300, [tmp_path / "a"]) is None


def test_stale_plot_removal_tolerates_a_file_already_gone(tmp_path: Path, monkeypatch) -> None:
    """Regression: two processes removing the same stale plot: the second crashed with
    FileNotFoundError between its check and its unlink."""
    import hashlib

    (tmp_path / "roc.png").write_bytes(b"x")
    ours = {"roc.png": hashlib.sha256(b"x").hexdigest()}  # a plot a report wrote
    real_unlink = Path.unlink

    def racing_unlink(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self, missing_ok=True)  # another process got there first
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", racing_unlink)
    report._remove_stale(tmp_path, {}, plots=True, ours=ours)
    assert not (tmp_path / "roc.png").exists()


def test_a_trial_number_beyond_int64_does_not_crash_the_table() -> None:
    study = optuna.create_study()
    study.add_trial(optuna.trial.create_trial(
        value=1.0, system_attrs={}, user_attrs={"reused_from": 2**70}))
    frame = report.trials_frame(study)
    assert len(frame) == 1


def test_a_deeply_nested_artifact_is_a_predictions_error(tmp_path: Path) -> None:
    from metaheur.harness.predictions import PredictionsError, val_predictions

    (tmp_path / "deep").write_text("[" * 100000 + "]" * 100000)
    trial = optuna.trial.create_trial(value=1.0,
                                      user_attrs={"val_predictions_artifact": "deep"})
    with pytest.raises(PredictionsError, match="deep"):
        val_predictions(trial, [tmp_path])


def test_a_database_with_a_hot_journal_is_left_to_optuna(tmp_path: Path,
                                                         monkeypatch) -> None:
    """Regression: a tune killed mid-commit leaves study.db-journal; the read-only check
    failed with 'attempt to write a readonly database' (SQLITE_READONLY_ROLLBACK) where
    Optuna rolls the journal back. Only conclusive evidence refuses a file."""
    import sqlite3

    from metaheur.cli.report_cmd import check_sqlite_study_file

    db = tmp_path / "study.db"
    optuna.create_study(storage=f"sqlite:///{db}", study_name="s")

    def busy(*_: object, **__: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(sqlite3, "connect", busy)
    check_sqlite_study_file(f"sqlite:///{db}")  # inconclusive: Optuna decides


def test_best_json_writes_infinities_as_null_and_pandas_missing_values_as_null() -> None:
    """best.json keeps its encoding (inf -> null) through the harness's one JSON helper,
    shared with bench --json (inf -> "inf")."""
    from metaheur.harness.jsondata import json_safe

    data = {"a": float("inf"), "b": np.float32(1.5), "c": pd.NA, "d": [np.int64(3), -math.inf]}
    assert json_safe(data, inf_as_text=False) == {"a": None, "b": 1.5, "c": None,
                                                  "d": [3, None]}
    assert json_safe(data)["d"] == [3, "-inf"]


# ------------------------------------- audit (report): damaged records of a storage
def _damaged_copy(tmp_path: Path, name: str, sql: str, params: tuple = ()) -> Path:
    """A study ``s`` of 5 complete trials, one record of it then damaged by ``sql``."""
    import sqlite3

    db = tmp_path / f"{name}.db"
    study = optuna.create_study(storage=f"sqlite:///{db}", study_name="s")
    study.set_user_attr("cfg", {"a": 1})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    del study
    with sqlite3.connect(db) as con:
        con.execute(sql, params)
    con.close()
    return db


DAMAGED = [
    ("study_attr", "UPDATE study_user_attributes SET value_json = '{not json'", ()),
    ("trial_attr", "INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                   "VALUES (3, 'k', '[[[')", ()),
    ("deep_attr", "INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                  "VALUES (3, 'k', ?)", ("[" * 100000 + "]" * 100000,)),
    ("distribution", "UPDATE trial_params SET distribution_json = '{}' WHERE trial_id = 2", ()),
    ("state", "UPDATE trials SET state = 'BOGUS' WHERE trial_id = 2", ()),
    ("two_values", "INSERT INTO trial_values (trial_id, objective, value, value_type) "
                   "VALUES (2, 1, 0.5, 'FINITE')", ()),
    ("no_value", "DELETE FROM trial_values WHERE trial_id = 2", ()),
    ("null_value", "UPDATE trial_values SET value = NULL WHERE trial_id = 2", ()),
    ("text_value", "UPDATE trial_values SET value = 'NaN' WHERE trial_id = 2", ()),
    ("objective", "UPDATE trial_values SET objective = 3 WHERE trial_id = 2", ()),
    ("direction", "UPDATE study_directions SET direction = 'SIDEWAYS'", ()),
]


@pytest.mark.parametrize(("name", "sql", "params"), DAMAGED, ids=[d[0] for d in DAMAGED])
def test_a_damaged_storage_record_is_one_clear_line(tmp_path: Path, capsys, name: str,
                                                    sql: str, params: tuple) -> None:
    """Regression: a record of the storage that Optuna cannot build (bad JSON, a JSON nested
    too deep, an unknown state, a complete trial with two values or none, ...) ended
    ``metaheur report`` in a traceback (exit 1: RecursionError, KeyError, LookupError,
    RuntimeError, TypeError, AssertionError, IndexError) or in a bare "Expecting value:
    line 1 column 4 (char 3)" naming neither the storage nor the study. The storage is
    untrusted input: one line saying which study of which storage cannot be read."""
    db = _damaged_copy(tmp_path, name, sql, params)
    for study in (["--study", "s"], []):  # without --study: every study's names are read
        rc = main(["report", "--storage", f"sqlite:///{db}", "--out", str(tmp_path / "r"),
                   *study])
        err = capsys.readouterr().err
        assert rc == 2, err
        assert len(err.strip().splitlines()) == 1, err
        assert str(db) in err and "damaged record" in err, err
        assert "of study 's'" in err or not study, err
        assert not (tmp_path / "r" / "best.json").exists()


def test_a_damaged_study_does_not_hide_the_others(tmp_path: Path) -> None:
    """Regression: the study names were read with ``get_all_study_summaries``, which builds
    the best trial of every study: one damaged study made every other one unreportable."""
    import sqlite3

    db = tmp_path / "two.db"
    for name in ("bad", "good"):
        optuna.create_study(storage=f"sqlite:///{db}", study_name=name).optimize(
            lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                    "VALUES (2, 1, 0.5, 'FINITE')")  # trial 2 is study 'bad''s
    con.close()
    assert main(["report", "--storage", f"sqlite:///{db}", "--study", "good", "--out",
                 str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "best.json").read_text())["study"] == "good"


@pytest.mark.parametrize("damage", [DAMAGED[0], DAMAGED[5]], ids=["study_attr", "two_values"])
def test_tune_reads_a_damaged_study_as_a_clear_error(tmp_path: Path, damage: tuple) -> None:
    """The attributes tune resumes a study with come from the same untrusted storage: a
    damaged record of the study was a traceback (exit 1) before the run; now a clear
    error, still before the run (``read_attrs`` reads every record of the study once)."""
    from metaheur.cli.tune_stored import read_attrs
    from metaheur.harness.storage import open_storage

    db = _damaged_copy(tmp_path, "attr", damage[1])
    storage = open_storage(f"sqlite:///{db}")
    with pytest.raises(ValueError, match=r"damaged record of study 's'"):
        read_attrs(storage, "s")
    assert read_attrs(storage, "other") == {}


# ------------------------------------ audit (report): another study's results in --out
def test_report_refuses_to_replace_another_studys_results(tmp_path: Path, capsys,
                                                          monkeypatch) -> None:
    """Regression: ``report`` wrote over an --out folder holding another study's results
    (tune refuses that); and studies ``a b`` and ``a_b`` share the default folder
    ``metaheur-runs/report-a_b``, so the second report silently replaced the first."""
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 's.db'}"
    for name in ("a b", "a_b"):
        optuna.create_study(storage=db, study_name=name).optimize(
            lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert main(["report", "--storage", db, "--study", "a b"]) == 0
    folder = tmp_path / "metaheur-runs" / "report-a_b"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    capsys.readouterr()
    assert main(["report", "--storage", db, "--study", "a_b"]) == 2
    err = capsys.readouterr().err
    assert "holds the results of study 'a b'" in err and "--out" in err, err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert main(["report", "--storage", db, "--study", "a b"]) == 0  # its own: replaced


# --------------------------------------------- audit (report): Optuna journal files
def _journal(path: Path, name: str = "j") -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(path))),
                                study_name=name)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)


def test_report_reads_an_optuna_journal_file(tmp_path: Path, capsys) -> None:
    """Regression: ``report --storage journal.log`` failed with "storage must be an
    SQLAlchemy URL" though README says report reads any stored study and docs/distributed.md
    recommends journal files; the file is only read."""
    log = tmp_path / "journal.log"
    _journal(log)
    before = log.read_bytes()
    assert main(["report", "--storage", str(log), "--out", str(tmp_path / "r")]) == 0
    assert "best trial #" in capsys.readouterr().out
    best = json.loads((tmp_path / "r" / "best.json").read_text())
    assert best["study"] == "j" and best["trials"]["complete"] == 4
    assert log.read_bytes() == before


def test_report_reads_an_sqlite_file_given_as_a_path(tmp_path: Path) -> None:
    _study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    _study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert main(["report", "--storage", str(tmp_path / "s.db"), "--out",
                 str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "best.json").read_text())["study"] == "s"


@pytest.mark.parametrize(("content", "what"), [
    (b"", "is an empty file, not an Optuna storage"),
    (b"number,value\n0,1.5\n1,2.5\n", "neither an SQLite database nor an Optuna journal file"),
    (b'{"op_code": 0, "worker_id": "w", "study_name": "j", "directions": [1]}\n{broken\n'
     b'{"op_code": 0}\n', "damaged record"),
])
def test_report_refuses_a_file_that_is_no_journal(tmp_path: Path, capsys, content: bytes,
                                                  what: str) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(content)
    assert main(["report", "--storage", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert what in err and str(path) in err and len(err.strip().splitlines()) == 1, err
    assert path.read_bytes() == content and not (tmp_path / "r").exists()


def test_report_of_a_missing_path_says_what_storage_is_allowed(tmp_path: Path, capsys) -> None:
    assert main(["report", "--storage", str(tmp_path / "nope.log")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "sqlite:///" in err and "journal file" in err, err
    assert not (tmp_path / "nope.log").exists()


def test_a_journal_path_with_url_characters_is_named_in_messages(tmp_path: Path,
                                                                 capsys) -> None:
    """A file path is no URL: ``run=3/journal.log`` is named as it is, not hidden as an
    "unparsable URL" (which a URL that may hold a password is)."""
    log = tmp_path / "run=3" / "journal.log"
    log.parent.mkdir()
    _journal(log, name="a")
    _journal(log, name="b")
    assert main(["report", "--storage", str(log), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"give --study; studies in {log}: a, b" in err, err


def test_trial_counts_add_up_with_running_and_waiting_trials(tmp_path: Path) -> None:
    """Regression (session 28's report audit): best.json's ``trials`` left out RUNNING and
    WAITING trials, so its counts did not add up to ``total``."""
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.ask()  # running
    study.enqueue_trial({"x": 0.5})  # waiting
    report.write_report(study, tmp_path / "r")
    counts = json.loads((tmp_path / "r" / "best.json").read_text())["trials"]
    assert counts["running"] == 1 and counts["waiting"] == 1
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total") == 4
