"""The result files committed under ``benchmarks/results/`` are merged by hand as runs finish
on several machines: every row must pass the checks the scripts apply when they read them
(a row that fails is left out of the README's tables with only a warning)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("sklearn")

from helpers import load_benchmark, restored_process_state  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
#: The folders of ``hpo_tasks.py`` runs (the other ``runs.csv`` files are other scripts').
RUNS = [RESULTS / d / "runs.csv" for d in ("hpo_tasks_200", "hpo_costly", "levy_scale_tasks",
                                           "boundary_reflect/hpo_100",
                                           "seeds_60/select-breast_cancer",
                                           "seeds_60/svc-digits",
                                           "seeds_60/mlp-wine",
                                           "hpo_pruned", "hpo_pruned_long",
                                           "hpo_pruned_consider", "hpo_hyperband",
                                           "hpo_hyperband_long", "hpo_hyperband_named")]


def _rows(path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1  # no cell of these files holds a line break


def test_there_are_committed_results():
    assert all(p.exists() for p in RUNS) and (RESULTS / "tune_models_runs.csv").exists()


@pytest.mark.parametrize("path", RUNS, ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_row_of_a_committed_runs_csv_is_usable(path, caplog):
    with restored_process_state():
        hpo = load_benchmark("hpo_tasks")
    with caplog.at_level(logging.WARNING):
        runs = hpo.read_runs(path)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(runs) == _rows(path)  # none left out, none duplicated


def test_every_row_of_the_committed_design_archive_is_usable(caplog):
    with restored_process_state():
        tm = load_benchmark("tune_models")
    path = RESULTS / "tune_models_runs.csv"
    with caplog.at_level(logging.WARNING):
        rows = tm.read_archive(path, tm.ARCHIVE_COLUMNS, tm._ARCHIVE_NUMERIC,
                               tm._archive_problem)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert len(rows) == _rows(path)
    assert not rows.duplicated(list(tm.ARCHIVE_KEY)).any()


@pytest.mark.parametrize("folder", ["hpo_pruned", "hpo_hyperband"])
def test_the_committed_pruned_task_runs_record_their_epochs(folder):
    """``training_cost.py`` compares a pruned task's samplers at equal epochs from the
    ``steps`` column: every committed run of it must have one (9 samplers, 60 seeds)."""
    with restored_process_state():
        hpo = load_benchmark("hpo_tasks")
    runs = hpo.read_runs(RESULTS / folder / "runs.csv")
    assert len(runs) == 540 and (runs["steps"] != "").all()
    assert runs.groupby("sampler")["seed"].nunique().eq(60).all()


#: Each pruned task's folder, its folder of the peers' longer runs (read at equal epochs) and
#: the study lengths of those runs.
PRUNED_TASKS = [("hpo_pruned", "hpo_pruned_long", {300: 180, 450: 27}),
                ("hpo_hyperband", "hpo_hyperband_long", {200: 180, 300: 2})]


@pytest.mark.parametrize("short, long, _", PRUNED_TASKS, ids=lambda v: str(v))
def test_the_committed_equal_cost_tables_are_what_the_script_computes(tmp_path, short, long, _):
    """docs/benchmarks.md sections 4.2 and 4.3 quote ``cost_summary.csv`` and
    ``cost_matched.csv`` of each pruned task: reading the committed runs again gives the same
    tables (budgets, regrets, ranks, seed counts, p-values)."""
    import shutil

    shutil.copy(RESULTS / short / "runs.csv", tmp_path / "runs.csv")
    refs = dict.fromkeys(pd.read_csv(RESULTS / short / "cost_matched.csv")["ref"])
    matched = [a for ref in refs
               for other in ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
               for a in ("--matched", ref, other)]
    with restored_process_state():
        tc = load_benchmark("training_cost")
        assert tc.main(["--out", str(tmp_path), "--no-plot", *matched, "--matched-runs",
                        str(RESULTS / long / "runs.csv")]) == 0
    for name in ("cost_summary.csv", "cost_matched.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / name),
                                      pd.read_csv(RESULTS / short / name))


@pytest.mark.parametrize("short, long, lengths", PRUNED_TASKS[:1], ids=lambda v: str(v))
def test_the_long_peer_runs_continue_the_shorter_runs(short, long, lengths):
    """``cost_matched.csv`` reads Optuna's samplers off their longer runs, on the grounds
    that they ignore the study length: a run's first trials are those of the same seed's
    shorter runs. Not the committed Hyperband runs: they were made while each in-memory
    study had a random name, which HyperbandPruner hashes into its brackets, so none of
    them can be made again (docs/benchmarks.md section 4.3; fixed in ``hpo_tasks.study_name``).
    A longer run is then another draw of the same sampler, read at the same epochs."""
    import json
    from itertools import pairwise

    with restored_process_state():
        hpo = load_benchmark("hpo_tasks")
    runs = pd.concat([hpo.read_runs(RESULTS / d / "runs.csv") for d in (short, long)])
    longer_runs = runs[runs["trials"] > 100]
    assert longer_runs["trials"].value_counts().to_dict() == lengths
    peers = sorted(set(longer_runs["sampler"]))
    assert peers and set(peers) <= {"tpe", "random", "cmaes"}
    for (smp, seed), g in runs[runs["sampler"].isin(peers)].groupby(["sampler", "seed"]):
        for shorter, longer in pairwise(g.sort_values("trials").itertuples()):
            n = shorter.trials
            assert json.loads(longer.trace)[:n] == json.loads(shorter.trace), (smp, seed, n)
            assert json.loads(longer.steps)[:n] == json.loads(shorter.steps), (smp, seed, n)


def test_the_committed_consider_pruned_tables_are_what_the_scripts_compute(tmp_path):
    """docs/benchmarks.md section 4.2 quotes ``hpo_pruned_consider/paired.csv`` and
    ``cost_paired.csv``: the option's runs read beside the default runs of
    ``hpo_pruned`` (the two ``runs.csv`` files concatenated as text: a pandas round trip
    could rewrite the floats, which the reader checks against each trace)."""
    default, considered = ((RESULTS / d / "runs.csv").read_text(encoding="utf-8").splitlines()
                           for d in ("hpo_pruned", "hpo_pruned_consider"))
    assert default[0] == considered[0]  # one header
    (tmp_path / "runs.csv").write_text("\n".join(default + considered[1:]) + "\n",
                                       encoding="utf-8")
    ours = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
    variant = {a: f"{a}:consider_pruned_trials=true" for a in ours}
    pairs = [[a, variant[a]] for a in ours]
    peers = [[ref, variant[a]] for a in ("dlf-aoa", "pso", "gwo") for ref in ("tpe", "random")]
    with restored_process_state():
        hpo = load_benchmark("hpo_tasks")
        assert hpo.main(["--tasks", "sgd-digits-pruned", "--samplers", *ours, "tpe", "cmaes",
                         "random", *variant.values(), "--seeds", "60", "--trials", "100",
                         "--report", "50", "100", "--report-only", "--no-plot", "--out",
                         str(tmp_path),
                         *[a for p in pairs + peers for a in ("--paired", *p)]]) == 0
        tc = load_benchmark("training_cost")
        assert tc.main(["--out", str(tmp_path), "--no-plot",
                        *[a for p in pairs for a in ("--paired", *p)]]) == 0
    for name in ("paired.csv", "cost_paired.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(tmp_path / name).sort_values(["budget", "ref", "other"],
                                                     ignore_index=True),
            pd.read_csv(RESULTS / "hpo_pruned_consider" / name).sort_values(
                ["budget", "ref", "other"], ignore_index=True))
