"""The deciding step of one trial: read the index, find the run's current generation,
advance it, and claim a row or a spare (rules of ``_protocol``)."""

from __future__ import annotations

import logging
import statistics
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.storages import fail_stale_trials
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metaheur.optuna import _protocol
from metaheur.optuna._index import TrialIndex, TrialInfo
from metaheur.optuna._liveness import (
    Liveness,
    Token,
    alive_here,
    mine,
    presume_dead,
    remember,
    token,
    waiting,
)
from metaheur.optuna._protocol import (
    VERSION,
    BadRecord,
    Claim,
    MixedVersionsError,
    Skip,
    tomb_key,
)
from metaheur.optuna._runspace import RunSpace
from metaheur.optuna._scheduler import (
    Advance,
    RowState,
    RowView,
    Take,
    TakeSpare,
    Wait,
    answer_open_rows,
    decide,
    defer_twins,
    pick_spare,
    row_views,
    running_configs,
    stray_claims,
    unspent,
)
from metaheur.optuna._settings_check import settings_split
from metaheur.optuna._space import UnionSearchSpace
from metaheur.optuna._store import Generation, GenerationStore

__all__ = ["Coordinator", "Withdrawn"]

logger = logging.getLogger(__name__)

MIN_WAIT = 10.0  # seconds, floor of the adaptive wait_timeout
FIRST_WAIT = 60.0  # adaptive wait_timeout before any trial of the run has finished
MAX_POLL = 0.5  # seconds between two storage polls while waiting for a generation
MIN_POLL = 0.02
MAX_TURN_POLL = 0.1  # ... while waiting for a lower-numbered trial to decide

class Withdrawn:
    """The trial was presumed dead by a later one: it takes no part in the run."""


