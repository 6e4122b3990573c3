"""Contract of ``benchmarks/hpo_tasks.py``: one tiny end-to-end run, resume, and its statistics."""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from helpers import load_benchmark, restored_process_state  # noqa: E402


@pytest.fixture(scope="module")
def hpo():
    with restored_process_state():
        yield load_benchmark("hpo_tasks")


SAMPLERS = ["dlf-aoa", "tpe", "random"]
ARGS = ["--tasks", "select-breast_cancer", "--samplers", *SAMPLERS, "--trials", "6",
        "--report", "3", "6", "--seeds", "2"]


@pytest.fixture(scope="module")
def tiny_run(hpo, tmp_path_factory):
    out = tmp_path_factory.mktemp("hpo")
    assert hpo.main([*ARGS, "--out", str(out)]) == 0
    return out


def test_runs_csv_has_one_complete_row_per_run(hpo, tiny_run):
    runs = hpo.read_csv_exact(tiny_run / "runs.csv")
    assert list(runs.columns) == hpo.COLUMNS + hpo.OPTIONAL
    assert sorted(map(tuple, runs[hpo.KEY].values.tolist())) == sorted(
        ("select-breast_cancer", s, seed, 6) for s in SAMPLERS for seed in (0, 1))
    for r in runs.itertuples():
        trace = json.loads(r.trace)
        assert len(trace) == 6 and r.n_complete + r.n_failed == 6
        assert all(b <= a for a, b in zip(trace[:-1], trace[1:], strict=True))  # never rises
        assert trace[-1] == r.best
        assert json.loads(r.steps) == [0] * 6  # the task reports no intermediate value
    assert (tiny_run / "best_so_far.png").stat().st_size > 0


def test_summary_ranks_regret_and_pvalues(tiny_run):
    s = pd.read_csv(tiny_run / "summary.csv")
    assert set(s["budget"]) == {3, 6} and set(s["sampler"]) == set(SAMPLERS)
    assert (s["median_regret"] >= 0).all() and (s["q25_regret"] >= 0).all()
    assert s["mean_rank"].between(1, len(SAMPLERS)).all()
    # ranks of one (task, budget, seed) sum to 1 + 2 + 3, so their means over seeds do too
    assert s.groupby("budget")["mean_rank"].sum().to_numpy() == pytest.approx([6.0, 6.0])
    assert s.loc[s["sampler"] == "random", "p_vs_random"].isna().all()
    p = s["p_vs_tpe_holm"].dropna()
    assert p.between(0, 1).all() and (p >= s.loc[p.index, "p_vs_tpe"]).all()
    assert set(s["source"]) == {"own run", "read off 6"}


def _runs(rows: list[tuple[str, int, float | None]], hpo) -> pd.DataFrame:
    """runs.csv rows of mlp-wine with two trials; ``None``: every trial failed."""
    out = []
    for sampler, seed, v in rows:
        trace = [None, None] if v is None else [v + 1, v]
        out.append({"task": "mlp-wine", "sampler": sampler, "seed": seed, "trials": 2,
                    "best": math.nan if v is None else v, "n_complete": 0 if v is None else 2,
                    "n_failed": 2 if v is None else 0, "n_repeats": 0, "seconds": 1.0,
                    "best_params": "{}", "trace": json.dumps(trace)})
    return pd.DataFrame(out, columns=hpo.COLUMNS)


def test_a_run_whose_trials_all_failed_counts_as_the_worst_in_every_statistic(hpo):
    """Regression (session 26's audit): such a run was ranked last but left out of the
    medians and the tests, so a sampler failing on 7 of 10 seeds showed regret 0 and a
    significant "+R" against a random search that ranked better."""
    runs = _runs([("A", k, 0.1 if k < 3 else None) for k in range(10)]
                 + [("random", k, 0.5) for k in range(10)], hpo)
    s = hpo.summarise(runs, [2]).set_index("sampler")
    assert s.loc["A", "mean_rank"] > s.loc["random", "mean_rank"]
    assert s.loc["A", "median_best"] == math.inf and s.loc["A", "median_regret"] == math.inf
    assert s.loc["A", "a_vs_random"] < 0.5  # A tends worse, as its ranks say
    assert s.loc["A", "n_failed_runs"] == 7 and s.loc["random", "n_failed_runs"] == 0


def test_a_torn_line_costs_its_row_only(hpo, tmp_path, caplog):
    """Regression (session 26's audit): a line torn by a writer killed mid-append, or one
    with an extra field, made the whole runs.csv unreadable (every report stopped with
    status 2); and a blank line shifted the line numbers of the warnings after it."""
    path = tmp_path / "runs.csv"
    _runs([("random", k, 0.1 * k) for k in range(4)], hpo).to_csv(path, index=False)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1] + "\n" + lines[2].rstrip("\n") + ",extra\n"
                    + lines[3] + lines[4][:30])
    with caplog.at_level("WARNING"):
        runs = hpo.read_runs(path)
    assert runs["seed"].tolist() == [0, 2]
    assert "line 4: 12 fields where the header has 11" in caplog.text
    assert "line 6:" in caplog.text  # the torn last line, counted as in the file


def test_a_report_without_one_complete_seed_says_so(hpo, tmp_path, caplog):
    """Regression (session 26's audit): with no seed run by every sampler the summary had
    no columns and the report stopped with KeyError: 'budget'."""
    _runs([("random", 0, 0.3), ("tpe", 1, 0.2)], hpo).to_csv(tmp_path / "runs.csv",
                                                             index=False)
    rc = hpo.main(["--tasks", "mlp-wine", "--samplers", "random", "tpe", "--seeds", "2",
                   "--trials", "2", "--report", "2", "--report-only", "--no-plot",
                   "--out", str(tmp_path)])
    assert rc == 0
    assert "no seed was run by every sampler" in caplog.text
    assert list(pd.read_csv(tmp_path / "summary.csv").columns)[:3] == ["task", "budget",
                                                                       "sampler"]


def test_target_check_compares_dlf_aoa_with_random_and_our_best_with_tpe(hpo, tiny_run):
    s = pd.read_csv(tiny_run / "summary.csv")
    t = hpo.target_check(s, 6).iloc[0]
    assert t["our_best"] == "dlf-aoa"  # the only one of ours in this run
    assert t["dlf<random"] == (t["dlf-aoa"] < t["random"])


def test_rerun_skips_finished_runs(hpo, tiny_run, capsys):
    before = (tiny_run / "runs.csv").read_text()
    assert hpo.main([*ARGS, "--out", str(tiny_run), "--no-plot"]) == 0
    assert (tiny_run / "runs.csv").read_text() == before
    assert "| dlf-aoa |" in capsys.readouterr().out


def test_repeats_table_lists_the_samplers_run_as_counts(hpo, tiny_run, capsys):
    """Regression: reported with the default sampler list, samplers that were never run
    (e.g. GP) printed a NaN row and turned every count into a float ("0.0")."""
    assert hpo.main(["--report-only", "--tasks", "select-breast_cancer", "--trials", "6",
                     "--report", "6", "--seeds", "2", "--out", str(tiny_run), "--no-plot"]) == 0
    out = capsys.readouterr().out
    table = out.split("repeated parameter sets")[1].splitlines()[2:]
    names = [line.split()[0] for line in table if line.strip()]
    assert names == SAMPLERS
    assert all(line.split()[1].isdigit() for line in table if line.strip())


