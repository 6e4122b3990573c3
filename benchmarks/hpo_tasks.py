"""Samplers on real tuning tasks: metaheur's six beside Optuna's TPE, CMA-ES, GP and random search.

The tasks (``benchmarks/_tasks.py``) train scikit-learn estimators on datasets shipped with
scikit-learn (3-fold CV on a fixed split) and LSTM-ELU on digits, with int, log-scaled and
categorical parameters and one conditional search space. Every (task, sampler, seed, trials) is
one independent Optuna study; each finished run is appended to ``runs.csv`` at once, and a
rerun skips the runs already there (resumable; the file is checked row by row, and a damaged
row is left out with a warning, so its run runs again). The studies are in memory, or with
``--studies DIR`` each in its own SQLite file (``_studies.py``), so that a run killed
part-way (a costly task's run takes 10-45 minutes) continues from its last finished trial
and several processes can share the work (each run is locked while it runs). Then, per task
and reported budget:

* **regret** = best value found by the run's first ``budget`` trials minus the best value that
  *any* run of *any* sampler found on that task (true optima are unknown), with the score
  itself beside it;
* **mean rank** over seeds (1 = best; scores equal to 12 significant digits tie and share the
  average rank; only seeds on which every sampler finished are ranked and tested);
* two-sided Mann-Whitney U tests (tie-corrected, ``scipy.stats.mannwhitneyu``) of each sampler's
  best values against random search and against TPE, Holm-corrected over the samplers of one
  task, budget and reference;
* with ``--paired REF OTHER``: a variant against its reference **seed by seed** (how many
  seeds it is better or worse on, two-sided Wilcoxon signed-rank; ``paired.csv``), the test
  that compares two settings of one sampler run on the same seeds.

A budget is read from runs of exactly that many trials when there are some; otherwise off the
best-so-far curve of the shortest longer run (column ``source``). Our samplers use ``n_trials``
as their schedule horizon, so a 100-trial reading of a 200-trial run shows them mid-schedule:
run ``--trials 50 100 200`` to give every budget its own horizon. Samplers run with their
defaults (ours with ``n_trials`` = the study length; CMA-ES draws categoricals from its random
fallback; GP with ``deterministic_objective=True``), with no pruner but a task's own
(``sgd-digits-pruned``'s MedianPruner, ``sgd-digits-hyperband``'s HyperbandPruner; each
study is named after its task and seed, :func:`study_name`, so Hyperband's brackets are the
same on every run of a seed). ``n_repeats`` counts the trials that re-proposed parameters
the study had already evaluated; ``steps`` lists the epochs (intermediate values) each trial
reported, its training cost (``training_cost.py`` compares samplers at equal epochs). Writes
``runs.csv``, ``summary.csv``, a best-so-far plot (median and quartiles of the regret per
sampler, one panel per task), and prints markdown tables and issue 8's targets.

    python benchmarks/hpo_tasks.py                # 5 tasks x 10 samplers x 10 seeds x 200 trials
    python benchmarks/hpo_tasks.py --trials 50 100 200 --jobs -1  # each budget its own runs
    python benchmarks/hpo_tasks.py --trials 100 --seeds 3 --jobs 2 --tasks svc-digits mlp-wine
    python benchmarks/hpo_tasks.py --time                         # seconds per trial of each task
    python benchmarks/hpo_tasks.py --samplers dlf-aoa dlf-aoa:pop_size=6 random  # an option
    python benchmarks/hpo_tasks.py --samplers dlf-aoa dlf-aoa:boundary=reflect --trials 100 \
        --paired dlf-aoa dlf-aoa:boundary=reflect                 # a variant, seed by seed
    python benchmarks/hpo_tasks.py --tasks lstm-digits --trials 100 \
        --studies results/hpo_costly/studies      # costly: a killed run continues
    python benchmarks/hpo_tasks.py --quick                        # smoke test (seconds)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import math
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import optuna
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from optuna.trial import TrialState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _archive import locked, params_and_trace, read_archive  # noqa: E402
from _studies import (  # noqa: E402
    StudyFileError,
    fail_orphans,
    open_own_study,
    resumed_seed,
    study_lock,
)
from _tasks import TASKS, get_task  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import metaheur  # noqa: E402
from metaheur.harness.algo_params import parse_spec  # noqa: E402
from metaheur.harness.stats import holm, paired_differences  # noqa: E402

logger = logging.getLogger("hpo_tasks")

OURS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
THEIRS = ("tpe", "cmaes", "gp", "random")
SAMPLERS = OURS + THEIRS
KEY = ["task", "sampler", "seed", "trials"]
COLUMNS = KEY + ["best", "n_complete", "n_failed", "n_repeats", "seconds", "best_params", "trace"]
#: Columns a file written by an earlier version may lack (read as empty there): ``steps``, per
#: counted trial the number of intermediate values it reported (the epochs a trial of a task
#: that reports each epoch trained before it ended or was pruned: its training cost).
OPTIONAL = ["steps"]


def parse_sampler(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``"name:key=value,key=value"`` (any registered algorithm, e.g. one of
    our six or a restart variant ``pso-ipop``, with options, e.g. ``dlf-aoa:pop_size=6``, or
    Optuna's tpe, cmaes, gp, random with their options, e.g. ``tpe:multivariate=true``;
    ``:`` separates options too) -> ``(name, options)``, read as ``metaheur bench --algos``
    reads a spec (metaheur.harness.algo_params.parse_spec: int, float, ``true``/``false``,
    ``none``, JSON, else text)."""
    try:
        name, options = parse_spec(spec)
    except ValueError as exc:
        raise ValueError(f"sampler {exc}; options are key=value pairs") from None
    registered = metaheur.available()
    if name not in SAMPLERS and name not in registered:
        raise ValueError(f"unknown sampler {name!r}; available: {', '.join(SAMPLERS)} "
                         f"or any registered algorithm ({', '.join(registered)})")
    for key in ("seed", "n_trials", "search_space"):
        if key in options:
            raise ValueError(f"sampler {spec!r}: {key} is set by the script (--seeds, "
                             "--trials, the task)")
    return name, options


