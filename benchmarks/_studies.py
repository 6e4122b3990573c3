"""One Optuna study per SQLite file, run by one process at a time, resumable after a kill.

The long benchmark designs (``tune_models.py``; ``hpo_tasks.py --studies``) keep each study
in its own file so that a process killed part-way loses at most the trial it was running.
This module is what they share:

* :func:`check_sqlite`: an existing file must be an SQLite database holding Optuna's tables
  (checked read-only, so a foreign file is never modified);
* :func:`open_own_study`: the one study of a file, its identifying attributes checked;
* :func:`study_lock`: an advisory lock per study file, so several processes may share one
  output folder and each takes the studies no other holds;
* :func:`fail_orphans`: the trials a killed process left RUNNING are marked FAIL (the caller
  holds the lock, so none is really running) and run again;
* :func:`count_finished_quick`: the finished trials of many study files, for a progress
  estimate that sees the other processes' work;
* :func:`resumed_seed`: the seed of an Optuna sampler resuming a study. Ours restore their
  random stream from the storage; Optuna's would restart theirs from the seed and
  re-propose the first trials' points (RandomSampler, TPE's start-up trials).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

logger = logging.getLogger(__name__)


class StudyFileError(ValueError):
    """A study file this design cannot use (corrupt, foreign, another design)."""


def check_sqlite(path: Path, option: str = "--out") -> None:
    """An existing, non-empty ``path`` must be an SQLite database with Optuna's tables
    (read-only check); :class:`StudyFileError` naming the file (and the command-line
    ``option`` that chooses another folder) otherwise."""
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE "
                                                "type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StudyFileError(f"{path}: not a readable SQLite database ({exc}); move it away "
                             f"or use another {option}") from None
    if not {"studies", "trials"} <= tables:
        raise StudyFileError(f"{path}: an SQLite database without Optuna's tables (found "
                             f"{sorted(tables) or 'none'}); move it away or use another "
                             f"{option}")


def open_own_study(path: Path, name: str, attrs: dict[str, Any], option: str, *,
                   create: bool = True, pruner: optuna.pruners.BasePruner | None = None,
                   mismatch: str = "move it away") -> optuna.Study | None:
    """The minimising study ``name``, alone in the SQLite file ``path``, with the user
    attributes ``attrs`` (written when it is created, compared when it is loaded); ``None``
    when the file or the study is absent and not ``create``.

    With ``create``, a study without trials that lacks the attributes (a process killed
    between creating it and writing them) is adopted. :class:`StudyFileError` naming the
    file and the command-line ``option`` that chooses another folder for anything else: not
    an Optuna database, other studies in it, another direction, other attributes (the error
    advises ``mismatch`` or another folder) or missing ones.
    """
    from metaheur.harness.storage import StorageError, open_storage, sqlite_url
    from metaheur.harness.study import StudyMismatchError, open_study

    if not create and not path.exists():
        return None
    check_sqlite(path, option)
    hint = f"move it away or use another {option}"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        storage = open_storage(sqlite_url(path), heartbeat=False, create=create)
        found = {s.study_name: list(s.directions)
                 for s in optuna.get_all_study_summaries(storage)}
    except StorageError as exc:
        raise StudyFileError(f"{path}: {exc}; {hint}") from None
    if set(found) - {name}:
        raise StudyFileError(f"{path}: holds the studies {sorted(found)}, not only {name!r}; "
                             f"{hint}")
    if name not in found and not create:
        return None
    if name in found and found[name] != [optuna.study.StudyDirection.MINIMIZE]:
        goals = ", ".join(d.name.lower() for d in found[name])
        raise StudyFileError(f"{path}: study {name!r} has the direction(s) {goals}, not one "
                             f"minimised objective: not written by this script; {hint}")
    try:
        study, _ = open_study(storage, name, pruner=pruner, attrs=attrs, check=tuple(attrs))
    except StudyMismatchError as exc:
        raise StudyFileError(f"{path}: {exc}; {mismatch} or use another {option}") from None
    missing = [k for k in attrs if k not in study.user_attrs]
    if missing and create and not study.trials:
        for k, v in attrs.items():
            study.set_user_attr(k, v)
    elif missing:
        raise StudyFileError(f"{path}: study {name!r} lacks the attributes {missing}: not "
                             f"written by this script; {hint}")
    return study


def count_finished_quick(paths: Iterable[Path]) -> int:
    """COMPLETE and PRUNED trials in the study files ``paths`` that exist, one read-only SQL
    count each (milliseconds; opening a file through Optuna takes about a second under
    load). For a progress estimate only: a file that cannot be read counts 0."""
    n = 0
    for path in paths:
        if not path.exists():
            continue
        try:
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
            try:
                n += con.execute("SELECT COUNT(*) FROM trials WHERE state IN "
                                 "('COMPLETE', 'PRUNED')").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            continue
    return n


@contextlib.contextmanager
def study_lock(path: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``path``'s study while it runs; yields ``False`` (and holds
    nothing) when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fail_orphans(study: optuna.Study) -> int:
    """Mark FAIL the trials left RUNNING by a killed process (the caller holds the study's
    lock, so none is really running); they are run again. Returns how many."""
    orphans = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in orphans:
        study.tell(t.number, state=TrialState.FAIL)
    if orphans:
        logger.warning("%s: %d trial(s) left RUNNING by an earlier run marked FAIL (run again)",
                       study.study_name, len(orphans))
    return len(orphans)


def resumed_seed(seed: int, start: int) -> int:
    """The seed of an Optuna sampler that resumes a study holding ``start`` trials: ``seed``
    itself for a new study (so a study run in one go matches an in-memory one), else one
    derived from ``(seed, start)``."""
    if not start:
        return seed
    return int(np.random.SeedSequence([seed, start]).generate_state(1)[0])
