"""Hyper-parameter tuning runs on an Optuna storage: samplers by name, studies, workers.

The storage (SQLite file, PostgreSQL server) is the source of truth: a run that is started
again with the same storage and study name continues the study, and trials already finished
count towards the requested total, so several processes or machines pointed at one storage
cooperate on one study. Storage passwords never leave this module unmasked
(:func:`mask_url`, :func:`mask_text`).

Algorithm names are the registry names (:func:`metaheur.available`) plus Optuna's ``tpe``,
``cmaes`` and ``random`` for comparison.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import multiprocessing as mp
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from metaheur._registry import available, get

__all__ = [
    "OPTUNA_SAMPLERS",
    "PRUNERS",
    "FINISHED_STATES",
    "StorageError",
    "StudyMismatchError",
    "TuneOutcome",
    "algorithm_names",
    "check_algo",
    "generations",
    "make_sampler",
    "make_pruner",
    "mask_url",
    "mask_text",
    "open_storage",
    "open_study",
    "count_finished",
    "run_trials",
]

logger = logging.getLogger(__name__)

OPTUNA_SAMPLERS = ("tpe", "cmaes", "random")
PRUNERS = ("none", "median", "hyperband", "successive-halving")
#: Trial states that count towards ``--trials`` (an interrupted trial is FAIL and is re-run).
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


class StorageError(ValueError):
    """The storage URL is malformed or the database cannot be reached (message is masked)."""


class StudyMismatchError(ValueError):
    """An existing study was created with another algorithm, model or profile."""


# ---------------------------------------------------------------------------- names
def algorithm_names() -> list[str]:
    """Registry names followed by Optuna's ``tpe``, ``cmaes`` and ``random``."""
    return available() + list(OPTUNA_SAMPLERS)


def check_algo(name: str) -> str:
    """Normalise ``name`` (case, ``_`` → ``-``); ``ValueError`` listing what is allowed."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in algorithm_names():
        raise ValueError(f"unknown algorithm {name!r}; allowed: {', '.join(algorithm_names())}")
    return key


def generations(algo: str, pop_size: int, n_trials: int) -> int:
    """Iterations a metaheuristic completes in ``n_trials`` evaluations after its initial
    population (docs/algorithms.md §0.2); ``n_trials // pop_size`` for Optuna's samplers."""
    if algo in OPTUNA_SAMPLERS:
        return n_trials // max(pop_size, 1)
    if n_trials < pop_size:
        return 0
    opt = get(algo)([(0.0, 1.0)], pop_size=pop_size, budget=n_trials)
    return (n_trials - pop_size) // sum(opt._rounds())  # POA: two rounds per iteration


def make_sampler(
    algo: str,
    *,
    seed: int | None = None,
    pop_size: int | None = None,
    n_trials: int | None = None,
    search_space: Mapping[str, Any] | None = None,
    **params: Any,
) -> optuna.samplers.BaseSampler:
    """Sampler for ``algo``: a :class:`metaheur.optuna.MetaheuristicSampler` for a registry
    name (``search_space`` fixes its space from the first trial on, so the first trials are
    its initial population), else Optuna's ``TPESampler``, ``CmaEsSampler`` (``pop_size`` is
    its ``popsize``) or ``RandomSampler`` (``search_space`` unused)."""
    algo = check_algo(algo)
    if algo == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if algo == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if algo == "cmaes":
        try:
            import cmaes  # noqa: F401  (Optuna's CmaEsSampler needs it)
        except ImportError as exc:
            raise ValueError(
                "algorithm 'cmaes' needs the cmaes package: pip install cmaes"
            ) from exc
        return optuna.samplers.CmaEsSampler(
            seed=seed, popsize=pop_size, warn_independent_sampling=False
        )
    from metaheur.optuna import MetaheuristicSampler

    kw: dict[str, Any] = {} if n_trials is None else {"n_trials": n_trials}
    if search_space is not None:
        kw["search_space"] = dict(search_space)
    return MetaheuristicSampler(algo, pop_size=pop_size, seed=seed, **kw, **params)


def make_pruner(name: str, *, n_startup_trials: int = 8) -> optuna.pruners.BasePruner:
    """Pruner by name (:data:`PRUNERS`); ``none`` never prunes (the default of ``tune``)."""
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    raise ValueError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")


# -------------------------------------------------------------------------- storage
_USERINFO = re.compile(r"(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)")


def mask_url(url: str) -> str:
    """``scheme://user:secret@host/db`` → ``scheme://user:***@host/db`` (other URLs unchanged)."""
    return _USERINFO.sub(lambda m: m["head"] + "***" + m["at"], str(url))


def mask_text(text: str, url: str | None = None) -> str:
    """Mask every ``user:password@`` in ``text``, and the raw password of ``url`` if given."""
    out = _USERINFO.sub(lambda m: m["head"] + "***" + m["at"], str(text))
    if url:
        m = _USERINFO.search(str(url))
        if m and m["pw"]:
            out = out.replace(m["pw"], "***")
    return out


