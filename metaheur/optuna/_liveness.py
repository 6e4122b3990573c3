"""Which unfinished trials of an in-memory storage can still be told: those whose asking
thread lives (docs/distributed.md, "Lost trials"). Such a trial cannot belong to a dead
worker, so its row never turns stale.

A thread is identified by a token object kept in a ``threading.local``, never by
``threading.get_ident()``, which the OS gives again to a later thread, nor by
``threading.current_thread()`` alone: in a thread the threading module did not start (made
in C, or by ``_thread.start_new_thread``) that is a ``_DummyThread``, alive for ever and
shared by later threads with the same ident. The token dies with the thread's Python state,
so a dead thread's trials are never "mine" and never "alive here"; where a thread's Python
state does not outlive one call (a C thread calling Python through ``PyGILState_Ensure``),
its trials are not known alive and the timeout rule applies.

:class:`Liveness` is the other side: when a deciding trial may have been presumed dead by
trials in other workers (``_protocol``, "Presumed dead")."""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from dataclasses import dataclass

from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, InMemoryStorage
from optuna.study import Study
from optuna.trial import TrialState

from metaheur.optuna import _protocol
from metaheur.optuna._index import TrialIndex, TrialInfo
from metaheur.optuna._protocol import END_KEY, VERSION, Waiting

logger = logging.getLogger(__name__)

__all__ = ["Liveness", "Token", "abandoned", "alive_here", "fail_abandoned", "forget", "mine",
           "presume_dead", "remember", "token", "waiting"]


class Token:
    """One thread's identity: weakly referenced from outside, it dies with the thread."""

    __slots__ = ("__weakref__",)


_LOCAL = threading.local()

# In-memory storages -> trial id -> the thread that asked the trial and its token (this
# process's claims, by any sampler).
_ASKED: weakref.WeakKeyDictionary[
    BaseStorage, dict[int, tuple[threading.Thread, weakref.ref[Token]]]] = (
    weakref.WeakKeyDictionary())
# ... of which the trials being told (``forget``), dropped once their end state is written
_TOLD: weakref.WeakKeyDictionary[BaseStorage, set[int]] = weakref.WeakKeyDictionary()
# ... of which the trials asked by Optuna's ``optimize`` (its ``_run_trial``)
_IN_OPTIMIZE: weakref.WeakKeyDictionary[BaseStorage, set[int]] = weakref.WeakKeyDictionary()
_ASKED_LOCK = threading.Lock()


def _optimize_frames() -> tuple[bool, set[int]]:
    """Whether the calling thread asks a trial for Optuna's ``optimize`` (its innermost
    ``_run_trial`` has no trial yet: not a ``study.ask()`` inside an objective), and the ids
    of the trials its enclosing ``_run_trial`` calls evaluate (nested optimize)."""
    asking: bool | None = None
    ids = set()
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_run_trial" \
                and frame.f_globals.get("__name__") == "optuna.study._optimize":
            trial = frame.f_locals.get("trial")
            if asking is None:
                asking = trial is None
            if trial is not None and hasattr(trial, "_trial_id"):
                ids.add(trial._trial_id)
        frame = frame.f_back
    return bool(asking), ids


def token() -> Token:
    """The calling thread's token (the same object for as long as the thread lives)."""
    tok = getattr(_LOCAL, "token", None)
    if tok is None:
        tok = _LOCAL.token = Token()
    return tok


# Tokens of the threads now waiting inside a sampler (for their turn or for a row): the
# trials such a thread asked cannot be told before its wait ends.
_WAITING: weakref.WeakSet[Token] = weakref.WeakSet()


def waiting(flag: bool) -> None:
    """The calling thread waits inside the sampler (``True``) or has stopped (``False``)."""
    if flag:
        _WAITING.add(token())
    else:
        _WAITING.discard(token())


def mine(live: dict[int, weakref.ref[Token]]) -> set[int]:
    """The trial numbers of ``live`` (trial number -> its asking thread's token) that cannot
    be told while the calling thread waits: those it asked, and those asked by threads that
    wait inside the sampler themselves (two threads each holding a batch of ``ask()``ed
    trials, each waiting for a row the other holds, would otherwise wait for each other
    until ``wait_timeout``)."""
    me = token()
    return {k for k, ref in live.items() if (t := ref()) is me or (t is not None and t in _WAITING)}


def remember(storage: BaseStorage, trial_id: int) -> None:
    if isinstance(storage, InMemoryStorage):
        entry = (threading.current_thread(), weakref.ref(token()))
        asking = _optimize_frames()[0]
        with _ASKED_LOCK:
            _ASKED.setdefault(storage, {})[trial_id] = entry
            if asking:
                _IN_OPTIMIZE.setdefault(storage, set()).add(trial_id)