class Coordinator:
    """One sampler's view of the study and its runs (callers hold the sampler's lock)."""

    def __init__(self, store: GenerationStore, attr: str, seed: int, settings: str, *,
                 speculative: bool, wait_timeout: float | None,
                 warn: Callable[[str, str], None]) -> None:
        self.store, self.attr, self.seed, self.settings = store, attr, seed, settings
        self.tomb_attr = tomb_key(store.cls.name)
        self.speculative, self.wait_timeout, self.warn = speculative, wait_timeout, warn
        self.index_: TrialIndex | None = None
        self.runs: dict[str, RunSpace] = {}
        self.durations: dict[str, deque[float]] = {}
        self.live: dict[int, weakref.ref[Token]] = {}  # trial number -> its thread's token
        self.union = UnionSearchSpace()  # of the index's study
        self.union_seen = 0  # position in the index's finished_order already added
        self.fresh: tuple[int, float] | None = None  # (trial number, time of its read)
        self.compared: set[str] = set()  # other runs whose settings were compared
        self.fixed: frozenset[str] | None = None  # RunSpace.fixed, set by the sampler

    def union_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """The union of the completed trials' parameters, from a read of the storage that
        ``trial``'s first decision then uses (one read serves both)."""
        index = self._study_index(study)
        self.fresh = (trial.number, index.refresh())
        order = index.finished_order
        new = [index.trials[k].trial for k in order[self.union_seen:]
               if index.trials[k].state == TrialState.COMPLETE]
        self.union_seen = len(order)
        return self.union.calculate(new)

    def take_turn(self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution],
                  lock: threading.Lock) -> dict[str, Any] | Withdrawn:
        """Wait for ``trial``'s turn and claim a row or a spare (its parameters), or
        withdraw; ``lock``: the sampler's, held while deciding."""
        storage = study._storage
        t0 = time.monotonic()
        start = trial.datetime_start.timestamp() if trial.datetime_start else None
        life = Liveness.since(time.time() if start is None else start)
        # the start is the trial's sign of life until its first wait ticket (``silent``),
        # due GRACE / 4 after it: a trial that waits briefly writes no wait ticket
        beat, last_fail, delay = start or 0.0, time.monotonic(), 0.002
        barrier, since = 0.0, None  # time waiting for rows (all taken), and since when
        while True:
            with lock:
                got = None
                try:
                    got = self.decide(study, trial, space, time.monotonic() - t0, life, barrier)
                finally:  # while this thread waits, the trials it asked wait with it
                    waiting(isinstance(got, Wait))
            if since is not None:
                barrier += time.monotonic() - since
            since = time.monotonic() if isinstance(got, Wait) and got.barrier else None
            if not isinstance(got, Wait):
                return got
            now = time.time()
            if now - beat > _protocol.GRACE / 4:  # a sign of life for the later trials
                storage.set_trial_system_attr(trial._trial_id, self.attr,
                                              {"v": VERSION, "wait": now})
                life.wrote(now, time.time())
                beat = now
            if time.monotonic() - last_fail > 2.0 and is_heartbeat_enabled(storage):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fail_stale_trials(study)
                last_fail = time.monotonic()
            if got.seconds > 0:  # 0: decide again at once
                time.sleep(min(delay, got.seconds))
                delay = min(2 * delay, got.seconds)

    def decide(self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution],
                waited: float, life: Liveness, barrier: float = 0.0
                ) -> dict[str, Any] | Wait | Withdrawn:
        """Claim a row or a spare for ``trial`` (returning its parameters), wait, or
        withdraw (``life``: when others may have presumed ``trial`` dead; ``waited`` and
        ``barrier``: seconds waited so far, and of them waiting for rows, for the claim)."""
        index = self._study_index(study)
        if self.fresh is not None and self.fresh[0] == trial.number:
            now = self.fresh[1]  # read by union_space just before
        else:
            now = index.refresh()  # taken before the read
        self.fresh = None
        for key, message in index.warnings():  # a clock ahead, other protocol versions
            self.warn(key, message)
        if index.versions and (why := index.mixed_versions()) is not None:
            _fail_and_raise(study, trial, why)
        run = self._run_for(space)
        run.fixed = self.fixed
        self._update(index, run)
        if (split := settings_split(index, run, self.store, self.compared)) is not None:
            self.warn(*split)
        poll = self._poll(run)
        me_info = index.trials.get(trial.number)
        if me_info is not None and me_info.tomb:
            return self._withdraw(study, trial, index)
        heartbeat = is_heartbeat_enabled(study._storage)
        timeout = self._timeout(run)
        here = alive_here(study._storage, index)
        unsettled = index.unsettled_before(trial.number, now)
        new: list[Generation] = []  # generations made here, to store
        if unsettled:
            silent = [index.trials[k] for k in unsettled
                      if k in index.trials and index.trials[k].silent(now)]
            for info in silent:
                presume_dead(study, self.tomb_attr, info, trial.number, now)
            # marked: decide again at once, from a read that shows the marks
            early = None if silent else _reserved_take(self.store, index, run, trial.number,
                                                       now, timeout, heartbeat, here)
            if early is None:
                return Wait(0.0 if silent else min(MAX_TURN_POLL, poll))
            g, d = early
            held: dict[str, int] = {}
        else:
            held = self._held(index, run, now, timeout, heartbeat, here)
            g, made = self._current(study, index, run, trial, held)
            if made:
                new.append(g)
            for key, message in stray_claims(g, index, run.sig):
                self.warn(key, message)
            ours = mine(self.live)  # unfinished trials this thread asked
            for _ in range(1000):
                views = row_views(g, index, run.sig, now, timeout, heartbeat, ours, here)
                views = _reserve(g, views, index, trial.number)
                views, stranded = _twin_checked(self.store, run, g, views, index, trial.number,
                                                now, timeout, heartbeat, ours, here)
                d = decide(g, views, speculative=self.speculative, timeout=timeout,
                           heartbeat=heartbeat, max_wait=poll, stranded=stranded)
                if not isinstance(d, Advance):
                    break
                spares = {r: (c.number, np.array(c.ticket.x))  # type: ignore[union-attr]
                          for r, c in _ahead(index, run.sig, g).items() if not c.lost}
                g = self.store.advance(run, g, trial.number, d.f, d.told, held, spares)
                new.append(g)  # stored even if told at once (rows all done by spares)
        spare = None
        if isinstance(d, TakeSpare):
            spare = self._spare(run, g, d, trial.number, held, index)
            if spare is None:
                d = Wait(poll if heartbeat else min(poll, timeout), barrier=True)
        if isinstance(d, Wait):
            return d
        for made_g in new:
            self.store.save(study._storage, trial._trial_id, made_g)
        if isinstance(d, Take):
            if d.reissue:
                logger.info("trial %d re-issues row %d of generation %d", trial.number, d.row,
                            g.gen)
            x, params = g.X[d.row], g.params[d.row]
            row: int | None = d.row
            ahead_row = None
        else:
            assert spare is not None
            ahead_row, x, params = spare
            row = None
        storage = study._storage
        if heartbeat and isinstance(storage, BaseHeartbeat):
            # a claim implies a heartbeat: if the worker dies before Optuna's heartbeat
            # thread beats once, fail_stale_trials still fails the trial (no endless wait)
            storage.record_heartbeat(trial._trial_id)
        claim = Claim(run.sig, g.src, g.gen, row, tuple(float(v) for v in x), time.time(),
                      waited, None if row is not None else ahead_row, barrier,
                      tuple(run.encoder.names))
        storage.set_trial_system_attr(trial._trial_id, self.attr, claim.to_json())
        life.wrote(claim.t, time.time())
        index.note_ticket(trial.number, claim)
        if life.late and self.tomb_attr in storage.get_trial(trial._trial_id).system_attrs:
            return self._withdraw(study, trial, index)
        self.live[trial.number] = weakref.ref(token())
        remember(storage, trial._trial_id)
        return dict(params)

    def _withdraw(self, study: Study, trial: FrozenTrial, index: TrialIndex) -> Withdrawn:
        """``trial`` found itself presumed dead: withdraw its claim, if any, and take no
        part in the run (its parameters come from the independent sampler)."""
        logger.warning(
            "trial %d was silent for more than %.0f s (an overloaded machine or storage?): "
            "a later trial presumed it dead, so it takes no part in the run and its "
            "parameters are sampled independently", trial.number, _protocol.GRACE)
        study._storage.set_trial_system_attr(trial._trial_id, self.attr,
                                             {"v": VERSION, "skip": True})
        index.note_ticket(trial.number, Skip())
        return Withdrawn()

    def _spare(self, run: RunSpace, g: Generation, d: TakeSpare, number: int,
               held: dict[str, int], index: TrialIndex
               ) -> tuple[int | None, np.ndarray, dict[str, Any]] | None:
        """A point no trial evaluated or holds, with the row of the next generation it
        predicts (``None``: none). Speculative: a predicted row no other spare of ``g``
        took, of an agent whose own result in ``g`` is known, whose point the next
        generation will use (``_protocol`` rule 4). Otherwise,
        and when those are taken but waiting would deadlock: a predicted point, then
        further predictions and uniform points, used only if the next generation asks
        them (:func:`pick_spare`)."""
        taken = set(held) | set(g.keys)
        running = running_configs(index, run)
        if self.speculative:
            # rows of agents whose own result is known: the late results change them
            # least (their leaders or best points only)
            rows = {r for r, c in _ahead(index, run.sig, g).items() if not c.lost}
            for r, x in self.store.predict(g, d.f, None, depth=1, rows=True):
                params = run.encoder.decode(x)
                if (r is not None and r not in rows and d.known[r % d.known.size]
                        and unspent(run, params, taken, running)):
                    return r, x, params
            if not d.must:
                return None  # every row of the next generation is predicted: wait
        if d.must:
            points = self.store.predict(g, d.f, np.random.default_rng([self.seed, number]))
        else:
            points = self.store.predict(g, d.f, None, depth=1)
        got = pick_spare(run, (x for _, x in points), taken, running, index, must=d.must)
        return None if got is None else (None, *got)

    def _current(self, study: Study, index: TrialIndex, run: RunSpace, trial: FrozenTrial,
                 held: dict[str, int]) -> tuple[Generation, bool]:
        """The run's current generation (``True``: made by this trial, not yet stored)."""
        head = index.head(run.sig)
        if head is None:
            g = self.store.start(run, trial.number, self.seed, gen=0, restart=0, held=held)
            return g, True
        src = index.trials.get(head.src)
        try:
            if src is None:
                raise BadRecord(f"its trial #{head.src} does not exist")
            return self.store.load(run, src.trial, head.gen), False
        except BadRecord as exc:
            self.warn(
                f"record:{head.src}:{head.gen}",
                f"the stored generation {head.gen} (trial #{head.src}) cannot be "
                f"used: {exc}. The run restarts from the study's completed trials.",
            )
            seed = np.random.default_rng([self.seed, trial.number])
            g = self.store.start(run, trial.number, seed, gen=head.gen + 1, restart=0,
                                  held=held)
            return g, True

    def _update(self, index: TrialIndex, run: RunSpace) -> None:
        """Add the newly finished trials to the run's evaluated points and durations."""
        order = index.finished_order
        for k in order[run.cursor:]:
            info = index.trials[k]
            t = info.trial
            if isinstance(info.ticket, Claim) and t.datetime_start and t.datetime_complete:
                d = (t.datetime_complete - t.datetime_start).total_seconds()
                self.durations.setdefault(run.sig, deque(maxlen=101)).append(
                    max(d - info.ticket.waited, 0.0))
            if info.state == TrialState.COMPLETE:  # a value, finite or +inf: a result
                run.add(t, info.value, isinstance(info.ticket, Claim))
            elif info.state == TrialState.PRUNED and "failure" not in t.user_attrs:
                # stopped by the pruner: a result (+inf, or its last reported value with
                # consider_pruned_trials, ``_index.pruned_value``). A ``failure`` marks a
                # failure reported as pruned (metaheur.models' diverged or out-of-memory
                # training, models/train.py): like FAIL, it may be transient, so no answer
                run.add_pruned(t, isinstance(info.ticket, Claim), info.value)
        run.cursor, run.read = len(order), index.read()

    def _held(self, index: TrialIndex, run: RunSpace, now: float, timeout: float,
              heartbeat: bool, here: set[int]) -> dict[str, int]:
        """Parameter key -> number of a running (not stale) claim of ``run`` (``here``:
        running trials known alive in this process, never stale)."""
        held: dict[str, int] = {}
        for k in sorted(index.unfinished):
            info = index.trials[k]
            c = info.ticket
            if not (isinstance(c, Claim) and c.run == run.sig) or len(c.x) != run.encoder.dim:
                continue
            if heartbeat or k in here or now - c.t < timeout:
                held.setdefault(run.key(run.encoder.decode(np.array(c.x))), k)
        return held

    def _poll(self, run: RunSpace) -> float:
        """Seconds between storage polls: a fifth of the median trial, in [0.02, 0.5]."""
        durations = self.durations.get(run.sig)
        if not durations:
            return MAX_POLL
        return min(MAX_POLL, max(MIN_POLL, 0.2 * statistics.median(durations)))

    def _timeout(self, run: RunSpace) -> float:
        if self.wait_timeout is not None:
            return self.wait_timeout
        durations = self.durations.get(run.sig)
        if not durations:
            return FIRST_WAIT
        return max(MIN_WAIT, 3.0 * statistics.median(durations))

    def _study_index(self, study: Study) -> TrialIndex:
        key = (id(study._storage), study._study_id)
        if self.index_ is None or self.index_.key != key:
            sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
            self.index_ = TrialIndex(study._storage, study._study_id, self.attr,
                                     self.tomb_attr, sign, pruned_last=self.store.pruned_last)
            self.runs = {}
            self.union, self.union_seen, self.fresh = UnionSearchSpace(), 0, None
        return self.index_

    def _run_for(self, space: dict[str, BaseDistribution]) -> RunSpace:
        run = RunSpace(space, self.settings)
        return self.runs.setdefault(run.sig, run)


