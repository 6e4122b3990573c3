"""The end of a ``metaheur tune`` run: write the report, print the summary, say how the run
ended (a stop, a failed trial, ``--timeout``) and how to go on."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["ending", "finish", "record_run"]

#: The settings of the latest run that finished trials, kept as the study's own attributes
#: too (``best.json`` shows them at its top level).
LATEST = ("command", "pop_size", "pruner", "device", "n_jobs", "run_seconds")


def ending(outcome: Any, args: argparse.Namespace, running: int = 0) -> str:
    """How a run that started trials ended, for its record and its last message:
    ``"interrupted"`` (Ctrl-C), ``"terminated"`` (SIGTERM), ``"error"`` (a trial raised),
    ``"done"`` (the study has ``--trials`` finished trials), ``"timeout"`` (``--timeout``
    passed first), ``"others running"`` (``running`` trials of other workers, or of a
    worker that died, make up the rest) or ``"incomplete"`` (none of these: trials failed
    without an error, e.g. a worker process died)."""
    if outcome.interrupted:
        return "terminated" if outcome.signum == signal.SIGTERM else "interrupted"
    if outcome.error:
        return "error"
    if outcome.finished >= args.trials:
        return "done"
    if args.timeout is not None and outcome.seconds >= args.timeout:
        return "timeout"
    return "others running" if running else "incomplete"


def record_run(study: Any, run: dict[str, Any]) -> None:
    """Record in ``study`` a run that started trials: ``run`` (its command and settings,
    ``new``: the trials finished in the study while it ran, ``finished``: the study's
    total after it, ``ended``: see :func:`ending`) under a key of its own
    (:data:`~metaheur.harness.report.RUN_PREFIX`, the UTC start time and the process id:
    runs of several workers never overwrite each other), and, when it finished trials, its
    :data:`LATEST` settings as the study's attributes (a run stopped before any trial
    finished is recorded, but the top-level settings stay those of the trials).
    ``pop_size`` and ``pruner`` may differ from the previous run's: a metaheuristic sampler
    takes a changed population like a changed ``--trials`` (a new run, warm-started from
    the best completed trials), and a pruner judges each trial on its own; the records say
    which run used what. A run with nothing to do records nothing, so the provenance stays
    that of the trials."""
    from metaheur.harness.report import RUN_PREFIX

    stamp = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    study.set_user_attr(f"{RUN_PREFIX}{stamp}:{os.getpid()}", run)
    if run["new"] > 0:
        for key in LATEST:
            study.set_user_attr(key, run[key])


def finish(args: argparse.Namespace, study: Any, outcome: Any, *, out: Path, storage_url: str,
           command: str) -> int:
    """Write ``study``'s report into ``out`` and print it; returns the exit status of the
    run that ended with ``outcome`` (:class:`metaheur.harness.runs.TuneOutcome`): 1 when a
    trial raised, or when the study has its trials and none has a finite value. A stop
    writes trials.csv and best.json only (seconds count) and removes the plots an earlier run
    left, which would describe other trials."""
    from optuna.trial import TrialState

    from metaheur.harness import storage as storages
    from metaheur.harness.report import (
        DISCLAIMER,
        PLOTS,
        artifact_dirs,
        best_trial,
        summary_text,
        write_report,
    )

    t0 = time.perf_counter()
    old_plots = [name for name in PLOTS.values() if (out / name).is_file()]
    written = write_report(study, out, plots=not outcome.interrupted,
                           artifact_dir=artifact_dirs(study, storage_url, out))
    removed = [name for name in old_plots if not (out / name).exists()]
    if args.json:
        print(written["best"].read_text())
    else:
        if not args.quiet:
            print()  # after the notes
        print(summary_text(study))
        print(f"wrote {', '.join(p.name for p in written.values())} to {out}/ "
              f"({time.perf_counter() - t0:.1f} s)")
        print(f"{outcome.finished} of {args.trials} trials finished "
              f"({outcome.seconds:.0f} s this run). {DISCLAIMER}")
    shown = storages.mask_url(storage_url)
    running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
    ended = ending(outcome, args, running)
    if ended in ("interrupted", "terminated"):
        how = "Stopped by SIGTERM" if ended == "terminated" else "Interrupted"
        gone = (" (the plots of the earlier run were removed: they showed other trials)"
                if removed else "")
        print(f"{how}: {outcome.finished} finished trials are saved in {shown}. No plots "
              f"after a stop{gone}; draw them with `metaheur report --storage {shown} "
              f"--out {out}`, or at the run's end. Resume with:\n  {command}",
              file=sys.stderr)
        return 128 + int(outcome.signum or signal.SIGINT)
    if ended == "error":
        print(f"metaheur tune: error: a trial failed: {outcome.error}. The finished trials are "
              f"saved; resume with:\n  {command}", file=sys.stderr)
        return 1
    if ended == "done" and best_trial(study) is None:  # every trial failed: nothing to use
        print(f"metaheur tune: error: the study's {outcome.finished} finished trials have no "
              "finite value (every configuration failed, or was pruned): best.json has no "
              "best trial; see the failure column of trials.csv", file=sys.stderr)
        return 1
    if ended == "timeout":
        print(f"Stopped by --timeout; continue with:\n  {command}", file=sys.stderr)
    elif ended == "others running":
        print(f"The other {running} trial(s) are RUNNING: in other workers of this study, "
              "or left by a worker that died (marked FAIL once their heartbeat is stale, "
              f"3 min; then run the command again to replace them):\n  {command}",
              file=sys.stderr)
    return 0
