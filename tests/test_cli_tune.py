"""End-to-end ``metaheur tune`` / ``metaheur report`` runs in a temporary folder.

Every run uses the hidden ``--quick`` configuration (tiny synthetic data, one epoch: a trial
takes well under a second) so the whole file stays within a few minutes on 2 cores.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from metaheur.cli import main
from metaheur.harness.study import OPTUNA_SAMPLERS, algorithm_names
from metaheur.optuna import NO_POPULATION

pytest.importorskip("torch")
pytest.importorskip("metaheur.models.objectives")

ALGOS = algorithm_names()


def _tune(tmp_path: Path, *extra: str, name: str = "run") -> list[str]:
    return ["tune", "--quick", "--n-jobs", "1", "--out", str(tmp_path / name), *extra]


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
    out, err = capsys.readouterr()
    assert rc == 0, out + err
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
    assert best["objective_label"] == "1 − validation macro-F1"
    assert ": 1 − validation macro-F1 = " in out
    if algo not in OPTUNA_SAMPLERS:  # 6 trials of pop 3: one generation only (a warning)
        assert "metaheur tune: warning:" in err and "fewer than 5" in err
        assert "warning" not in out
    assert (run / "confusion_matrix.png").is_file() and (run / "roc.png").is_file()
    # the header names a population only where the sampler has one (TPE and random search
    # ignore --pop-size; the header used to print it for them too)
    assert (f"pop_size {pop}," in out + err) == (algo not in NO_POPULATION)


def test_too_few_generations_warning_counts_the_trials_of_a_generation(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """aco-ipop asks 10 ants per iteration whatever --pop-size (RESTART_TUNED): the warning
    says how many trials one of its generations takes, not the population (it read
    'generation(s) of 3' when each takes 10)."""
    rc = main(_tune(tmp_path, "--algo", "aco-ipop", "--trials", "5", "--pop-size", "3"))
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "5 trials give aco-ipop only 0 generation(s) of 10 trials after the initial " \
        "population of 3 (fewer than 5)" in err, err


def test_too_few_generations_advice_is_one_that_helps() -> None:
    """aco-ipop's generation is 10 ants whatever --pop-size: at the default 48 trials and pop
    8 it gets 4 generations, and the warning advised "lower --pop-size", which cannot give
    it 5. The advice names the --trials that do, and a --pop-size only where one helps."""
    from metaheur.harness.study import too_few_generations

    msg = too_few_generations("aco-ipop", 8, 48, minimum=5)
    assert msg is not None and "only 4 generation(s) of 10 trials" in msg, msg
    assert "raise --trials to at least 58" in msg and "--pop-size" not in msg, msg
    msg = too_few_generations("pso", 8, 40, minimum=5)  # (40 - p) // p >= 5 for p <= 6
    assert msg is not None and "raise --trials to at least 48 or lower --pop-size to 6" \
        in msg, msg
    assert too_few_generations("pso", 8, 48, minimum=5) is None
    assert too_few_generations("tpe", 8, 8, minimum=5) is None  # no generations to count
    # POA's generation is two rounds of its population
    msg = too_few_generations("poa", 8, 48, minimum=5)
    assert msg is not None and "of 16 trials" in msg and "at least 88" in msg, msg
    # --algo-param can change a generation: aco-ipop with 4 ants per iteration
    assert too_few_generations("aco-ipop", 8, 48, minimum=5, params={"n_ants": 4}) is None
    msg = too_few_generations("aco-ipop", 8, 20, minimum=5, params={"n_ants": 4})
    assert msg is not None and "only 3 generation(s) of 4 trials" in msg, msg


def test_too_few_generations_tries_no_population_above_the_trials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A huge --pop-size: the advice counted down from the population, a million tries for
    --pop-size 1000000; a population above --trials has 0 generations, so none is tried."""
    from metaheur.harness import study

    calls: list[int] = []
    real = study.generations
    monkeypatch.setattr(study, "generations",
                        lambda algo, p, *a, **k: calls.append(p) or real(algo, p, *a, **k))
    msg = study.too_few_generations("pso", 10**6, 48, minimum=5)
    assert msg is not None and "lower --pop-size to 8" in msg, msg
    assert max(calls[1:]) <= 48 and len(calls) < 50, (len(calls), max(calls[1:]))


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


def test_tune_records_the_split_and_an_earlier_study_keeps_its_own(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture) -> None:
    """Data without an official split (digits) are split stratified since session 25 (the
    check before never passed). A new study records it; a study tune created before it
    recorded the split continues on the shuffled split its trials were scored on, instead
    of mixing two validation splits in one study."""
    assert main(_tune(tmp_path, "--algo", "random", "--data-format", "digits", "--trials",
                      "2", "--study", "new")) == 0
    db = tmp_path / "run" / "study.db"
    storage = f"sqlite:///{db}"
    attrs = optuna.load_study(study_name="new", storage=storage).user_attrs
    assert attrs["split"] == "stratified"
    old = optuna.create_study(study_name="old", storage=storage)
    for key, value in attrs.items():
        if key in ("algo", "model", "profile", "seed", "data", "pop_size", "algo_params"):
            old.set_user_attr(key, value)
    with caplog.at_level(logging.INFO, logger="metaheur"):
        assert main(_tune(tmp_path, "--algo", "random", "--data-format", "digits", "--trials",
                          "2", "--study", "old", "--storage", storage, name="old")) == 0
    assert "continues with the shuffled split" in caplog.text
    old.set_user_attr("split", "by-hand")  # the storage is untrusted input
    capsys.readouterr()
    assert main(_tune(tmp_path, "--algo", "random", "--data-format", "digits", "--trials",
                      "3", "--study", "old", "--storage", storage, name="old")) == 2
    assert "study 'old' has a malformed split 'by-hand'" in capsys.readouterr().err


