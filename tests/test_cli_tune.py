"""End-to-end ``metaheur tune`` / ``metaheur report`` runs in a temporary folder.

Every run uses the hidden ``--quick`` configuration (tiny synthetic data, one epoch: a trial
takes well under a second) so the whole file stays within a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metaheur.cli import main
from metaheur.tuning import OPTUNA_SAMPLERS, algorithm_names, mask_text, mask_url

pytest.importorskip("torch")
pytest.importorskip("metaheur.models.objectives")

ALGOS = algorithm_names()


def _tune(tmp_path: Path, *extra: str, name: str = "run") -> list[str]:
    return ["tune", "--quick", "--quiet", "--n-jobs", "1", "--out", str(tmp_path / name),
            *extra]


def _states(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT state FROM trials ORDER BY number")]


@pytest.mark.parametrize("algo", ALGOS)
def test_tune_each_algorithm(tmp_path: Path, algo: str, capsys: pytest.CaptureFixture) -> None:
    pop = "3"
    if algo == "cmaes":
        pytest.importorskip("cmaes")
        pop = "4"  # CMA-ES weights degenerate below 4 (one parent)
    rc = main(_tune(tmp_path, "--algo", algo, "--trials", "6", "--pop-size", pop, "--seed", "1"))
    out = capsys.readouterr().out
    assert rc == 0, out
    run = tmp_path / "run"
    for name in ("study.db", "trials.csv", "best.json", "history.png"):
        assert (run / name).is_file(), name
    trials = pd.read_csv(run / "trials.csv")
    assert (trials["state"] == "COMPLETE").sum() == 6
    assert trials["value"].notna().all()
    assert any(c.startswith("params_lr") for c in trials.columns)
    assert "metric_f1" in trials.columns
    assert list((run / "artifacts").iterdir())  # validation predictions as Optuna artifacts
    best = json.loads((run / "best.json").read_text())
    assert best["algo"] == algo and best["seed"] == 1 and best["model"] == "lstm-elu"
    assert best["best"]["value"] == pytest.approx(trials["value"].min())
    assert set(best["best"]["metrics"]) >= {"accuracy", "precision", "recall", "specificity",
                                            "f1", "error_rate"}
    assert set(best["versions"]) >= {"metaheur", "optuna", "torch", "numpy"}
    assert "lr" in best["search_space"] and best["device"] == "cpu"
    assert "metaheur tune --algo " + algo in best["command"]
    assert "not for clinical use" in out
    assert "best trial #" in out and "validation metric" in out
    if algo not in OPTUNA_SAMPLERS:
        assert "fewer than 5" in out  # 6 trials of pop 3: one generation only
    assert (run / "confusion_matrix.png").is_file() and (run / "roc.png").is_file()


def test_tune_digits_and_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(_tune(tmp_path, "--algo", "pso", "--data-format", "digits", "--trials", "4",
                    "--pop-size", "2", "--study", "digits-pso"))
    assert rc == 0
    capsys.readouterr()
    db = tmp_path / "run" / "study.db"
    rc = main(["report", "--storage", f"sqlite:///{db}", "--study", "digits-pso",
               "--out", str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert rc == 0
    for name in ("trials.csv", "best.json", "history.png", "importances.png",
                 "confusion_matrix.png", "roc.png"):
        assert (tmp_path / "rep" / name).is_file(), name
    best = json.loads((tmp_path / "rep" / "best.json").read_text())
    assert best["data"] == "digits" and best["trials"]["complete"] == 4
    assert "best trial #" in out


def test_tune_ifm(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_tune(tmp_path, "--model", "ifm", "--algo", "random", "--trials", "2")) == 0
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["model"] == "ifm" and "auc" in best["best"]["metrics"]
    assert "alpha_scale" in best["search_space"]
    assert (tmp_path / "run" / "roc.png").is_file()


def test_resume_counts_finished_trials(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--algo", "dlf-aoa", "--pop-size", "2"]
    assert main(_tune(tmp_path, *args, "--trials", "4")) == 0
    assert "(new)" in capsys.readouterr().out
    assert main(_tune(tmp_path, *args, "--trials", "8")) == 0
    out = capsys.readouterr().out
    assert "resumed: 4 trials already finished" in out
    assert _states(tmp_path / "run" / "study.db") == ["COMPLETE"] * 8
    # the same command again has nothing left to do
    assert main(_tune(tmp_path, *args, "--trials", "8")) == 0
    assert "nothing to run" in capsys.readouterr().out
    # another algorithm on the same study is refused
    assert main(_tune(tmp_path, "--algo", "gwo", "--study", "lstm-elu-dlf-aoa",
                      "--trials", "9")) == 2


def test_keyboard_interrupt_saves_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metaheur.models.objectives import LSTMELUObjective

    original = LSTMELUObjective.run

    def interrupting(self, params, trial=None):  # noqa: ANN001, ANN202
        if trial is not None and trial.number == 2:
            raise KeyboardInterrupt
        return original(self, params, trial)

    monkeypatch.setattr(LSTMELUObjective, "run", interrupting)
    args = _tune(tmp_path, "--algo", "gwo", "--pop-size", "3", "--trials", "5")
    assert main(args) == 130
    out = capsys.readouterr().out
    assert "Interrupted: 2 finished trials are saved" in out and "Resume with:" in out
    resume = out.split("Resume with:")[1].strip().splitlines()[0]
    assert resume.startswith("metaheur tune --algo gwo")
    db = tmp_path / "run" / "study.db"
    assert _states(db) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert (tmp_path / "run" / "trials.csv").is_file()  # what finished is reported

    monkeypatch.setattr(LSTMELUObjective, "run", original)
    assert main(resume.split()[1:] + ["--quiet", "--n-jobs", "1"]) == 0
    assert _states(db).count("COMPLETE") == 5


def test_parallel_workers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["tune", "--quick", "--quiet", "--algo", "pso", "--pop-size", "2", "--trials",
               "4", "--n-jobs", "2", "--out", str(tmp_path / "par")])
    assert rc == 0, capsys.readouterr()
    assert _states(tmp_path / "par" / "study.db").count("COMPLETE") == 4


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--algo", "nope"], "unknown algorithm 'nope'; allowed: aco, aoa, dlf-aoa"),
        (["--model", "resnet"], "unknown model 'resnet'; allowed: lstm-elu, ifm"),
        (["--trials", "0"], "--trials must be an integer >= 1, got 0"),
        (["--data-format", "dicom"], "unknown --data-format 'dicom'; allowed: synthetic"),
        (["--data", "/no/such/folder"], "no such file or folder"),
        (["--pruner", "asha"], "unknown pruner 'asha'; allowed: none, median"),
        (["--pop-size", "2", "--algo", "gwo"], "--pop-size must be >= 3 for gwo"),
        (["--storage", "not-a-url"], "storage must be an SQLAlchemy URL"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                           expected: str) -> None:
    assert main(_tune(tmp_path, *argv)) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_wrong_data_layout(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("not a dataset")
    assert main(_tune(tmp_path, "--data", str(tmp_path / "empty"))) == 2
    err = capsys.readouterr().err
    assert "unrecognised dataset layout" in err and "allowed layouts" in err
    assert len(err.strip().splitlines()) == 1
    # the right folders without images: found, but not loadable
    for name in ("Normal cases", "Bengin cases", "Malignant cases"):
        (tmp_path / "iq" / name).mkdir(parents=True)
    assert main(_tune(tmp_path, "--data", str(tmp_path / "iq"), "--algo", "random")) == 2
    err = capsys.readouterr().err
    assert "has no images" in err and len(err.strip().splitlines()) == 1
    assert main(_tune(tmp_path, "--data", str(tmp_path / "iq"), "--data-format", "chestct")) == 2
    assert "has the iqothnccd layout, not chestct" in capsys.readouterr().err
    assert main(_tune(tmp_path, "--data", str(tmp_path / "iq"), "--model", "ifm")) == 2
    assert "feeds --model lstm-elu, not ifm" in capsys.readouterr().err


def test_unreachable_storage_masks_password(tmp_path: Path, capsys: pytest.CaptureFixture
                                            ) -> None:
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/optuna"
    assert main(_tune(tmp_path, "--storage", url)) == 2
    captured = capsys.readouterr()
    assert "cannot open storage postgresql://alice:***@127.0.0.1:1/optuna" in captured.err
    assert "s3cr3t-pw" not in captured.err + captured.out
    assert len(captured.err.strip().splitlines()) == 1


def test_mask_url() -> None:
    assert mask_url("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql+psycopg2://u:p%40x@h:5432/db") == \
        "postgresql+psycopg2://u:***@h:5432/db"
    assert mask_url("sqlite:///a/b.db") == "sqlite:///a/b.db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_text("failed for postgresql://u:pw@h/db (pw rejected)", "postgresql://u:pw@h/db"
                     ) == "failed for postgresql://u:***@h/db (*** rejected)"


def test_custom_storage_is_recorded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    assert main(_tune(tmp_path, "--algo", "random", "--trials", "2", "--storage", url)) == 0
    out = capsys.readouterr().out
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["storage"] == url and url in out
    assert "--storage " + url in best["command"]


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("METAHEUR_TEST_POSTGRES_URL"),
                    reason="needs METAHEUR_TEST_POSTGRES_URL (a PostgreSQL database to use)")
def test_two_workers_share_a_postgres_study(tmp_path: Path) -> None:
    import optuna

    url = os.environ["METAHEUR_TEST_POSTGRES_URL"]
    study = f"test-two-workers-{os.getpid()}"
    cmd = [sys.executable, "-m", "metaheur.cli", "tune", "--quick", "--quiet", "--algo", "gwo",
           "--pop-size", "3", "--trials", "9", "--n-jobs", "1", "--storage", url,
           "--study", study]
    procs = [subprocess.Popen([*cmd, "--out", str(tmp_path / f"w{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    try:
        assert [p.returncode for p in procs] == [0, 0], outs
        loaded = optuna.load_study(study_name=study, storage=url)
        states = [t.state.name for t in loaded.trials]
        assert states.count("COMPLETE") >= 9 and len(states) <= 10
        m = re.search(r"://[^:/@]*:([^@]+)@", url)
        password = m[1] if m else None
        for out, err in outs:
            assert "not for clinical use" in out
            if password:
                assert password not in out + err
    finally:
        optuna.delete_study(study_name=study, storage=url)


def test_open_storage_survives_concurrent_schema_creation(tmp_path, monkeypatch):
    """Workers started together on a new database race to create its tables."""
    import optuna

    from metaheur import tuning

    real = optuna.storages.RDBStorage
    calls = []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("(sqlite3.OperationalError) table alembic_version already exists")
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    storage = tuning.open_storage(f"sqlite:///{tmp_path / 'race.db'}", heartbeat=False)
    assert isinstance(storage, real) and len(calls) == 2


def test_open_storage_reports_other_errors_in_one_masked_line(monkeypatch):
    import optuna

    from metaheur import tuning

    def broken(*args, **kwargs):
        raise RuntimeError("connection refused for user secretuser password hunter2\nmore")

    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    with pytest.raises(tuning.StorageError) as info:
        tuning.open_storage("postgresql://secretuser:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(info.value) and "\n" not in str(info.value)


def test_users_own_models_module_is_not_ours(tmp_path: Path) -> None:
    """Regression: the wheel used to install a top-level ``models``; a user's ``models.py``
    in the working directory shadowed it and ``tune`` said "tune needs the models extra"."""
    (tmp_path / "models.py").write_text("raise ImportError('the user’s own models.py')\n")
    code = ("import sys; from metaheur.cli import main; "
            "sys.exit(main(['tune', '--quick', '--quiet', '--n-jobs', '1', '--trials', '2', "
            "'--pop-size', '2', '--out', 'run']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "run" / "best.json").is_file()