def _reserved_take(store: GenerationStore, index: TrialIndex, run: RunSpace, number: int,
                   now: float, timeout: float, heartbeat: bool, here: set[int]
                   ) -> tuple[Generation, Take] | None:
    """Trial ``number``'s reserved row of the run's current generation, if it is still
    open: claimed without waiting for lower-numbered trials, none of which may take it
    (``_protocol``, "Reserved rows"); ``None``: wait for the trial's turn."""
    head = index.head(run.sig)
    if head is None or head.src >= number:
        return None
    src = index.trials.get(head.src)
    if src is None:
        return None
    try:
        g = store.load(run, src.trial, head.gen)
    except BadRecord:
        return None  # the trial whose turn it is reports it
    row = next((r for r, k in g.reserved().items() if k == number), None)
    if row is None:
        return None
    views = row_views(g, index, run.sig, now, timeout, heartbeat, (), here)
    view = _twin_checked(store, run, g, views, index, number, now, timeout, heartbeat, (),
                         here)[0][row]
    return (g, Take(row, view.tried)) if view.state is RowState.OPEN else None


def _twin_checked(store: GenerationStore, run: RunSpace, g: Generation, views: list[RowView],
                  index: TrialIndex, number: int, now: float, timeout: float, heartbeat: bool,
                  mine: Collection[int], here: Collection[int]) -> tuple[list[RowView], bool]:
    """``views`` after the twin checks (:func:`answer_open_rows`, :func:`defer_twins`), and
    ``True`` where trial ``number``'s own reserved row was open and is a twin (a later
    result showed it: ``_protocol``, "Reserved rows"): the trial takes a spare, as waiting
    for rows reserved for others could deadlock; ``_reserve`` holds the row till then."""
    if not store.skip_evaluated:
        return views, False
    checked = defer_twins(g, answer_open_rows(run, g, views, index), index, run, now,
                          timeout, heartbeat, mine, here)
    own = next((r for r, k in g.reserved().items() if k == number), None)
    return checked, (own is not None and views[own].state is RowState.OPEN
                     and checked[own].state is not RowState.OPEN)