def test_the_stored_command_keeps_the_timeout_exactly(tmp_path: Path) -> None:
    """Regression (session 25's audit): the command stored in the study and best.json, and
    printed to resume, wrote --timeout with ``:g`` (six digits): 1234567.5 s became
    1.23457e+06 s. Whole values keep their short form."""
    for given in ("1234567.5", "7200"):
        name = f"t{given}"
        assert main(_tune(tmp_path, "--algo", "random", "--trials", "1", "--timeout", given,
                          name=name)) == 0
        best = json.loads((tmp_path / name / "best.json").read_text())
        assert f"--timeout {given} " in best["command"] + " ", best["command"]


def test_tune_ifm(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_tune(tmp_path, "--model", "ifm", "--algo", "random", "--trials", "2",
                      "--json")) == 0
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert json.loads(capsys.readouterr().out) == best  # --json: stdout is best.json alone
    assert best["objective_label"] == "1 − validation AUC"
    assert best["model"] == "ifm" and "auc" in best["best"]["metrics"]
    assert "alpha_scale" in best["search_space"]
    assert (tmp_path / "run" / "roc.png").is_file()


@pytest.mark.parametrize("algo", sorted(OPTUNA_SAMPLERS))
def test_optuna_samplers_accept_the_largest_seed(algo: str) -> None:
    """Regression: Optuna's samplers get ``seed + n`` (``n``: the first trial they sample
    for; ``seed + 1000 * worker + n`` before session 28), which passed 2**32 - 1 for a
    --seed near the top of the range it allows: resuming a study of --seed 4294967295 (or
    a second worker) ended in "Seed must be between 0 and 2**32 - 1". Two samplers of one
    study never start at the same trial, hence (1, 1) for a second worker."""
    import optuna

    from metaheur.cli.tune_stored import MAX_SEED
    from metaheur.harness.seeding import tune_sampler as _sampler

    if algo == "cmaes":
        pytest.importorskip("cmaes")
    drawn = []
    for worker, finished in ((0, 0), (0, 5), (1, 1), (2, 7)):
        sampler = _sampler(algo, MAX_SEED, 4, 8, {}, {}, worker)
        study = optuna.create_study(sampler=sampler)
        for _ in range(finished):  # a resumed study: its first trial here is #finished
            study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
        drawn.append(study.ask().suggest_float("x", 0.0, 1.0))
    assert len(set(drawn)) == len(drawn)  # workers and resumed runs still differ


@pytest.mark.parametrize("algo", ["random", "tpe", "gp", "cmaes"])
def test_copies_on_one_storage_draw_different_points(tmp_path: Path, algo: str) -> None:
    """Regression (session 25's audit): two copies of one tune command on one storage (two
    machines, as --storage's help invites) seeded Optuna's sampler with the same seed +
    finished trials, so they proposed the same configurations: half the trials repeated
    (trained twice, or answered from the study instead of exploring). A copy's sampler is
    now seeded with the number of the first trial it asks, which the storage makes unique;
    a lone run on a new study keeps the seed it had (its first trial is #0)."""
    import optuna

    from metaheur.harness.seeding import tune_sampler as _sampler

    if algo == "cmaes":
        pytest.importorskip("cmaes")
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="s", storage=url)
    a, b = (optuna.load_study(study_name="s", storage=url,
                              sampler=_sampler(algo, 0, 4, 8, {}, {}, 0)) for _ in range(2))
    points = []
    for _ in range(3):
        for copy in (a, b):
            t = copy.ask()  # two dimensions: the floors' cmaes refuses one
            x, y = t.suggest_float("x", 0.0, 1.0), t.suggest_float("y", 0.0, 1.0)
            copy.tell(t, (x - 0.3) ** 2 + y)
            points.append((x, y))
    assert len(set(points)) == len(points), points
    lone = optuna.create_study(sampler=_sampler(algo, 0, 4, 8, {}, {}, 0))
    ref = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)
                              if algo == "random" else None)
    if algo == "random":  # the lone run's first draw is seed 0's, as before
        assert lone.ask().suggest_float("x", 0.0, 1.0) == ref.ask().suggest_float("x", 0.0, 1.0)