def open_storage(url: str, *, heartbeat: bool = True) -> optuna.storages.RDBStorage:
    """Open (and create the tables of) an SQLAlchemy storage such as ``sqlite:///study.db`` or
    ``postgresql://user:password@host/db``; :class:`StorageError` (masked) when it fails.

    With ``heartbeat``, trials of a worker that died are marked FAIL after 3 minutes and run
    again by the others.
    """
    if not isinstance(url, str) or "://" not in url:
        raise StorageError(
            f"storage must be an SQLAlchemy URL such as sqlite:///study.db or "
            f"postgresql://user:password@host:5432/db, got {mask_url(str(url))!r}"
        )
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}  # several local workers share a file
    elif url.startswith("postgres"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}
    kwargs: dict[str, Any] = {"heartbeat_interval": 60, "grace_period": 180} if heartbeat else {}
    for attempt in range(_SCHEMA_RETRIES):
        try:
            with warnings.catch_warnings():  # heartbeats are our choice, not the caller's
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except Exception as exc:  # SQLAlchemy / driver errors: many types, one message
            # Workers started together on a new database race to create its tables; the
            # loser sees "already exists" and succeeds once the winner has committed.
            if "already exists" in str(exc) and attempt + 1 < _SCHEMA_RETRIES:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise _storage_error(url, exc) from None
    raise AssertionError("unreachable")  # pragma: no cover


_SCHEMA_RETRIES = 5


def _storage_error(url: str, exc: Exception) -> StorageError:
    """One masked line saying why ``url`` could not be opened."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ModuleNotFoundError) or "No module named" in reason:
        reason += " (install the driver, e.g. pip install 'metaheur[postgres]')"
    return StorageError(f"cannot open storage {mask_url(url)}: {mask_text(reason, url)}")


def open_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    attrs: Mapping[str, Any] | None = None,
    check: tuple[str, ...] = ("algo", "model", "profile"),
) -> tuple[optuna.Study, bool]:
    """Create the minimising study or load it; returns ``(study, created)``.

    ``attrs`` are stored as study user attributes when the study is created; for an existing
    study the keys in ``check`` must agree with the stored ones (else
    :class:`StudyMismatchError`).
    """
    attrs = dict(attrs or {})
    try:
        existing = {s.study_name for s in optuna.get_all_study_summaries(storage)}
    except Exception:  # pragma: no cover - storage-specific
        existing = set()
    created = study_name not in existing
    study = optuna.create_study(
        storage=storage, study_name=study_name, sampler=sampler, pruner=pruner,
        direction="minimize", load_if_exists=True,
    )
    if created:
        for key, value in attrs.items():
            study.set_user_attr(key, value)
    else:
        stored = study.user_attrs
        for key in check:
            if key in stored and key in attrs and stored[key] != attrs[key]:
                raise StudyMismatchError(
                    f"study {study_name!r} was created with {key}={stored[key]!r}, not "
                    f"{attrs[key]!r}; use --study to start another study (or --{key} "
                    f"{stored[key]} to continue this one)"
                )
    return study, created


def count_finished(study: optuna.Study) -> int:
    """Trials that count towards the requested total (COMPLETE and PRUNED)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))


# ------------------------------------------------------------------------- running
@dataclass
class TuneOutcome:
    """How :func:`run_trials` ended: trials finished in total, whether it was interrupted,
    the wall time, and (when a trial raised) the masked error text."""

    finished: int
    interrupted: bool
    seconds: float
    error: str | None = None


class _Progress:
    """tqdm bar over finished trials with the best value (no bar when ``enabled`` is False)."""

    def __init__(self, total: int, initial: int, enabled: bool, desc: str) -> None:
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=min(initial, total), desc=desc, unit="trial",
                            dynamic_ncols=True)

    def update(self, finished: int, best: float | None) -> None:
        if self.bar is None:
            return
        step = max(0, min(finished, self.bar.total) - self.bar.n)
        if best is not None and math.isfinite(best):
            self.bar.set_postfix(best=f"{best:.4g}", refresh=False)
        if step:
            self.bar.update(step)
        else:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _best_value(study: optuna.Study) -> float | None:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return min((t.value for t in done if t.value is not None), default=None)


def _optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    timeout: float | None,
    on_trial: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> None:
    """Run trials one at a time until finished + running trials reach ``n_trials`` (over all
    workers; a race can still overshoot by one per extra worker) or ``timeout`` passes."""
    start = time.monotonic()
    callbacks = [on_trial] if on_trial is not None else None
    while timeout is None or time.monotonic() - start < timeout:
        if _stop_requested:  # a worker's interrupt was swallowed inside a library
            raise KeyboardInterrupt
        with warnings.catch_warnings():  # experimental API; a no-op without a heartbeat
            warnings.simplefilter("ignore")
            optuna.storages.fail_stale_trials(study)  # RUNNING trials of workers that died
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        if count_finished(study) + running >= n_trials:
            return
        study.optimize(objective, n_trials=1, callbacks=callbacks, gc_after_trial=True)


