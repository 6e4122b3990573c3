"""Contract of ``benchmarks/tune_models.py``: a tiny design end to end, resume after a stop and
a kill without redoing a finished trial, honest selection, and storages it must refuse."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
import optuna  # noqa: E402
from helpers import load_benchmark, restored_process_state  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

ALGOS = ["dlf-aoa", "tpe", "random"]
SEEDS = (0, 1)
TRIALS = 3
ARGS = ["--quick", "--datasets", "synthetic", "--algos", ",".join(ALGOS), "--seeds", "2",
        "--trials", str(TRIALS), "--no-progress"]


@pytest.fixture(scope="module")
def tm():
    import torch  # noqa: F401  (loaded first, so its thread count is restored afterwards)

    with restored_process_state():
        yield load_benchmark("tune_models")


def _load(tm, out: Path, algo: str, seed: int) -> optuna.Study:
    study = tm.open_design_study(tm.study_path(out, "synthetic", algo, seed), "synthetic", algo,
                                 seed, tm.Design(TRIALS, quick=True), create=False)
    assert study is not None
    return study


def _finished(study: optuna.Study) -> dict[int, tuple]:
    return {t.number: (t.params, t.value, t.datetime_start)
            for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))}


@pytest.fixture(scope="module")
def resumed(tm, tmp_path_factory):
    """Run 5 trials, leave a trial RUNNING as a killed process would, then rerun to the end."""
    out = tmp_path_factory.mktemp("tune_models")
    assert tm.main([*ARGS, "--out", str(out), "--max-new-trials", "5"]) == 0
    first = {(a, s): _finished(_load(tm, out, a, s))
             for a in ALGOS for s in SEEDS if tm.study_path(out, "synthetic", a, s).exists()}
    assert sum(map(len, first.values())) == 5
    killed = _load(tm, out, "tpe", 0)  # the study the limit stopped half-way
    assert len(_finished(killed)) == 2
    orphan = killed.ask()  # a trial whose process was killed: RUNNING for ever
    assert tm.main([*ARGS, "--out", str(out)]) == 0
    return out, first, orphan.number


@pytest.mark.slow  # one tiny design run twice: about 15 s on 2 cores
def test_resume_finishes_each_study_without_redoing_a_trial(tm, resumed):
    out, first, orphan = resumed
    total = 0
    for a in ALGOS:
        for s in SEEDS:
            study = _load(tm, out, a, s)
            now = _finished(study)
            assert len(now) == TRIALS  # exactly the design's count, the orphan not counted
            before = first.get((a, s), {})
            assert all(now[n] == rec for n, rec in before.items())  # kept, not re-run
            total += len(now) - len(before)
            running = study.get_trials(states=(TrialState.RUNNING,))
            assert running == []
    assert total == len(ALGOS) * len(SEEDS) * TRIALS - 5
    # a resumed sampler draws new points: a seeded RandomSampler (TPE's start-up) restarted
    # with its first seed re-proposed trial 0's parameters, a wasted trial of the budget
    runs = pd.read_csv(out / "runs.csv")
    assert (runs["n_reused"] == 0).all(), runs[["algo", "seed", "n_reused"]]
    killed = _load(tm, out, "tpe", 0).trials[orphan]
    assert killed.state == TrialState.FAIL


@pytest.mark.slow  # one tiny design run twice: about 15 s on 2 cores
def test_a_rerun_of_a_finished_design_runs_nothing(tm, resumed):
    out, _, _ = resumed
    before = {(a, s): len(_load(tm, out, a, s).trials) for a in ALGOS for s in SEEDS}
    assert tm.main([*ARGS, "--out", str(out), "--no-plot"]) == 0
    assert before == {(a, s): len(_load(tm, out, a, s).trials) for a in ALGOS for s in SEEDS}


@pytest.mark.slow  # one tiny design run twice: about 15 s on 2 cores
def test_a_rerun_does_not_reopen_finished_studies_at_every_pass(tm, resumed, monkeypatch):
    """A study found finished at the start is not opened again at each --chunk pass: the
    restart of a 10-seed run with 4 seeds done spent 4 minutes reopening 36 finished studies
    five times each before its first trial."""
    out, _, _ = resumed
    calls: list[tuple] = []
    real = tm.Runner._run_study
    monkeypatch.setattr(tm.Runner, "_run_study",
                        lambda self, *a: calls.append(a[:3]) or real(self, *a))
    assert tm.main([*ARGS, "--out", str(out), "--no-plot", "--chunk", "1"]) == 0
    assert calls == []


@pytest.mark.slow  # one tiny design run twice: about 15 s on 2 cores
@pytest.mark.filterwarnings("ignore::metaheur.models.metrics.UndefinedMetricWarning")
def test_selection_on_validation_reported_on_test(tm, resumed):
    out, _, _ = resumed
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(zip(runs["algo"], runs["seed"], strict=True)) == sorted(
        (a, s) for a in ALGOS for s in SEEDS)
    from metaheur.models.objectives import get_objective

    for r in runs.itertuples():
        study = _load(tm, out, r.algo, r.seed)
        done = [t for t in study.trials if t.state == TrialState.COMPLETE]
        best = min(done, key=lambda t: (t.value, t.number))
        assert r.best_trial == best.number and r.val_objective == best.value
        assert r.test_accuracy == best.user_attrs["test_metrics"]["accuracy"]
        assert r.test_error_rate == pytest.approx(1.0 - r.test_accuracy, abs=1e-12)
        trace = json.loads(r.trace)
        assert len(trace) == TRIALS and trace[-1] == r.val_objective
        assert all(b <= a for a, b in zip(trace[:-1], trace[1:], strict=True))
    # the recorded test metrics are those of the selected configuration retrained
    r = runs.iloc[0]
    obj = get_objective("lstm-elu", **tm.objective_kwargs("synthetic", int(r.seed), True))
    assert obj.evaluate(json.loads(r.params)) == pytest.approx(r.val_objective, abs=1e-12)
    test = obj.last_result.extra["test_metrics"]
    assert test["accuracy"] == pytest.approx(r.test_accuracy, abs=1e-12)
    assert test["f1"] == pytest.approx(r.test_f1, abs=1e-12)


@pytest.mark.slow  # one tiny design run twice: about 15 s on 2 cores
def test_summary_tests_plot_and_json(tm, resumed):
    out, _, _ = resumed
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["algo"]) == ALGOS and (summary["seeds"] == len(SEEDS)).all()
    runs = pd.read_csv(out / "runs.csv")
    for m in tm.METRICS:
        mean = runs.groupby("algo")[f"test_{m}"].mean()
        std = runs.groupby("algo")[f"test_{m}"].std()
        got = summary.set_index("algo")
        assert got[f"test_{m}_mean"].to_numpy() == pytest.approx(mean[ALGOS].to_numpy())
        assert got[f"test_{m}_std"].to_numpy() == pytest.approx(std[ALGOS].to_numpy())
    tests = pd.read_csv(out / "tests.csv")
    assert set(tests["algo"]) == {"tpe", "random"}
    assert set(tests["measure"]) == set(tm.TESTED)
    assert tests["p"].between(0, 1).all() and (tests["p_holm"] >= tests["p"] - 1e-15).all()
    assert set(tests["result"]) <= {"+", "-", "="}
    assert (out / "convergence_synthetic.png").stat().st_size > 0
    res = json.loads((out / "results.json").read_text())
    assert res["design"]["seeds_summarised"] == {"synthetic": list(SEEDS)}
    assert res["design"]["trials"] == TRIALS and "loadavg" in res["machine"]
    assert "held-out test split" in (out / "table.md").read_text()
    # the omnibus test of all optimisers, blocked by seed, on the validation objective
    from scipy.stats import friedmanchisquare

    val = runs.pivot(index="seed", columns="algo", values="val_objective")
    chi2, p = friedmanchisquare(*[val[a].to_numpy() for a in ALGOS])
    fried = res["friedman"]["synthetic"]
    assert fried["seeds"] == len(SEEDS) and fried["optimisers"] == len(ALGOS)
    assert fried["p"] == pytest.approx(p) and fried["chi2"] == pytest.approx(chi2)
    assert f"Friedman test of the {len(ALGOS)} optimisers over {len(SEEDS)} seeds" \
        in (out / "table.md").read_text()


def test_friedman_needs_three_optimisers_and_two_seeds(tm):
    runs = pd.DataFrame({"dataset": "synthetic", "algo": ["dlf-aoa", "tpe", "random"],
                         "seed": 0, "val_objective": [0.3, 0.2, 0.1]})
    fried = tm.friedman(runs)["synthetic"]
    assert fried["p"] is None and "needs at least 3 optimisers and 2 seeds" in fried["note"]


def test_friedman_of_optimisers_tied_on_every_seed_is_a_note_not_nan(tm):
    """Regression (session 26's audit): all optimisers selecting the same value on every
    seed (easy data) gave chi2 = p = NaN, which table.md printed and results.json could not
    hold (the report stopped with "Out of range float values are not JSON compliant")."""
    runs = pd.DataFrame({"dataset": "digits", "algo": ["dlf-aoa", "tpe", "random"] * 2,
                         "seed": [0, 0, 0, 1, 1, 1], "val_objective": 0.0})
    fried = tm.friedman(runs)["digits"]
    assert fried["chi2"] is None and fried["p"] is None
    assert "tied" in fried["note"]
    json.dumps(fried, allow_nan=False)


def test_whole_seeds_leaves_out_a_seed_some_optimiser_lacks(tm):
    runs = pd.DataFrame({"dataset": "synthetic", "algo": ["dlf-aoa", "tpe", "dlf-aoa"],
                         "seed": [0, 0, 1]})
    kept = tm.whole_seeds(runs, ["dlf-aoa", "tpe"])
    assert list(zip(kept["algo"], kept["seed"], strict=True)) == [("dlf-aoa", 0), ("tpe", 0)]


def test_rank_tests_say_which_side_is_better(tm):
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(8):
        for algo, shift in (("dlf-aoa", 0.0), ("worse", 0.3), ("same", 0.0)):
            acc = 0.9 - shift + 0.01 * rng.random()
            rows.append({"dataset": "d", "algo": algo, "seed": seed,
                         "val_objective": 1 - acc, **{f"test_{m}": acc for m in tm.METRICS}})
    t = tm.rank_tests(pd.DataFrame(rows)).set_index(["algo", "measure"])
    assert (t.loc["worse", "result"] == "+").all()  # DLF-AOA significantly better
    assert (t.loc["same", "result"] == "=").all()


def test_rank_tests_pair_optimisers_by_seed(tm):
    """A seed fixes the data, split and initialisation of every optimiser, so the tests pair
    by seed: a small advantage on every seed is found under a seed effect 100 times larger,
    where an unpaired rank-sum test sees nothing; mean ranks are per seed."""
    rows = []
    for seed in range(10):
        for algo, shift in (("dlf-aoa", 0.0), ("worse", 0.002)):
            acc = 0.6 + 0.03 * seed - shift  # seeds differ by 0.03, the optimisers by 0.002
            rows.append({"dataset": "d", "algo": algo, "seed": seed, "trials": 10,
                         "trial_seconds": 1.0, "val_objective": 1 - acc,
                         **{f"{split}_{m}": acc for m in tm.METRICS
                            for split in ("val", "test")}})
    runs = pd.DataFrame(rows)
    t = tm.rank_tests(runs).set_index(["algo", "measure"])
    assert (t.loc["worse", "result"] == "+").all()
    assert (t.loc["worse", "p"] == 2 / 2**10).all()  # exact: 2 of the 1,024 sign patterns
    ranks = tm.mean_ranks(runs).set_index("algo")["mean_rank"]
    assert ranks["dlf-aoa"] == 1.0 and ranks["worse"] == 2.0
    # regression: a study with no selected value (NaN) ranked best on the seeds it had
    nan = pd.DataFrame([{"dataset": "d", "algo": "none", "seed": 0, "val_objective": np.nan}])
    ranks = tm.mean_ranks(pd.concat([runs, nan])).set_index("algo")["mean_rank"]
    assert ranks["none"] == 3.0 and ranks["dlf-aoa"] == 1.0
    md = tm.markdown(tm.summarise(runs, ["dlf-aoa", "worse"]), tm.rank_tests(runs),
                     tm.Design(10), 10)
    assert "| mean rank (val) |" in md and "| dlf-aoa | 10 | 1.00 |" in md


# -- storages that are not this design's -------------------------------------------------------
def _err(tm, capsys, out: Path, *extra: str) -> str:
    assert tm.main([*ARGS, "--out", str(out), "--no-plot", *extra]) == 2
    return capsys.readouterr().err


def test_a_corrupt_storage_is_a_clear_error(tm, tmp_path, capsys):
    path = tm.study_path(tmp_path, "synthetic", "dlf-aoa", 0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database, not at all" * 10)
    err = _err(tm, capsys, tmp_path)
    assert str(path) in err and "not a readable SQLite database" in err


def test_a_foreign_sqlite_file_is_refused_and_left_alone(tm, tmp_path, capsys):
    path = tm.study_path(tmp_path, "synthetic", "dlf-aoa", 0)
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (x TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    err = _err(tm, capsys, tmp_path)
    assert "without Optuna's tables" in err and "notes" in err
    assert path.read_bytes() == before


def test_another_study_or_design_is_refused(tm, tmp_path, capsys):
    path = tm.study_path(tmp_path, "synthetic", "dlf-aoa", 0)
    path.parent.mkdir(parents=True)
    optuna.create_study(storage=f"sqlite:///{path}", study_name="someone-else")
    assert "someone-else" in _err(tm, capsys, tmp_path)
    path.unlink()
    tm.open_design_study(path, "synthetic", "dlf-aoa", 0, tm.Design(50, quick=True))
    err = _err(tm, capsys, tmp_path)
    assert "trials=50" in err and str(path) in err
    assert "rerun with the design that made it or use another --out" in err


def test_a_read_only_look_never_writes_into_a_study_file(tm, tmp_path):
    """Regression (review): with ``create=False`` (the scan before a run, which holds no
    lock, and the report) a study without trials or attributes got the design's attributes
    written into it; only a run that is to create the study adopts it."""
    path = tm.study_path(tmp_path, "synthetic", "tpe", 0)
    path.parent.mkdir(parents=True)
    name = tm.study_name("synthetic", "tpe", 0)
    optuna.create_study(storage=f"sqlite:///{path}", study_name=name)  # killed right here
    design = tm.Design(TRIALS, quick=True)
    with pytest.raises(tm.DesignError, match="lacks the attributes"):
        tm.open_design_study(path, "synthetic", "tpe", 0, design, create=False)
    assert optuna.load_study(study_name=name, storage=f"sqlite:///{path}").user_attrs == {}
    study = tm.open_design_study(path, "synthetic", "tpe", 0, design)
    assert study.user_attrs == design.attrs("synthetic", "tpe", 0)


def test_chunked_passes_and_reading_at_a_budget(tm, tmp_path):
    """``--chunk 1`` advances the optimisers of a seed together, so a stopped run leaves them
    within a trial of each other; ``--report-at`` reads every study at its first N trials."""
    assert tm.main([*ARGS, "--out", str(tmp_path), "--chunk", "1", "--max-new-trials", "4",
                    "--no-plot"]) == 0
    counts = [len(_finished(_load(tm, tmp_path, a, 0))) for a in ALGOS]
    assert counts == [2, 1, 1]
    assert not tm.study_path(tmp_path, "synthetic", "dlf-aoa", 1).exists()
    assert tm.main([*ARGS, "--out", str(tmp_path), "--report-only", "--report-at", "1",
                    "--no-plot"]) == 0
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert sorted(runs["algo"]) == sorted(ALGOS) and (runs["trials"] == 1).all()
    assert (runs["best_trial"] == 0).all()  # the dlf-aoa study's second trial is not read
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["design"]["read_at"] == 1 and res["design"]["seeds_summarised"] == {
        "synthetic": [0]}
    assert "the first 1 of 3 trials" in (tmp_path / "table.md").read_text()


def _archive(tm, out: Path, archive: Path) -> None:
    assert tm.main([*ARGS, "--out", str(out), "--report-only", "--no-plot",
                    "--archive", str(archive)]) == 0


def test_the_archive_carries_finished_studies_to_another_machine(tm, resumed, tmp_path):
    """A machine without the storages reports the same runs from the committed archive."""
    out, _, _ = resumed
    archive = tmp_path / "results" / "runs_archive.csv"
    _archive(tm, out, archive)
    here = pd.read_csv(out / "runs.csv")
    assert len(here) == len(ALGOS) * len(SEEDS) and (here["source"] == "storage").all()
    stamp = archive.stat().st_mtime_ns, archive.read_bytes()
    _archive(tm, out, archive)  # nothing new: the file is not rewritten
    assert (archive.stat().st_mtime_ns, archive.read_bytes()) == stamp
    fresh = tmp_path / "fresh"
    _archive(tm, fresh, archive)
    there = pd.read_csv(fresh / "runs.csv")
    assert (there["source"] == "archive").all()
    pd.testing.assert_frame_equal(there.drop(columns="source"), here.drop(columns="source"))
    pd.testing.assert_frame_equal(pd.read_csv(fresh / "summary.csv"),
                                  pd.read_csv(out / "summary.csv"))
    assert not list(archive.parent.glob("*.tmp"))


def test_a_machine_with_the_archive_does_not_rerun_archived_studies(tm, resumed, tmp_path):
    """The design accumulates across machines: a study finished in the archive is not run
    again where its storage is absent; only the missing studies are."""
    out, _, _ = resumed
    archive = tmp_path / "archive.csv"
    _archive(tm, out, archive)
    rows = pd.read_csv(archive, dtype=str, keep_default_na=False)
    rows[~((rows["algo"] == "random") & (rows["seed"] == "1"))].to_csv(archive, index=False)
    fresh = tmp_path / "fresh"
    assert tm.main([*ARGS, "--out", str(fresh), "--no-plot", "--archive", str(archive)]) == 0
    ran = [(a, s) for a in ALGOS for s in SEEDS
           if tm.study_path(fresh, "synthetic", a, s).exists()]
    assert ran == [("random", 1)]
    there = pd.read_csv(fresh / "runs.csv")
    assert len(there) == len(ALGOS) * len(SEEDS)
    assert (there["source"] == "storage").sum() == 1
    assert len(pd.read_csv(archive)) == len(ALGOS) * len(SEEDS)  # the new study archived


def test_a_study_is_archived_as_soon_as_it_finishes(tm, tmp_path):
    """Regression: the archive was written only by the report at the end of the whole
    design, so a run killed after hours (a digits seed is 9 studies of about an hour) kept
    none of its finished studies in the committed file."""
    archive, design = tmp_path / "archive.csv", tm.Design(TRIALS, quick=True)
    runner = tm.Runner(tmp_path / "out", design, max_new=TRIALS + 1, progress=False,
                       archive=archive)
    tasks = [("synthetic", a, 0) for a in ("random", "tpe")]
    assert runner.run(tasks) is False  # stopped in the second study, as a kill would
    rows = tm.read_design_archive(archive, design)
    assert [(r.algo, r.seed, r.trials) for r in rows.itertuples()] == [("random", 0, TRIALS)]
    assert rows["version"].notna().all()


def test_an_archive_damaged_during_the_run_does_not_stop_it(tm, tmp_path, caplog):
    """An archive made unreadable while the design runs (a bad merge of the committed file)
    is a warning per finished study, not the end of a run of hours: the studies stay in
    --out and the report at the end merges them."""
    archive, design = tmp_path / "archive.csv", tm.Design(TRIALS, quick=True)
    archived = tm.read_design_archive(archive, design)  # read at the start: no file yet
    archive.write_text("dataset,algo\nsynthetic,tpe\n")
    out, tasks = tmp_path / "out", [("synthetic", a, 0) for a in ("random", "tpe")]
    runner = tm.Runner(out, design, progress=False, archive=archive)
    with caplog.at_level("WARNING", logger="tune_models"):
        assert runner.run(tasks) is True
        summary = tm.report(out, tasks, design, ["random", "tpe"], plot=False,
                            archive=archive, archived=archived)
    msgs = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(msgs) == 3 and all("not archived" in m and str(archive) in m for m in msgs)
    assert "--report-only" in msgs[-1]
    assert archive.read_text() == "dataset,algo\nsynthetic,tpe\n"
    assert sorted(summary["algo"]) == ["random", "tpe"]  # the report is still written


def test_a_local_study_replaces_its_archived_row(tm, resumed, tmp_path):
    out, _, _ = resumed
    archive = tmp_path / "archive.csv"
    _archive(tm, out, archive)
    rows = pd.read_csv(archive, dtype=str, keep_default_na=False)
    rows["trial_seconds"] = "12345.0"  # as another machine's run of the same studies
    rows.to_csv(archive, index=False)
    _archive(tm, out, archive)
    merged = pd.read_csv(archive)
    assert len(merged) == len(rows) and (merged["trial_seconds"] < 12345).all()


def test_archived_rows_that_fail_their_checks_are_left_out_with_a_warning(
        tm, resumed, tmp_path, caplog):
    out, _, _ = resumed
    archive = tmp_path / "archive.csv"
    _archive(tm, out, archive)
    rows = pd.read_csv(archive, dtype=str, keep_default_na=False)
    rows.loc[0, "val_objective"] = "1.5"
    rows.loc[1, "trace"] = "[0.1, 0.2, 0.3]"  # not a running minimum
    rows.loc[2, "seed"] = "-1"
    rows.loc[3, "params"] = "{not json"
    trace = json.loads(rows.loc[4, "trace"])
    rows.loc[4, "trace"] = json.dumps([*trace[:-1], trace[-1] / 2])  # below val_objective
    rows.to_csv(archive, index=False)
    with caplog.at_level("WARNING"):
        usable = tm.read_design_archive(archive, tm.Design(TRIALS, quick=True))
    assert len(usable) == len(rows) - 5
    text = caplog.text
    assert "5 row(s) left out" in text and str(archive) in text
    assert "line 6: the trace does not end at val_objective" in text
    assert "line 2: val_objective must be in [0, 1]" in text
    assert "line 3: the trace is not a best-so-far curve" in text
    assert "line 4: seed must be a non-negative integer" in text
    assert "line 5: params or trace is not JSON" in text
    caplog.clear()
    assert tm.read_design_archive(archive, tm.Design(50)).empty  # another design's rows


def test_two_archived_rows_of_one_study_are_left_out_with_a_warning(
        tm, resumed, tmp_path, caplog):
    """Regression (session 26's audit): two rows for one (dataset, optimiser, seed), e.g.
    after a merge of two archives, silently gave the report the last one."""
    out, _, _ = resumed
    archive = tmp_path / "archive.csv"
    _archive(tm, out, archive)
    rows = pd.read_csv(archive, dtype=str, keep_default_na=False)
    twin = rows.iloc[[0]].copy()
    twin["val_objective"] = str(float(rows.loc[0, "val_objective"]) / 2)
    twin["trace"] = json.dumps([*json.loads(rows.loc[0, "trace"])[:-1],
                                float(twin["val_objective"].iloc[0])])
    pd.concat([rows, twin]).to_csv(archive, index=False)
    with caplog.at_level("WARNING"):
        usable = tm.read_design_archive(archive, tm.Design(TRIALS, quick=True))
    assert len(usable) == len(rows) - 1
    assert "2 rows for" in caplog.text and rows.loc[0, "algo"] in caplog.text


def test_a_merge_keeps_the_columns_another_version_wrote(tm, tmp_path):
    """Regression (session 26's audit): merge_archive rewrote the file with the caller's
    columns only, so a column written by another version was lost for every row."""
    from _archive import merge_archive

    path = tmp_path / "archive.csv"
    path.write_text("k,v,note\na,1,kept by a newer version\nb,2,also\n")
    assert merge_archive(path, pd.DataFrame([{"k": "a", "v": 1}]), ["k", "v"], ["k"]) == 0
    assert merge_archive(path, pd.DataFrame([{"k": "c", "v": 3}]), ["k", "v"], ["k"]) == 1
    merged = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(merged.columns) == ["k", "v", "note"]
    assert merged.to_dict(orient="records") == [
        {"k": "a", "v": "1", "note": "kept by a newer version"},
        {"k": "b", "v": "2", "note": "also"}, {"k": "c", "v": "3", "note": ""}]


@pytest.mark.parametrize("content, message", [
    (b"\xff\xfe\x00garbage", "not a readable CSV file"),
    (b"dataset,algo\nsynthetic,tpe\n", "lacks the column(s)"),
])
def test_an_unreadable_archive_is_a_clear_error(tm, tmp_path, capsys, content, message):
    archive = tmp_path / "archive.csv"
    archive.write_bytes(content)
    err = _err(tm, capsys, tmp_path, "--report-only", "--archive", str(archive))
    assert message in err and str(archive) in err
    assert archive.read_bytes() == content


def test_the_time_left_counts_the_trials_other_processes_finish(tm, tmp_path, monkeypatch):
    """Regression: k processes on one --out (the way to use k cores) each estimated the
    design's time left from its own trials alone, k times too long, and still said time
    was left when the others had finished everything. Trials the study files gain from
    other processes now count as work done, and as done."""
    from metaheur.harness import progress

    design, out = tm.Design(TRIALS, quick=True), tmp_path / "out"
    work: list[tuple[float, float]] = []
    shown: list[int] = []
    design_bar = 3 * TRIALS  # the design's bar (each study's trials have a bar of their own)
    monkeypatch.setattr(progress.ProgressBar, "set_work", lambda self, done, remaining: (
        work.append((done, remaining)) if self.total == design_bar else None))
    monkeypatch.setattr(progress.ProgressBar, "update", lambda self, n, postfix="": (
        shown.append(n) if self.total == design_bar else None))
    run_study = tm.Runner._run_study

    def with_another_process(self, d, a, s, goal, bar, on_done):
        if a == "tpe":  # meanwhile another process runs dlf-aoa's study to its end
            assert tm.Runner(out, design, progress=False).run([(d, "dlf-aoa", s)]) is True
        return run_study(self, d, a, s, goal, bar, on_done)

    monkeypatch.setattr(tm.Runner, "_run_study", with_another_process)
    runner = tm.Runner(out, design, progress=False, recount_s=0.0)
    assert runner.run([("synthetic", a, 0) for a in ("random", "tpe", "dlf-aoa")]) is True
    assert shown[-1] == 3 * TRIALS and work[-1][1] == 0  # nothing left: all nine are done
    assert work[-1][0] == 3 * TRIALS  # the other process's three trials count as work done
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, forty bytes of it")
    paths = [tm.study_path(out, "synthetic", a, 0) for a in ("random", "tpe", "dlf-aoa")]
    assert tm.count_finished_quick([*paths, junk, tmp_path / "absent.db"]) == 3 * TRIALS


def test_optunas_gp_is_told_that_a_trial_is_deterministic(tm):
    """A seed fixes a trial's data, split and initialisation, so a configuration always
    scores the same: ``--algos gp`` runs Optuna's GP told so, as hpo_tasks.py runs it (its
    default models noise)."""
    sampler = tm.make_study_sampler("gp", 0, 10, {})
    assert isinstance(sampler, optuna.samplers.GPSampler) and sampler._deterministic is True


@pytest.mark.parametrize("first", ["-1", str(2**32 - 1)])
def test_a_seed_out_of_range_is_refused_before_any_study(tm, tmp_path, capsys, first):
    """Regression: ``--first-seed -1`` created the study and died in its first trial with a
    traceback ("seed must be an integer in [0, 2**32)")."""
    with pytest.raises(SystemExit) as exc:
        tm.main([*ARGS, "--seeds", "2", "--first-seed", first, "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--first-seed" in capsys.readouterr().err
    assert not (tmp_path / "studies").exists()
