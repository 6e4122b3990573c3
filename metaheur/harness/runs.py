"""Running a study's trials in this process or in worker processes, and stopping them.

A stop (Ctrl-C, or SIGTERM from a scheduler) is quick and quiet whenever it comes:

- the first signal only sets a flag, unless the process is inside the objective (training),
  where it raises ``KeyboardInterrupt`` at once, or, when the objective is writing to the
  storage (``trial.report``, ``set_user_attr``), as soon as that write returns; so a storage
  write is never cut in half (which left SQLite locked and trials RUNNING), and no new trial
  starts after it;
- the trial in flight is marked FAIL (it runs again on resume), finished trials are kept;
- worker processes start with SIGINT blocked, so a Ctrl-C while they import torch prints
  nothing (it waits until the worker can stop cleanly), and the parent does not lose one
  that comes while it starts them; the parent relays the stop to them as SIGTERM, which ends
  a worker that is still starting and stops a running one like Ctrl-C;
- repeated signals are ignored while the stop completes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import multiprocessing as mp
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import TrialState

from metaheur.harness.progress import ProgressBar
from metaheur.harness.storage import mask_text, open_storage, storage_error
from metaheur.harness.study import count_finished, make_pruner

__all__ = ["TuneOutcome", "run_trials", "stop_signals"]

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds a worker gets to stop after the parent relays a stop, before it is killed.
STOP_GRACE_S = 20.0


@dataclass
class TuneOutcome:
    """How :func:`run_trials` ended: trials finished in total, whether a stop signal ended it
    (``signum`` says which), the wall time, and (when a trial raised) the masked error."""

    finished: int
    interrupted: bool
    seconds: float
    error: str | None = None
    signum: int | None = None


# --------------------------------------------------------------------------- signals
class _Stop:
    """Process-wide stop state (one per process: signal handlers are process-wide)."""

    signum: int | None = None
    in_objective: bool = False
    objective_frame: Any = None  # the guarded objective's frame while it runs
    hook: Any = None  # the profile hook of a deferred interrupt, while it waits


#: Top-level packages of storage code, which a stop must not interrupt: a write cut in half
#: keeps its transaction, and SQLite's write lock, open (Optuna rolls back on ``Exception``
#: only), so the trial's FAIL cannot be stored and the trial stays RUNNING.
_STORAGE_PACKAGES = frozenset({"sqlalchemy", "alembic", "sqlite3", "psycopg2", "psycopg",
                               "pymysql", "MySQLdb", "redis"})
_SUSPENDABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def _is_storage_code(frame: Any) -> bool:
    name = frame.f_globals.get("__name__", "")
    return name.partition(".")[0] in _STORAGE_PACKAGES or name.startswith("optuna.storages.")


def _storage_call(frame: Any) -> tuple[Any, bool]:
    """``(outermost, plain)``: the outermost frame of storage code between ``frame`` and the
    objective's (None when the objective is not in storage code), and whether it is a plain
    function: a generator's "return" comes at each ``yield`` (``with engine.begin():``
    entering), before its work is done. Generators inside a plain call are done when it
    returns (Optuna's ``_create_scoped_session`` commits inside each storage method)."""
    outer = None
    while frame is not None and frame is not _Stop.objective_frame:
        if _is_storage_code(frame):
            outer = frame
        frame = frame.f_back
    return outer, outer is None or not outer.f_code.co_flags & _SUSPENDABLE


def _interrupt_after(storage_frame: Any) -> None:
    """Raise ``KeyboardInterrupt`` when ``storage_frame`` returns (it is the outermost
    storage call, so the write is complete): a profile hook on this thread, set only until
    then. Nothing is set when a profiler is already active: the stop then waits for the
    objective to end."""
    if sys.getprofile() is not None:
        return

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event == "return" and frame is storage_frame:
            sys.setprofile(None)
            _Stop.hook = None
            raise KeyboardInterrupt

    _Stop.hook = hook
    sys.setprofile(hook)


def _on_stop(signum: int, frame: Any) -> None:
    if _Stop.signum is not None:
        return  # repeats are ignored: the stop in progress completes
    _Stop.signum = signum
    if _Stop.in_objective:
        storage_frame, plain = _storage_call(frame)
        if storage_frame is None:
            raise KeyboardInterrupt
        if plain:  # else the stop waits for the objective to end
            _interrupt_after(storage_frame)


@contextlib.contextmanager
def stop_signals() -> Iterator[type[_Stop]]:
    """Install the deferred stop handler for SIGINT and SIGTERM and restore the previous
    handlers afterwards; yields the stop state (read it inside: it is cleared on exit, so
    that a later run in this process does not see an earlier stop). Outside the main thread
    (where Python allows no handlers) nothing is installed and Ctrl-C acts as usual."""
    import threading

    _Stop.signum, _Stop.in_objective = None, False
    if threading.current_thread() is not threading.main_thread():
        yield _Stop
        return
    previous = {s: signal.signal(s, _on_stop) for s in STOP_SIGNALS}
    try:
        yield _Stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _Stop.signum = None  # a later run in this process starts afresh


def _guarded(objective: Callable[[optuna.Trial], float]) -> Callable[[optuna.Trial], float]:
    """The objective, interruptible by a stop signal while it runs; a stop that came before
    it starts fails the trial at once (it is run again on resume). A value Optuna would
    fail without raising (NaN, not a number) raises instead: FAIL trials do not count
    towards ``n_trials``, so the run would otherwise start trials for ever."""

    @functools.wraps(objective)
    def run(trial: optuna.Trial) -> float:
        if _Stop.signum is not None:
            raise KeyboardInterrupt
        _Stop.objective_frame, _Stop.in_objective = sys._getframe(), True
        try:
            value = objective(trial)
        finally:
            _Stop.objective_frame, _Stop.in_objective = None, False
            if _Stop.hook is not None and sys.getprofile() is _Stop.hook:  # never fired
                sys.setprofile(None)
            _Stop.hook = None
        _check_value(trial.number, value)
        return value

    return run


def _check_value(number: int, value: Any) -> None:
    try:
        ok = not math.isnan(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"the objective of trial #{number} returned {value!r}; it must return a number "
            "(+inf for a configuration that failed), or raise optuna.TrialPruned")


# ---------------------------------------------------------------------------- trials
def _best_value(study: optuna.Study) -> float | None:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return min((t.value for t in done if t.value is not None), default=None)


def _evaluated(study: optuna.Study, since: float) -> int:
    """Finished trials started after ``since`` (epoch s) that trained (not reused)."""
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if t.datetime_start is not None and t.datetime_start.timestamp() >= since \
                and "reused_from" not in t.user_attrs:
            n += 1
    return n


def _optimize(study: optuna.Study, objective: Callable[[optuna.Trial], float], n_trials: int,
              timeout: float | None, on_trial: Callable[[], None] | None = None) -> None:
    """Run trials one at a time until finished + running trials reach ``n_trials`` (over all
    workers; a race can still overshoot by one per extra worker), ``timeout`` passes or a
    stop signal comes (then ``KeyboardInterrupt``)."""
    start = time.monotonic()
    guarded = _guarded(objective)
    while timeout is None or time.monotonic() - start < timeout:
        if _Stop.signum is not None:
            raise KeyboardInterrupt
        with warnings.catch_warnings():  # experimental API; a no-op without a heartbeat
            warnings.simplefilter("ignore")
            optuna.storages.fail_stale_trials(study)  # RUNNING trials of workers that died
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        if count_finished(study) + running >= n_trials:
            return
        study.optimize(guarded, n_trials=1, gc_after_trial=True)
        if on_trial is not None:
            on_trial()
    if _Stop.signum is not None:
        raise KeyboardInterrupt


def _is_storage_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, (SQLAlchemyError, optuna.exceptions.StorageInternalError))