def test_holm_adjusts_in_step_down_order(hpo):
    # sorted p: .01*3 = .03, .03*2 = .06, .04*1 = .04 -> monotone .06
    assert hpo.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = hpo.holm([0.5, math.nan])
    assert out[0] == pytest.approx(0.5) and math.isnan(out[1])


def test_best_so_far_ignores_failed_trials(hpo):
    got = hpo.best_so_far([math.nan, 3.0, math.nan, 2.0, 5.0])
    assert math.isnan(got[0]) and got[1:] == [3.0, 3.0, 2.0, 2.0]


def test_mwu_handles_ties(hpo):
    assert hpo.mwu([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert hpo.mwu([0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]) < 0.05
    assert 0 < hpo.mwu([0.0, 1.0, 1.0], [1.0, 1.0, 2.0]) <= 1


def test_malformed_results_file_is_a_clear_error(hpo, tmp_path):
    (tmp_path / "runs.csv").write_text("task,seed\nx,0\n")
    with pytest.raises(ValueError, match=r"lacks the column\(s\)"):
        hpo.read_runs(tmp_path / "runs.csv")


def _damage(text: str, line: int, column: str, value: str, columns: list[str]) -> str:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    rows[line - 1][columns.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(("column", "value", "why"), [
    ("trace", "[0.1, oops", "trace"), ("best", "abc", "could not convert"),
    ("trace", "[0.5, 0.6, 0.4, 0.4, 0.4, 0.4]", "trace"), ("trace", "[0.5]", "trace"),
    ("best", "0.001", "best"), ("n_failed", "3", "n_complete"), ("seed", "0.5", "seed"),
    ("n_repeats", "-1", "n_repeats"), ("seconds", "inf", "seconds"),
    ("best_params", "[1, 2]", "best_params"), ("trials", "0", "trials"),
    # regression (review): these two crashed the reader (OverflowError, RecursionError)
    ("trace", "[" + "9" * 400 + ", 0.5, 0.5, 0.5, 0.5, 0.5]", "trace"),
    ("best_params", "[" * 100_000, "best_params"),
    ("steps", "[0, 0]", "steps"), ("steps", "[0, 0, 0, 0, 0, -1]", "steps"),
    ("steps", "[0, 0, 0, 0, 0, 1.5]", "steps"), ("steps", "{", "steps"),
])
def test_a_damaged_row_of_runs_csv_is_left_out_with_a_warning(hpo, tiny_run, tmp_path,
                                                              caplog, column, value, why):
    """``runs.csv`` is committed and merged by git: untrusted. A damaged row crashed the
    report with a traceback (a broken trace: JSONDecodeError); it is left out with one
    warning naming the file, the line and what is wrong, and the rest is reported."""
    path = tmp_path / "runs.csv"
    path.write_text(_damage((tiny_run / "runs.csv").read_text(), 3, column, value,
                            hpo.COLUMNS + hpo.OPTIONAL))
    with caplog.at_level("WARNING"):
        runs = hpo.read_runs(path)
    assert len(runs) == 5
    (msg,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert str(path) in msg and "line 3" in msg and why in msg
    assert hpo.main([*ARGS, "--out", str(tmp_path), "--report-only", "--no-plot"]) == 0


def test_a_runs_csv_from_before_the_steps_column_is_read_and_appended_to(hpo, tiny_run,
                                                                         tmp_path, caplog):
    """The committed files of earlier versions have no ``steps`` column: their rows read
    with empty steps, and a run appended to such a file keeps its columns and says that
    its steps are not kept (nothing lost silently)."""
    old = hpo.read_csv_exact(tiny_run / "runs.csv").drop(columns=hpo.OPTIONAL)
    path = tmp_path / "runs.csv"
    old.iloc[:-1].to_csv(path, index=False)
    runs = hpo.read_runs(path)
    assert len(runs) == len(old) - 1 and (runs["steps"] == "").all()
    new = hpo.read_runs(tiny_run / "runs.csv").iloc[-1].to_dict()
    new = {k: int(v) if k in hpo._COUNTS else v for k, v in new.items()}
    with caplog.at_level("WARNING"):
        assert hpo.append_run(path, new)
    assert any("steps" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records if r.levelname == "WARNING")
    again = hpo.read_runs(path)
    assert len(again) == len(old) and list(pd.read_csv(path).columns) == hpo.COLUMNS
    assert again.iloc[-1]["trace"] == new["trace"]


def test_unknown_names_are_rejected(hpo, tmp_path):
    with pytest.raises(SystemExit, match="unknown tasks"):
        hpo.main(["--tasks", "nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="unknown samplers"):
        hpo.main(["--samplers", "de", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        hpo.main(["--jobs", "0", "--out", str(tmp_path)])


def test_tasks_are_deterministic_and_conditional_space_branches(hpo):
    import optuna
    from _tasks import get_task

    task = get_task("select-breast_cancer")
    assert task.conditional
    values, params = [], []
    for _ in range(2):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
        study.optimize(task.make(), n_trials=4)
        values.append([t.value for t in study.trials])
        params.extend(t.params for t in study.trials)
    assert values[0] == values[1] and all(np.isfinite(values[0]))
    for p in params:  # only the chosen branch's parameters exist
        assert all(k == "classifier" or k.startswith(p["classifier"] + "_") for k in p)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_logreg_penalty_choice_changes_the_model(hpo):
    """Regression (session 26's audit): the L1/L2 choice was passed only as ``l1_ratio``,
    which scikit-learn before 1.8 ignores unless ``penalty="elasticnet"``: both branches fit
    the same L2 model there. L1 must zero coefficients that L2 keeps."""
    import optuna
    from _tasks import _select_breast_cancer, load

    X, y = load("breast_cancer")
    zeros = {}
    for penalty in ("l1", "l2"):
        trial = optuna.trial.FixedTrial({"classifier": "logreg", "logreg_C": 0.05,
                                         "logreg_penalty": penalty})
        model = _select_breast_cancer(trial).fit(X, y)
        zeros[penalty] = int((model[-1].coef_ == 0).sum())
    assert zeros["l2"] == 0 and zeros["l1"] >= 10


def test_report_only_with_no_runs_runs_nothing(hpo, tmp_path):
    assert hpo.main(["--report-only", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "runs.csv").exists()


def test_runs_never_prune_trials_that_report_progress(hpo, monkeypatch):
    """LSTM-ELU reports every epoch; Optuna's default MedianPruner would cut those trials."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.report(float(trial.number), step=0)  # each trial looks worse than the median
        if trial.should_prune():
            raise optuna.TrialPruned()
        return x

    task = hpo.TASKS["select-breast_cancer"]
    monkeypatch.setattr(hpo, "get_task", lambda name: type(task)(name, "", lambda: objective))
    row = hpo.run_one("reporting", "random", 0, 8)
    assert row["n_complete"] == 8 and row["n_failed"] == 0


def test_the_hyperband_task_prunes_with_hyperband(hpo):
    """``sgd-digits-hyperband`` trains as ``sgd-digits-pruned`` does, with Optuna's
    HyperbandPruner: trials stop at its rungs (steps 1, 3 and 9: after 2, 4 or 10 epochs,
    the first being step 0) or run all 20."""
    import optuna
    from _tasks import SGD_EPOCHS, get_task

    task = get_task("sgd-digits-hyperband")
    assert isinstance(task.make_pruner(), optuna.pruners.HyperbandPruner)
    row = hpo.run_one("sgd-digits-hyperband", "random", 0, 30)
    steps = json.loads(row["steps"])
    assert row["n_failed"] > 0 and row["n_complete"] + row["n_failed"] == 30
    assert set(steps) <= {2, 4, 10, SGD_EPOCHS} and SGD_EPOCHS in steps, steps


def test_a_hyperband_run_is_reproducible_from_its_seed(hpo, tmp_path):
    """Regression: HyperbandPruner puts a trial in a bracket by a hash of the study's name and
    the trial number, and the in-memory studies had Optuna's random names, so one seed gave
    other brackets, other epochs and other scores on every run (and a 200-trial run did not
    begin with the 100-trial run of its seed). A run's study is now named after its task
    and seed: the same in memory and in a study file, for every sampler and study length."""
    first = hpo.run_one("sgd-digits-hyperband", "random", 0, 12)
    again = hpo.run_one("sgd-digits-hyperband", "random", 0, 12)
    longer = hpo.run_one("sgd-digits-hyperband", "random", 0, 16, studies=str(tmp_path))
    assert again["steps"] == first["steps"] and again["trace"] == first["trace"]
    assert json.loads(longer["steps"])[:12] == json.loads(first["steps"])
    assert json.loads(longer["trace"])[:12] == json.loads(first["trace"])


def test_the_pruned_task_prunes_with_its_own_pruner_and_counts_pruned_trials(hpo, tmp_path):
    """``sgd-digits-pruned`` is the one task with a pruner (MedianPruner): its runs, in
    memory and in a study file, prune; a pruned trial is a trial of the budget without a
    value; the objective is deterministic."""
    import optuna
    from _tasks import SGD_EPOCHS, get_task

    task = get_task("sgd-digits-pruned")
    assert isinstance(task.make_pruner(), optuna.pruners.MedianPruner)
    assert isinstance(get_task("svc-digits").make_pruner(), optuna.pruners.NopPruner)
    row = hpo.run_one("sgd-digits-pruned", "random", 0, 16)
    assert row["n_failed"] > 0 and row["n_complete"] + row["n_failed"] == 16
    again = hpo.run_one("sgd-digits-pruned", "random", 0, 16, studies=str(tmp_path))
    assert again["trace"] == row["trace"] and again["n_failed"] == row["n_failed"]
    # the epochs each trial trained: all of them when it completed, fewer when pruned
    steps = json.loads(row["steps"])
    assert again["steps"] == row["steps"] and len(steps) == 16
    assert steps.count(SGD_EPOCHS) == row["n_complete"]
    assert all(1 <= k < SGD_EPOCHS for k in steps if k != SGD_EPOCHS)
    fixed = {"alpha": 1e-4, "eta0": 0.01, "learning_rate": "adaptive", "penalty": "l2",
             "average": False}
    values = []
    for _ in range(2):
        study = optuna.create_study(pruner=optuna.pruners.NopPruner())
        study.enqueue_trial(fixed)
        study.optimize(task.make(), n_trials=1)
        values.append(study.trials[0].value)
        assert len(study.trials[0].intermediate_values) == SGD_EPOCHS
    assert values[0] == values[1] and 0.0 < values[0] < 1.0


def test_seeds_missing_a_sampler_are_left_out_of_ranks(hpo):
    pts = pd.DataFrame({"task": "t", "budget": 5, "sampler": ["a", "b", "a"], "seed": [0, 0, 1],
                        "best": [1.0, 2.0, 0.5], "source": "own run"})
    kept = hpo.complete_seeds(pts)
    assert sorted(kept["seed"]) == [0, 0]


def test_worker_limits_openmp_and_blas_to_one_thread(hpo):
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(None):  # restore the caller's limits afterwards
        hpo._quiet_worker()
        info = threadpool_info()
        assert {d["internal_api"] for d in info} >= {"openmp"}
        assert all(d["num_threads"] == 1 for d in info), info


def test_scores_equal_to_12_digits_tie(hpo):
    a, b = 0.004077123807269434, 0.004077123807269323  # measured: same AUC, other sum order
    runs = pd.DataFrame([
        {"task": "t", "sampler": s, "seed": 0, "trials": 1, "best": v, "trace": json.dumps([v])}
        for s, v in (("x", a), ("y", b))
    ])
    s = hpo.summarise(runs, [1])
    assert (s["mean_rank"] == 1.5).all() and (s["median_regret"] == 0).all()


def test_sampler_variants_pass_options_to_our_samplers(hpo):
    s = hpo.make_sampler("dlf-aoa:pop_size=6,levy_scale=0.3", seed=0, n_trials=50)
    assert s._pop_size == 6 and s._algo_params == {"levy_scale": 0.3}
    assert s._n_trials == 50
    assert hpo.make_sampler("pso", seed=0, n_trials=100)._pop_size == 10  # the default
    assert hpo.parse_sampler("aco:pop_size=8") == ("aco", {"pop_size": 8})
    assert hpo.parse_sampler("dlf-aoa:levy_scale=unscaled") == ("dlf-aoa",
                                                               {"levy_scale": "unscaled"})
    assert hpo.parse_sampler("gwo:skip_evaluated=False,pop_size=9") == (
        "gwo", {"skip_evaluated": False, "pop_size": 9})  # a switch is a bool, not text
    assert hpo.make_sampler("gwo:skip_evaluated=false", seed=0,
                            n_trials=50)._store.skip_evaluated is False
    for bad in ("dlf-aoa:pop_size", "de:pop_size=4", "aoa:", "aoa:=3",
                "tpe:seed=3", "pso:n_trials=5"):  # the last two were TypeErrors
        with pytest.raises(ValueError, match="sampler"):
            hpo.parse_sampler(bad)


def test_optunas_samplers_take_their_options(hpo):
    """A fair peer: ``tpe:multivariate=true`` is TPE as its authors recommend it; GP is
    told that every task is deterministic unless its spec says otherwise."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental in Optuna
        s = hpo.make_sampler("tpe:multivariate=true,n_startup_trials=5", seed=0, n_trials=50)
    assert s._multivariate is True and s._n_startup_trials == 5
    with pytest.raises(ValueError, match="sampler 'tpe' has no population"):
        hpo.make_sampler("tpe:pop_size=4", seed=0, n_trials=50)
    gp = hpo.make_sampler("gp", seed=0, n_trials=50)  # the committed GP runs' sampler
    assert isinstance(gp, optuna.samplers.GPSampler) and gp._deterministic is True
    gp = hpo.make_sampler("gp:n_startup_trials=5,deterministic_objective=false", seed=0,
                          n_trials=50)
    assert (gp._n_startup_trials, gp._deterministic) == (5, False)


def test_any_registered_algorithm_is_a_sampler(hpo):
    """Restart variants (and plug-ins) are measured like the six: ``pso-ipop``, with options."""
    assert hpo.parse_sampler("pso-ipop") == ("pso-ipop", {})
    s = hpo.make_sampler("dlf-aoa-ipop:restart_patience=30", seed=0, n_trials=60)
    assert s._algo_params == {"restart_patience": 30} and s._n_trials == 60
    with pytest.raises(ValueError, match="registered algorithm"):
        hpo.parse_sampler("pso-bipop")


def test_sampler_variant_is_validated_on_the_command_line(hpo, tmp_path):
    with pytest.raises(SystemExit, match="pop_size must be"):
        hpo.main(["--samplers", "gwo:pop_size=1", "--out", str(tmp_path)])


def test_branch_table_counts_the_branch_of_each_runs_best_configuration(hpo):
    assert hpo.TASKS["select-breast_cancer"].branch == "classifier"
    assert hpo.TASKS["mlp-wine"].branch is None and not hpo.TASKS["mlp-wine"].conditional
    runs = pd.DataFrame({
        "task": ["select-breast_cancer"] * 4 + ["mlp-wine"],
        "sampler": ["dlf-aoa", "dlf-aoa", "random", "random", "random"],
        "seed": [0, 1, 0, 1, 0], "trials": [100] * 5,
        "best_params": [json.dumps({"classifier": c}) for c in ("svc", "logreg", "svc", "svc")]
        + [json.dumps({"width": 8})],
    })
    t = hpo.branch_table(runs)
    assert t.loc[("select-breast_cancer", "dlf-aoa")].to_dict() == {"logreg": 1, "svc": 1}
    assert t.loc[("select-breast_cancer", "random")].to_dict() == {"logreg": 0, "svc": 2}
    assert "mlp-wine" not in t.index.get_level_values("task")


def test_svc_digits_is_an_rbf_svc_on_a_fixed_stratified_600_digit_subset(hpo):
    """The first svc-digits (all digits, poly kernel among the choices) saturated: a cubic
    kernel without offset gives the same hard-margin SVM for every C * gamma^3 above a
    threshold. Pinned: RBF only, 600 digits, the same subset in every process."""
    import optuna
    from _tasks import get_task, load

    X, y = load("digits-600")
    assert X.shape == (600, 64)
    full = np.bincount(load("digits")[1])
    np.testing.assert_allclose(np.bincount(y), full * 600 / full.sum(), atol=1)  # stratified
    load.cache_clear()
    np.testing.assert_array_equal(load("digits-600")[0], X)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(get_task("svc-digits").make(), n_trials=1)
    assert set(study.trials[0].params) == {"n_components", "whiten", "C", "gamma"}
    # the poly plateau is gone: C and gamma trade off no longer (C * gamma^3 fixed)
    fixed = {"n_components": 16, "whiten": False}
    a = get_task("svc-digits").make()(optuna.trial.FixedTrial({**fixed, "C": 10.0, "gamma": 1e-3}))
    b = get_task("svc-digits").make()(optuna.trial.FixedTrial({**fixed, "C": 80.0, "gamma": 5e-4}))
    assert a != b
    with pytest.raises(ValueError, match="digits-600"):
        load("nope")


def test_paired_counts_seeds_and_tests_with_wilcoxon(hpo):
    """--paired compares a variant with its reference seed by seed: counts, medians and the
    signed-rank p-value on the seeds both ran (a seed one of them lacks is left out)."""
    from scipy.stats import wilcoxon

    ref = [0.30, 0.31, 0.29, 0.40, 0.35, 0.33, 0.32, 0.38]
    var = [0.28, 0.31, 0.25, 0.41, 0.30, 0.30, 0.31, 0.36]
    rows = [{"task": "t", "sampler": s, "seed": i, "trials": 2, "best": v,
             "trace": json.dumps([v + 0.1, v])}
            for s, vals in (("a", ref), ("a:x=1", var)) for i, v in enumerate(vals)]
    rows.append({"task": "t", "sampler": "a:x=1", "seed": 99, "trials": 2, "best": 0.0,
                 "trace": json.dumps([0.0, 0.0])})  # no reference run on seed 99
    got = hpo.paired(pd.DataFrame(rows), [1, 2], "a", "a:x=1")
    last = got[got["budget"] == 2].iloc[0]
    assert (last["n_seeds"], last["better"], last["worse"], last["equal"]) == (8, 6, 1, 1)
    assert last["median_ref"] == pytest.approx(np.median(ref))
    assert last["median_other"] == pytest.approx(np.median(var))
    # equal differences (0.02 twice, 0.01 in magnitude twice) tie, whatever their last bits
    assert last["p_wilcoxon"] == pytest.approx(wilcoxon(np.round(np.subtract(var, ref),
                                                                 12)).pvalue)
    first = got[got["budget"] == 1].iloc[0]  # read off the traces: every value + 0.1
    assert first["median_ref"] == pytest.approx(np.median(ref) + 0.1)
    assert hpo.wilcoxon_p([1.0, 2.0], [1.0, 2.0]) == 1.0
    assert math.isnan(hpo.wilcoxon_p([], []))


def test_paired_option_prints_and_writes_the_comparison(hpo, tiny_run, capsys):
    assert hpo.main([*ARGS, "--out", str(tiny_run), "--report-only", "--no-plot",
                     "--paired", "random", "dlf-aoa"]) == 0
    out = capsys.readouterr().out
    assert "paired by seed" in out and "p_wilcoxon" in out
    pairs = pd.read_csv(tiny_run / "paired.csv")
    assert list(pairs["budget"]) == [3, 6] and (pairs["n_seeds"] == 2).all()
    assert (pairs["better"] + pairs["worse"] + pairs["equal"] == 2).all()
    with pytest.raises(SystemExit):
        hpo.main([*ARGS, "--out", str(tiny_run), "--report-only", "--paired", "random", "gwo"])
    assert "gwo not among --samplers" in capsys.readouterr().err


def test_significance_mark_follows_the_test_not_the_medians(hpo):
    """Regression: a sampler significantly better than random search with the same median
    (svc-digits, DLF-AOA at 100 trials, seeds 0-19: both medians 0.02667, Holm p = 0.044)
    was marked -R, worse, because the sign came from comparing the medians."""
    better = [0.02, 0.02, 0.02, 0.02, 0.02, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]
    rand = [0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.04, 0.04, 0.04, 0.04, 0.04]
    runs = pd.DataFrame([{"task": "svc-digits", "sampler": s, "seed": i, "trials": 1,
                          "best": v, "trace": json.dumps([v])}
                         for s, vals in (("dlf-aoa", better), ("random", rand))
                         for i, v in enumerate(vals)])
    s = hpo.summarise(runs, [1])
    row = s[s["sampler"] == "dlf-aoa"].iloc[0]
    assert row["median_best"] == s[s["sampler"] == "random"].iloc[0]["median_best"]
    assert row["p_vs_random_holm"] < 0.05
    table = hpo.markdown_table(s, 1, ["dlf-aoa", "random"])
    assert "+R" in table and "-R" not in table, table
    swapped = runs.assign(sampler=runs["sampler"].map({"dlf-aoa": "random",
                                                       "random": "dlf-aoa"}))
    assert "-R" in hpo.markdown_table(hpo.summarise(swapped, [1]), 1, ["dlf-aoa", "random"])
    assert hpo.prob_lower([1, 2], [2, 3]) == pytest.approx(0.875)  # 3.5 of 4 pairs


def test_without_a_terminal_each_finished_run_is_logged_with_the_time_left(hpo, tmp_path,
                                                                           monkeypatch, caplog):
    """Run into a log file (no bar), a long benchmark still says how far it is: one line per
    finished run with its best score, its time and an estimate of the time left."""
    def fake_run(task, sampler, seed, trials, studies=None):
        return {"task": task, "sampler": sampler, "seed": seed, "trials": trials,
                "best": 0.25 * seed, "n_complete": trials, "n_failed": 0, "n_repeats": 0,
                "seconds": 1.5, "best_params": "{}",
                "trace": json.dumps([0.25 * seed] * trials)}, trials

    monkeypatch.setattr(hpo, "_run_counting", fake_run)
    jobs = [("mlp-wine", "gp", seed, 4) for seed in range(3)]
    with caplog.at_level("INFO", logger="hpo_tasks"):
        hpo.run_all(jobs, tmp_path / "runs.csv", 1)
    lines = [r.getMessage() for r in caplog.records if r.name == "hpo_tasks"]
    assert [line.split(":")[0] for line in lines] == [f"run {k} of 3" for k in (1, 2, 3)]
    assert "mlp-wine gp seed 1: best 0.25 in 2 s" in lines[1]
    assert lines[0].endswith("left)") and lines[-1].endswith("(about 0:00 left)")
    assert len(hpo.read_runs(tmp_path / "runs.csv")) == 3


# ------------------------------------------------------------- --studies: resumable runs
class _Killed(BaseException):
    """Stands for SIGKILL: neither an ``Exception`` nor a ``KeyboardInterrupt``, so Optuna
    neither catches it nor records the trial, which stays RUNNING as a killed process
    leaves it. (A ``KeyboardInterrupt`` is recorded as FAIL, then re-raised.)"""


def _counting_task(hpo, monkeypatch, kill_at: int | None = None,
                   kill: type[BaseException] = _Killed) -> list[int]:
    """``get_task`` replaced by a 1-d quadratic whose ``kill_at``-th call raises ``kill``;
    returns the list of the trial numbers evaluated."""
    import optuna

    calls: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        calls.append(trial.number)
        if kill_at is not None and len(calls) == kill_at:
            raise kill
        return (x - 0.3) ** 2

    task = hpo.TASKS["select-breast_cancer"]
    monkeypatch.setattr(hpo, "get_task", lambda name: type(task)(name, "", lambda: objective))
    return calls


def _points(hpo, studies, sampler: str, trials: int = 8) -> list[float]:
    """The points of the COMPLETE trials of a toy run's study file, in trial order."""
    import optuna

    path = hpo.study_file(studies, "toy", sampler, 0, trials)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{path}")
    return [t.params["x"] for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]


@pytest.mark.parametrize("kill", [_Killed, KeyboardInterrupt])
@pytest.mark.parametrize("sampler", ["dlf-aoa", "gwo", "random"])
def test_a_killed_run_continues_from_its_study_file(hpo, tmp_path, monkeypatch, sampler, kill):
    """With ``--studies`` a run killed (or stopped by Ctrl-C) part-way (a costly task: 12-45
    min per run) keeps its finished trials; started again it runs only the trials left, and
    the trial that was cut off counts neither as a trial nor as a failure (it ran 4 of 8,
    then 5 more). Ours restore their stream from the study: the run is the uninterrupted
    one; Optuna's resumed samplers are reseeded, so only the trials before the kill agree."""
    _counting_task(hpo, monkeypatch)
    whole = hpo.run_one("toy", sampler, 0, 8, studies=str(tmp_path / "whole"))  # uninterrupted
    _counting_task(hpo, monkeypatch, kill_at=4, kill=kill)
    with pytest.raises(kill):
        hpo.run_one("toy", sampler, 0, 8, studies=str(tmp_path))
    calls = _counting_task(hpo, monkeypatch)
    row = hpo.run_one("toy", sampler, 0, 8, studies=str(tmp_path))
    assert calls == [4, 5, 6, 7, 8]  # trial 3 was cut off: five trials left to run
    trace = json.loads(row["trace"])
    assert len(trace) == 8 and row["n_complete"] == 8 and row["n_failed"] == 0
    n = 3 if sampler == "random" else 8
    assert _points(hpo, tmp_path, sampler)[:n] == _points(hpo, tmp_path / "whole", sampler)[:n]
    assert trace[:n] == json.loads(whole["trace"])[:n]
    assert row["seconds"] > 0
    again = hpo.run_one("toy", sampler, 0, 8, studies=str(tmp_path))  # finished: no new trial
    assert again["trace"] == row["trace"] and again["best"] == row["best"]


def test_whole_run_in_a_study_file_equals_the_in_memory_run(hpo, tmp_path, monkeypatch):
    _counting_task(hpo, monkeypatch)
    for sampler in ("dlf-aoa", "tpe"):
        mem = hpo.run_one("toy", sampler, 3, 12)
        disk = hpo.run_one("toy", sampler, 3, 12, studies=str(tmp_path))
        assert disk["trace"] == mem["trace"] and disk["best_params"] == mem["best_params"]


def test_a_trial_left_running_by_a_killed_process_is_run_again(hpo, tmp_path, monkeypatch):
    import optuna

    _counting_task(hpo, monkeypatch, kill_at=3)
    with pytest.raises(_Killed):
        hpo.run_one("toy", "random", 0, 6, studies=str(tmp_path))
    path = hpo.study_file(tmp_path, "toy", "random", 0, 6)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{path}")
    study.ask()  # what SIGKILL leaves: a RUNNING trial
    calls = _counting_task(hpo, monkeypatch)
    row = hpo.run_one("toy", "random", 0, 6, studies=str(tmp_path))
    assert len(calls) == 4  # 2 of 6 counted; the killed and the RUNNING trial run again
    assert row["n_complete"] == 6 and row["n_failed"] == 0 and len(json.loads(row["trace"])) == 6


@contextlib.contextmanager
def _held_by_another_process(hpo, studies, seed: int = 0, trials: int = 4) -> Iterator[None]:
    """The lock of a toy run's study file held by another process while the block runs."""
    import subprocess
    import sys

    lock = hpo.study_file(studies, "toy", "random", seed, trials).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(  # flock is per open file: another process holds it
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(120)",
         str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_a_run_held_by_another_process_is_skipped(hpo, tmp_path, monkeypatch):
    calls = _counting_task(hpo, monkeypatch)
    with _held_by_another_process(hpo, tmp_path):
        assert hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path)) is None
        assert calls == []
    assert hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))["n_complete"] == 4


def test_the_time_left_counts_only_the_trials_this_process_ran(hpo, tmp_path, monkeypatch):
    """Regression: the estimate took every run that came back as a whole run done here, a
    resumed one (3 of its 4 trials run before) and one another process holds alike, so a
    resumed costly benchmark said "about 24:34 left" with hours to go. The work is counted
    in trials: those this process ran, against those of the runs still to come back."""
    from metaheur.harness import progress

    _counting_task(hpo, monkeypatch, kill_at=4)
    with pytest.raises(_Killed):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    _counting_task(hpo, monkeypatch)
    work: list[tuple[float, float]] = []
    monkeypatch.setattr(progress.ProgressBar, "set_work",
                        lambda self, done, remaining: work.append((done, remaining)))
    jobs = [("toy", "random", seed, 4) for seed in range(3)]
    with _held_by_another_process(hpo, tmp_path, seed=2):
        hpo.run_all(jobs, tmp_path / "runs.csv", 1, str(tmp_path))
    assert work == [(1, 8), (5, 4), (5, 0)]  # resumed: 1 trial run; held: none, none left


def test_a_foreign_or_mismatched_study_file_is_a_clear_error(hpo, tmp_path, monkeypatch):
    _counting_task(hpo, monkeypatch)
    path = hpo.study_file(tmp_path, "toy", "random", 0, 4)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all, 40 bytes of text.")
    with pytest.raises(ValueError, match="not a readable SQLite database"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path.unlink()
    hpo.run_one("toy", "random", 1, 4, studies=str(tmp_path))
    hpo.study_file(tmp_path, "toy", "random", 1, 4).rename(path)  # seed 1's study as seed 0's
    with pytest.raises(ValueError, match="holds the studies"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path.unlink()
    hpo.run_one("toy2", "random", 0, 4, studies=str(tmp_path))  # another task's study
    hpo.study_file(tmp_path, "toy2", "random", 0, 4).rename(path)
    with pytest.raises(ValueError, match="holds the studies"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path.unlink()
    hpo.run_one("toy", "tpe", 0, 4, studies=str(tmp_path))  # another sampler's: same name
    hpo.study_file(tmp_path, "toy", "tpe", 0, 4).rename(path)
    with pytest.raises(ValueError, match="created with sampler='tpe', not 'random'"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path.unlink()
    import optuna

    foreign = optuna.create_study(study_name=hpo.study_name("toy", 0), storage=f"sqlite:///{path}")
    foreign.enqueue_trial({"x": 0.5})
    foreign.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # not ours: has trials
    with pytest.raises(ValueError, match="lacks the attributes"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path.unlink()
    optuna.create_study(study_name=hpo.study_name("toy", 0), storage=f"sqlite:///{path}",
                        direction="maximize")
    with pytest.raises(hpo.StudyFileError, match=r"direction\(s\) maximize.*another --studies"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))  # was a bare ValueError


@pytest.mark.parametrize(("counted", "seconds", "extra"), [
    ("0 1", 1.0, 0), ([0, 0], 1.0, 0), ([0, 9], 1.0, 0), ([0, True], 1.0, 0), ([0], "1", 0),
    ([0], -1.0, 0), ([0, 1, 2, 4, 5], 1.0, 2), ([0, 1, 2], 1.0, 2),
])
def test_a_damaged_progress_record_is_a_clear_error(hpo, tmp_path, monkeypatch, counted,
                                                    seconds, extra):
    """The study file is untrusted: a record of the trials that count naming a trial twice,
    one that does not exist or more than the run's trials (``extra`` finished trials added
    after the kill, which no run of 4 trials has), or a negative time, would make a wrong
    row."""
    import optuna

    _counting_task(hpo, monkeypatch, kill_at=4)
    with pytest.raises(_Killed):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path = hpo.study_file(tmp_path, "toy", "random", 0, 4)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{path}")
    for _ in range(extra):
        study.tell(study.ask({"x": optuna.distributions.FloatDistribution(-1, 1)}), 0.5)
    study.set_user_attr("counted", counted)
    study.set_user_attr("seconds", seconds)
    calls = _counting_task(hpo, monkeypatch)
    with pytest.raises(ValueError, match="record of the trials that count .* is damaged"):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    assert calls == []


def test_an_intact_progress_record_resumes(hpo, tmp_path, monkeypatch):
    """The control of the test above: the same file with its record intact runs on."""
    _counting_task(hpo, monkeypatch, kill_at=4)
    with pytest.raises(_Killed):
        hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    calls = _counting_task(hpo, monkeypatch)
    assert hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))["n_complete"] == 4
    assert len(calls) == 1


def test_a_trial_recorded_just_before_a_kill_still_counts(hpo, tmp_path, monkeypatch):
    """Regression (review): a kill after Optuna recorded a trial COMPLETE but before the
    ``counted`` record was written made the resumed run evaluate one trial too many, and
    its row differ from the uninterrupted run's."""
    import optuna

    _counting_task(hpo, monkeypatch)
    whole = hpo.run_one("toy", "dlf-aoa", 0, 8, studies=str(tmp_path / "a"))
    _counting_task(hpo, monkeypatch, kill_at=6)
    with pytest.raises(_Killed):
        hpo.run_one("toy", "dlf-aoa", 0, 8, studies=str(tmp_path / "b"))
    path = hpo.study_file(tmp_path / "b", "toy", "dlf-aoa", 0, 8)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{path}")
    study.set_user_attr("counted", study.user_attrs["counted"][:-1])  # trial 4 not noted
    calls = _counting_task(hpo, monkeypatch)
    row = hpo.run_one("toy", "dlf-aoa", 0, 8, studies=str(tmp_path / "b"))
    assert calls == [6, 7, 8]  # only the trial cut off and the two never started
    assert _points(hpo, tmp_path / "b", "dlf-aoa") == _points(hpo, tmp_path / "a", "dlf-aoa")
    assert row["trace"] == whole["trace"] and row["best_params"] == whole["best_params"]


def test_a_study_finished_by_the_previous_version_after_a_missed_note_still_reads(
        hpo, tmp_path, monkeypatch):
    """Regression (review of the fix above): the previous version, resuming after a missed
    note, ran one trial more, so its finished study holds a COMPLETE trial that is not
    counted, followed by counted ones; it must still give its row, not 'damaged'."""
    import optuna

    _counting_task(hpo, monkeypatch)
    hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    path = hpo.study_file(tmp_path, "toy", "random", 0, 4)
    study = optuna.load_study(study_name=None, storage=f"sqlite:///{path}")
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(-1, 1)}), 0.5)
    study.set_user_attr("counted", [0, 2, 3, 4])  # trial 1's note was missed, 4 made up for it
    calls = _counting_task(hpo, monkeypatch)
    row = hpo.run_one("toy", "random", 0, 4, studies=str(tmp_path))
    assert calls == [] and row["n_complete"] == 4 and json.loads(row["trace"])[-1] <= 0.5


def test_a_row_is_kept_aside_when_runs_csv_became_unreadable(hpo, tmp_path, monkeypatch,
                                                             caplog):
    """A runs.csv damaged while a run was under way (a bad merge) must not cost the run:
    the row goes beside it, with an error naming both files."""
    _counting_task(hpo, monkeypatch)
    path = tmp_path / "runs.csv"
    path.write_text("not,our,columns\n1,2,3\n")
    row = hpo.run_one("toy", "random", 0, 3)
    with caplog.at_level("ERROR", logger="hpo_tasks"):
        assert hpo.append_run(path, row) is True
    assert path.read_text() == "not,our,columns\n1,2,3\n"
    spare = tmp_path / "runs.unsaved.csv"
    assert hpo.read_csv_exact(spare)["trace"].tolist() == [row["trace"]]
    (msg,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert str(path) in msg and str(spare) in msg and "toy random 0 3" in msg


def test_an_unreadable_runs_csv_is_an_error_message(hpo, tmp_path, capsys):
    (tmp_path / "runs.csv").write_text("not,our,columns\n1,2,3\n")
    assert hpo.main([*ARGS, "--out", str(tmp_path), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "lacks the column(s)" in err


def test_studies_option_writes_one_file_per_run(hpo, tmp_path):
    out = tmp_path / "out"
    args = ["--tasks", "select-breast_cancer", "--samplers", "random", "dlf-aoa:pop_size=3",
            "--trials", "4", "--report", "4", "--seeds", "1", "--no-plot"]
    assert hpo.main([*args, "--out", str(out), "--studies", str(tmp_path / "st")]) == 0
    files = sorted(p.name for p in (tmp_path / "st" / "select-breast_cancer").glob("*.db"))
    assert files == ["dlf-aoa%3Apop_size=3-seed0-trials4.db", "random-seed0-trials4.db"]
    assert len(hpo.read_runs(out / "runs.csv")) == 2


def test_processes_sharing_studies_append_each_run_once(hpo, tmp_path, monkeypatch, caplog):
    """Regression (review): a process reaching a run that another one had finished rebuilt
    its row from the study file and appended it a second time."""
    _counting_task(hpo, monkeypatch)
    jobs = [("toy", "random", seed, 3) for seed in (0, 1)]
    path = tmp_path / "runs.csv"
    hpo.run_all(jobs, path, 1, str(tmp_path / "st"))
    with caplog.at_level("INFO", logger="hpo_tasks"):
        hpo.run_all(jobs, path, 1, str(tmp_path / "st"))  # the second process's to-do list
    assert len(hpo.read_csv_exact(path)) == 2
    assert sum("another process finished it" in r.getMessage() for r in caplog.records) == 2
    study = hpo.study_file(tmp_path / "st", "toy", "random", 0, 3)
    import optuna

    stored = optuna.load_study(study_name=None, storage=f"sqlite:///{study}").user_attrs
    assert stored["seconds"] == hpo.read_csv_exact(path)["seconds"][0] or \
        round(stored["seconds"], 3) == hpo.read_csv_exact(path)["seconds"][0]


def test_a_bad_study_file_is_an_error_message_naming_studies(hpo, tmp_path, capsys):
    path = hpo.study_file(tmp_path / "st", "select-breast_cancer", "random", 0, 4)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all, forty bytes of it")
    args = ["--tasks", "select-breast_cancer", "--samplers", "random", "--trials", "4",
            "--report", "4", "--seeds", "1", "--no-plot", "--out", str(tmp_path / "out")]
    assert hpo.main([*args, "--studies", str(tmp_path / "st")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and "another --studies" in err


def test_long_sampler_specs_get_short_distinct_file_names(hpo, tmp_path):
    a = "aco-ipop:inner_params=" + '{"q": 0.1, "xi": 0.85, "n_ants": 10}' * 4
    b = a.replace("0.85", "0.86")
    fa, fb = (hpo.study_file(tmp_path, "t", s, 0, 100) for s in (a, b))
    assert fa != fb and len(fa.name) < 150 and len(fb.name) < 150


def test_a_study_killed_before_its_attributes_were_written_is_adopted(hpo, tmp_path,
                                                                      monkeypatch):
    import optuna

    _counting_task(hpo, monkeypatch)
    path = hpo.study_file(tmp_path, "toy", "random", 0, 3)
    path.parent.mkdir(parents=True)
    # no trial yet
    optuna.create_study(study_name=hpo.study_name("toy", 0), storage=f"sqlite:///{path}")
    assert hpo.run_one("toy", "random", 0, 3, studies=str(tmp_path))["n_complete"] == 3


# ------------------------------------------------ session 27's audit of the report
def test_differences_equal_to_12_digits_share_their_signed_rank(hpo):
    """Regression: the paired test ranked x − y unrounded, so differences equal in exact
    arithmetic (svc-digits scores are multiples of 1/600) ranked apart by their last bits;
    p = 0.68 was published where the tie-aware test gives 0.73."""
    from scipy.stats import wilcoxon

    from metaheur.harness import stats

    grid = np.arange(20) / 600
    steps = [1, 1, 1, 2, 1, 1, -1, 1, -2, 1]  # differences, in 600ths
    x = np.array([grid[i + k] if k > 0 else grid[i] for i, k in enumerate(steps)])
    y = np.array([grid[i] if k > 0 else grid[i - k] for i, k in enumerate(steps)])
    assert len({float(v) for v in x - y if v > 0}) > 2  # the bits differ: the defect's input
    exact = np.asarray(steps, dtype=float) / 600  # one rounding each: equal steps, equal bits
    assert hpo.wilcoxon_p(x, y) == pytest.approx(wilcoxon(exact).pvalue, rel=1e-12)
    assert stats.signed_rank(x, y) == pytest.approx(stats.signed_rank(exact, np.zeros(10)))
    d = stats.paired_differences(x, y)
    assert len(set(d[d > 0].tolist())) == 2  # 1/600 and 2/600


def test_a_sampler_without_runs_at_a_task_is_warned_about(hpo, caplog):
    """Regression: the sampler count came from the rows present, so a requested sampler
    with no run of a task was not noticed; ranks there were out of fewer samplers."""
    runs = _runs([(s, k, v + k) for k in range(3) for s, v in (("a", 0.1), ("b", 0.2))], hpo)
    with caplog.at_level(logging.WARNING, logger="hpo_tasks"):
        s = hpo.summarise(runs, [2], samplers=["a", "b", "gp"])
    assert "mlp-wine at 2 trials: no run of gp" in caplog.text
    assert sorted(s["sampler"]) == ["a", "b"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hpo_tasks"):
        hpo.summarise(runs, [2], samplers=["a", "b"])
    assert "no run of" not in caplog.text


def test_the_plotted_quartiles_count_failed_runs_as_the_worst(hpo):
    """Regression: the plot's nanpercentile left failed runs out (regret 0 for a sampler
    whose runs mostly failed), while the table counts them as +inf."""
    traces = np.array([[0.2, 0.1, 0.0], [np.nan] * 3, [np.nan] * 3])
    q25, med, q75 = hpo.trace_quartiles(traces)
    assert np.isinf(med).all() and np.isinf(q75).all()
    # a run with no value yet is the worst at that trial too
    q25, med, q75 = hpo.trace_quartiles(np.array([[np.nan, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    assert med.tolist() == [4.0, 3.0] and q25.tolist() == [3.0, 2.0]
    assert np.isinf(q75[0]) and q75[1] == 4.0
    # a quartile on a finite value beside +inf is that value (NumPy's lerp gives NaN)
    assert hpo.quantiles([1.0, 2.0, np.inf, np.inf, np.inf], [0.25]).tolist() == [2.0]
    assert hpo._quantile(pd.Series([1.0, 2.0, np.inf, np.inf, np.inf]), 0.25) == 2.0
    rng = np.random.default_rng(0)  # finite values: NumPy's own linear quantiles
    a = rng.normal(size=(7, 4))
    assert hpo.quantiles(a, [0.1, 0.5, 0.9]) == pytest.approx(
        np.percentile(a, [10, 50, 90], axis=0))


def test_float_noise_does_not_set_the_plots_log_scale(hpo):
    """Regression: the plot's regrets were not rounded to 12 digits as the table's are, so
    a last-bits difference (regret 5.6e-17 where the table says 0) set the linear range."""
    a, b = 0.004077123807269434, 0.004077123807269323
    runs = _runs([("x", 0, a), ("y", 0, b)], hpo)
    ref = hpo._reference(runs)["mlp-wine"]
    assert hpo.symlog_threshold(runs, ref) == pytest.approx(1.0)  # from the curves: 1 + v − v


def test_a_row_with_an_unknown_task_or_a_seed_past_int64_is_left_out(hpo):
    row = _runs([("a", 0, 0.1)], hpo).iloc[0].to_dict()
    assert hpo.run_problem(row) is None
    assert "unknown task" in hpo.run_problem({**row, "task": "mlp-wine "})
    assert "seed" in hpo.run_problem({**row, "seed": 1e20})


# -- audit (benchmarks): reports, resumable CSV, bad input, load average -----------------------
def test_report_budgets_above_every_run_fall_back_to_the_run_length(hpo, tmp_path, caplog):
    """Regression: ``--trials 4`` with the default ``--report 50 100 200`` ran every study,
    then reported nothing and blamed the seeds ("no seed was run by every sampler")."""
    _runs([("random", k, 0.3 + k) for k in range(2)]
          + [("tpe", k, 0.2 + k) for k in range(2)], hpo).to_csv(tmp_path / "runs.csv",
                                                                  index=False)
    with caplog.at_level(logging.WARNING, logger="hpo_tasks"):
        rc = hpo.main(["--tasks", "mlp-wine", "--samplers", "random", "tpe", "--seeds", "2",
                       "--trials", "2", "--report-only", "--no-plot", "--out", str(tmp_path)])
    assert rc == 0
    assert set(pd.read_csv(tmp_path / "summary.csv")["budget"]) == {2}
    assert "no seed was run by every sampler" not in caplog.text
    assert "--report 50, 100, 200" in caplog.text and "longest study" in caplog.text


@pytest.mark.parametrize("first", ["-1", str(2**32 - 1)])
def test_a_seed_no_sampler_accepts_is_refused_before_any_run(hpo, tmp_path, capsys, first):
    """Regression: ``--first-seed -1`` started the runs and died in the first one with a
    traceback from Optuna ("Seed must be between 0 and 2**32 - 1")."""
    with pytest.raises(SystemExit) as exc:
        hpo.main(["--tasks", "mlp-wine", "--samplers", "random", "--seeds", "2",
                  "--first-seed", first, "--trials", "2", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--first-seed" in capsys.readouterr().err
    assert not (tmp_path / "runs.csv").exists()


def test_gp_takes_options_as_the_help_says(hpo, capsys):
    """Regression: ``--help`` said every sampler "but gp" takes options; GP takes them."""
    sampler = hpo.make_sampler("gp:n_startup_trials=3", 0, 10)
    assert type(sampler).__name__ == "GPSampler" and sampler._n_startup_trials == 3
    with pytest.raises(SystemExit):
        hpo.main(["--help"])
    assert "all but gp" not in " ".join(capsys.readouterr().out.split())


def test_paired_counts_a_failed_run_as_the_worst(hpo):
    """Regression: ``--paired`` left out the seeds on which a run failed every trial (best
    NaN), so a variant that failed on half the seeds was "better on 3 of 3" while
    :func:`summarise` ranked it last there (+inf)."""
    runs = _runs([("ref", k, 0.5) for k in range(6)]
                 + [("var", k, None if k < 3 else 0.4) for k in range(6)], hpo)
    p = hpo.paired(runs, [2], "ref", "var").iloc[0]
    assert p["n_seeds"] == 6 and p["better"] == 3 and p["worse"] == 3
    assert p["median_other"] == math.inf


@pytest.mark.parametrize("header", ["extra", "reversed"])
def test_a_run_is_appended_under_the_files_own_header(hpo, tmp_path, header):
    """Regression: a runs.csv written by another version (another column order, or an extra
    column, both read fine) got each new row in this version's order: a misaligned or torn
    line, left out at the next read, so the finished run was lost and ran again."""
    path = tmp_path / "runs.csv"
    columns = [*hpo.COLUMNS, "note"] if header == "extra" else hpo.COLUMNS[::-1]
    path.write_text(",".join(columns) + "\n")
    row = _runs([("random", 0, 0.25)], hpo).iloc[0].to_dict()
    assert hpo.append_run(path, row)
    runs = hpo.read_runs(path)
    assert len(runs) == 1 and runs.loc[0, "best"] == 0.25 and runs.loc[0, "sampler"] == "random"
    assert path.read_text().splitlines()[0] == ",".join(columns)


def test_a_run_appended_after_a_last_line_without_newline_keeps_both(hpo, tmp_path):
    """Regression: a runs.csv whose last line lacks its newline (saved by an editor) got the
    next row glued to that line: one torn line, both finished runs lost."""
    path = tmp_path / "runs.csv"
    rows = _runs([("random", 0, 0.25), ("random", 1, 0.5)], hpo).to_dict(orient="records")
    assert hpo.append_run(path, rows[0])
    path.write_text(path.read_text().rstrip("\n"))
    assert hpo.append_run(path, rows[1])
    assert hpo.read_runs(path)["seed"].tolist() == [0, 1]


def test_timings_are_printed_with_the_load_average(hpo, capsys):
    """The project records the load average beside every timing; ``--time`` did not."""
    assert hpo.main(["--time", "--tasks", "select-breast_cancer"]) == 0
    assert "load average" in capsys.readouterr().out


def test_the_small_benchmarks_record_the_load_average(tmp_path, capsys):
    """``speed.py``, ``sampler_overhead.py`` and ``sampler_quality.py`` print timings; they
    did not record the load average beside them (speed.json: in its environment)."""
    with restored_process_state():
        speed = load_benchmark("speed")
        assert speed.main(["--repeats", "1", "--algos", "gwo", "--no-loops",
                           "--out", str(tmp_path / "speed")]) == 0
        assert "load average" in capsys.readouterr().out
        env = json.loads((tmp_path / "speed" / "speed.json").read_text())["environment"]
        assert len(env["loadavg_start"]) == 3 and len(env["loadavg_end"]) == 3
        overhead = load_benchmark("sampler_overhead")
        assert overhead.main(["--trials", "3", "--storages", "memory",
                              "--out", str(tmp_path / "so")]) == 0
        assert "load average" in capsys.readouterr().out
        quality = load_benchmark("sampler_quality")
        assert quality.main(["--trials", "3", "--seeds", "1", "--samplers", "random",
                             "--n-jobs", "1", "--out", str(tmp_path / "sq")]) == 0
        assert "load average" in capsys.readouterr().out


@pytest.mark.parametrize("script, argv", [
    ("sampler_quality", ["--trials", "0"]),
    ("sampler_quality", ["--seeds", "0"]),
    ("sampler_quality", ["--samplers", "nope"]),
    ("sampler_overhead", ["--trials", "0"]),
    ("distributed", ["--storages", "sqlit"]),
    ("distributed", ["--modes", "wiat"]),
    ("distributed", ["--kill", "maybe"]),
    ("distributed", ["--seeds", "none,x"]),
    ("distributed", ["--algos", "nope"]),
])
def test_bad_options_of_the_small_benchmarks_are_clear_errors(tmp_path, capsys, script, argv):
    """Regression: ``sampler_quality.py --trials 0`` (or ``--seeds 0``) ended in a traceback
    after its runs; ``distributed.py`` skipped an unknown storage silently (header, no rows,
    status 0) and ran a mistyped mode as the waiting one, labelled with the typo."""
    with restored_process_state(), pytest.raises(SystemExit) as exc:
        load_benchmark(script).main([*argv, "--out", str(tmp_path)] if script.startswith(
            "sampler") else argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_distributed_names_a_storage_it_cannot_reach(capsys, monkeypatch):
    """Regression: ``--storages postgres`` without METAHEUR_TEST_POSTGRES_URL printed an
    empty table and ended with status 0."""
    monkeypatch.delenv("METAHEUR_TEST_POSTGRES_URL", raising=False)
    with restored_process_state(), pytest.raises(SystemExit) as exc:
        load_benchmark("distributed").main(["--storages", "sqlite,postgres"])
    assert exc.value.code == 2
    assert "METAHEUR_TEST_POSTGRES_URL" in capsys.readouterr().err