def make_sampler(spec: str, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    """The sampler ``spec`` (see :func:`parse_sampler`) seeded with ``seed``; ours get
    ``n_trials`` as their horizon."""
    from metaheur import optuna as mo

    name, options = parse_sampler(spec)
    if name == "gp":  # every task is a deterministic function of its parameters
        options = {"deterministic_objective": True, **options}
    # ours get n_trials as their horizon; Optuna's ignore it
    return mo.make_sampler(name, seed=seed,
                           n_trials=None if name in mo.OPTUNA_SAMPLERS else n_trials, **options)


def _quiet_worker() -> None:
    """One thread per run (runs are the parallel unit) and no per-trial chatter."""
    import sklearn.ensemble  # noqa: F401 - loads OpenMP and BLAS: the limit reaches loaded ones only
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency of metaheur.models
        pass
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("metaheur").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", module="optuna")
    warnings.filterwarnings("ignore", module="metaheur")


def best_so_far(values: Sequence[float]) -> list[float]:
    """Running minimum of trial values; NaN (a failed trial) never improves it."""
    out, best = [], math.nan
    for v in values:
        if math.isfinite(v) and not (best <= v):
            best = v
        out.append(best)
    return out


def study_file(studies: Path, task: str, sampler: str, seed: int, trials: int) -> Path:
    """The SQLite file of one run under ``--studies``: ``<task>/<sampler>-seed<s>-trials<n>.db``,
    the sampler spec URL-quoted (``dlf-aoa:pop_size=6`` is ``dlf-aoa%3Apop_size=6``); a spec
    quoted longer than 100 characters is cut and followed by a hash of the whole (file
    names have at most 255 bytes)."""
    name = quote(sampler, safe="-_.=")
    if len(name) > 100:
        name = f"{name[:80]}-{hashlib.sha256(sampler.encode()).hexdigest()[:16]}"
    return Path(studies) / task / f"{name}-seed{seed}-trials{trials}.db"


def study_name(task: str, seed: int) -> str:
    """The name of a run's Optuna study, in memory and in a study file alike: its task and
    seed, shared by every sampler and study length. Optuna's ``HyperbandPruner`` puts a
    trial in a bracket by a hash of this name and the trial number, so a run is reproducible
    from its seed and every run of a seed meets the same brackets (Optuna's own name for an
    unnamed study is random)."""
    return f"{task}-seed{seed}"


def run_one(task: str, sampler: str, seed: int, trials: int,
            studies: str | None = None) -> dict[str, Any] | None:
    """One study of ``trials`` trials; returns its CSV row (``trace`` = best so far per trial).

    In memory, or with ``studies`` in its own SQLite file (:func:`study_file`), so that a run
    killed part-way continues from its last finished trial; ``None`` (nothing run) when
    another process holds that file.
    """
    return _run_counting(task, sampler, seed, trials, studies)[0]


def _run_counting(task: str, sampler: str, seed: int, trials: int, studies: str | None
                  ) -> tuple[dict[str, Any] | None, int]:
    """:func:`run_one`'s row and the number of trials this call ran (fewer than ``trials``
    for a resumed run, 0 for one another process holds): the work behind the time left."""
    _quiet_worker()
    objective = get_task(task).make()
    if studies is None:
        # the task's pruner, else none: every trial of the budget runs to the end (LSTM-ELU
        # reports each epoch, and Optuna's default MedianPruner would cut its trials)
        study = optuna.create_study(direction="minimize", pruner=get_task(task).make_pruner(),
                                    sampler=make_sampler(sampler, seed, trials),
                                    study_name=study_name(task, seed))
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=trials, catch=(Exception,))
        return run_row(task, sampler, seed, trials, study.get_trials(deepcopy=False),
                       time.perf_counter() - t0), trials
    path = study_file(Path(studies), task, sampler, seed, trials)
    with study_lock(path) as mine:
        if not mine:
            return None, 0
        return _resume(objective, path, (task, sampler, seed, trials))


def _resume(objective: Any, path: Path, key: tuple[str, str, int, int]
            ) -> tuple[dict[str, Any], int]:
    """Run the study of ``key`` in ``path`` (lock held) to its trial count; its row and the
    number of trials run now.

    A trial counts once its objective returned or raised: the study attribute ``counted``,
    written after each trial, lists them, and a COMPLETE trial after the last one listed
    counts too (a kill came between Optuna's record and the note; a FAIL one there runs
    again). A trial cut off by a kill is left RUNNING, marked FAIL and run again.
    ``seconds`` adds up the time the processes spent on the study up to their last noted
    trial. Optuna's samplers resuming are reseeded
    (:func:`_studies.resumed_seed`); ours restore their stream from the storage.
    """
    task, sampler, seed, trials = key
    study = open_own_study(path, study_name(task, seed), dict(zip(KEY, key, strict=True)),
                           "--studies", pruner=get_task(task).make_pruner())
    assert study is not None
    fail_orphans(study)
    counted, seconds = _progress(study, path, trials)
    start = len(study.trials)
    ours = parse_sampler(sampler)[0] not in THEIRS
    study.sampler = make_sampler(sampler, seed if ours else resumed_seed(seed, start), trials)
    t0 = time.perf_counter()

    def note(st: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        counted.append(trial.number)
        st.set_user_attr("counted", counted)
        st.set_user_attr("seconds", seconds + time.perf_counter() - t0)

    before = len(counted)
    if before < trials:
        study.optimize(objective, n_trials=trials - before, catch=(Exception,),
                       callbacks=[note])
        seconds += time.perf_counter() - t0
        study.set_user_attr("seconds", seconds)  # what the row says, for a later look
    keep = set(counted)
    done = [t for t in study.get_trials(deepcopy=False) if t.number in keep]
    return run_row(task, sampler, seed, trials, done, seconds), len(counted) - before


def _progress(study: optuna.Study, path: Path, trials: int) -> tuple[list[int], float]:
    """The trials that count (those the ``counted`` attribute lists and the COMPLETE ones
    after them) and the seconds spent, as stored (untrusted: checked)."""
    counted, seconds = study.user_attrs.get("counted", []), study.user_attrs.get("seconds", 0.0)
    finished = {t.number for t in study.get_trials(deepcopy=False, states=(
        TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))}
    if not (isinstance(counted, list) and all(type(n) is int and n in finished for n in counted)
            and len(set(counted)) == len(counted)
            and type(seconds) in (int, float) and math.isfinite(seconds) and seconds >= 0):
        raise StudyFileError(f"{path}: its record of the trials that count or of the time "
                             "spent is damaged; move it away or use another --studies")
    # a trial recorded COMPLETE after the last one noted: a kill came before the note
    # (earlier ones that are not noted were run by a process that did not count them)
    last = max(counted, default=-1)
    late = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.number > last]
    counted = sorted([*counted, *late])
    if len(counted) > trials:
        raise StudyFileError(f"{path}: its record of the trials that count or of the time "
                             f"spent is damaged ({len(counted)} trials count, the run has "
                             f"{trials}); move it away or use another --studies")
    return counted, float(seconds)