def _quiet_unraisable(unraisable: Any) -> None:
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def _worker(storage_url: str, study_name: str,
            sampler_factory: Callable[[], optuna.samplers.BaseSampler], pruner_name: str,
            objective_factory: Callable[[], Callable[[optuna.Trial], float]], n_trials: int,
            timeout: float | None, worker_init: Callable[[], None] | None) -> None:
    """Body of one worker process (spawned; rebuilds everything from picklable inputs)."""
    for s in STOP_SIGNALS:
        signal.signal(s, _on_stop)
    if hasattr(signal, "pthread_sigmask"):  # a Ctrl-C held back since the start arrives now
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    sys.unraisablehook = _quiet_unraisable  # an interrupt landing in a gc callback
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if worker_init is not None:
        worker_init()
    try:
        storage = open_storage(storage_url)
        study = optuna.load_study(study_name=study_name, storage=storage,
                                  sampler=sampler_factory(), pruner=make_pruner(pruner_name))
        _optimize(study, objective_factory(), n_trials, timeout)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # one line in the worker's log; the parent reports the exit code
        logger.error("worker %d stopped: %s", os.getpid(),
                     mask_text(f"{type(exc).__name__}: {exc}", storage_url))
        logger.debug("worker traceback", exc_info=True)
        raise SystemExit(1) from None
    if _Stop.signum is not None:
        raise SystemExit(130)


