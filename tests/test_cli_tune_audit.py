"""``metaheur tune`` as a user meets it: regressions found by an audit of the command (bad
storages, warnings, outputs). Runs use the hidden ``--quick`` configuration."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from metaheur.cli import main

pytest.importorskip("torch")
pytest.importorskip("metaheur.models.objectives")

QUICK = ["tune", "--quick", "--n-jobs", "1", "--algo", "random", "--trials", "1"]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file::memory:?uri=true",
                                 "sqlite:///file:mem?mode=memory&uri=true",
                                 "sqlite:///file:mem?mode=memory&cache=shared&uri=true"])
def test_an_in_memory_storage_is_refused_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture, url: str) -> None:
    """Regression: an in-memory SQLite storage was a ``KeyError: 'Record does not exist.'``
    traceback once the data were ready (each connection has its own empty database), or,
    with a shared cache, a run whose study was gone at exit while tune printed a command
    that "resumes" it."""
    out = tmp_path / "run"
    assert main([*QUICK, "--out", str(out), "--storage", url]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "in-memory" in err and "sqlite:///" in err
    assert not (out / "best.json").exists()


def test_a_file_storage_named_like_memory_is_not_refused() -> None:
    """Without ``uri=true`` SQLite takes ``file:`` and ``mode=memory`` as part of a file
    name or not at all: such a storage is a file, not refused as in-memory."""
    from metaheur.cli.tune_stored import check_storage_url

    for url in ("sqlite:///study.db", "sqlite:///file:x.db?uri=true", "sqlite:///file::memory:",
                "postgresql://u@h/db", "not a url"):
        check_storage_url(url)


def test_an_unreadable_best_json_is_a_one_line_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression: a best.json that cannot be read in --out came out as a Python warning,
    with the path and line of tune_cmd.py and its source line, not as tune's own one-line
    warning."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "best.json").write_text("garbage")
    assert main([*QUICK, "--out", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "best.json" in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("metaheur tune: warning: ") and "it will be replaced" in lines[0]
    assert "tune_cmd.py" not in err and "UserWarning" not in err
    assert json.loads((out / "best.json").read_text())["study"] == "lstm-elu-random"


@pytest.mark.parametrize("option", ["--storage", "--study", "--out", "--data"])
def test_an_empty_value_is_refused_not_taken_for_the_default(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
        option: str) -> None:
    """Regression: ``--storage ""`` (an unset ``$URL`` in a script), ``--study ""`` and
    ``--out ""`` ran silently with the default local SQLite file, study name and folder:
    copies meant to share one remote study each tuned a study of their own; ``--data ""``
    looked for a dataset in the current folder. (``--study " "`` stands for a blank name.)"""
    monkeypatch.chdir(tmp_path)
    argv = [*QUICK, option, " " if option == "--study" else ""]
    if option != "--out":
        argv += ["--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"argument {option}: must not be empty" in err, err
    assert not (tmp_path / "run").exists() and not (tmp_path / "metaheur-runs").exists()


def test_a_pop_size_too_small_for_the_studys_algo_params_is_not_a_malformed_storage(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression: resuming ``--algo ipop -p inner=gwo`` (GWO needs 3 wolves) with
    ``--pop-size 2`` said the study's stored algo_params were malformed and advised
    starting another study; the stored values are fine, the new --pop-size is not."""
    base = ["tune", "--quick", "--n-jobs", "1", "--algo", "ipop", "--out", str(tmp_path / "r")]
    assert main([*base, "-p", "inner=gwo", "--pop-size", "3", "--trials", "1", "-q"]) == 0
    capsys.readouterr()
    assert main([*base, "--pop-size", "2", "--trials", "2", "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "malformed" not in err and "another study" not in err, err
    assert "--pop-size 2" in err and "--algo-param inner=gwo" in err and ">= 3" in err, err
    assert main([*base, "--pop-size", "3", "--trials", "2", "-q"]) == 0  # as the hint says


@pytest.mark.parametrize(("change", "stored"), [
    (["--seed", "1"], "seed=0"), (["--profile", "gpu"], "profile='cpu'"),
    (["--data-format", "digits"], "data='synthetic'")])
def test_a_resume_that_the_study_refuses_is_refused_before_the_data_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
        change: list[str], stored: str) -> None:
    """Regression: a resume with another --seed, --profile or data ran the data stage
    (on a real dataset: minutes of loading and features) before it was told that the
    study refuses it, which the stored configuration says at once."""
    from metaheur.models.objectives import LSTMELUObjective

    argv = [*QUICK, "--out", str(tmp_path / "r"), "-q"]
    assert main(argv) == 0
    capsys.readouterr()
    prepared: list[str] = []
    monkeypatch.setattr(LSTMELUObjective, "prepare", lambda self: prepared.append(self.source))
    assert main([*argv, *change]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"was created with {stored}" in err, err
    assert "to continue this one" in err
    assert prepared == []


def _listed_model(score: float) -> type:
    """A registered model whose constructor takes exactly what README "Adding a model"
    lists, scoring ``score`` (``None``: ``|x - 0.3|``) at once."""
    import numpy as np
    from optuna.distributions import FloatDistribution

    from metaheur.models.objectives import HP, Objective, RunResult

    class Listed(Objective):
        name = "listed"
        label = "1 − score"

        def __init__(self, *, source: str, root: str | None, profile: str, device: str,
                     seed: int, artifact_dir: str | None) -> None:
            super().__init__(profile=profile, device=device, seed=seed,
                             artifact_dir=artifact_dir)

        def table(self) -> dict[str, HP]:
            return {"x": HP(FloatDistribution(0.0, 1.0), 0.5)}

        def run(self, params: dict, trial: object = None) -> RunResult:
            y, proba = np.array([0, 1]), np.array([[0.7, 0.3], [0.2, 0.8]])
            value = abs(params["x"] - 0.3) if score is None else score
            return RunResult(score=value, metrics={"f1": 1.0}, y_val=y, proba_val=proba,
                             params=dict(params), seconds=0.0)

    return Listed


LISTED = ["tune", "--model", "listed", "--algo", "random", "-j", "1", "--device", "cpu"]


def test_a_model_whose_constructor_takes_what_the_readme_lists_can_be_tuned(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: README "Adding a model" says tune constructs a registered objective with
    source, root, profile, device, seed and artifact_dir, "so its constructor must accept
    them"; tune passed ``split`` too, so such a constructor was a TypeError traceback. An
    objective without ``split`` (nor ``**kwargs``) now gets the six only."""
    from metaheur.models import catalog

    monkeypatch.setitem(catalog.MODELS, "listed", _listed_model(None))
    out = tmp_path / "run"
    assert main([*LISTED, "--trials", "2", "--out", str(out), "-q"]) == 0, \
        capsys.readouterr().err
    best = json.loads((out / "best.json").read_text())
    assert best["model"] == "listed" and best["trials"]["complete"] == 2


def test_a_study_that_ends_without_a_finite_value_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a run whose every trial scored inf (each configuration failed) ended
    "done" with exit status 0 and "no complete trial with a finite value yet" among the
    results, so ``metaheur tune ... && use best.json`` went on with ``"best": null``;
    the CLI's rule (``minimize``: no finite value) is exit 1 with an error line. The
    report is still written, and a resume with nothing to run says the same."""
    from metaheur.models import catalog

    monkeypatch.setitem(catalog.MODELS, "listed", _listed_model(math.inf))
    out = tmp_path / "run"
    argv = [*LISTED, "--trials", "2", "--out", str(out), "-q"]
    for _ in range(2):  # the run, then a resume with nothing to run
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "metaheur tune: error: " in err and "no finite value" in err, err
        assert json.loads((out / "best.json").read_text())["best"] is None
    # a study with a finite value somewhere is a success, whatever else failed
    monkeypatch.setitem(catalog.MODELS, "listed", _listed_model(None))
    assert main([*argv[:-4], "3", *argv[-3:]]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("param", ["boundary=foo", "levy_scale=-1"])
def test_a_bad_algo_param_is_one_error_line_without_a_python_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture, recwarn: pytest.WarningsRecorder,
        param: str) -> None:
    """Regression (session 32's new-user walk-through): checking ``--algo-param`` built the
    sampler with the run's ``--trials`` and ``--pop-size``, and with 4 trials the sampler's
    own "pop_size is not below n_trials" warning came first, with its source line, before
    the error about the parameter (tune advises on too few generations itself)."""
    out = tmp_path / "run"
    code = main(["tune", "--quick", "--algo", "dlf-aoa", "--trials", "4", "--algo-param", param,
                 "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("metaheur tune: error: "), err
    assert not [w for w in recwarn if "pop_size is not below" in str(w.message)]


def test_tune_says_what_it_prepares_before_the_data_stage(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression (session 32's new-user walk-through): a first run printed nothing for
    about 45 s, its header coming only after the data and the one-off feature stage."""
    assert main([*QUICK, "--out", str(tmp_path / "run")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("metaheur tune: preparing the synthetic data for lstm-elu (a first run "
                        "also trains any feature stage the model caches)")
    assert lines[1].startswith("metaheur tune: random tuning lstm-elu on synthetic data")


def test_a_resume_without_pop_size_keeps_the_studys(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression (session 32's new-user walk-through): ``--pop-size`` defaulted to 8 on a
    resume too, so a study begun with ``--pop-size 4`` silently started a new run of 8 (the
    header said the seed was the study's). A resume now keeps the population it last ran
    with, as it keeps the seed; a given ``--pop-size`` still wins."""
    import optuna

    out = tmp_path / "run"
    base = ["tune", "--quick", "--n-jobs", "1", "--algo", "pso", "--out", str(out)]
    assert main([*base, "--trials", "2", "--pop-size", "4"]) == 0
    assert main([*base, "--trials", "3"]) == 0
    assert "pop_size 4 (the study's)" in capsys.readouterr().out
    assert main([*base, "--trials", "4", "--pop-size", "5"]) == 0
    assert main([*base, "--trials", "5"]) == 0
    runs = json.loads((out / "best.json").read_text())["runs"]
    assert [r["pop_size"] for r in runs] == [4, 4, 5, 5]
    assert all("--pop-size" in r["command"] for r in runs)  # the resume command names it
    capsys.readouterr()
    assert main([*base, "--trials", "6", "--pop-size", "0"]) == 2  # not "none given"
    assert "--pop-size must be >= " in capsys.readouterr().err
    study = optuna.load_study(study_name="lstm-elu-pso", storage=f"sqlite:///{out}/study.db")
    study.set_user_attr("pop_size", "many")  # a storage is untrusted input
    assert main([*base, "--trials", "6"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pop_size" in err and "'many'" in err, err


def test_storage_may_be_the_path_of_an_sqlite_file(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """``report --storage`` took a file's path but ``tune --storage study.db`` was refused
    as "not an SQLAlchemy URL". A path now names an SQLite database: a new file whose name
    ends in .db, .sqlite or .sqlite3, or an existing SQLite file of any name. The resume
    command keeps the path as given, unmasked (a ``=`` made a URL masker hide it)."""
    import optuna

    monkeypatch.chdir(tmp_path)
    assert main([*QUICK, "--out", "run", "--storage", "studies/lr=0.1.db", "--study", "a"]) == 2
    assert "studies" in capsys.readouterr().err  # no such folder: SQLite's own message
    (tmp_path / "studies").mkdir()
    assert main([*QUICK, "--out", "run", "--storage", "studies/lr=0.1.db", "--study", "a"]) == 0
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    from sqlalchemy.engine import make_url

    assert make_url(best["storage"]).database == str(tmp_path / "studies" / "lr=0.1.db")
    assert "--storage studies/lr=0.1.db" in best["command"]  # a path: shown unmasked
    (tmp_path / "studies" / "lr=0.1.db").rename(tmp_path / "studies" / "kept")
    assert main([*QUICK, "--out", "run2", "--storage", "studies/kept", "--study", "a",
                 "--trials", "2"]) == 0  # an SQLite file of any name: resumed
    url = f"sqlite:///{tmp_path / 'studies' / 'kept'}"
    assert len(optuna.load_study(study_name="a", storage=url).trials) == 2


@pytest.mark.parametrize("given", ["not-a-url", "postgresql//host/db", "study.txt"])
def test_a_word_that_is_neither_a_url_nor_an_sqlite_path_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture, given: str) -> None:
    """A mistyped URL must not become a local SQLite file: workers on other machines,
    given the same mistake, would each keep a study of their own."""
    assert main([*QUICK, "--out", str(tmp_path / "run"), "--storage", given]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"--storage {given}" in err and "sqlite:///" in err and ".sqlite3" in err
    assert not (tmp_path / "run").exists() and not Path(given).exists()