def test_resume_counts_finished_trials(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--algo", "dlf-aoa", "--pop-size", "2"]
    assert main(_tune(tmp_path, *args, "--trials", "4")) == 0
    assert "(new)" in capsys.readouterr().out
    assert main(_tune(tmp_path, *args, "--trials", "8")) == 0
    out, err = capsys.readouterr()
    assert "resumed: 4 trials already finished" in out
    assert "fewer than 5" in err  # 8 trials of pop 2: 3 generations
    assert _states(tmp_path / "run" / "study.db") == ["COMPLETE"] * 8
    wall = json.loads((tmp_path / "run" / "best.json").read_text())["wall_seconds"]
    assert wall > 0
    # the same command again has nothing left to do, and keeps the study's wall time; it
    # gives no advice about generations it will not run (session 32's walk-through)
    assert main(_tune(tmp_path, *args, "--trials", "8")) == 0
    out, err = capsys.readouterr()
    assert "nothing to run" in out and "warning" not in err
    assert json.loads((tmp_path / "run" / "best.json").read_text())["wall_seconds"] == wall
    # another algorithm on the same study is refused
    assert main(_tune(tmp_path, "--algo", "gwo", "--study", "lstm-elu-dlf-aoa",
                      "--trials", "9")) == 2
    capsys.readouterr()
    # and so is another seed: it fixes the data split and the training, so its scores
    # cannot be compared with the study's (it used to be accepted silently)
    assert main(_tune(tmp_path, *args, "--trials", "9", "--seed", "1")) == 2
    err = capsys.readouterr().err
    assert "created with seed=0, not 1" in err and "--seed 0" in err
    assert _states(tmp_path / "run" / "study.db") == ["COMPLETE"] * 8


def _generation_params(db: Path, algo: str) -> list[dict]:
    """The hyper-parameters of every generation record the sampler stored in the study."""
    import optuna

    study = optuna.load_study(study_name=f"lstm-elu-{algo}", storage=f"sqlite:///{db}")
    return [v["opt"]["config"]["params"] for t in study.trials
            for k, v in t.system_attrs.items() if k.startswith(f"metaheur:{algo}:gen:")]


def test_algo_param_reaches_the_sampler_and_stays_with_the_study(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--algo-param sets the metaheuristic's hyper-parameters (and its sampler's options);
    the study records them, a resume without them keeps them, other ones are refused."""
    import optuna

    args = ["--algo", "dlf-aoa", "--pop-size", "2"]
    given = ["--algo-param", "boundary=reflect", "-p", "levy_scale=unscaled"]
    assert main(_tune(tmp_path, *args, "--trials", "4", *given)) == 0
    out = capsys.readouterr().out
    assert "boundary='reflect', levy_scale='unscaled'" in out
    db = tmp_path / "run" / "study.db"
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["algo_params"] == {"boundary": "reflect", "levy_scale": "unscaled"}
    assert "--algo-param boundary=reflect --algo-param levy_scale=unscaled" in best["command"]
    params = _generation_params(db, "dlf-aoa")
    assert params and all(p["boundary"] == "reflect" and p["levy_scale"] == 1.0
                           for p in params)
    # a resume without --algo-param keeps the study's (it used to be the defaults)
    assert main(_tune(tmp_path, *args, "--trials", "6", "-v")) == 0
    out, err = capsys.readouterr()
    assert "continues with its stored --algo-param boundary=reflect levy_scale=unscaled" in err
    assert "resumed: 4 trials already finished" in out
    params = _generation_params(db, "dlf-aoa")
    assert len(params) > 2 and all(p["boundary"] == "reflect" for p in params)
    # other values are refused, naming the ones that continue the study
    assert main(_tune(tmp_path, *args, "--trials", "7", "-p", "boundary=clip")) == 2
    err = capsys.readouterr().err
    assert "created with algo_params=" in err and "--algo-param boundary=reflect " in err
    assert len(err.strip().splitlines()) == 1
    # a study without recorded values (the published ones) refuses new ones likewise
    assert main(_tune(tmp_path, *args, "--trials", "2", name="plain")) == 0
    capsys.readouterr()
    assert main(_tune(tmp_path, *args, "--trials", "3", *given, name="plain")) == 2
    assert "(or no --algo-param to continue this one)" in capsys.readouterr().err
    # the stored values are untrusted input: checked like given ones, one line
    study = optuna.load_study(study_name="lstm-elu-dlf-aoa", storage=f"sqlite:///{db}")
    for bad, why in [("reflect", "an object of hyper-parameter values by name"),
                     ({"1x": 1}, "an object of hyper-parameter values by name"),
                     ({"levy_beta": 7}, "levy_beta must be a finite real number in [0.001, 2]"),
                     ({"pop_size": 3}, "set it with --pop-size"),
                     ({"os": "system"}, "dlf-aoa has no such hyper-parameter")]:
        study.set_user_attr("algo_params", bad)
        assert main(_tune(tmp_path, *args, "--trials", "7")) == 2
        err = capsys.readouterr().err
        assert "study 'lstm-elu-dlf-aoa' has" in err and why in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _states(db) == ["COMPLETE"] * 6


def test_algo_param_takes_the_samplers_options(tmp_path: Path, capsys: pytest.CaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An option of the sampler (skip_evaluated=false, for noisy objectives) reaches it
    beside the algorithm's hyper-parameters."""
    from metaheur.harness import study as tuning

    built: list[dict] = []
    make = tuning.make_sampler

    def recording(*a, **kw):  # noqa: ANN002, ANN003, ANN202 - make_sampler's signature
        built.append(kw)
        return make(*a, **kw)

    monkeypatch.setattr(tuning, "make_sampler", recording)  # one worker: this process
    assert main(_tune(tmp_path, "--algo", "pso", "--pop-size", "2", "--trials", "4",
                      "-p", "skip_evaluated=false", "-p", "w=0.5")) == 0
    assert len(built) >= 2  # the check before the data, then the worker's sampler
    assert all(kw["skip_evaluated"] is False and kw["w"] == 0.5 for kw in built)
    assert built[-1]["search_space"]  # the worker's, on the model's space
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["algo_params"] == {"skip_evaluated": False, "w": 0.5}
    assert "--algo-param skip_evaluated=false --algo-param w=0.5" in best["command"]
    assert all(p["w"] == 0.5 for p in _generation_params(tmp_path / "run" / "study.db", "pso"))


def test_algo_param_takes_consider_pruned_trials(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With a pruner, our sampler's ``consider_pruned_trials`` (a pruned trial counts with
    its last reported score) is an option ``--algo-param`` passes, as it is CMA-ES's."""
    from metaheur.harness import study as tuning

    built: list[dict] = []
    make = tuning.make_sampler
    monkeypatch.setattr(tuning, "make_sampler",
                        lambda *a, **kw: built.append(kw) or make(*a, **kw))
    assert main(_tune(tmp_path, "--algo", "pso", "--pop-size", "2", "--trials", "4",
                      "--pruner", "median", "-p", "consider_pruned_trials=true")) == 0
    assert built and all(kw["consider_pruned_trials"] is True for kw in built)
    assert built[-1]["search_space"]  # the worker's, on the model's space


@pytest.mark.parametrize(("algo", "options", "attrs"), [
    ("tpe", ["-p", "n_startup_trials=1", "-p", "multivariate=true"],
     {"_n_startup_trials": 1, "_multivariate": True}),
    ("cmaes", ["-p", "consider_pruned_trials=true", "-p", "n_startup_trials=2"],
     {"_consider_pruned_trials": True, "_n_startup_trials": 2}),
    ("gp", ["-p", "n_startup_trials=2", "-p", "deterministic_objective=true"],
     {"_n_startup_trials": 2, "_deterministic": True}),
])
def test_algo_param_reaches_optunas_samplers(tmp_path: Path, capsys: pytest.CaptureFixture,
                                             monkeypatch: pytest.MonkeyPatch, algo: str,
                                             options: list[str], attrs: dict) -> None:
    """--algo-param sets options of Optuna's samplers too (a fair TPE or CMA-ES beside ours);
    they stay with the study like the metaheuristics' hyper-parameters."""
    import warnings

    import optuna

    from metaheur.harness import study as tuning

    built: list = []
    make = tuning.make_sampler

    def recording(*a, **kw):  # noqa: ANN002, ANN003, ANN202 - make_sampler's signature
        built.append(make(*a, **kw))
        return built[-1]

    monkeypatch.setattr(tuning, "make_sampler", recording)  # one worker: this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental options
        assert main(_tune(tmp_path, "--algo", algo, "--pop-size", "2", "--trials", "3",
                          *options)) == 0
    assert built  # the worker's sampler (the check before the data builds its own)
    for sampler in built:
        assert {k: getattr(sampler, k) for k in attrs} == attrs
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert all(f"--algo-param {pair}" in best["command"] for pair in options[1::2])
    assert main(_tune(tmp_path, "--algo", algo, "--trials", "3", "-p",
                      "n_startup_trials=3")) == 2
    assert "was created with algo_params=" in capsys.readouterr().err
    # stored options are checked against the installed Optuna, which the error names
    study = optuna.load_study(study_name=f"lstm-elu-{algo}",
                              storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    study.set_user_attr("algo_params", {"n_startup_trials": "many"})
    assert main(_tune(tmp_path, "--algo", algo, "--trials", "4")) == 2
    err = capsys.readouterr().err
    assert (f"malformed for Optuna {optuna.__version__} (--algo-param: n_startup_trials of "
            "Optuna's") in err
    assert len(err.strip().splitlines()) == 1


def test_best_json_names_the_settings_of_the_runs_that_made_the_trials(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Regression: study attributes were stored at creation only, so a study created with
    --pop-size 2 and resumed with --pop-size 3 --pruner median had best.json say
    "pop_size": 2 and "pruner": "none" beside a "command" with --pop-size 3; and a run with
    nothing to do rewrote the command, n_jobs and run_seconds of the run that made the
    trials. The sampler takes a changed population like a changed --trials (a new run,
    warm-started from the completed trials), so it is accepted and recorded per run."""
    assert main(_tune(tmp_path, "--algo", "dlf-aoa", "--pop-size", "2", "--trials", "2")) == 0
    assert main(_tune(tmp_path, "--algo", "dlf-aoa", "--pop-size", "3", "--trials", "4",
                      "--pruner", "median")) == 0
    capsys.readouterr()
    path = tmp_path / "run" / "best.json"
    best = json.loads(path.read_text())
    assert best["pop_size"] == 3 and best["pruner"] == "median"
    assert "--pop-size 3" in best["command"] and "--pruner median" in best["command"]
    assert [(r["pop_size"], r["pruner"], r["trials"]) for r in best["runs"]] == [
        (2, "none", 2), (3, "median", 4)]
    assert "--pop-size 2" in best["runs"][0]["command"]
    # a run with nothing to do keeps the provenance of the run that made the trials
    assert main(_tune(tmp_path, "--algo", "dlf-aoa", "--pop-size", "5", "--trials", "3")) == 0
    assert "nothing to run" in capsys.readouterr().out
    again = json.loads(path.read_text())
    for key in ("command", "pop_size", "pruner", "n_jobs", "run_seconds", "runs"):
        assert again[key] == best[key], key


def test_resume_without_seed_keeps_the_studys_seed(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    """Regression: resuming without --seed was refused ("created with seed=3, not 0") while
    --profile was inherited; the stored seed is now inherited the same way."""
    import optuna

    args = ["--algo", "random"]
    assert main(_tune(tmp_path, *args, "--pop-size", "2", "--trials", "2", "--seed", "3")) == 0
    # random search keeps no population: the option is said to do nothing, not ignored
    # silently (session 32's walk-through)
    assert "--pop-size has no effect with random" in capsys.readouterr().err
    assert main(_tune(tmp_path, *args, "--trials", "3", "-v")) == 0
    out, err = capsys.readouterr()
    assert "resumed: 2 trials already finished" in out
    assert "seed 3 (the study's)" in out
    assert "INFO: study 'lstm-elu-random' continues with its stored seed 3" in err
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["seed"] == 3 and "--seed 3" in best["command"]  # the command that resumes
    assert _states(tmp_path / "run" / "study.db") == ["COMPLETE"] * 3
    # an explicit seed that differs stays an error naming the stored one
    assert main(_tune(tmp_path, *args, "--trials", "4", "--seed", "0")) == 2
    err = capsys.readouterr().err
    assert "created with seed=3, not 0" in err and "--seed 3" in err
    # a fresh study without --seed keeps the default, 0
    assert main(_tune(tmp_path, *args, "--trials", "1", name="fresh")) == 0
    capsys.readouterr()
    assert json.loads((tmp_path / "fresh" / "best.json").read_text())["seed"] == 0
    # the stored seed is untrusted input: a malformed one is a clear one-line error
    storage = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    study = optuna.load_study(study_name="lstm-elu-random", storage=storage)
    for bad in ("3; rm -rf /", -1, 2**32, 3.5, True, None):
        study.set_user_attr("seed", bad)
        for extra in ([], ["--seed", "3"]):
            assert main(_tune(tmp_path, *args, "--trials", "4", *extra)) == 2
            err = capsys.readouterr().err
            assert f"study 'lstm-elu-random' has a malformed seed {bad!r}" in err, err
            assert "integer between 0 and 4294967295" in err
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert _states(tmp_path / "run" / "study.db") == ["COMPLETE"] * 3


@pytest.mark.parametrize("bad", [5, "tpu", None, ["cpu"]])
def test_malformed_stored_profile_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, bad: object
) -> None:
    """The stored profile is untrusted input like the seed: a malformed one is a one-line
    error naming it (a non-string one was a TypeError traceback once the command that
    resumes named the profile)."""
    import optuna

    from metaheur.cli.tune_cmd import PROFILES
    from metaheur.models.objectives.base import PROFILES as OBJECTIVE_PROFILES

    assert PROFILES == OBJECTIVE_PROFILES  # the CLI's copy (no torch import for --help)
    (tmp_path / "run").mkdir()
    study = optuna.create_study(study_name="lstm-elu-random", direction="minimize",
                                storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}")
    study.set_user_attr("profile", bad)
    for extra in ([], ["--profile", "cpu"]):
        assert main(_tune(tmp_path, "--algo", "random", "--trials", "1", *extra)) == 2
        err = capsys.readouterr().err
        assert f"study 'lstm-elu-random' has a malformed profile {bad!r} in its storage" in err
        assert "cpu or gpu is allowed" in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("bad", ["abc", -5.0, float("nan"), [1]])
def test_malformed_stored_wall_seconds_costs_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, bad: object
) -> None:
    """The study's total run time is untrusted input too, but only a statistic: a malformed
    one is said on stderr and the count restarts from this run, after the trials ran (it
    was 'could not convert string to float' once they had, and no report was written)."""
    import optuna

    args = ["--algo", "random", "--trials", "1"]
    assert main(_tune(tmp_path, *args)) == 0
    storage = f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    optuna.load_study(study_name="lstm-elu-random", storage=storage).set_user_attr(
        "wall_seconds", bad)
    capsys.readouterr()
    assert main(_tune(tmp_path, "--algo", "random", "--trials", "2")) == 0
    err = capsys.readouterr().err
    assert f"malformed wall_seconds {bad!r}" in err and "Traceback" not in err, err
    wall = json.loads((tmp_path / "run" / "best.json").read_text())["wall_seconds"]
    assert isinstance(wall, float) and 0 < wall < 600


def _interrupt_trial(monkeypatch: pytest.MonkeyPatch, number: int) -> object:
    """LSTM-ELU's trial ``number`` raises KeyboardInterrupt (as Ctrl-C would); returns the
    original ``run``."""
    from metaheur.models.objectives import LSTMELUObjective

    original = LSTMELUObjective.run

    def interrupting(self, params, trial=None):  # noqa: ANN001, ANN202
        if trial is not None and trial.number == number:
            raise KeyboardInterrupt
        return original(self, params, trial)

    monkeypatch.setattr(LSTMELUObjective, "run", interrupting)
    return original


def test_keyboard_interrupt_saves_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metaheur.models.objectives import LSTMELUObjective

    original = _interrupt_trial(monkeypatch, 2)
    args = _tune(tmp_path, "--algo", "gwo", "--pop-size", "3", "--trials", "5")
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "Interrupted: 2 finished trials are saved" in err and "Resume with:" in err
    resume = err.split("Resume with:")[1].strip().splitlines()[0]
    assert resume.startswith("metaheur tune --algo gwo")
    db = tmp_path / "run" / "study.db"
    assert _states(db) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert (tmp_path / "run" / "trials.csv").is_file()  # what finished is reported
    assert not (tmp_path / "run" / "history.png").exists()  # no plots: a stop is quick

    monkeypatch.setattr(LSTMELUObjective, "run", original)
    assert main(resume.split()[1:] + ["--quiet", "--n-jobs", "1"]) == 0
    assert _states(db).count("COMPLETE") == 5


def test_a_stop_removes_the_plots_of_the_previous_run(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a stopped run rewrote trials.csv and best.json but kept the previous
    run's PNGs, which then described fewer trials or another best trial."""
    args = _tune(tmp_path, "--algo", "random", "--trials", "2")
    assert main(args) == 0
    run = tmp_path / "run"
    assert (run / "history.png").is_file() and (run / "roc.png").is_file()
    _interrupt_trial(monkeypatch, 3)
    capsys.readouterr()
    assert main(args[:-1] + ["5"]) == 130
    err = capsys.readouterr().err
    assert not [p.name for p in run.glob("*.png")]
    assert "plots of the earlier run were removed" in err and "metaheur report" in err
    assert len(pd.read_csv(run / "trials.csv")) == 4


def test_a_run_stopped_before_any_trial_finished_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a run stopped before any of its trials finished was recorded like one
    that made the study's trials: its record said ``"finished": 2`` (the study's total) and
    its --pop-size / --pruner / command replaced the top-level settings of best.json, which
    describe the run that made the trials. Now every run that started trials is recorded
    with the trials it finished (``new``) and how it ended (``ended``), and the top-level
    settings stay those of the latest run that finished trials."""
    from metaheur.models.objectives import LSTMELUObjective

    original = _interrupt_trial(monkeypatch, 0)  # a new study: stopped in its first trial
    first = _tune(tmp_path, "--algo", "dlf-aoa", "--pop-size", "2", "--trials", "2")
    assert main(first) == 130
    path = tmp_path / "run" / "best.json"
    best = json.loads(path.read_text())
    assert best["best"] is None and best["trials"]["fail"] == 1
    assert [(r["new"], r["ended"], r["finished"]) for r in best["runs"]] == [
        (0, "interrupted", 0)]
    monkeypatch.setattr(LSTMELUObjective, "run", original)
    assert main(first) == 0
    made = json.loads(path.read_text())
    assert [(r["new"], r["ended"]) for r in made["runs"]] == [(0, "interrupted"), (2, "done")]

    _interrupt_trial(monkeypatch, 3)  # the first trial of the next run
    capsys.readouterr()
    assert main(_tune(tmp_path, "--algo", "dlf-aoa", "--pop-size", "3", "--trials", "4",
                      "--pruner", "median")) == 130
    after = json.loads(path.read_text())
    for key in ("command", "pop_size", "pruner", "n_jobs", "run_seconds"):
        assert after[key] == made[key], key  # still the settings of the trials' run
    last = after["runs"][-1]
    assert (last["pop_size"], last["pruner"], last["new"], last["ended"], last["finished"]) \
        == (3, "median", 0, "interrupted", 2)


@pytest.mark.parametrize(("outcome", "timeout", "running", "ended"), [
    ((4, True, 3.0, None, signal.SIGINT), None, 0, "interrupted"),
    ((1, True, 3.0, None, signal.SIGTERM), None, 0, "terminated"),
    ((1, False, 3.0, "ValueError: x", None), None, 0, "error"),
    ((4, False, 3.0, None, None), 2.0, 0, "done"),
    ((2, False, 3.0, None, None), 2.0, 0, "timeout"),
    ((2, False, 3.0, None, None), None, 2, "others running"),
    ((2, False, 3.0, None, None), None, 0, "incomplete"),
])
def test_how_a_run_ended(outcome: tuple, timeout: float | None, running: int,
                         ended: str) -> None:
    import argparse

    from metaheur.cli.tune_results import ending
    from metaheur.harness.runs import TuneOutcome

    args = argparse.Namespace(trials=4, timeout=timeout)
    assert ending(TuneOutcome(*outcome), args, running) == ended


def test_resume_command_keeps_the_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a stop before the study existed (during the data stage) printed a resume
    command without the --profile given, so following it tuned the other profile's space."""
    from metaheur.models.objectives import LSTMELUObjective

    profiles: list[str] = []

    def interrupted(self) -> None:  # noqa: ANN001 - the data stage, before the study exists
        profiles.append(self.profile)
        raise KeyboardInterrupt

    monkeypatch.setattr(LSTMELUObjective, "prepare", interrupted)
    assert main(_tune(tmp_path, "--algo", "random", "--trials", "2", "--profile", "gpu")) == 130
    err = capsys.readouterr().err
    resume = err.split("Resume with:")[1].strip().splitlines()[0]
    assert "--profile gpu" in resume, resume
    assert main(resume.split()[1:] + ["--n-jobs", "1"]) == 130  # the resumed run: gpu too
    assert profiles == ["gpu", "gpu"]
    capsys.readouterr()
    # once known, the profile is part of the command that resumes (best.json's "command")
    monkeypatch.undo()
    assert main(_tune(tmp_path, "--algo", "random", "--trials", "1", name="cpu")) == 0
    capsys.readouterr()
    best = json.loads((tmp_path / "cpu" / "best.json").read_text())
    assert best["profile"] == "cpu" and "--profile cpu" in best["command"], best["command"]


def test_parallel_workers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["tune", "--quick", "--quiet", "--algo", "pso", "--pop-size", "2", "--trials",
               "4", "--n-jobs", "2", "--out", str(tmp_path / "par")])
    out = capsys.readouterr().out
    assert rc == 0
    assert _states(tmp_path / "par" / "study.db").count("COMPLETE") == 4
    assert out.startswith("best trial #")  # --quiet: no notes, nor the blank line after them


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--algo", "nope"], "unknown algorithm 'nope'; allowed: aco, aco-ipop, aoa"),
        (["--model", "resnet"], "unknown model 'resnet'; allowed: lstm-elu, ifm"),
        (["--trials", "0"], "argument --trials/-n: must be >= 1, got 0"),
        (["--n-jobs", "100000"], "argument --n-jobs/-j: must be between 1 and"),
        (["--seed", "-1"], "argument --seed: must be between 0 and"),
        (["--timeout", "nan"], "argument --timeout: must be a number > 0, got 'nan'"),
        (["--data-format", "dicom"], "unknown --data-format 'dicom'; allowed: synthetic"),
        (["--data", "/no/such/folder"], "no such file or folder"),
        (["--pruner", "asha"], "unknown pruner 'asha'; allowed: none, median"),
        (["--pop-size", "2", "--algo", "gwo"], "--pop-size must be >= 3 for gwo"),
        (["--storage", "not-a-url"], "--storage not-a-url: not a storage URL (sqlite:///"),
        (["--out", "/dev/null/x"], "cannot write to /dev/null/x: a part of the path is a file"),
        (["-p", "levy_scale=-1"], "levy_scale must be a finite real number in [0, "),
        (["-p", "n_trials=3"], "--algo-param n_trials: set it with --trials"),
        (["-p", "search_space={}"], "--algo-param search_space: set it with --profile"),
        (["-p", "union_space=false"], "--algo-param union_space: dlf-aoa has no such"),
        (["--algo", "tpe", "-p", "w=1"],
         "--algo-param: sampler 'tpe' has no option 'w'; allowed: "),
        (["--algo", "tpe", "-p", "gamma=1"], "--algo-param: sampler 'tpe' has no option 'gamma'"),
        (["--algo", "tpe", "-p", "multivariate=yes"],
         "multivariate of Optuna's tpe sampler must be a bool"),
        (["--algo", "cmaes", "-p", "popsize=4"], "--algo-param popsize: set it with --pop-size"),
        (["--algo", "tpe", "-p", "popsize=4"],
         "--algo-param: sampler 'tpe' has no option 'popsize'"),
        (["--algo", "cmaes", "-p", "restart_strategy=ipop"],
         "--algo-param: sampler 'cmaes': Optuna ignores restart_strategy since version 4.4"),
        (["--algo", "random", "-p", "seed=4"], "--algo-param seed: set it with --seed"),
        (["-p", "boundary"], "argument --algo-param/-p: expected KEY=VALUE"),
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


def test_a_registered_models_own_format_reaches_its_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: --data-format of a format registered with a model
    (``register_model(..., formats=...)``, README "Adding a model") went to the built-in
    layout detection: "unknown data format" with --data, "needs --data PATH" without, so
    the format could not be used. Its objective gets it as ``source`` with ``--data``'s
    path (or ``None``) as ``root``, as the README says."""
    from metaheur.models import catalog
    from metaheur.models.objectives import LSTMELUObjective

    class Probe(LSTMELUObjective):
        name = "probe"

        def __init__(self, *, source: str, root: str | None, **kw: object) -> None:
            super().__init__(**kw)
            self.given = (source, root)

        def prepare(self) -> None:  # stop before any work, saying what arrived
            raise ValueError(f"probe got source={self.given[0]} root={self.given[1]}")

    monkeypatch.setitem(catalog.MODELS, "probe", Probe)
    monkeypatch.setitem(catalog.FORMATS, "probefmt", "probe")
    (tmp_path / "mine").mkdir()
    base = ["tune", "--n-jobs", "1", "--algo", "random", "--out", str(tmp_path / "run"),
            "--data-format", "probefmt"]
    assert main([*base, "--model", "probe", "--data", str(tmp_path / "mine")]) == 2
    assert f"probe got source=probefmt root={tmp_path / 'mine'}" in capsys.readouterr().err
    assert main([*base, "--model", "probe"]) == 2
    assert "probe got source=probefmt root=None" in capsys.readouterr().err
    # the format still feeds its own model only, and a missing path is still an error
    assert main([*base, "--data", str(tmp_path / "mine")]) == 2
    assert "--data-format probefmt feeds --model probe, not lstm-elu" in capsys.readouterr().err
    assert main([*base, "--model", "probe", "--data", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "model"), [("iqothnccd", "lstm-elu"), ("chestct", "lstm-elu"),
                                            ("nodulemnist3d", "ifm"), ("lidc", "ifm")])
def test_empty_folder_names_the_layout_of_the_format_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str, model: str
) -> None:
    """Regression: an explicit --data-format on an empty folder printed every format's
    layout; it names the one asked for (the others only when detecting)."""
    from metaheur.models.data.types import LAYOUTS

    (tmp_path / "empty").mkdir()
    assert main(_tune(tmp_path, "--data", str(tmp_path / "empty"), "--data-format", fmt,
                      "--model", model)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"has no {fmt} dataset" in err and LAYOUTS[fmt] in err, err
    assert not [other for other in LAYOUTS if other != fmt and LAYOUTS[other] in err]
    # a file that is not one: the same
    (tmp_path / "notes.txt").write_text("not a dataset")
    assert main(_tune(tmp_path, "--data", str(tmp_path / "notes.txt"), "--data-format", fmt,
                      "--model", model)) == 2
    err = capsys.readouterr().err
    assert f"is not a dataset file of the {fmt} format" in err and LAYOUTS[fmt] in err, err
    assert not [other for other in LAYOUTS if other != fmt and LAYOUTS[other] in err]


def test_unreachable_storage_masks_password(tmp_path: Path, capsys: pytest.CaptureFixture
                                            ) -> None:
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/optuna"
    assert main(_tune(tmp_path, "--storage", url)) == 2
    captured = capsys.readouterr()
    assert "cannot open storage postgresql://alice:***@127.0.0.1:1/optuna" in captured.err
    assert "s3cr3t-pw" not in captured.err + captured.out
    assert len(captured.err.strip().splitlines()) == 1


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

    from metaheur.harness import storage as tuning

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

    from metaheur.harness import storage as tuning

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


# --------------------------------------------------------- secrets, signals (issue 12)
@pytest.mark.parametrize(("url", "secret"), __import__("test_cli_report").PASSWORD_FORMS)
def test_tune_writes_no_password_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch, url: str,
                                          secret: str) -> None:
    """Every file ``tune`` writes, its output and the study's attributes, for each form a
    password can take in --storage (the database itself is a local SQLite file)."""
    import optuna

    db = f"sqlite:///{tmp_path / 'real.db'}"

    class Local(optuna.storages.RDBStorage):  # whatever the URL, this SQLite file
        def __init__(self, _url: str, **kw: object) -> None:
            kw.pop("engine_kwargs", None)
            super().__init__(db, **kw)

    monkeypatch.setattr(optuna.storages, "RDBStorage", Local)
    rc = main(_tune(tmp_path, "--algo", "random", "--trials", "1", "--storage", url))
    out, err = capsys.readouterr()
    blobs = [out.encode(), err.encode()]
    if "://" in url:
        assert rc == 0, err
        blobs += [f.read_bytes() for f in (tmp_path / "run").rglob("*") if f.is_file()]
        stored = Local(db)
        study = optuna.load_study(study_name="lstm-elu-random", storage=stored)
        assert "***" in study.user_attrs["storage"]
        system = stored.get_study_system_attrs(stored.get_study_id_from_name(study.study_name))
        blobs.append(json.dumps([study.user_attrs, system]).encode())
        blobs += [json.dumps([t.user_attrs, t.system_attrs]).encode() for t in study.trials]
    else:  # not a URL: one masked error line
        assert rc == 2 and len(err.strip().splitlines()) == 1
    for blob in blobs:
        assert secret.encode() not in blob


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen:
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    cmd = [sys.executable, "-m", "metaheur", "tune", "--quick", "--algo", "random",
           "--trials", "500", "--out", str(tmp_path / "run"), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def _wait_for(db: Path, state: str | None, proc: subprocess.Popen, limit: float = 240) -> None:
    import time

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if db.is_file():
            try:
                if state is None or state in _states(db):
                    return
            except sqlite3.OperationalError:  # tables not created yet, or busy
                pass
        time.sleep(0.2)
    raise AssertionError(f"no {state} trial in {db}: {proc.communicate(timeout=30)}")


def _assert_clean_stop(proc: subprocess.Popen, db: Path, code: int) -> str:
    out, err = proc.communicate(timeout=90)  # a hang (the old 2 min 14 s) fails here
    assert proc.returncode == code, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "database is locked" not in err
    assert "Resume with:" in err
    assert "RUNNING" not in _states(db), err  # seen twice under load 3-4.6: say what it said
    assert not db.with_name("study.db-journal").exists()
    return err


@pytest.mark.slow
@pytest.mark.parametrize(("n_jobs", "signum"), [("2", signal.SIGTERM), ("1", signal.SIGTERM),
                                                 ("1", signal.SIGINT)])
def test_signal_mid_run_stops_cleanly(tmp_path: Path, n_jobs: str, signum: int) -> None:
    """Regression: SIGTERM killed the parent and left workers training (n-jobs 2) or left the
    trial RUNNING (n-jobs 1); a Ctrl-C near the end of a trial could be swallowed."""
    proc = _start(tmp_path, "--n-jobs", n_jobs)
    db = tmp_path / "run" / "study.db"
    _wait_for(db, "COMPLETE", proc)
    proc.send_signal(signum)  # the parent only, as a scheduler or `kill` does
    err = _assert_clean_stop(proc, db, 128 + signum)
    assert ("Stopped by SIGTERM" if signum == signal.SIGTERM else "Interrupted") in err


@pytest.mark.slow
def test_ctrl_c_while_workers_start_is_quiet(tmp_path: Path) -> None:
    """Regression: an early Ctrl-C printed ~90 lines of tracebacks from workers that were
    still importing torch."""
    import time

    proc = _start(tmp_path, "--n-jobs", "2")
    db = tmp_path / "run" / "study.db"
    _wait_for(db, None, proc)  # the study exists: the workers are being spawned
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    _assert_clean_stop(proc, db, 130)


def test_storage_failure_during_a_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: a full disk under the study's database ended in a traceback."""
    from sqlalchemy.exc import OperationalError

    from metaheur.models.objectives import LSTMELUObjective

    def full(self, params, trial=None):  # noqa: ANN001, ANN202
        raise OperationalError("INSERT INTO trial_values", {}, Exception(
            "database or disk is full"))

    monkeypatch.setattr(LSTMELUObjective, "run", full)
    assert main(_tune(tmp_path, "--algo", "random", "--trials", "2")) == 2
    err = capsys.readouterr().err
    assert err.startswith("metaheur tune: error: storage failed: sqlite:///")
    assert "database or disk is full" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("directions", [["maximize"], ["minimize", "minimize"]])
def test_tune_refuses_a_study_that_does_not_minimise_one_objective(
        tmp_path: Path, directions: list[str]) -> None:
    """``tune --storage URL --study NAME`` on a study another tool made to maximise (or with
    two objectives) is refused before a trial runs; it used to load it and let the sampler
    maximise 1 - F1, i.e. look for the worst network."""
    import optuna

    from metaheur.harness.storage import open_storage
    from metaheur.harness.study import open_study

    url = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(storage=url, study_name="theirs", directions=directions)
    with pytest.raises(ValueError, match="minimis") as info:
        open_study(open_storage(url), "theirs")
    assert "--study" in str(info.value)
    assert [s.directions for s in optuna.get_all_study_summaries(url)] == \
        [[optuna.study.StudyDirection[d.upper()] for d in directions]]
    study, created = open_study(open_storage(url), "mine")  # a new study is still made
    assert created and study.direction == optuna.study.StudyDirection.MINIMIZE
