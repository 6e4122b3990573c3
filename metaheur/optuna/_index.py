"""Incremental index of one study's trials: tickets, states, results (see ``_protocol``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metaheur.optuna._protocol import END_KEY, GRACE, Claim, Skip, Ticket, Waiting, parse_ticket

__all__ = ["TrialIndex", "TrialInfo"]


@dataclass
class TrialInfo:
    """What the sampler needs to know about one trial."""

    number: int
    trial_id: int
    state: TrialState
    ticket: Ticket | None
    value: float  # minimisation sign; +inf unless COMPLETE with a finite value
    lost: bool  # FAIL by interruption or by someone else (heartbeat): not a result
    start: float  # datetime_start as a POSIX time (0 if unknown)
    enqueued: bool
    trial: FrozenTrial

    @property
    def finished(self) -> bool:
        return self.state.is_finished()

    @property
    def counted(self) -> bool:
        """Finished with a result the optimizer is told (FAIL/PRUNED count as +inf)."""
        return self.finished and not self.lost

    def settled(self, now: float) -> bool:
        """Has this trial decided (or will it never)? Later trials wait until it has."""
        if self.state != TrialState.RUNNING or self.enqueued:
            return True
        t = self.ticket
        if isinstance(t, (Claim, Skip)):
            return True
        if isinstance(t, Waiting):
            return now - t.t > GRACE
        if self.trial.params:  # e.g. a retried trial, created with its parameters
            return True
        return now - self.start > GRACE


class TrialIndex:
    """Trials of one study by number, re-read only while unfinished."""

    def __init__(self, storage: BaseStorage, study_id: int, ticket_attr: str,
                 sign: float) -> None:
        self.key = (id(storage), study_id)
        self.storage, self.study_id = storage, study_id
        self.ticket_attr, self.sign = ticket_attr, sign
        self.trials: dict[int, TrialInfo] = {}
        self.unfinished: set[int] = set()
        self.finished_order: list[int] = []  # numbers in the order they were seen finished
        self.hw = 0
        self.by_gen: dict[tuple[str, int, int], list[int]] = {}  # claims per generation
        self.newest: dict[str, int] = {}  # run -> number of its newest claim
        self._registered: set[int] = set()
        self.missing: dict[int, float] = {}  # numbers not visible yet -> first noticed

    def refresh(self) -> None:
        """Read the trials that are new, unfinished, or were missing at the last look (an
        RDB storage can show trial ``k + 1`` before trial ``k`` commits)."""
        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        by_number = {t.number: t for t in trials}
        n = max(by_number, default=-1) + 1
        numbers = sorted(self.unfinished | set(self.missing)) + list(range(self.hw, n))
        self.hw = max(self.hw, n)
        now = time.time()
        for k in numbers:
            t = by_number.get(k)
            if t is None:
                self.missing.setdefault(k, now)
                continue
            self.missing.pop(k, None)
            info = self._info(t)
            self.trials[k] = info
            self._register(info)
            if info.finished:
                self.unfinished.discard(k)
                self.finished_order.append(k)
            else:
                self.unfinished.add(k)

    def _register(self, info: TrialInfo) -> None:
        t = info.ticket
        if isinstance(t, Claim) and info.number not in self._registered:
            self._registered.add(info.number)
            self.by_gen.setdefault((t.run, t.src, t.gen), []).append(info.number)
            if info.number > self.newest.get(t.run, -1):
                self.newest[t.run] = info.number

    def _info(self, t: FrozenTrial) -> TrialInfo:
        value = math.inf
        if t.state == TrialState.COMPLETE and t.value is not None:
            v = self.sign * t.value
            value = v if math.isfinite(v) else math.inf
        lost = False
        if t.state == TrialState.FAIL:
            end = t.system_attrs.get(END_KEY)
            lost = not isinstance(end, dict) or end.get("interrupted") is not False
        start = t.datetime_start.timestamp() if t.datetime_start else 0.0
        return TrialInfo(
            t.number, t._trial_id, t.state, parse_ticket(t.system_attrs.get(self.ticket_attr)),
            value, lost, start, "fixed_params" in t.system_attrs, t,
        )

    def note_ticket(self, number: int, ticket: Ticket) -> None:
        """Record a ticket this process just wrote (the next refresh reads it back)."""
        info = self.trials.get(number)
        if info is not None:
            info.ticket = ticket
            self._register(info)

    def unsettled_before(self, number: int, now: float) -> list[int]:
        """Lower-numbered trials that have not decided yet, or not become visible yet."""
        for k in range(self.hw, number):  # a storage's cache may not show them yet
            self.missing.setdefault(k, now)
        waiting = [k for k, t in self.missing.items() if k < number and now - t <= GRACE]
        return waiting + [k for k in self.unfinished
                          if k < number and not self.trials[k].settled(now)]

    def head(self, run: str) -> Claim | None:
        """The newest claim of ``run`` (its generation is the run's current one)."""
        k = self.newest.get(run)
        if k is None:
            return None
        t = self.trials[k].ticket
        return t if isinstance(t, Claim) else None

    def holders(self, run: str, src: int, gen: int) -> list[TrialInfo]:
        """Trials claiming a row (or a spare) of generation ``(src, gen)``, by number."""
        return [self.trials[k] for k in sorted(self.by_gen.get((run, src, gen), ()))]