def run_row(task: str, sampler: str, seed: int, trials: int,
            done: Sequence[optuna.trial.FrozenTrial], seconds: float) -> dict[str, Any]:
    """The CSV row of a run whose counted trials are ``done`` (in order)."""
    values = [t.value if t.state == TrialState.COMPLETE else math.nan for t in done]
    seen: set[str] = set()
    repeats = 0
    for t in done:
        key = json.dumps(t.params, sort_keys=True, default=str)
        repeats += key in seen
        seen.add(key)
    trace = best_so_far(values)
    complete = [t for t, v in zip(done, values, strict=True) if math.isfinite(v)]
    steps = [len(t.intermediate_values) for t in done]
    best = min(complete, key=lambda t: t.value) if complete else None  # the first of ties
    return {
        "task": task, "sampler": sampler, "seed": seed, "trials": trials,
        "best": trace[-1] if trace else math.nan,
        "n_complete": len(complete), "n_failed": len(done) - len(complete),
        "n_repeats": repeats, "seconds": round(seconds, 3),
        "best_params": json.dumps(best.params if best else {}, default=str),
        "trace": json.dumps([None if math.isnan(v) else v for v in trace]),
        "steps": json.dumps(steps),
    }


# -- results file -------------------------------------------------------------------------------
def read_csv_exact(path: Path) -> pd.DataFrame:
    """``pd.read_csv`` returning the floats written, bit for bit (pandas < 3 parses them
    with a faster, inexact reader unless asked; pandas 3 is exact and deprecates asking)."""
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, **exact)


#: Columns read as numbers (the rest are text: names and JSON).
NUMERIC = ["seed", "trials", "best", "n_complete", "n_failed", "n_repeats", "seconds"]
_COUNTS = ["seed", "trials", "n_complete", "n_failed", "n_repeats"]


def run_problem(row: dict[str, Any]) -> str | None:
    """What is wrong with one row of ``runs.csv`` (``None``: usable). The file is committed
    and merged by hand, so it is untrusted input: every field is checked against the others."""
    if not (row["task"] and row["sampler"]):
        return "empty task or sampler"
    try:
        get_task(row["task"])
    except ValueError as exc:  # (a typo, or a task a later version renamed)
        return str(exc)
    for c in _COUNTS:
        v, low = row[c], 1 if c == "trials" else 0
        if not (math.isfinite(v) and v == int(v) and low <= v < 2**63):
            return f"{c} {v!r} is not an integer in [{low}, 2**63)"
    trials = int(row["trials"])
    if row["n_complete"] + row["n_failed"] != trials or row["n_repeats"] >= max(trials, 1):
        return (f"n_complete {row['n_complete']:g} + n_failed {row['n_failed']:g} is not the "
                f"{trials} trials, or n_repeats {row['n_repeats']:g} is not below them")
    if not (math.isfinite(row["seconds"]) and row["seconds"] >= 0):
        return f"seconds {row['seconds']!r} is not a finite number >= 0"
    parsed = params_and_trace(row, "best_params", "trace", trials)
    if isinstance(parsed, str):
        return parsed
    seen = parsed[1]
    last = seen[-1] if seen else math.nan
    if not (row["best"] == last or (math.isnan(row["best"]) and math.isnan(last))):
        return f"best {row['best']!r} is not the trace's last value {last!r}"
    if (len(seen) == 0) != (row["n_complete"] == 0):
        return "the trace and n_complete disagree on whether any trial completed"
    if row.get("steps", ""):  # empty: a file from before the column
        try:
            steps = json.loads(row["steps"])
        except (ValueError, RecursionError) as exc:
            return f"steps is not JSON ({type(exc).__name__}: {exc})"
        if not (isinstance(steps, list) and len(steps) == trials
                and all(type(k) is int and 0 <= k < 2**63 for k in steps)):
            return f"steps is not a JSON list of {trials} integers >= 0"
    return None


def read_runs(path: Path) -> pd.DataFrame:
    """The runs recorded in ``path`` (empty frame if absent). A file that is not a CSV with
    :data:`COLUMNS` is an error; a row :func:`run_problem` rejects is left out with one
    warning naming the line (``_archive.read_archive``), so a run lost that way runs again."""
    df = read_archive(path, COLUMNS, NUMERIC, run_problem, optional=OPTIONAL)
    df = df.astype({c: "int64" for c in _COUNTS})
    dup = df.duplicated(KEY)
    if dup.any():
        logger.warning("%s: %d duplicate runs; keeping the first of each", path, int(dup.sum()))
        df = df[~dup]
    return df.reset_index(drop=True)


