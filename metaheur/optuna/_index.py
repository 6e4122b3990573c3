"""Incremental index of one study's trials: tickets, states, results (see ``_protocol``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metaheur.optuna import _protocol
from metaheur.optuna._protocol import (
    END_KEY,
    READS,
    VERSION,
    Claim,
    Skip,
    Ticket,
    Waiting,
    parse_ticket,
    version,
)

__all__ = ["TrialIndex", "TrialInfo", "pruned_value"]


def pruned_value(t: FrozenTrial, sign: float) -> float:
    """The value a pruned trial ``t`` counts with ``consider_pruned_trials``: its last
    intermediate value (at its highest step), in the minimisation sign (``sign``), as
    Optuna's ``CmaEsSampler(consider_pruned_trials=True)`` reads it; ``+inf`` where it
    reported none or a value that is not finite, or is a failure reported as pruned (user
    attribute ``failure``)."""
    steps = t.intermediate_values
    if "failure" in t.user_attrs or not steps:
        return math.inf
    v = sign * steps[max(steps)]
    return v if math.isfinite(v) else math.inf


@dataclass
class TrialInfo:
    """What the sampler needs to know about one trial."""

    number: int
    trial_id: int
    state: TrialState
    ticket: Ticket | None
    value: float  # minimisation sign; +inf unless COMPLETE with a finite value (or PRUNED
    # with one, ``pruned_value``)
    lost: bool  # FAIL by interruption or by someone else (heartbeat): not a result
    start: float  # datetime_start as a POSIX time (0 if unknown)
    enqueued: bool
    tomb: bool  # a later trial presumed it dead (it may still claim, see ``_protocol``)
    trial: FrozenTrial
    # ``trial.params`` non-empty when this read was processed: the object itself may gain
    # parameters later (see :meth:`TrialIndex.refresh`), this flag does not
    had_params: bool = False
    steady_params: bool = False  # it had parameters at the previous read already

    @property
    def finished(self) -> bool:
        return self.state.is_finished()

    @property
    def counted(self) -> bool:
        """Finished with a result the optimizer is told (FAIL/PRUNED count as +inf, PRUNED
        as its last reported value with ``consider_pruned_trials``)."""
        return self.finished and not self.lost

    def settled(self) -> bool:
        """Has this trial decided, or will it never (its claim, if one comes, is made
        after it saw the mark and withdrawn)? Later trials wait until it has."""
        if self.state != TrialState.RUNNING or self.enqueued or self.tomb:
            return True
        if isinstance(self.ticket, (Claim, Skip)):
            return True
        # Created with its parameters (a retried trial) or another sampler's: it has them
        # without a ticket. One read is not enough to tell: an RDB read loads the system
        # attributes before the parameters, so a trial that claimed and then suggested
        # between the two can show its parameters and not its claim. Two reads can.
        return self.steady_params

    def silent(self, now: float) -> bool:
        """Unsettled and without a sign of life for ``GRACE`` seconds before ``now`` (a
        time taken before the storage was read): to be presumed dead."""
        if self.settled():
            return False
        t = self.ticket.t if isinstance(self.ticket, Waiting) else self.start
        return now - t > _protocol.GRACE


class TrialIndex:
    """Trials of one study by number, re-read only while unfinished."""

    def __init__(self, storage: BaseStorage, study_id: int, ticket_attr: str, tomb_attr: str,
                 sign: float, *, pruned_last: bool = False) -> None:
        self.key = (id(storage), study_id)
        self.storage, self.study_id = storage, study_id
        self.ticket_attr, self.tomb_attr, self.sign = ticket_attr, tomb_attr, sign
        self.pruned_last = pruned_last
        self.trials: dict[int, TrialInfo] = {}
        self.unfinished: set[int] = set()
        self.finished_order: list[int] = []  # numbers in the order they were seen finished
        self.hw = 0
        self.by_gen: dict[tuple[str, int, int], list[int]] = {}  # claims per generation
        self.claims: dict[str, list[int]] = {}  # run -> numbers of its claims, ascending
        self._registered: set[int] = set()
        self.missing: dict[int, float] = {}  # numbers not visible yet -> first noticed
        # other protocol versions seen in tickets -> the highest trial number holding one
        self.versions: dict[int, int] = {}
        self.first_current: int | None = None  # lowest number with a ticket of VERSION
        # A sign of life dated after the read that found it comes from a clock ahead of
        # this one (or a forged ticket): it counts from when it was first seen, else such a
        # trial would never be silent for GRACE. (number, stored time) -> first seen;
        # ``ahead``: the largest lead seen, and the trial holding it.
        self._first_seen: dict[tuple[int, float], float] = {}
        self.ahead: tuple[float, int] = (0.0, -1)

    def refresh(self) -> float:
        """Read the trials that are new, unfinished, or were missing at the last look (a
        storage's cache can show trial ``k + 1`` before trial ``k``); return the time taken
        just before the read: everything committed before it is in the index."""
        now = time.time()
        trials = self.storage.get_all_trials(self.study_id, deepcopy=False)
        by_number = {t.number: t for t in trials}
        n = max(by_number, default=-1) + 1
        numbers = sorted(self.unfinished | set(self.missing)) + list(range(self.hw, n))
        self.hw = max(self.hw, n)
        for k in numbers:
            t = by_number.get(k)
            if t is None:
                self.missing.setdefault(k, now)
                continue
            self.missing.pop(k, None)
            info = self._info(t, now)
            prev = self.trials.get(k)
            # An in-memory (or journal) read returns the stored objects, and Optuna's Trial
            # writes each suggested parameter into the object it loaded when it was created,
            # before its claim: an object read without the claim can gain parameters later.
            # So the previous read counts with the parameters it had when processed, never
            # those its object has now (a trial claiming meanwhile seemed settled unclaimed).
            info.had_params = bool(t.params)
            info.steady_params = info.had_params and prev is not None and prev.had_params
            self.trials[k] = info
            self._register(info)
            if info.finished:
                self.unfinished.discard(k)
                self.finished_order.append(k)
            else:
                self.unfinished.add(k)
        return now

    def read(self) -> tuple[int, frozenset[int]]:
        """``(hw, open)``: every trial numbered below ``hw`` and not in ``open`` (unfinished,
        or not visible yet) was finished at the last read (a record's ``read``)."""
        return self.hw, frozenset(self.unfinished | self.missing.keys())

    def _register(self, info: TrialInfo) -> None:
        t = info.ticket
        if isinstance(t, Claim) and info.number not in self._registered:
            self._registered.add(info.number)
            self.by_gen.setdefault((t.run, t.src, t.gen), []).append(info.number)
            numbers = self.claims.setdefault(t.run, [])
            numbers.append(info.number)
            if len(numbers) > 1 and numbers[-2] > info.number:
                numbers.sort()

    def _seen(self, number: int, t: float, now: float) -> float:
        """``t``, a remote clock's time, no later than when this reader first saw it."""
        if t <= now:
            return t
        if t - now > self.ahead[0]:
            self.ahead = (t - now, number)
        return self._first_seen.setdefault((number, t), now)

    def warnings(self) -> list[tuple[str, str]]:
        """(key, message) of every warning the trials read call for: a clock ahead
        (:meth:`clock_warning`), tickets of other protocol versions (:meth:`version_warnings`)."""
        clock = self.clock_warning()
        return ([] if clock is None else [clock]) + (
            self.version_warnings() if self.versions else [])

    def clock_warning(self) -> tuple[str, str] | None:
        """(key, message) once a sign of life was dated ``GRACE / 2`` or more ahead of this
        machine's clock: the protocol's timing assumes clocks agree within that."""
        lead, number = self.ahead
        if lead < _protocol.GRACE / 2:
            return None
        return ("clock-ahead", (
            f"trial #{number} carries a time {lead:.0f} s ahead of this machine's clock: "
            "the clocks of the workers sharing this study disagree (synchronise them, e.g. "
            "with NTP). Its signs of life count from when this worker first saw them, so "
            f"it is presumed dead after {_protocol.GRACE:g} s of silence as seen here."))

    def _info(self, t: FrozenTrial, now: float) -> TrialInfo:
        raw = t.system_attrs.get(self.ticket_attr)
        ver = version(raw)
        if ver == VERSION:
            if self.first_current is None or t.number < self.first_current:
                self.first_current = t.number
        elif ver is not None:
            self.versions[ver] = max(self.versions.get(ver, -1), t.number)
        value = math.inf
        if t.state == TrialState.COMPLETE and t.value is not None:
            v = self.sign * t.value
            value = v if math.isfinite(v) else math.inf
        elif t.state == TrialState.PRUNED and self.pruned_last:
            value = pruned_value(t, self.sign)
        lost = False
        if t.state == TrialState.FAIL:
            end = t.system_attrs.get(END_KEY)
            lost = not isinstance(end, dict) or end.get("interrupted") is not False
        start = t.datetime_start.timestamp() if t.datetime_start else 0.0
        start = self._seen(t.number, start, now)
        ticket = parse_ticket(raw)
        if isinstance(ticket, (Waiting, Claim)) and ticket.t > now:
            ticket = replace(ticket, t=self._seen(t.number, ticket.t, now))
        return TrialInfo(
            t.number, t._trial_id, t.state, ticket,
            value, lost, start, "fixed_params" in t.system_attrs,
            self.tomb_attr in t.system_attrs, t,
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
        waiting = [k for k, t in self.missing.items()
                   if k < number and now - t <= _protocol.GRACE]
        return waiting + [k for k in self.unfinished
                          if k < number and not self.trials[k].settled()]

    def head(self, run: str) -> Claim | None:
        """The newest claim of ``run`` (its generation is the run's current one); a claim
        withdrawn by a trial that found itself presumed dead no longer counts. Claims name
        generations in trial-number order even when a trial claims its reserved row before
        lower-numbered ones decide (``_protocol``, "Reserved rows")."""
        for k in reversed(self.claims.get(run, ())):
            t = self.trials[k].ticket
            if isinstance(t, Claim):
                return t
        return None

    def pending(self, number: int) -> bool:
        """May trial ``number`` still claim (not settled, or not visible yet)?"""
        info = self.trials.get(number)
        return info is None or not info.settled()

    def holders(self, run: str, src: int, gen: int) -> list[TrialInfo]:
        """Trials claiming a row (or a spare) of generation ``(src, gen)``, by number."""
        infos = (self.trials[k] for k in sorted(self.by_gen.get((run, src, gen), ())))
        return [info for info in infos if isinstance(info.ticket, Claim)]

    def _late(self, read: bool) -> list[int]:
        """Other versions (that this one reads, or does not) with a trial numbered after this
        version's first ticket: a worker of theirs is still running on the study."""
        first = self.first_current
        return sorted(v for v, n in self.versions.items()
                      if (v in READS) == read and first is not None and n > first)

    def mixed_versions(self) -> str | None:
        """Why this worker must stop, if a worker of a version it reads (claims) but that
        does not read this version's tickets asked a trial after this version's first one
        (:class:`~metaheur.optuna._protocol.MixedVersionsError`); else ``None``."""
        late = self._late(read=True)
        if not late:
            return None
        return (f"a worker of metaheur's distributed protocol version {_names(late)} asked a "
                f"trial after this version's trial #{self.first_current}: workers of two "
                "versions share this study, and the earlier one does not read this version's "
                "tickets, so both would claim the rows of one population (trials repeated, rows "
                "claimed twice). Stop the workers of metaheur 0.1.0, then start this version's "
                "again.")

    def version_warnings(self) -> list[tuple[str, str]]:
        """(key, message) of the warnings that tickets of other protocol versions call for."""
        out = []
        read = sorted(v for v in self.versions if v in READS)
        if read:
            out.append((f"versions-read:{read}", (
                f"the study holds tickets of metaheur's distributed protocol version "
                f"{_names(read)}; this version ({VERSION}) reads them and continues their "
                "run (if this sampler's settings and search space are the run's). Stop every "
                f"worker of the earlier version first: it does not read version-{VERSION} "
                "tickets, so both would claim the rows of one population (this version stops "
                "with an error when it sees one).")))
        late = self._late(read=False)  # (a late version this one reads: mixed_versions)
        if late:
            out.append((f"versions-late:{late}", (
                f"a worker of metaheur's distributed protocol version {_names(late)} asked a "
                f"trial after this version's trial #{self.first_current}: workers of two "
                "versions share this study and run separate populations (trials may repeat). "
                "Stop the workers of the other version.")))
        unread = sorted(v for v in self.versions if v not in READS)
        if unread:
            out.append((f"versions:{unread}", (
                f"the study holds tickets of metaheur's distributed protocol version "
                f"{_names(unread)}; this version ({VERSION}) does not read them, so its run "
                "starts anew, warm-started from the study's completed trials. Workers of "
                "different metaheur versions must not share a study (they would run "
                "separate populations).")))
        return out


def _names(versions: list[int]) -> str:
    return ", ".join(map(str, versions))
