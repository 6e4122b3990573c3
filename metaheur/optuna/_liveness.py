"""Which unfinished trials of an in-memory storage can still be told: those whose asking
thread lives (docs/distributed.md, "Lost trials"). Such a trial cannot belong to a dead
worker, so its row never turns stale."""

from __future__ import annotations

import threading
import weakref

from optuna.storages import BaseStorage, InMemoryStorage

from metaheur.optuna._index import TrialIndex

__all__ = ["remember", "forget", "alive_here"]

# In-memory storages -> trial id -> the thread that asked the trial (this process's claims,
# by any sampler). Such a trial cannot belong to a dead worker while its thread lives: it
# can still be told, so its row never turns stale (docs/distributed.md, "Lost trials").
_ASKED: weakref.WeakKeyDictionary[BaseStorage, dict[int, threading.Thread]] = (
    weakref.WeakKeyDictionary())
_ASKED_LOCK = threading.Lock()


def remember(storage: BaseStorage, trial_id: int) -> None:
    if isinstance(storage, InMemoryStorage):
        with _ASKED_LOCK:
            _ASKED.setdefault(storage, {})[trial_id] = threading.current_thread()


def forget(storage: BaseStorage, trial_id: int) -> None:
    """The trial finished: stop tracking its thread."""
    if isinstance(storage, InMemoryStorage):
        with _ASKED_LOCK:
            _ASKED.get(storage, {}).pop(trial_id, None)


def alive_here(storage: BaseStorage, index: TrialIndex) -> set[int]:
    """Numbers of the unfinished trials of an in-memory storage whose asking thread lives."""
    if not isinstance(storage, InMemoryStorage):
        return set()
    with _ASKED_LOCK:
        threads = dict(_ASKED.get(storage, {}))
    out = set()
    for k in index.unfinished:
        th = threads.get(index.trials[k].trial_id)
        if th is not None and th.is_alive():
            out.add(k)
    return out