def run_trials(
    storage_url: str,
    study_name: str,
    *,
    sampler_factory: Callable[..., optuna.samplers.BaseSampler],
    objective_factory: Callable[[], Callable[[optuna.Trial], float]],
    n_trials: int,
    timeout: float | None = None,
    n_jobs: int = 1,
    pruner: str = "none",
    progress: bool = True,
    desc: str = "tune",
    worker_init: Callable[[], None] | None = None,
) -> TuneOutcome:
    """Run the study until ``n_trials`` trials are finished (over all workers and runs).

    ``sampler_factory(worker=i)`` builds worker ``i``'s sampler and ``objective_factory()`` the
    objective; both are picklable (e.g. :func:`functools.partial`) because ``n_jobs > 1``
    starts that many spawned processes on the same storage. SIGINT or SIGTERM stops the run
    (see the module docstring) and is reported as ``interrupted=True``, not raised.
    ``worker_init`` (picklable) runs first in each worker process.
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    storage = open_storage(storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=sampler_factory(worker=0), pruner=make_pruner(pruner))
    start, since = time.monotonic(), time.time() - 1.0
    initial = count_finished(study)
    bar = ProgressBar(n_trials, initial=initial, desc=desc, unit="trial", enabled=progress)

    def poll() -> None:
        finished = count_finished(study)
        bar.set_work(_evaluated(study, since), max(n_trials - finished, 0))
        best = _best_value(study)
        bar.update(finished, f"best={best:.4g}" if best is not None and math.isfinite(best)
                   else "")

    interrupted, error = False, None
    with stop_signals() as stop:
        try:
            if n_jobs == 1:
                try:
                    _optimize(study, objective_factory(), n_trials, timeout, poll)
                except KeyboardInterrupt:
                    interrupted = True
                except Exception as exc:
                    if _is_storage_error(exc):  # the storage, not the trial: disk full, ...
                        raise storage_error(storage_url, exc, "storage failed:") from None
                    error = mask_text(f"{type(exc).__name__}: {exc}", storage_url)
                    logger.debug("trial raised", exc_info=True)
            else:
                interrupted, error = _run_processes(
                    storage_url, study_name, sampler_factory, pruner, objective_factory,
                    n_trials, timeout, n_jobs, poll, worker_init)
            interrupted = interrupted or stop.signum is not None
            with contextlib.suppress(Exception):
                poll()
        finally:
            bar.close()
        signum = stop.signum
    return TuneOutcome(count_finished(study), interrupted, time.monotonic() - start, error,
                       signum if interrupted else None)


def _run_processes(storage_url: str, study_name: str,
                   sampler_factory: Callable[..., optuna.samplers.BaseSampler], pruner: str,
                   objective_factory: Callable[[], Callable[[optuna.Trial], float]],
                   n_trials: int, timeout: float | None, n_jobs: int,
                   poll: Callable[[], None], worker_init: Callable[[], None] | None
                   ) -> tuple[bool, str | None]:
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker,
            args=(storage_url, study_name, functools.partial(sampler_factory, worker=i), pruner,
                  objective_factory, n_trials, timeout, worker_init),
            daemon=False,
        )
        for i in range(n_jobs)
    ]
    _start_workers(procs)
    last_poll = 0.0
    while any(p.is_alive() for p in procs) and _Stop.signum is None:
        for p in procs:
            p.join(0.2)
        if time.monotonic() - last_poll >= 1.0:
            last_poll = time.monotonic()
            with contextlib.suppress(Exception):  # a busy storage: try again next second
                poll()
    interrupted = _Stop.signum is not None
    if interrupted:
        _stop_workers(procs)
    bad = [p.exitcode for p in procs if p.exitcode not in (0, 130, -signal.SIGTERM)]
    if any(p.exitcode in (130, -signal.SIGTERM) for p in procs):
        interrupted = True
    error = (f"{len(bad)} worker process(es) failed (exit codes {bad}; see their messages "
             f"above)") if bad and not interrupted else None
    return interrupted, error


def _start_workers(procs: list[Any]) -> None:
    """Start the worker processes with SIGINT blocked: the children inherit the mask through
    exec, so a Ctrl-C while they import torch waits until :func:`_worker` has its handler
    (then it stops the worker cleanly), and one that comes to this process meanwhile is
    delivered when the mask is restored. Where signals cannot be blocked (Windows), SIGINT
    is ignored during the start instead, and a Ctrl-C in that window is lost."""
    if hasattr(signal, "pthread_sigmask"):
        from multiprocessing import resource_tracker

        # Launching the tracker (the first start's doing otherwise) unblocks SIGINT here.
        resource_tracker.ensure_running()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for p in procs:
                p.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for p in procs:
            p.start()
    finally:
        signal.signal(signal.SIGINT, handler)


def _stop_workers(procs: list[Any], grace: float = STOP_GRACE_S) -> None:
    """Relay the stop as SIGTERM, wait ``grace`` seconds, then kill what is left."""
    for p in procs:
        if p.is_alive() and p.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            logger.warning("worker %s did not stop within %.0f s; killed (its trial stays "
                           "RUNNING until the heartbeat marks it FAIL)", p.pid, grace)
            p.kill()
            p.join()