def abandoned(storage: BaseStorage) -> list[int]:
    """Ids of the RUNNING trials of an in-memory storage that Optuna's ``optimize`` asked in
    the calling thread, now asking again inside ``optimize``, and no enclosing ``_run_trial``
    evaluates: ``optimize`` evaluates one trial at a time per thread, so an exception it
    does not catch (``SystemExit``) left them RUNNING, and they can never be told."""
    if not isinstance(storage, InMemoryStorage):
        return []
    asking, current = _optimize_frames()
    if not asking:
        return []
    me = token()
    with _ASKED_LOCK:
        asked = _ASKED.get(storage, {})
        told = _TOLD.get(storage, set())
        ids = [i for i in _IN_OPTIMIZE.get(storage, set())
               if i not in current and i not in told and i in asked and asked[i][1]() is me]
    out = []
    for trial_id in ids:
        try:
            running = not storage.get_trial(trial_id).state.is_finished()
        except KeyError:
            running = False
        if running:
            out.append(trial_id)
        else:
            with _ASKED_LOCK:
                _IN_OPTIMIZE.get(storage, set()).discard(trial_id)
    return out


def forget(storage: BaseStorage, trial_id: int) -> None:
    """The trial is being told: stop tracking its thread once its end state is written.

    Optuna calls ``after_trial`` *before* it writes the state, so until then the trial is
    RUNNING and its thread must still count as alive: were it dropped here, a trial deciding
    in that window would take a row past ``wait_timeout`` for a lost one and re-issue it."""
    if isinstance(storage, InMemoryStorage):
        with _ASKED_LOCK:
            if trial_id in _ASKED.get(storage, {}):
                _TOLD.setdefault(storage, set()).add(trial_id)


def fail_abandoned(study: Study) -> None:
    """Fail, as interrupted, the trials this thread's ``optimize`` left RUNNING (a
    ``SystemExit``, which Optuna does not catch): their rows are evaluated again, as a
    ``KeyboardInterrupt``'s are (README, "Failures and interruptions")."""
    storage = study._storage
    for trial_id in abandoned(storage):
        logger.warning("trial #%d was left RUNNING by an exception that optimize does not "
                       "catch (SystemExit); it is marked FAIL and its row evaluated again",
                       storage.get_trial(trial_id).number)
        try:
            storage.set_trial_system_attr(trial_id, END_KEY, {"interrupted": True})
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            pass  # told meanwhile
        forget(storage, trial_id)


def _prune(storage: BaseStorage) -> None:
    """Stop tracking the told trials whose end state the storage now holds."""
    with _ASKED_LOCK:
        told = set(_TOLD.get(storage, ()))
    if not told:
        return
    done = set()
    for trial_id in told:
        try:
            finished = storage.get_trial(trial_id).state.is_finished()
        except KeyError:
            finished = True
        if finished:
            done.add(trial_id)
    with _ASKED_LOCK:
        asked = _ASKED.get(storage, {})
        for trial_id in done:
            asked.pop(trial_id, None)
            _IN_OPTIMIZE.get(storage, set()).discard(trial_id)
        _TOLD.get(storage, set()).difference_update(done)


def _alive(thread: threading.Thread, ref: weakref.ref[Token]) -> bool:
    if ref() is None:  # the thread's Python state is gone: it ended
        return False
    # a _DummyThread is alive for ever: its live token is the only sign
    return isinstance(thread, threading._DummyThread) or thread.is_alive()


def alive_here(storage: BaseStorage, index: TrialIndex) -> set[int]:
    """Numbers of the unfinished trials of an in-memory storage whose asking thread lives."""
    if not isinstance(storage, InMemoryStorage):
        return set()
    _prune(storage)
    with _ASKED_LOCK:
        threads = dict(_ASKED.get(storage, {}))
    out = set()
    for k in index.unfinished:
        entry = threads.get(index.trials[k].trial_id)
        if entry is not None and _alive(*entry):
            out.add(k)
    return out


@dataclass
class Liveness:
    """What a deciding trial knows of how others see it: until ``until`` (this machine's
    clock) no other trial can presume it dead, because its last ticket is younger than
    ``GRACE`` there; ``late`` once a ticket of its was written after that instant, when
    another trial may have presumed it dead and marked it (rule "Presumed dead")."""

    until: float
    late: bool = False

    @classmethod
    def since(cls, start: float) -> Liveness:
        return cls(start + _protocol.GRACE / 2)

    def wrote(self, t: float, now: float) -> None:
        """A ticket stamped ``t`` was written; the write returned at ``now``."""
        self.late = self.late or now > self.until
        self.until = t + _protocol.GRACE / 2


def presume_dead(study: Study, tomb_attr: str, info: TrialInfo, number: int, now: float) -> None:
    """Mark ``info``'s trial, silent for ``GRACE`` seconds, as presumed dead."""
    last = info.ticket.t if isinstance(info.ticket, Waiting) else info.start
    logger.info("trial %d presumes trial %d dead (no sign of life for %.1f s)", number,
                info.number, now - last)
    try:
        study._storage.set_trial_system_attr(
            info.trial_id, tomb_attr, {"v": VERSION, "by": number, "t": now})
    except UpdateFinishedTrialError:
        pass  # it finished meanwhile: settled anyway