def _ahead(index: TrialIndex, run: str, g: Generation) -> dict[int, TrialInfo]:
    """Row of the next generation -> the spare of ``g`` that predicted it (the lowest
    numbered one, should two claim one row). Lost spares are included (``lost``)."""
    out: dict[int, TrialInfo] = {}
    for info in index.holders(run, g.src, g.gen):
        c = info.ticket
        if isinstance(c, Claim) and c.row is None and c.ahead is not None:
            if c.ahead not in out or out[c.ahead].lost:
                out[c.ahead] = info
    return out


def _reserve(g: Generation, views: list[RowView], index: TrialIndex, number: int
             ) -> list[RowView]:
    """Rows reserved for another trial that may still claim them are held by it (for the
    deciding trial ``number``). A defence: a trial deciding in its turn takes the first
    open row, which is its own or a settled lower trial's, so this changes a decision
    only on a stale read (a trial presumed dead, which then withdraws its claim)."""
    out = views
    for r, k in g.reserved().items():
        if k != number and views[r].state is RowState.OPEN and index.pending(k):
            if out is views:
                out = list(views)
            out[r] = RowView(RowState.HELD, number=k)
    return out


def _fail_and_raise(study: Study, trial: FrozenTrial, why: str) -> None:
    """Mark the deciding trial FAIL (it must not stay RUNNING: Optuna's ``ask`` raises
    before any objective runs) and stop this worker with :class:`MixedVersionsError`."""
    study._storage.set_trial_system_attr(trial._trial_id, "metaheur:error", why)
    study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    raise MixedVersionsError(why)