def _recorded_runs(path: Path) -> pd.DataFrame | None:
    """:func:`read_runs`, or ``None`` after an ``error: ...`` line on stderr when ``path``
    is not a CSV with :data:`COLUMNS` (for ``main``, which then ends with status 2)."""
    try:
        return read_runs(path)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def append_run(path: Path, row: dict[str, Any]) -> bool:
    """Append ``row`` unless a usable row of its run is already there (processes sharing
    ``--studies`` each rebuild the row of a study another one finished); ``False`` then.

    When ``path`` has become unreadable during the run (a bad merge), the row goes to
    ``<stem>.unsaved.csv`` beside it, with an error saying so, rather than being lost."""
    with locked(path):
        try:
            have = read_archive(path, COLUMNS, NUMERIC, run_problem, warn=False)
        except ValueError as exc:
            spare = path.with_name(f"{path.stem}.unsaved.csv")
            pd.DataFrame([row], columns=COLUMNS + OPTIONAL).to_csv(
                spare, mode="a", header=not spare.exists(), index=False)
            logger.error("%s; the row of %s is kept in %s: add it back once the file is "
                         "fixed", exc, " ".join(map(str, (row[k] for k in KEY))), spare)
            return True
        key = tuple(row[k] for k in KEY)
        if any(tuple(r) == key for r in have[KEY].itertuples(index=False)):
            return False
        _append_row(path, row)
    return True


def _append_row(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV file ``path`` under the file's own header (another version
    may have written other columns, or another order; theirs stay empty), after a newline
    if the last line lacks one (an editor's save, a writer killed mid-line)."""
    if not path.exists() or path.stat().st_size == 0:
        pd.DataFrame([row], columns=COLUMNS + OPTIONAL).to_csv(path, index=False)
        return
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))  # read_archive checked it holds COLUMNS
    if lost := [c for c in OPTIONAL if c not in header]:
        logger.warning("%s was written by an earlier version without the column(s) %s: not "
                       "kept for this run (start a new --out to keep them)", path, lost)
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        newline = fh.read(1) not in (b"\n", b"\r")
    text = pd.DataFrame([row], columns=COLUMNS + OPTIONAL).reindex(columns=header).to_csv(
        index=False, header=False)
    with open(path, "a", newline="", encoding="utf-8") as fh:
        fh.write(("\n" if newline else "") + text)


def _job(job: tuple[str, str, int, int], studies: str | None
         ) -> tuple[tuple[str, str, int, int], dict[str, Any] | None, int]:
    return job, *_run_counting(*job, studies=studies)


def run_all(jobs_todo: list[tuple[str, str, int, int]], path: Path, n_jobs: int,
            studies: str | None = None) -> None:
    """Run the missing studies (joblib when ``n_jobs`` > 1), appending each as it finishes;
    a bar on a terminal, else a log line per finished run with the time left. ``studies``:
    see :func:`run_one` (a run another process holds is skipped)."""
    from joblib import Parallel, delayed

    from metaheur.harness.progress import ProgressBar, format_seconds, want_progress

    n = len(jobs_todo)
    bar = ProgressBar(n, desc="runs", unit="run", enabled=want_progress(True))
    if n_jobs == 1:
        results: Iterable[tuple[tuple, dict[str, Any] | None]] = (
            _job(j, studies) for j in jobs_todo)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_job)(j, studies) for j in jobs_todo)
    # the time left: elapsed x trials still to come back / trials run here (a resumed run
    # counts only its trials run now, one another process holds none)
    ran, waiting = 0, sum(job[3] for job in jobs_todo)
    try:
        for k, (job, row, ran_now) in enumerate(results, 1):
            what = f"{job[0]} {job[1]} seed {job[2]}"
            ran, waiting = ran + ran_now, waiting - job[3]
            bar.set_work(ran, waiting)
            bar.update(k, what)
            if row is None:
                logger.info("run %d of %d: %s: another process runs it; skipped", k, n, what)
            elif not append_run(path, row):
                logger.info("run %d of %d: %s: another process finished it", k, n, what)
            elif bar.bar is None:
                logger.info("run %d of %d: %s: best %.4g in %.0f s (about %s left)", k, n, what,
                            row["best"], row["seconds"], format_seconds(bar.eta()))
    finally:
        bar.close()