_stop_requested = False


def _on_sigint(signum: int, frame: Any) -> None:
    """Worker SIGINT handler: the first one stops the run (KeyboardInterrupt, and no new trial
    starts even if a library swallowed it); repeats are ignored so the stop stays clean."""
    global _stop_requested
    if not _stop_requested:
        _stop_requested = True
        raise KeyboardInterrupt


def _quiet_unraisable(unraisable: Any) -> None:
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def _worker(
    storage_url: str,
    study_name: str,
    sampler_factory: Callable[[], optuna.samplers.BaseSampler],
    pruner_name: str,
    objective_factory: Callable[[], Callable[[optuna.Trial], float]],
    n_trials: int,
    timeout: float | None,
    worker_init: Callable[[], None] | None,
) -> None:
    """Body of one worker process (spawned; rebuilds everything from picklable inputs)."""
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _quiet_unraisable  # an interrupt landing in a gc callback
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if worker_init is not None:
        worker_init()
    storage = open_storage(storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler_factory(),
                              pruner=make_pruner(pruner_name))
    try:
        _optimize(study, objective_factory(), n_trials, timeout)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:  # one line in the worker's log; the parent reports the exit code
        logger.error("worker %d stopped: %s", os.getpid(),
                     mask_text(f"{type(exc).__name__}: {exc}", storage_url))
        logger.debug("worker traceback", exc_info=True)
        raise SystemExit(1) from None


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
    starts that many spawned processes on the same storage. A ``KeyboardInterrupt`` stops the
    run after the finished trials are stored (the trial in flight is marked FAIL and re-run
    on resume) and is reported as ``interrupted=True``, not raised. ``worker_init`` (picklable)
    runs first in each worker process (logging and warning filters).
    """
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    storage = open_storage(storage_url)
    study = optuna.load_study(study_name=study_name, storage=storage,
                              sampler=sampler_factory(worker=0), pruner=make_pruner(pruner))
    start = time.monotonic()
    bar = _Progress(n_trials, count_finished(study), progress, desc)
    interrupted, error = False, None
    try:
        if n_jobs == 1:
            def on_trial(st: optuna.Study, _t: FrozenTrial) -> None:
                bar.update(count_finished(st), _best_value(st))

            try:
                _optimize(study, objective_factory(), n_trials, timeout, on_trial)
            except KeyboardInterrupt:
                interrupted = True
            except Exception as exc:
                error = mask_text(f"{type(exc).__name__}: {exc}", storage_url)
                logger.debug("trial raised", exc_info=True)
        else:
            interrupted, error = _run_processes(
                storage_url, study_name, sampler_factory, pruner, objective_factory, n_trials,
                timeout, n_jobs, lambda: bar.update(count_finished(study), _best_value(study)),
                worker_init,
            )
    finally:
        bar.update(count_finished(study), _best_value(study))
        bar.close()
    return TuneOutcome(count_finished(study), interrupted, time.monotonic() - start, error)


def _run_processes(
    storage_url: str,
    study_name: str,
    sampler_factory: Callable[..., optuna.samplers.BaseSampler],
    pruner: str,
    objective_factory: Callable[[], Callable[[optuna.Trial], float]],
    n_trials: int,
    timeout: float | None,
    n_jobs: int,
    poll: Callable[[], None],
    worker_init: Callable[[], None] | None,
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
    for p in procs:
        p.start()
    interrupted = False
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            poll()
    except KeyboardInterrupt:
        interrupted = True
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: keep waiting
        try:
            _stop_workers(procs)
        finally:
            signal.signal(signal.SIGINT, previous)
    bad = [p.exitcode for p in procs if p.exitcode not in (0, 130, -signal.SIGINT)]
    if any(p.exitcode in (130, -signal.SIGINT) for p in procs):
        interrupted = True
    error = (f"{len(bad)} worker process(es) failed (exit codes {bad}; see their messages "
             f"above)") if bad else None
    return interrupted, error


def _stop_workers(procs: list[Any], grace: float = 10.0, patience: float = 120.0) -> None:
    """After a Ctrl-C: a terminal already sent SIGINT to the workers (same process group);
    give them ``grace`` seconds, then send it ourselves (``kill -INT <parent>``), wait up to
    ``patience`` seconds for a trial that missed the signal, then terminate."""
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive() and p.pid is not None:
            with contextlib.suppress(OSError):
                os.kill(p.pid, signal.SIGINT)
    deadline = time.monotonic() + patience
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            logger.warning("worker %s did not stop; terminating it (its trial stays RUNNING "
                           "until the heartbeat marks it FAIL)", p.pid)
            p.terminate()
            p.join()
