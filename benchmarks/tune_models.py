"""The comparison of the DLF-AOA paper's Table 2, re-run on data we can ship, resumable.

Gowthami & Jayaseelan (IJ-AI 15(2) 2026) tune LSTM-ELU with DLF-AOA and compare it with PSO,
ACO, GWO and POA by accuracy, sensitivity, specificity, precision, F1 and error rate on the
private IQ-OTH/NCCD images. Here the six metaheuristics of ``metaheur`` and Optuna's TPE,
CMA-ES and random search each tune LSTM-ELU (``metaheur.models.objectives``, 1 - validation
macro-F1, the fixed-trunk pipeline of docs/models.md §4.4, CPU search space of §7) with the
same trial budget, for several seeds, on

* ``synthetic``: the embedded synthetic chest slices (3 classes, ResNet-18 trunk fixed once
  per seed, LSTM-ELU head tuned);
* ``digits``: scikit-learn's 8x8 digits (10 classes, the rows fed to the LSTM).

A seed fixes the data (synthetic draw), the train/val/test split (docs/models.md §6.2), the
trunk, the network's initialisation (the same for every trial: a trial is a deterministic
function of its parameters) and the sampler. **Selection is on validation only**: the trial
with the lowest validation objective; the selected configuration is **reported on the
held-out test split**. The objective is built with ``eval_test=True``, so every trial scores
its own trained model on the test split and records it; only the selected trial's record is
read, which equals retraining the selected configuration (same seed, same process type).

Outputs in ``--out``: one SQLite storage per (dataset, optimiser, seed) under ``studies/``
(a rerun continues every study to ``--trials`` and never re-runs a finished trial; a trial
cut off by a kill runs again), ``runs.csv`` (one row per finished study: selected trial,
its validation and test metrics, the best-so-far trace), ``summary.csv`` (mean ± std over
seeds, and the mean rank of the selected validation score among the optimisers of a seed),
``tests.csv`` (two-sided Wilcoxon signed-rank tests of every optimiser against DLF-AOA,
paired by seed, tie-aware, Holm-corrected over the optimisers,
:mod:`metaheur.harness.stats`: a seed fixes the data, split, trunk and initialisation of
every optimiser, so the seeds are blocks and pairing removes their effect), one
``convergence_<dataset>.png`` (best validation objective against trial count, median and
quartiles over seeds), ``results.json`` (all of it, with the design, machine and load) and
``table.md`` (printed). Only seeds that every optimiser of a dataset has finished are
summarised and tested.

The storages stay on the machine that ran them; ``--archive FILE`` keeps the row of every
finished study (read at its full trial count, with its design and the metaheur version),
written as soon as the study finishes, in a small CSV that is committed
(``benchmarks/results/tune_models_runs.csv``), and reports the archived studies that have
no local storage and does not run them again, so the design
accumulates across machines (:mod:`_archive`: the file is untrusted input, checked row by
row; writes are atomic).
``runs.csv``'s column ``source`` says where each row came from.

Several processes may share one ``--out``: each study is locked while it runs, so starting
the same command k times uses k cores (each process takes the studies no other holds).
The time left, on the bar or on each study's log line, counts the trials the study files
gain from the other processes as well as this one's, so each process estimates when the
whole design ends. ``--chunk N`` runs the optimisers of a seed in passes of N trials, so a
run stopped early leaves them all at about the same count, and ``--report-at N`` reads every
study at its first N trials (mid-schedule for the metaheuristics, whose horizon is
``--trials``).

    python benchmarks/tune_models.py                      # 9 x 100 trials x 10 seeds x 2 data
    python benchmarks/tune_models.py --datasets synthetic --seeds 3 --time-limit 3600
    python benchmarks/tune_models.py --datasets synthetic --chunk 20 --time-limit 3600
    python benchmarks/tune_models.py --datasets synthetic --report-only --report-at 40
    python benchmarks/tune_models.py --report-only        # tables and plots of what is done
    python benchmarks/tune_models.py --datasets digits \
        --archive benchmarks/results/tune_models_runs.csv  # skips studies finished there
    python benchmarks/tune_models.py --quick              # one epoch, tiny data: a smoke test

Research benchmark for optimisers, not for clinical use.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import os
import platform
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _archive import merge_archive, params_and_trace, read_archive  # noqa: E402
from _studies import (  # noqa: E402
    StudyFileError,
    count_finished_quick,
    fail_orphans,
    open_own_study,
    resumed_seed,
    study_lock,
)
from hpo_tasks import _quiet_worker, best_so_far  # noqa: E402

logger = logging.getLogger("tune_models")

ALGOS = ("dlf-aoa", "aoa", "pso", "aco", "gwo", "poa", "tpe", "cmaes", "random")
REF = "dlf-aoa"
DATASETS = ("synthetic", "digits")
#: The paper's table: sensitivity is the (macro) recall, error rate 1 - accuracy.
METRICS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "error_rate")
#: Measures tested against DLF-AOA: the validation objective the optimisers minimise, then
#: the test metrics (each turned into a loss, lower = better, for the rank test).
TESTED = ("val_objective", "test_accuracy", "test_f1", "test_sensitivity",
          "test_specificity", "test_precision")
RUN_COLUMNS = (["dataset", "algo", "seed", "trials", "best_trial", "val_objective"]
               + [f"val_{m}" for m in METRICS] + [f"test_{m}" for m in METRICS]
               + ["n_reused", "n_failed", "trial_seconds", "params", "trace"])
MODEL = "lstm-elu"
#: The committed archive (``--archive``) keeps each finished study's row with its design and
#: the version that ran it; a study is archived only when read at its full trial count.
ARCHIVE_COLUMNS = [*RUN_COLUMNS, "design_trials", "quick", "version"]
ARCHIVE_KEY = ("dataset", "algo", "seed", "design_trials", "quick")
_ARCHIVE_NUMERIC = ["seed", "trials", "best_trial", "val_objective",
                    *[f"{p}_{m}" for p in ("val", "test") for m in METRICS],
                    "n_reused", "n_failed", "trial_seconds", "design_trials"]


class DesignError(StudyFileError):
    """A storage file that this design cannot use (corrupt, foreign, another design)."""


# ------------------------------------------------------------------------------ one study
@dataclass(frozen=True)
class Design:
    """The fixed settings every study of one ``--out`` shares (stored in each study)."""

    trials: int
    quick: bool = False

    def attrs(self, dataset: str, algo: str, seed: int) -> dict[str, Any]:
        return {"algo": algo, "model": MODEL, "data": dataset, "seed": seed,
                "trials": self.trials, "quick": self.quick}


def study_path(out: Path, dataset: str, algo: str, seed: int) -> Path:
    return out / "studies" / dataset / f"{algo}-seed{seed}.db"


def study_name(dataset: str, algo: str, seed: int) -> str:
    return f"{dataset}-{algo}-seed{seed}"


def open_design_study(path: Path, dataset: str, algo: str, seed: int, design: Design,
                      *, create: bool = True) -> optuna.Study | None:
    """The study of (dataset, algo, seed) in its own file, created when ``create``; ``None``
    when absent and not ``create``. :class:`DesignError` when the file holds anything else
    (:func:`_studies.open_own_study`)."""
    try:
        return open_own_study(path, study_name(dataset, algo, seed),
                              design.attrs(dataset, algo, seed), "--out", create=create,
                              mismatch="rerun with the design that made it")
    except StudyFileError as exc:
        raise DesignError(str(exc)) from None


def objective_kwargs(dataset: str, seed: int, quick: bool) -> dict[str, Any]:
    """Constructor keywords of the objective of one seed (the quick one: one epoch, tiny data)."""
    from metaheur.models.objectives import quick_kwargs

    # split="random": the design's 90 digits studies (benchmarks/results/) ran on the shuffled
    # split that metaheur drew by mistake until December 2026; the design keeps it, so its
    # runs stay comparable and resumable (synthetic data have an official split: no effect)
    kw: dict[str, Any] = {"source": dataset, "seed": seed, "device": "cpu", "eval_test": True,
                          "split": "random"}
    if quick:
        kw.update(quick_kwargs(MODEL, dataset))
    return kw


def make_study_sampler(algo: str, seed: int, trials: int, space: dict[str, Any],
                       start: int = 0, worker: int = 0) -> optuna.samplers.BaseSampler:
    """Optuna's samplers with their defaults (GP told that a trial is a deterministic function
    of its parameters, as it is here); ours with the study length as their horizon, the
    default population (isqrt of the trials) and the objective's search space.

    ``start``: trials already in the study; a resumed run seeds Optuna's samplers with
    :func:`_studies.resumed_seed` (ours restore their random stream from the storage).
    """
    from metaheur.optuna import OPTUNA_SAMPLERS, make_sampler

    if algo in OPTUNA_SAMPLERS:
        options = {"deterministic_objective": True} if algo == "gp" else {}
        return make_sampler(algo, seed=resumed_seed(seed, start), **options)
    return make_sampler(algo, seed=seed, n_trials=trials, search_space=space)


def _seed_groups(tasks: Sequence[tuple[str, str, int]]) -> list[list[tuple[str, str, int]]]:
    """``tasks`` split into runs of one (dataset, seed), in order."""
    groups: list[list[tuple[str, str, int]]] = []
    for t in tasks:
        if groups and groups[-1][0][::2] == t[::2]:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


class _Counted:
    """The objective, calling ``on_done(trained)`` after every trial that finishes (COMPLETE
    or PRUNED; ``trained`` is false for a configuration reused from an earlier trial)."""

    def __init__(self, objective: Callable[[optuna.Trial], float],
                 on_done: Callable[[bool], None]) -> None:
        self.objective, self.on_done = objective, on_done

    def __call__(self, trial: optuna.Trial) -> float:
        try:
            value = self.objective(trial)
        except optuna.TrialPruned:
            self.on_done(True)
            raise
        self.on_done("reused_from" not in trial.user_attrs)
        return value


# ------------------------------------------------------------------------------- running
@dataclass
class Runner:
    """Runs the missing trials of a design, one study at a time, in this process."""

    out: Path
    design: Design
    max_new: int | None = None
    chunk: int = 10**9  # trials per pass over the optimisers of one seed
    deadline: float | None = None  # time.monotonic() after which no trial starts
    progress: bool = True
    archive: Path | None = None  # where each study's row goes as soon as it finishes
    recount_s: float = 60.0  # at most this often the study files are recounted for the ETA
    new_trials: int = 0
    signum: int | None = None
    busy: list[str] = field(default_factory=list)
    _objectives: dict[tuple[str, int], Any] = field(default_factory=dict)

    def objective(self, dataset: str, seed: int) -> Any:
        """One objective per (dataset, seed), kept: its data and features load once."""
        from metaheur.models.objectives import get_objective

        key = (dataset, seed)
        if key not in self._objectives:
            obj = get_objective(MODEL, **objective_kwargs(dataset, seed, self.design.quick))
            obj.prepare()
            self._objectives[key] = obj
        return self._objectives[key]

    def run(self, tasks: Sequence[tuple[str, str, int]]) -> bool:
        """Run ``tasks`` (dataset, algo, seed) to the design's trial count; ``False`` when a
        stop signal, ``--time-limit`` or ``--max-new-trials`` ended the run early."""
        from metaheur.harness.progress import ProgressBar, want_progress
        from metaheur.harness.study import count_finished

        trials = self.design.trials
        done_before = 0
        pending = []  # a study finished now stays finished: not reopened at every pass
        for d, a, s in tasks:
            study = open_design_study(study_path(self.out, d, a, s), d, a, s, self.design,
                                      create=False)
            have = count_finished(study) if study is not None else 0
            done_before += have
            if have < trials:
                pending.append((d, a, s))
        total = trials * len(tasks)
        bar = ProgressBar(total, initial=done_before, desc="trials", unit="trial",
                          enabled=want_progress(self.progress))
        finished = [done_before]
        start = time.monotonic()
        logger.info("%d studies x %d trials: %d of %d trials already finished", len(tasks),
                    trials, done_before, total)

        # ETA: elapsed x trials left / trials trained since the start, by this process (a
        # reused configuration costs nothing and counts as no work) and by the others
        # sharing --out, whose trials the study files gain (recounted when a study starts)
        trained, others, counted_at = [0], [0], [-math.inf]
        paths = [study_path(self.out, d, a, s) for d, a, s in tasks]

        def show() -> None:
            bar.set_work(trained[0] + others[0], max(total - finished[0] - others[0], 0))
            bar.update(finished[0] + others[0])

        def recount() -> None:
            if time.monotonic() - counted_at[0] < self.recount_s:
                return
            counted_at[0] = time.monotonic()
            others[0] = max(count_finished_quick(paths) - finished[0], 0)
            show()

        def on_done(was_trained: bool) -> None:
            self.new_trials += 1
            finished[0] += 1
            trained[0] += was_trained
            show()

        complete = True
        try:
            for group in _seed_groups(pending):
                for goal in range(min(self.chunk, trials), trials + self.chunk, self.chunk):
                    for d, a, s in group:
                        recount()
                        state = self._run_study(d, a, s, min(goal, trials), bar, on_done)
                        complete = complete and state == "done"
                        if state == "done" and goal >= trials and self.archive is not None:
                            self._archive_study(d, a, s)
                        if state == "stop":
                            return False
        finally:
            bar.close()
            logger.info("%d trials run in %.0f s", self.new_trials, time.monotonic() - start)
        return complete

    def _archive_study(self, d: str, a: str, s: int) -> None:
        """Merge the row of a study that has just finished into ``--archive``, so a run
        killed later keeps it (the report merges them all again, a no-op for these)."""
        assert self.archive is not None
        try:
            added = archive_finished(self.archive, collect(self.out, [(d, a, s)], self.design),
                                     self.design)
        except ValueError as exc:  # the archive became unreadable during the run
            logger.warning("%s %s seed %d: finished, not archived (%s); its storage stays "
                           "in --out: rerun with --report-only once the archive is fixed",
                           d, a, s, exc)
            return
        if added:
            logger.info("%s %s seed %d: finished; archived in %s", d, a, s, self.archive)

    def _run_study(self, d: str, a: str, s: int, goal: int, bar: Any,
                   on_done: Callable[[bool], None]) -> str:
        """Run one study until ``goal`` trials are finished: ``"done"``, ``"busy"`` (another
        process holds it) or ``"stop"`` (signal, time limit or trial limit)."""
        from metaheur.harness.progress import format_seconds
        from metaheur.harness.runs import run_trials
        from metaheur.harness.storage import sqlite_url
        from metaheur.harness.study import count_finished

        path = study_path(self.out, d, a, s)
        with study_lock(path) as mine:
            if not mine:
                logger.info("%s: another process holds it; skipped", path)
                self.busy.append(str(path))
                return "busy"
            study = open_design_study(path, d, a, s, self.design)
            assert study is not None
            fail_orphans(study)
            have = count_finished(study)
            if have >= goal:
                return "done"
            target = goal
            if self.max_new is not None:
                target = min(goal, have + self.max_new - self.new_trials)
            timeout = None if self.deadline is None else self.deadline - time.monotonic()
            if target <= have or (timeout is not None and timeout <= 0):
                return "stop"
            obj = self.objective(d, s)
            bar.write(f"{d} {a} seed {s}: trials {have + 1}-{target} of {self.design.trials} "
                      f"(all studies: about {format_seconds(bar.eta())} left)")
            outcome = run_trials(
                sqlite_url(path), study_name(d, a, s), n_trials=target, timeout=timeout,
                n_jobs=1, progress=False,
                sampler_factory=functools.partial(make_study_sampler, a, s, self.design.trials,
                                                  obj.search_space(), len(study.trials)),
                objective_factory=functools.partial(_Counted, obj, on_done),
            )
        if outcome.error:
            raise RuntimeError(f"{d} {a} seed {s}: {outcome.error}")
        if outcome.interrupted:
            self.signum = outcome.signum
            logger.warning("stopped by signal %s", outcome.signum)
        return "done" if outcome.finished >= goal and not outcome.interrupted else "stop"


# ------------------------------------------------------------------------------ reporting
def study_row(study: optuna.Study, dataset: str, algo: str, seed: int,
              budget: int | None = None) -> dict[str, Any]:
    """The CSV row of one study read at its first ``budget`` finished trials (all when
    ``None``): the trial selected on validation (lowest value, then lowest number) and its
    validation and test records."""
    from metaheur.harness.report import trial_metrics

    trials = study.get_trials(deepcopy=False)
    finished = sorted((t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)),
                      key=lambda t: t.number)[:budget]
    values = [t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
              for t in finished]
    seconds = sum((t.datetime_complete - t.datetime_start).total_seconds() for t in finished
                  if t.datetime_start is not None and t.datetime_complete is not None)
    row: dict[str, Any] = {
        "dataset": dataset, "algo": algo, "seed": seed, "trials": len(finished),
        "n_reused": sum("reused_from" in t.user_attrs for t in finished),
        "n_failed": sum(t.state == TrialState.FAIL for t in trials),
        "trial_seconds": round(seconds, 2),
        "trace": json.dumps([None if math.isnan(v) else v for v in best_so_far(values)]),
    }
    done = [t for t, v in zip(finished, values, strict=True) if math.isfinite(v)]
    if not done:
        return row
    best = min(done, key=lambda t: (t.value, t.number))
    val, test = trial_metrics(best), best.user_attrs.get("test_metrics") or {}
    row.update({"best_trial": best.number, "val_objective": best.value,
                "params": json.dumps(best.params, sort_keys=True)})
    row.update({f"val_{m}": val.get(m, math.nan) for m in METRICS})
    row.update({f"test_{m}": test.get(m, math.nan) for m in METRICS})
    return row


def collect(out: Path, tasks: Sequence[tuple[str, str, int]], design: Design,
            budget: int | None = None, archived: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of the studies of ``tasks`` that reached ``budget`` trials (default: the
    design's trial count), read at that many trials; column ``source`` says where each came
    from. A study with no such local storage is taken from ``archived`` (rows of this
    design, :func:`read_design_archive`) when read at the full trial count."""
    budget = budget or design.trials
    past = archived_studies(archived) if budget == design.trials else {}
    rows = []
    for d, a, s in tasks:
        study = open_design_study(study_path(out, d, a, s), d, a, s, design, create=False)
        row = None if study is None else study_row(study, d, a, s, budget)
        if row is not None and row["trials"] >= budget:
            rows.append({**row, "source": "storage"})
        elif (d, a, s) in past:
            rows.append({**{c: past[d, a, s][c] for c in RUN_COLUMNS}, "seed": s,
                         "source": "archive"})
    n_past = sum(r["source"] == "archive" for r in rows)
    if n_past:
        logger.info("%d of %d finished studies read from the archive", n_past, len(rows))
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, "source"])


