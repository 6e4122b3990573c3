"""``metaheur tune`` and the studies and folders it finds already there (regressions from
session 27's audit). Runs use the hidden ``--quick`` configuration."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import optuna
import pytest

from metaheur.cli import main
from metaheur.harness.report import summary_text
from metaheur.harness.storage import open_storage
from metaheur.harness.study import open_study

pytest.importorskip("torch")
pytest.importorskip("metaheur.models.objectives")

QUICK = ["tune", "--quick", "--n-jobs", "1", "--algo", "random", "--trials", "2"]


def test_another_studys_results_in_the_output_folder_are_not_overwritten(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Two studies with the default ``--out`` wrote one folder: the second replaced the
    first's trials.csv, best.json and plots without a word."""
    out = str(tmp_path / "runs")
    assert main([*QUICK, "--out", out, "--study", "s1", "-q"]) == 0
    capsys.readouterr()
    assert main([*QUICK, "--out", out, "--study", "s2", "-q"]) == 2
    err = capsys.readouterr().err
    assert "study 's1'" in err and "--out" in err and len(err.strip().splitlines()) == 1
    best = json.loads((tmp_path / "runs" / "best.json").read_text())
    assert best["study"] == "s1"
    assert "user_attrs" not in best  # tune's objective_label is no clash with the report's
    assert main([*QUICK, "--out", out, "--study", "s1", "--trials", "3", "-q"]) == 0  # resumes


def test_a_study_that_tune_did_not_make_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """A study of the default name made by another program (no configuration recorded)
    was adopted: its trials counted towards ``--trials`` and its best became tune's."""
    url = f"sqlite:///{tmp_path / 'rf' / 'study.db'}"
    (tmp_path / "rf").mkdir()
    other = optuna.create_study(study_name="lstm-elu-random", storage=url)
    other.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert main([*QUICK, "--out", str(tmp_path / "rf"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "'lstm-elu-random'" in err and "no tune configuration" in err
    assert len(other.trials) == 2
    # an empty study (made by another worker a moment before) is adopted and recorded, by
    # tune's strict opening only: the benchmarks' read-only looks never write
    optuna.create_study(study_name="empty", storage=url)
    study, created = open_study(open_storage(url), "empty", attrs={"algo": "pso"},
                                check=("algo",))
    assert not created and "algo" not in study.user_attrs
    study, created = open_study(open_storage(url), "empty", attrs={"algo": "pso"},
                                check=("algo",), strict=True)
    assert not created and study.user_attrs["algo"] == "pso"


def test_the_hint_for_another_data_source_is_an_option_that_works(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The hint said ``--data synthetic``, which is refused (no such folder)."""
    out = str(tmp_path / "r1")
    assert main([*QUICK, "--out", out, "-q"]) == 0
    capsys.readouterr()
    assert main([*QUICK, "--out", out, "--data-format", "digits", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--data-format synthetic" in err and "--data synthetic" not in err


def test_open_study_compares_data_folders_as_paths(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    (tmp_path / "a").mkdir()
    for folder in ("a", "a/../a", "b"):
        attrs = {"algo": "pso", "data_path": str(tmp_path / folder)}
        if folder == "b":
            with pytest.raises(ValueError, match="created with data_path=") as info:
                open_study(open_storage(url), "s", attrs=attrs, paths=("data_path",))
            assert info.value.resume_option == f"--data {tmp_path / 'a'}"
        else:
            open_study(open_storage(url), "s", attrs=attrs, paths=("data_path",))


def test_a_study_whose_values_are_all_inf_says_so() -> None:
    study = optuna.create_study()
    for _ in range(3):
        study.add_trial(optuna.trial.create_trial(value=math.inf))
    assert summary_text(study) == ("no complete trial with a finite value yet "
                                   "(3 complete, none finite)")
    assert summary_text(optuna.create_study()) == "no complete trial yet"


def test_importances_of_tied_values_raise_no_python_warning(tmp_path: Path) -> None:
    """Optuna's evaluator warned ("Target and region quantiles select the same set of
    trials") on stderr as a raw Python warning, even under ``-q``."""
    from metaheur.harness.plots import plot_importances

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0.0 + 0.8,
                   n_trials=3)  # tied: PED-ANOVA's two quantiles hold the same trials
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # (an old matplotlib beside a new pyparsing deprecates its calls: not ours)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        out = plot_importances(study, tmp_path / "imp.png")
    # Optuna 5's default evaluator draws equal bars; 4.5's fANOVA refuses zero variance (logged)
    assert out is None or out.is_file()


def test_the_advice_for_another_seed_works_as_written(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    """Regression (session 28's new-user walk-through): a resume with another --seed said
    "use --study to start another study", and doing just that was refused next, since the
    default --out held the first study's results. The advice names --out too, and works."""
    out = str(tmp_path / "runs")
    assert main([*QUICK, "--out", out, "-q"]) == 0
    capsys.readouterr()
    assert main([*QUICK, "--out", out, "--seed", "1", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--study NAME --out DIR" in err, err
    assert main([*QUICK, "--seed", "1", "--study", "s2", "--out", str(tmp_path / "s2"),
                 "-q"]) == 0