# -- analysis -----------------------------------------------------------------------------------
def mwu(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (tie-corrected); 1.0 when every value is the same."""
    from scipy.stats import mannwhitneyu

    if len(x) == 0 or len(y) == 0:
        return math.nan
    if len(set(x) | set(y)) == 1:
        return 1.0
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def prob_lower(x: Sequence[float], y: Sequence[float]) -> float:
    """P(a value of ``x`` < one of ``y``) + P(equal) / 2 over all pairs (Vargha-Delaney
    A, lower is better): above 0.5, ``x`` tends lower; it is U / (n·m), the statistic the
    Mann-Whitney test judges, so it gives that test's direction. NaN without values."""
    a, b = np.asarray(x, dtype=float)[:, None], np.asarray(y, dtype=float)[None, :]
    if a.size == 0 or b.size == 0:
        return math.nan
    return float(((a < b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def wilcoxon_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired ``x`` and ``y`` (equal pairs are
    dropped, SciPy's default; differences equal to 12 digits tie:
    :func:`metaheur.harness.stats.paired_differences`); 1.0 when every pair is equal, NaN
    without a pair."""
    from scipy.stats import wilcoxon

    if len(x) == 0:
        return math.nan
    d = paired_differences(x, y)
    if not d.any():
        return 1.0
    return float(wilcoxon(d).pvalue)


def paired(runs: pd.DataFrame, budgets: Sequence[int], ref: str, other: str,
           points: Points | None = None) -> pd.DataFrame:
    """``other`` against ``ref`` seed by seed, per task and budget, on the seeds where both
    have a run (one whose every trial failed counts as +inf, the worst): their medians, on
    how many seeds ``other`` is better (lower), worse or equal (to 12 digits), and the
    Wilcoxon signed-rank p-value (uncorrected: one planned comparison per task). The
    comparison a variant of a sampler needs (same seeds, same task): the unpaired
    Mann-Whitney test of :func:`summarise` wastes the pairing. ``points``: as in
    :func:`summarise`."""
    pts = (points or at_budgets)(runs[runs["sampler"].isin([ref, other])], budgets)
    pts["best"] = pts["best"].fillna(np.inf)  # every trial failed: the worst, as in summarise
    rows = []
    for (task, b), grp in pts.groupby(["task", "budget"]):
        wide = grp.pivot(index="seed", columns="sampler", values="best")
        if ref not in wide or other not in wide:
            continue
        wide = wide[[ref, other]].dropna()
        x, y = wide[other].to_numpy(), wide[ref].to_numpy()
        rows.append({
            "task": task, "budget": b, "ref": ref, "other": other, "n_seeds": len(wide),
            "median_ref": float(np.median(y)) if len(y) else math.nan,
            "median_other": float(np.median(x)) if len(x) else math.nan,
            "better": int((x < y).sum()), "worse": int((x > y).sum()),
            "equal": int((x == y).sum()), "p_wilcoxon": wilcoxon_p(x, y),
        })
    return pd.DataFrame(rows, columns=["task", "budget", "ref", "other", "n_seeds",
                                       "median_ref", "median_other", "better", "worse",
                                       "equal", "p_wilcoxon"])


def _sig(v: float, digits: int = 12) -> float:
    """``v`` to ``digits`` significant digits: equal scores compare equal (ties, regret 0).

    A CV mean over the same predictions can differ in its last bits with the summation order
    (e.g. BLAS threads), which would otherwise break ties at random.
    """
    return float(f"{float(v):.{digits}g}")


def at_budgets(runs: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """Best value per (task, sampler, seed, budget): from a run of that length, else read off."""
    rows = []
    for (task, sampler, seed), grp in runs.groupby(["task", "sampler", "seed"]):
        by_len = {int(r.trials): r for r in grp.itertuples()}
        for b in budgets:
            if b in by_len:
                r, source = by_len[b], "own run"
            else:
                longer = [n for n in by_len if n > b]
                if not longer:
                    continue
                r, source = by_len[min(longer)], f"read off {min(longer)}"
            trace = json.loads(r.trace)
            v = trace[b - 1] if b <= len(trace) else None
            rows.append({"task": task, "sampler": sampler, "seed": int(seed), "budget": b,
                         "best": math.nan if v is None else _sig(v), "source": source})
    return pd.DataFrame(rows, columns=["task", "sampler", "seed", "budget", "best", "source"])


#: ``points(runs, budgets)``: a frame of (task, sampler, seed, budget, best, source) rows.
Points = Callable[[pd.DataFrame, Sequence[int]], pd.DataFrame]


def complete_seeds(pts: pd.DataFrame, samplers: Sequence[str] | None = None,
                   unit: str = "trials") -> pd.DataFrame:
    """Keep the (task, budget, seed) groups that hold every sampler of that task and budget.

    Ranks and tests compare samplers on the same seeds; a seed still running (or interrupted)
    for some samplers would skew both, so it is left out with a warning. A sampler of
    ``samplers`` (those asked for) with no run of a task and budget is warned about: the
    ranks there are among the others only.
    """
    keep = []
    for (task, b), grp in pts.groupby(["task", "budget"]):
        have = set(grp["sampler"])
        n = len(have)
        if absent := [s for s in samplers or () if s not in have]:
            logger.warning("%s at %d %s: no run of %s; its ranks are among the %d other "
                           "samplers", task, b, unit, ", ".join(absent), n)
        counts = grp.groupby("seed")["sampler"].nunique()
        partial = counts.index[counts < n].tolist()
        if partial:
            logger.warning("%s at %d %s: seeds %s lack some samplers; left out", task, b,
                           unit, partial)
        keep.append(grp[~grp["seed"].isin(partial)])
    return pd.concat(keep) if keep else pts


def quantiles(a: ArrayLike, qs: Sequence[float]) -> NDArray:
    """The ``qs`` quantiles of ``a`` along its first axis, interpolated linearly (NumPy's
    and pandas' default) where +inf (a failed run) may lie on both sides: a quantile
    that falls on a finite value is that value (NumPy gives NaN: 0 · inf), one between a
    finite value and +inf is +inf. Shape ``(len(qs), *a.shape[1:])``."""
    a = np.sort(np.asarray(a, dtype=float), axis=0)
    out = []
    for q in qs:
        h = (a.shape[0] - 1) * q
        lo = math.floor(h)
        frac, x0, x1 = h - lo, a[lo], a[min(lo + 1, a.shape[0] - 1)]
        with np.errstate(invalid="ignore"):  # inf − inf: x0 == x1 there
            out.append(np.where((frac == 0) | (x0 == x1), x0, x0 + frac * (x1 - x0)))
    return np.array(out)


def _quantile(x: pd.Series, q: float) -> float:
    """``x.quantile(q)`` with :func:`quantiles`' handling of +inf; NaN without values."""
    v = x.to_numpy(dtype=float)
    return math.nan if not v.size or np.isnan(v).any() else float(quantiles(v, [q])[0])


SUMMARY_COLUMNS = ["task", "budget", "sampler", "n_seeds", "n_failed_runs", "median_best",
                   "median_regret", "q25_regret", "q75_regret", "mean_rank", "source",
                   "p_vs_random", "p_vs_tpe", "a_vs_random", "a_vs_tpe", "p_vs_random_holm",
                   "p_vs_tpe_holm"]


def summarise(runs: pd.DataFrame, budgets: Sequence[int],
              samplers: Sequence[str] | None = None, points: Points | None = None,
              unit: str = "trials") -> pd.DataFrame:
    """Per (task, budget, sampler): score, regret, mean rank and Holm-corrected MWU p-values
    (``samplers``: those asked for, each expected on every task: :func:`complete_seeds`).
    ``points`` reads each run's best value at each budget (default :func:`at_budgets`, a
    budget of trials; ``training_cost.py`` reads budgets of training epochs, its ``unit``)."""
    from scipy.stats import rankdata

    pts = complete_seeds((points or at_budgets)(runs, budgets), samplers, unit)
    ref = _reference(runs)  # best value any run found on the task
    # a run without a finite value (every trial failed) is the worst: +inf in every statistic
    pts["failed"] = pts["best"].isna()
    pts["best"] = pts["best"].fillna(np.inf)
    pts["regret"] = pts["best"] - pts["task"].map(ref)
    # ranks among the samplers that share a seed
    pts["rank"] = np.nan
    for _, grp in pts.groupby(["task", "budget", "seed"]):
        pts.loc[grp.index, "rank"] = rankdata(grp["best"].to_numpy())
    out = []
    for (task, b), grp in pts.groupby(["task", "budget"]):
        vals = {s: g["best"].tolist() for s, g in grp.groupby("sampler")}
        rows = []
        for s, g in grp.groupby("sampler"):
            reg = g["regret"].dropna()
            rows.append({
                "task": task, "budget": b, "sampler": s, "n_seeds": len(g),
                "n_failed_runs": int(g["failed"].sum()),
                "median_best": g["best"].median(), "median_regret": reg.median(),
                "q25_regret": _quantile(reg, 0.25), "q75_regret": _quantile(reg, 0.75),
                "mean_rank": g["rank"].mean(), "source": ",".join(sorted(set(g["source"]))),
                "p_vs_random": mwu(vals[s], vals["random"]) if "random" in vals and s != "random"
                else math.nan,
                "p_vs_tpe": mwu(vals[s], vals["tpe"]) if "tpe" in vals and s != "tpe" else math.nan,
                "a_vs_random": prob_lower(vals[s], vals["random"]) if "random" in vals
                else math.nan,
                "a_vs_tpe": prob_lower(vals[s], vals["tpe"]) if "tpe" in vals else math.nan,
            })
        for col in ("p_vs_random", "p_vs_tpe"):
            adj = holm([r[col] for r in rows])
            for r, a in zip(rows, adj, strict=True):
                r[col + "_holm"] = a
        out.extend(rows)
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _marks(r: pd.Series, alpha: float = 0.05) -> str:
    """``+R``/``-R``, ``+T``/``-T``: significantly better/worse than random search / TPE;
    the side is the test's (:func:`prob_lower`), not the medians', which may be equal."""
    marks = []
    for ref, tag in (("random", "R"), ("tpe", "T")):
        p = r.get(f"p_vs_{ref}_holm")
        if p is not None and not math.isnan(p) and p < alpha:
            marks.append(("+" if r[f"a_vs_{ref}"] > 0.5 else "-") + tag)
    return " " + " ".join(marks) if marks else ""


def markdown_table(summary: pd.DataFrame, budget: int, order: Sequence[str]) -> str:
    """Median regret (mean rank) per sampler x task at ``budget``, with significance marks."""
    s = summary[summary["budget"] == budget]
    if s.empty:
        return f"(no results at {budget} trials)"
    tasks = [t for t in TASKS if t in set(s["task"])]
    samplers = [x for x in order if x in set(s["sampler"])]
    lines = ["| sampler | " + " | ".join(tasks) + " | mean rank |",
             "|---|" + "---|" * (len(tasks) + 1)]
    for smp in samplers:
        cells, ranks = [], []
        for t in tasks:
            r = s[(s["task"] == t) & (s["sampler"] == smp)]
            if r.empty:
                cells.append("")
                continue
            r = r.iloc[0]
            ranks.append(r["mean_rank"])
            cells.append(f"{r['median_regret']:.3g} ({r['mean_rank']:.1f}){_marks(r)}")
        mean = f"{statistics.fmean(ranks):.2f}" if ranks else ""
        lines.append(f"| {smp} | " + " | ".join(cells) + f" | {mean} |")
    return "\n".join(lines)


def score_table(summary: pd.DataFrame, budget: int, order: Sequence[str]) -> str:
    """Median best score (the minimised objective itself) per sampler x task at ``budget``."""
    s = summary[summary["budget"] == budget]
    t = s.pivot(index="sampler", columns="task", values="median_best")
    t = t.reindex([x for x in order if x in t.index])[[x for x in TASKS if x in t.columns]]
    return t.to_string(float_format=lambda v: f"{v:.4g}")


def target_check(summary: pd.DataFrame, budget: int) -> pd.DataFrame:
    """Issue 8's targets per task: DLF-AOA vs random search; our best sampler vs TPE.

    "Our best" is the one of our six with the lowest mean rank on that task (chosen after the
    fact, so it is optimistic). Medians compared; p-values are the Holm-adjusted ones.
    """
    s = summary[summary["budget"] == budget].set_index(["task", "sampler"])
    rows = []
    for task in [t for t in TASKS if t in set(summary["task"])]:
        row: dict[str, Any] = {"task": task}
        if (task, "dlf-aoa") in s.index and (task, "random") in s.index:
            d, r = s.loc[(task, "dlf-aoa")], s.loc[(task, "random")]
            row.update({"dlf-aoa": d["median_best"], "random": r["median_best"],
                        "dlf<random": bool(d["median_best"] < r["median_best"]),
                        "p_holm_vs_random": d["p_vs_random_holm"]})
        ours = [x for x in OURS if (task, x) in s.index]
        if ours and (task, "tpe") in s.index:
            best = min(ours, key=lambda x: s.loc[(task, x), "mean_rank"])
            b, t = s.loc[(task, best)], s.loc[(task, "tpe")]
            row.update({"our_best": best, "ours": b["median_best"], "tpe": t["median_best"],
                        "ours<=tpe": bool(b["median_best"] <= t["median_best"]),
                        "p_holm_vs_tpe": b["p_vs_tpe_holm"]})
        rows.append(row)
    return pd.DataFrame(rows)


def branch_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Conditional tasks: per (task, sampler), in how many runs the best configuration took
    each branch (the value of the task's ``branch`` parameter in ``best_params``)."""
    rows = []
    for r in runs.itertuples():
        branch = TASKS[r.task].branch if r.task in TASKS else None
        if branch is not None:
            rows.append({"task": r.task, "sampler": r.sampler,
                         "branch": json.loads(r.best_params).get(branch, "(none)")})
    if not rows:
        return pd.DataFrame()
    return pd.crosstab([pd.Series([x["task"] for x in rows], name="task"),
                        pd.Series([x["sampler"] for x in rows], name="sampler")],
                       pd.Series([x["branch"] for x in rows], name="branch"))


def _reference(runs: pd.DataFrame) -> pd.Series:
    """Per task, the best value any run found (to 12 digits: regret 0 is the table's)."""
    return runs.groupby("task")["best"].min().map(_sig)


def trace_quartiles(traces: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """25th, 50th and 75th percentiles per trial of the regret ``traces`` (one row per run):
    a run with no value yet (NaN: failed trials) is the worst there, +inf, as in the table."""
    q = quantiles(np.where(np.isnan(traces), np.inf, traces), [0.25, 0.5, 0.75])
    return q[0], q[1], q[2]


def symlog_threshold(sub: pd.DataFrame, ref: float) -> float:
    """The power of ten below the smallest positive final regret of one task's runs
    against ``ref`` (:func:`_reference`; from the curves when every run found it): the
    plot is linear below it."""
    final = sub["best"].map(_sig).to_numpy(dtype=float) - ref
    positive = final[np.isfinite(final) & (final > 0)]
    if not positive.size:  # every run found the best value: scale by the curves instead
        curves = np.array([_sig(v) for tr in sub["trace"] for v in json.loads(tr)
                           if v is not None])
        positive = curves[curves > ref] - ref
    return 10.0 ** math.floor(math.log10(positive.min())) if positive.size else 1e-6


def plot(runs: pd.DataFrame, path: Path, order: Sequence[str]) -> None:
    """Regret of the best so far vs trial: median line, quartile band, one panel per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in TASKS if t in set(runs["task"])]
    ncol = min(3, len(tasks))
    nrow = math.ceil(len(tasks) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(max(5.2 * ncol, 9.0), 3.8 * nrow + 0.8),
                             squeeze=False)
    colours = plt.get_cmap("tab10" if len(order) <= 10 else "tab20")  # no colour twice
    ref = _reference(runs)
    for ax, task in zip(axes.flat, tasks, strict=False):  # spare panels stay blank
        sub = runs[runs["task"] == task]
        longest = sub.groupby("sampler")["trials"].max()
        for i, smp in enumerate(order):
            if smp not in longest.index:
                continue
            g = sub[(sub["sampler"] == smp) & (sub["trials"] == longest[smp])]
            traces = np.array([[np.nan if v is None else _sig(v) for v in json.loads(tr)]
                               for tr in g["trace"]], dtype=float) - ref[task]
            q25, med, q75 = trace_quartiles(traces)
            x = np.arange(1, traces.shape[1] + 1)
            style = "-" if smp.partition(":")[0] in OURS else "--"
            ax.plot(x, med, style, color=colours(i % colours.N), lw=1.4, label=smp)
            ax.fill_between(x, q25, q75, color=colours(i % colours.N), alpha=0.12, lw=0)
        ax.set_yscale("symlog", linthresh=symlog_threshold(sub, ref[task]))
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("trial")
        ax.set_ylabel("regret of best so far")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, h)
    labels = [s for s in order if s in legend]
    handles = [legend[s] for s in labels]
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)), fontsize=8)
    fig.suptitle("median and quartiles over seeds; regret vs the best value any run found",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.8 / (3.8 * nrow + 0.8), 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def time_tasks(tasks: Sequence[str], n: int) -> pd.DataFrame:
    """Seconds per trial of each task over ``n`` random-search trials (seed 0), one thread."""
    _quiet_worker()
    rows = []
    for name in tasks:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                    pruner=get_task(name).make_pruner(),
                                    study_name=study_name(name, 0))
        study.optimize(get_task(name).make(), n_trials=n, catch=(Exception,))
        secs = [(t.datetime_complete - t.datetime_start).total_seconds() for t in study.trials]
        rows.append({"task": name, "trials": n, "median_s": statistics.median(secs),
                     "max_s": max(secs), "total_s": sum(secs)})
        print(f"{name:22s} median {rows[-1]['median_s']:.3f} s  max {rows[-1]['max_s']:.3f} s",
              file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


# -- command line -------------------------------------------------------------------------------
def report_budgets(report: Sequence[int], trials: Sequence[int]) -> list[int]:
    """The budgets of ``--report`` that the studies reach (those above the longest study
    are dropped with a warning); the study lengths when none is left."""
    longest = max(trials)
    budgets = sorted(b for b in set(report) if b <= longest)
    if dropped := sorted(b for b in set(report) if b > longest):
        logger.warning("--report %s: above the longest study (--trials %d), not reported%s",
                       ", ".join(map(str, dropped)), longest,
                       "" if budgets else "; reporting the study lengths instead")
    return budgets or sorted(set(trials))


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, to record beside a timing."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def _names(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise SystemExit(f"error: unknown {what} {bad}; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(values))


def _positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), help=", ".join(TASKS))
    p.add_argument("--samplers", nargs="+", default=list(SAMPLERS),
                   help=", ".join(SAMPLERS) + " or any registered algorithm; each takes options, "
                   "e.g. dlf-aoa:pop_size=6, tpe:multivariate=true, gp:n_startup_trials=5")
    p.add_argument("--seeds", type=_positive, default=10, help="number of seeds (default 10)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the first seed (default 0); seeds are integers in [0, 2**32)")
    p.add_argument("--trials", type=_positive, nargs="+", default=[200],
                   help="study lengths to run (default 200)")
    p.add_argument("--report", type=_positive, nargs="+", default=[50, 100, 200],
                   help="budgets to report (default 50 100 200); those not run are read off "
                   "longer runs; those above the longest study are dropped with a warning (none "
                   "left: the study lengths are reported)")
    p.add_argument("--jobs", type=int, default=1, help="parallel runs (joblib; -1 = all cores)")
    p.add_argument("--out", default="results/hpo_tasks", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: select-breast_cancer, 6 trials, 2 seeds, "
                   "out=results/hpo_tasks_quick")
    p.add_argument("--time", action="store_true", help="time each task (8 trials) and exit")
    p.add_argument("--report-only", action="store_true",
                   help="summarise the runs already in --out; run nothing")
    p.add_argument("--paired", nargs=2, action="append", default=[], metavar=("REF", "OTHER"),
                   help="also compare OTHER with REF seed by seed (Wilcoxon signed-rank), "
                   "e.g. --paired dlf-aoa dlf-aoa:boundary=reflect; both among --samplers; "
                   "repeatable; written to paired.csv")
    p.add_argument("--studies", metavar="DIR",
                   help="keep each run's study in its own SQLite file under DIR, so that a run "
                   "killed part-way continues from its last finished trial when the command "
                   "is started again (for the costly tasks; default: in memory)")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    if args.jobs == 0 or args.jobs < -1:
        p.error(f"--jobs must be >= 1 or -1 (all cores), got {args.jobs}")
    if not 0 <= args.first_seed <= 2**32 - args.seeds:
        p.error(f"--first-seed {args.first_seed} with --seeds {args.seeds}: the seeds must lie "
                "in [0, 2**32) (what every sampler accepts)")
    tasks = _names(args.tasks, list(TASKS), "tasks")
    samplers = list(dict.fromkeys(args.samplers))
    for pair in args.paired:
        if missing := [s for s in pair if s not in samplers]:
            p.error(f"--paired {' '.join(pair)}: {', '.join(missing)} not among --samplers")
    for spec in samplers:
        try:
            with warnings.catch_warnings():  # GP's experimental option: said once per worker
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                make_sampler(spec, 0, max(args.trials))  # options checked here, not in a worker
        except ValueError as exc:
            raise SystemExit(f"error: unknown samplers or options: {exc}") from exc
    if args.time:
        load = load_average()
        print(time_tasks(tasks, 8).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"load average (1, 5, 15 min): start {load}, end {load_average()}; "
              f"{os.cpu_count()} CPUs")
        return 0
    if args.quick:
        if args.tasks == list(TASKS):
            tasks = ["select-breast_cancer"]
        args.trials, args.report, args.seeds = [6], [3, 6], 2
        if args.out == p.get_default("out"):
            args.out = "results/hpo_tasks_quick"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "runs.csv"
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    recorded = _recorded_runs(path)
    if recorded is None:
        return 2
    done = {tuple(k) for k in recorded[KEY].itertuples(index=False)}
    # seed-major order: an interrupted run leaves whole seeds, comparable across samplers
    todo = [(t, s, seed, n) for seed in seeds for n in sorted(args.trials, reverse=True)
            for t in tasks for s in samplers if (t, s, seed, n) not in done]
    wanted = len(tasks) * len(samplers) * args.seeds * len(args.trials)
    logger.info("%d of %d runs to do (%d already in %s)", len(todo), wanted, wanted - len(todo),
                path)
    if args.report_only:
        logger.info("--report-only: the %d missing runs are not run", len(todo))
        todo = []
    if todo:  # the seconds per run in runs.csv depend on it
        logger.info("load average (1, 5, 15 min) before the runs: %s", load_average())
    try:
        run_all(todo, path, args.jobs, args.studies)
    except StudyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if todo:
        logger.info("load average (1, 5, 15 min) after the runs: %s", load_average())
    runs = _recorded_runs(path)  # damaged during the run? unsaved rows: see append_run
    if runs is None:
        return 2
    runs = runs[runs["task"].isin(tasks) & runs["sampler"].isin(samplers)
                & runs["seed"].isin(list(seeds)) & runs["trials"].isin(args.trials)]
    if runs.empty:
        logger.warning("no finished runs in %s for this selection; nothing to report", path)
        return 0
    budgets = report_budgets(args.report, args.trials)
    summary = summarise(runs, budgets, samplers)
    summary.to_csv(out / "summary.csv", index=False)
    if summary.empty:
        logger.warning("no seed was run by every sampler in %s; nothing to compare", path)
        return 0
    order = [s for s in SAMPLERS if s in samplers] + [s for s in samplers if s not in SAMPLERS]
    for b in budgets:
        at_b = summary[summary["budget"] == b]
        src = sorted(set(at_b["source"]))
        n = at_b.groupby("task")["n_seeds"].min()
        n_seeds = ", ".join(f"{t} {n[t]}" for t in TASKS if t in n.index)
        print(f"\n## {b} trials ({'; '.join(src)}), seeds per task: {n_seeds}; median regret "
              f"(mean rank); +R/-R, +T/-T: significantly better/worse than random / TPE "
              f"(two-sided Mann-Whitney U, Holm, alpha 0.05)\n")
        print(markdown_table(summary, b, order))
        print(f"\nmedian best score at {b} trials (minimised; see benchmarks/_tasks.py)")
        print(score_table(summary, b, order))
    if 100 in budgets:
        print("\nissue 8 targets at 100 trials (median best score; lower is better):")
        print(target_check(summary, 100).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.paired:
        pairs = pd.concat([paired(runs, budgets, ref, other) for ref, other in args.paired])
        pairs.to_csv(out / "paired.csv", index=False)
        print("\npaired by seed (lower is better; better/worse/equal: seeds on which OTHER is "
              "below/above/equal to REF; two-sided Wilcoxon signed-rank, uncorrected):")
        print(pairs.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    branches = branch_table(runs)
    if not branches.empty:
        print("\nconditional tasks: runs whose best configuration took each branch")
        print(branches.reindex(order, level="sampler").to_string())
    rep = runs.groupby("sampler")["n_repeats"].sum().reindex(order).dropna().astype(int)
    print("\nrepeated parameter sets (trials re-proposing an evaluated point), all runs:")
    print(rep.to_string())
    if not args.no_plot and not runs.empty:
        plot(runs, out / "best_so_far.png", order)
        print(f"\nwrote {path}, {out / 'summary.csv'}, {out / 'best_so_far.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