def archived_studies(archived: pd.DataFrame | None) -> dict[tuple[str, str, int], dict]:
    """The rows of ``archived`` by study, ``(dataset, algo, seed)``."""
    return {} if archived is None else {
        (r["dataset"], r["algo"], int(r["seed"])): r for r in archived.to_dict(orient="records")}


def to_run(out: Path, tasks: Sequence[tuple[str, str, int]],
           archived: pd.DataFrame | None) -> list[tuple[str, str, int]]:
    """``tasks`` less the studies finished in ``archived`` that have no local storage: the
    design accumulates across machines, so another machine's study is not run again."""
    done = archived_studies(archived)
    keep = [t for t in tasks if t not in done or study_path(out, *t).exists()]
    if len(keep) < len(tasks):
        logger.info("%d of %d studies are finished in the archive: not run here",
                    len(tasks) - len(keep), len(tasks))
    return keep


def _archive_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with one archived row (None: usable); the archive is untrusted input."""
    if row["dataset"] not in DATASETS:
        return f"dataset {row['dataset']!r} is not one of {list(DATASETS)}"
    if not re.fullmatch(r"[A-Za-z0-9_.:=,+-]{1,100}", row["algo"]):
        return f"algo {row['algo']!r} is not an optimiser name"
    if row["quick"] not in ("True", "False"):
        return f"quick must be True or False, got {row['quick']!r}"
    for c in ("seed", "trials", "best_trial", "n_reused", "n_failed", "design_trials"):
        v = row[c]
        if not (math.isfinite(v) and v == int(v) and 0 <= v < 2**31):
            return f"{c} must be a non-negative integer, got {v!r}"
    if row["trials"] != row["design_trials"] or row["trials"] < 1:
        return (f"trials ({row['trials']:g}) must equal design_trials "
                f"({row['design_trials']:g}): only finished studies are archived")
    for c in ["val_objective", *[f"{p}_{m}" for p in ("val", "test") for m in METRICS]]:
        if not 0.0 <= row[c] <= 1.0:  # NaN fails too
            return f"{c} must be in [0, 1], got {row[c]!r}"
    if not (math.isfinite(row["trial_seconds"]) and row["trial_seconds"] >= 0):
        return f"trial_seconds must be >= 0, got {row['trial_seconds']!r}"
    parsed = params_and_trace(row, "params", "trace", int(row["trials"]))
    if isinstance(parsed, str):
        return parsed
    done = parsed[1]
    if not done or not math.isclose(done[-1], row["val_objective"], rel_tol=1e-9,
                                    abs_tol=1e-12):
        return "the trace does not end at val_objective"
    return None


def read_design_archive(path: Path, design: Design) -> pd.DataFrame:
    """The archived rows of ``design`` (other designs' rows are kept in the file, unused)."""
    try:
        rows = read_archive(path, ARCHIVE_COLUMNS, _ARCHIVE_NUMERIC, _archive_problem)
    except ValueError as exc:
        raise DesignError(str(exc)) from exc
    mine = (rows["design_trials"] == design.trials) & (rows["quick"] == str(design.quick))
    ints = ("seed", "trials", "best_trial", "n_reused", "n_failed", "design_trials")
    rows = rows[mine].astype(dict.fromkeys(ints, int)).drop_duplicates()  # exact copies: one
    key_cols = list(ARCHIVE_KEY)
    twins = rows.duplicated(key_cols, keep=False)
    for key, grp in rows[twins].groupby(key_cols, sort=False):
        logger.warning("%s: %d rows for %s that disagree (e.g. two archives merged); all "
                       "left out, so the study runs again where it has no storage", path,
                       len(grp), dict(zip(ARCHIVE_KEY, key, strict=True)))
    return rows[~twins]


def archive_finished(path: Path, runs: pd.DataFrame, design: Design) -> int:
    """Merge the studies of ``runs`` read from local storages at the full trial count into
    the archive at ``path``; returns how many rows were added or replaced."""
    from metaheur import __version__

    local = runs[(runs["source"] == "storage") & (runs["trials"] >= design.trials)]
    local = local.assign(design_trials=design.trials, quick=str(design.quick),
                         version=__version__)
    return merge_archive(path, local, ARCHIVE_COLUMNS, ARCHIVE_KEY)


def whole_seeds(runs: pd.DataFrame, algos: Sequence[str]) -> pd.DataFrame:
    """The runs of the (dataset, seed) pairs that every one of ``algos`` finished: a seed
    that some optimisers lack would bias the means and the tests."""
    if runs.empty:
        return runs
    n = runs.groupby(["dataset", "seed"])["algo"].transform(lambda a: len(set(a) & set(algos)))
    partial = runs.loc[n < len(set(algos)), ["dataset", "seed"]].drop_duplicates()
    for r in partial.itertuples():
        logger.info("%s seed %d: not finished by every optimiser; left out", r.dataset, r.seed)
    return runs[(n == len(set(algos))) & runs["algo"].isin(algos)]


def summarise(runs: pd.DataFrame, order: Sequence[str]) -> pd.DataFrame:
    """Mean and std over seeds of the validation objective and every metric, per dataset
    and optimiser (numeric columns ``<measure>_mean`` / ``<measure>_std``)."""
    measures = ["val_objective", *[f"val_{m}" for m in METRICS], *[f"test_{m}" for m in METRICS]]
    g = runs.groupby(["dataset", "algo"], sort=False)
    out = g[measures].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out.insert(0, "seeds", g.size())
    out.insert(1, "trial_seconds_mean", g["trial_seconds"].mean() / runs["trials"].iloc[0])
    out = out.reset_index().merge(mean_ranks(runs), on=["dataset", "algo"], how="left")
    rank = {a: i for i, a in enumerate(order)}
    return out.sort_values(["dataset", "algo"], key=lambda c: c.map(rank) if c.name == "algo"
                           else c.map({d: i for i, d in enumerate(DATASETS)}), kind="stable"
                           ).reset_index(drop=True)


def mean_ranks(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, each optimiser's rank of the selected validation objective among the
    optimisers of a seed (1 = best, ties averaged), averaged over seeds (``mean_rank``)."""
    # a study without a selected value (every trial failed or pruned) ranks last
    rank = runs.groupby(["dataset", "seed"])["val_objective"].rank(method="average",
                                                                   na_option="bottom")
    return (runs.assign(mean_rank=rank).groupby(["dataset", "algo"], sort=False)["mean_rank"]
            .mean().reset_index())


def rank_tests(runs: pd.DataFrame, ref: str = REF, alpha: float = 0.05) -> pd.DataFrame:
    """Two-sided Wilcoxon signed-rank tests (tie-aware) of every optimiser against ``ref``,
    paired by seed, on each measure of :data:`TESTED`, Holm-corrected over the optimisers of
    one dataset and measure (:func:`metaheur.harness.stats.wilcoxon_holm`). ``result``: ``+``
    ``ref`` significantly better, ``-`` significantly worse, ``=`` no significant difference.
    """
    from metaheur.harness.stats import wilcoxon_holm

    cols = ["dataset", "measure", "algo", "statistic", "p", "p_holm", "result"]
    if runs.empty or ref not in set(runs["algo"]):
        return pd.DataFrame(columns=cols)
    parts = []
    for measure in TESTED:
        loss = runs[measure].astype(float)
        if measure.startswith("test_"):  # higher is better: the test compares 1 - metric
            loss = 1.0 - loss
        parts.append(pd.DataFrame({"function": runs["dataset"], "dim": measure,
                                   "algo": runs["algo"], "run": runs["seed"],
                                   "final_error": loss}))
    res = wilcoxon_holm(pd.concat(parts, ignore_index=True), ref, alpha, paired=True)
    return res.rename(columns={"function": "dataset", "dim": "measure"})[cols]


def friedman(runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per dataset, Friedman's omnibus test of all optimisers, blocked by seed, on the
    selected validation objective (does any optimiser differ?; a study without a selected
    value ranks last): ``chi2``, ``p`` (NaN, with a ``note``, below 3 optimisers or 2 seeds),
    ``optimisers``, ``seeds``."""
    from metaheur.harness.stats import friedman_ranks

    blocks = runs.assign(final_error=runs["val_objective"].astype(float).fillna(math.inf))
    ranks = friedman_ranks(blocks.rename(columns={"seed": "function", "dataset": "dim"}))
    out = {}
    for dataset, sub in runs.groupby("dataset", sort=False):
        r = ranks[ranks["dim"] == dataset].iloc[0]
        k, n = sub["algo"].nunique(), sub["seed"].nunique()
        note = None if k >= 3 and n >= 2 else (
            f"the Friedman test needs at least 3 optimisers and 2 seeds; here {k} and {n}")
        if note is None and math.isnan(r["friedman_chi2"]):
            note = ("every optimiser selected the same validation value on each seed (all "
                    "tied): the Friedman statistic is undefined and no optimiser ranks better")
        chi2, p = (None, None) if note else (float(r["friedman_chi2"]), float(r["friedman_p"]))
        out[str(dataset)] = {"optimisers": int(k), "seeds": int(n), "chi2": chi2, "p": p,
                             "note": note}
    return out


def convergence_plots(runs: pd.DataFrame, out: Path, order: Sequence[str],
                      dims: dict[str, int]) -> list[Path]:
    """One PNG per dataset: best validation objective so far against trials (median and
    quartiles over seeds; :func:`metaheur.harness.plots.plot_convergence`)."""
    from metaheur.harness.plots import plot_convergence

    paths = []
    for dataset, sub in runs.groupby("dataset", sort=False):
        rows = []
        for r in sub.itertuples():
            for i, v in enumerate(json.loads(r.trace), start=1):
                rows.append({"function": dataset, "dim": dims[dataset], "algo": r.algo,
                             "nfev": i, "error": math.inf if v is None else v})
        conv = pd.DataFrame(rows)
        rank = {a: i for i, a in enumerate(order)}
        conv = conv.sort_values("algo", key=lambda c: c.map(rank), kind="stable")
        paths.append(plot_convergence(
            conv, dataset, dims[dataset], out / f"convergence_{dataset}.png", xlabel="trials",
            ylabel="best 1 − validation macro-F1 so far\n(median and quartiles over seeds)"))
    return paths


def _budget_text(budget: int, design: Design) -> str:
    if budget >= design.trials:
        return f"{design.trials} trials"
    return (f"the first {budget} of {design.trials} trials (read mid-run: the "
            f"metaheuristics' schedules run to {design.trials})")


def _pm(mean: float, std: float) -> str:
    """``mean ± std`` (the std of one seed is undefined: the mean alone)."""
    if math.isnan(mean):
        return "nan"
    return f"{mean:.3f}" if math.isnan(std) else f"{mean:.3f} ± {std:.3f}"


def markdown(summary: pd.DataFrame, tests: pd.DataFrame, design: Design, budget: int,
             omnibus: dict[str, dict[str, Any]] | None = None) -> str:
    """The paper's table per dataset (test split, mean ± std over seeds), the validation
    objective, the rank tests against DLF-AOA and the Friedman test of all (``omnibus``)."""
    from metaheur.harness.report import DISCLAIMER
    from metaheur.harness.stats import markdown_table

    parts = []
    for dataset, sub in summary.groupby("dataset", sort=False):
        table = pd.DataFrame({
            "optimiser": sub["algo"], "seeds": sub["seeds"],
            "mean rank (val)": [f"{r:.2f}" for r in sub["mean_rank"]],
            "1 - val F1 (selected)": [_pm(m, s) for m, s in
                                      zip(sub["val_objective_mean"], sub["val_objective_std"],
                                          strict=True)],
            **{f"test {m}": [_pm(a, b) for a, b in zip(sub[f"test_{m}_mean"],
                                                       sub[f"test_{m}_std"], strict=True)]
               for m in METRICS},
        })
        t = tests[tests["dataset"] == dataset]
        marks = {}
        for algo, g in t.groupby("algo", sort=False):
            marks[algo] = " ".join(f"{r.result}" for r in g.itertuples())
        table["vs dlf-aoa"] = [marks.get(a, "(ref)" if a == REF else "") for a in sub["algo"]]
        fried = (omnibus or {}).get(str(dataset))
        if fried is None:
            fried_text = ""
        elif fried["note"]:
            fried_text = f"\n\nFriedman test: not computed ({fried['note']})."
        else:
            fried_text = (f"\n\nFriedman test of the {fried['optimisers']} optimisers over "
                          f"{fried['seeds']} seeds (blocks), selected validation objective: "
                          f"chi2 = {fried['chi2']:.2f}, p = {fried['p']:.3g}.")
        parts.append(
            f"## {dataset}: LSTM-ELU tuned by each optimiser, {_budget_text(budget, design)}, "
            f"configuration selected on validation, metrics on the held-out test split "
            f"(mean ± std over seeds)\n\n" + markdown_table(table) + fried_text)
    parts.append(
        "`mean rank (val)`: rank of the selected validation score among the optimisers of a "
        "seed (1 = best), averaged over seeds. `vs dlf-aoa`: two-sided Wilcoxon signed-rank "
        "tests paired by seed (a seed fixes the data, split and initialisation of every "
        "optimiser; zero differences split; exact p-values), Holm-corrected over the "
        "optimisers, alpha 0.05, on " + ", ".join(TESTED) + " in that order; `+` DLF-AOA "
        "significantly better, `-` significantly worse, `=` no significant difference "
        "(tests.csv has the p-values). Sensitivity, specificity, precision and F1 are macro "
        "averages over the classes (docs/models.md §6.3). " + DISCLAIMER)
    return "\n\n".join(parts) + "\n"


def machine() -> dict[str, Any]:
    """What the run ran on (load average sampled now)."""
    return {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as strict-JSON records at full precision (NaN and inf become null; pandas'
    ``to_json`` rounded to 10 decimal places, so a small p-value read 0)."""
    from metaheur.harness.jsondata import json_safe

    return json_safe(frame.to_dict(orient="records"), inf_as_text=False)


def report(out: Path, tasks: Sequence[tuple[str, str, int]], design: Design,
           order: Sequence[str], *, budget: int | None = None, plot: bool = True,
           extra: dict[str, Any] | None = None, archive: Path | None = None,
           archived: pd.DataFrame | None = None) -> pd.DataFrame:
    """Write runs.csv, summary.csv, tests.csv, the plots, results.json and table.md, read at
    ``budget`` trials (default all), with the studies kept in ``archive`` that have no local
    storage (and the finished local ones merged into it); print the table. ``archived``: the
    archive's rows of this design when already read. Returns the summary."""
    from metaheur.harness.report import versions

    budget = budget or design.trials
    if archived is None and archive is not None:
        archived = read_design_archive(archive, design)
    runs = collect(out, tasks, design, budget, archived)
    if archive is not None and budget == design.trials:
        try:
            n = archive_finished(archive, runs, design)
        except ValueError as exc:  # made unreadable during the run; the storages stay
            logger.warning("finished studies not archived (%s); their storages stay in %s: "
                           "rerun with --report-only once the archive is fixed", exc, out)
            n = 0
        if n:
            logger.info("archived %d finished studies in %s", n, archive)
    runs.to_csv(out / "runs.csv", index=False)
    used = whole_seeds(runs, order)
    if used.empty:
        logger.warning("no seed finished by every optimiser yet: nothing to summarise")
        return pd.DataFrame()
    summary = summarise(used, order)
    tests = rank_tests(used)
    summary.to_csv(out / "summary.csv", index=False)
    tests.to_csv(out / "tests.csv", index=False)
    omnibus = friedman(used)
    md = markdown(summary, tests, design, budget, omnibus)
    (out / "table.md").write_text(md)
    print(md)
    plots: list[str] = []
    if plot:
        from metaheur.models.objectives import get_objective

        dims = {d: len(get_objective(MODEL, **objective_kwargs(d, 0, design.quick))
                       .search_space()) for d in used["dataset"].unique()}
        plots = [p.name for p in convergence_plots(used, out, order, dims)]
    seeds = {d: sorted(int(s) for s in g["seed"].unique())
             for d, g in used.groupby("dataset", sort=False)}
    result = {
        "design": {"trials": design.trials, "read_at": budget, "quick": design.quick,
                   "algos": list(order),
                   "reference": REF, "seeds_summarised": seeds,
                   "studies_finished": int(len(runs)), "studies_planned": len(tasks),
                   "trial_seconds_summarised": round(float(used["trial_seconds"].sum()), 1)},
        "machine": machine(), "versions": versions(), **(extra or {}),
        "summary": _records(summary), "tests": _records(tests), "friedman": omnibus,
        "runs": _records(used.drop(columns=["trace"])),
        "plots": plots,
    }
    (out / "results.json").write_text(json.dumps(result, indent=1, default=str,
                                                 allow_nan=False))
    files = ["runs.csv", "summary.csv", "tests.csv", *plots, "results.json", "table.md"]
    print(f"wrote {', '.join(files)} in {out}/")
    return summary


# ---------------------------------------------------------------------------------- main
def _positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def main(argv: Sequence[str] | None = None) -> int:
    from metaheur.harness.bench import parse_list
    from metaheur.harness.study import check_algo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--algos", default=",".join(ALGOS), help=",".join(ALGOS))
    p.add_argument("--datasets", default=",".join(DATASETS), help=",".join(DATASETS))
    p.add_argument("--trials", type=_positive, default=100, help="trials per study (100)")
    p.add_argument("--seeds", type=_positive, default=10, help="number of seeds (10)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the first seed (default 0); seeds are integers in [0, 2**32)")
    p.add_argument("--out", default="results/tune_models")
    p.add_argument("--archive", default=None,
                   help="CSV of finished studies' rows to report with and merge into (the "
                   "committed benchmarks/results/tune_models_runs.csv accumulates the design "
                   "across machines); default: none")
    p.add_argument("--time-limit", type=float, default=None,
                   help="seconds after which no new trial starts (resume later)")
    p.add_argument("--max-new-trials", type=_positive, default=None,
                   help="run at most this many trials now (resume later)")
    p.add_argument("--chunk", type=_positive, default=None,
                   help="run the optimisers of a seed in passes of this many trials each, so "
                   "a stopped run leaves them all at about the same count (default: one "
                   "study after the other)")
    p.add_argument("--report-at", type=_positive, default=None,
                   help="read every study at its first N trials (default --trials)")
    p.add_argument("--report-only", action="store_true", help="run nothing; report what is done")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quick", action="store_true", help="one epoch on tiny data (smoke test)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0"):
        args.quick, args.trials, args.seeds = True, min(args.trials, 4), min(args.seeds, 2)

    try:
        algos = [check_algo(a) for a in parse_list(args.algos, "--algos")]
    except ValueError as exc:
        p.error(str(exc))
    datasets = parse_list(args.datasets, "--datasets")
    bad = sorted(set(datasets) - set(DATASETS))
    if bad:
        p.error(f"unknown dataset(s) {bad}; allowed: {', '.join(DATASETS)}")
    if not 0 <= args.first_seed <= 2**32 - args.seeds:
        p.error(f"--first-seed {args.first_seed} with --seeds {args.seeds}: the seeds must lie "
                "in [0, 2**32) (what the objective and every sampler accept)")
    if args.report_at is not None and args.report_at > args.trials:
        p.error(f"--report-at must be <= --trials ({args.trials}), got {args.report_at}")
    if REF not in algos:
        logger.warning("%s is not among --algos: no rank tests", REF)
    order = [a for a in ALGOS if a in algos] + [a for a in algos if a not in ALGOS]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    design = Design(args.trials, args.quick)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    # dataset-major, then seed-major: a stopped run leaves whole seeds, comparable across
    # the optimisers (only those are summarised)
    tasks = [(d, a, s) for d in datasets for s in seeds for a in order]
    _quiet_worker()  # one thread (BLAS, OpenMP, torch), no per-trial chatter
    logging.getLogger("tune_models").setLevel(logging.INFO)
    from metaheur.models.metrics import UndefinedMetricWarning

    # a collapsed (majority-class) trial has an undefined precision: expected while tuning
    warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    wall = time.monotonic()
    load_start = machine()["loadavg"]
    complete, signum = True, None
    archive = None if args.archive is None else Path(args.archive)
    try:
        archived = None if archive is None else read_design_archive(archive, design)
        if not args.report_only:
            deadline = None if args.time_limit is None else time.monotonic() + args.time_limit
            runner = Runner(out, design, max_new=args.max_new_trials, deadline=deadline,
                            progress=not args.no_progress, chunk=args.chunk or args.trials,
                            archive=archive)
            complete, signum = runner.run(to_run(out, tasks, archived)), runner.signum
        extra = {"this_run": {"wall_seconds": round(time.monotonic() - wall, 1),
                              "loadavg_start": load_start, "complete": complete}}
        report(out, tasks, design, order, budget=args.report_at, plot=not args.no_plot,
               extra=extra, archive=archive, archived=archived)
    except DesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not complete:
        seeds_arg = f"--seeds {args.seeds}" + (f" --first-seed {args.first_seed}"
                                               if args.first_seed else "")
        print(f"partial: rerun with the same --out, --trials {args.trials} and {seeds_arg} "
              "to continue", file=sys.stderr)
    return 130 if signum is not None else 0


if __name__ == "__main__":
    raise SystemExit(main())
