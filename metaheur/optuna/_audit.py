"""Count what a study's run lost, repeated or waited for (tests and benchmarks/distributed.py).

Reads only what the protocol stores (see ``_protocol``): claims and generation records in
the trials' system attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from metaheur.optuna._protocol import Claim, Record, Skip, parse_ticket, ticket_key, tomb_key

__all__ = ["Audit", "audit"]


@dataclass
class Audit:
    """Counts over one study for one algorithm's sampler."""

    trials: int = 0
    complete: int = 0
    repeated: int = 0  # COMPLETE trials whose parameters an earlier COMPLETE trial had
    never_told: int = 0  # COMPLETE row trials of a told generation whose value was not told
    spares: int = 0  # COMPLETE spare trials (evaluated while every row was taken)
    unused_spares: int = 0  # COMPLETE spare trials no generation used
    moved: int = 0  # rows whose point a spare's replaced (speculative mode)
    pending: int = 0  # COMPLETE trials of the current generation (not told yet)
    reissued: int = 0  # claims of a row beyond its first
    running: int = 0  # trials left RUNNING
    presumed: int = 0  # trials a later one presumed dead (silent for GRACE)
    withdrawn: int = 0  # ... of which took no part in the run (their claim withdrawn)
    answered: int = 0  # rows answered from the study's history (no trial spent)
    generations: int = 0
    wait_seconds: float = 0.0  # time trials spent waiting inside the sampler
    barrier_seconds: float = 0.0  # ... of which because every row was taken
    trial_seconds: float = 0.0  # total duration of the finished trials
    told_rows: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)

    @property
    def wasted(self) -> int:
        return self.never_told + self.unused_spares

    @property
    def wait_fraction(self) -> float:
        return self.wait_seconds / self.trial_seconds if self.trial_seconds > 0 else 0.0

    @property
    def barrier_fraction(self) -> float:
        return self.barrier_seconds / self.trial_seconds if self.trial_seconds > 0 else 0.0


def audit(study: optuna.Study, algo: str) -> Audit:
    """Count repeats, untold results, re-issues and waiting in ``study`` (see :class:`Audit`)."""
    trials = study.get_trials(deepcopy=False)
    a = Audit(trials=len(trials))
    attr = ticket_key(algo)
    prefix = attr + ":gen:"
    claims: dict[int, Claim] = {}
    told: set[int] = set()
    bound: dict[tuple[int, int], set[int]] = {}  # generation -> trials bound to its rows
    for t in trials:
        c = parse_ticket(t.system_attrs.get(attr))
        if isinstance(c, Claim):
            claims[t.number] = c
            a.wait_seconds += c.waited
            a.barrier_seconds += c.barrier
        if tomb_key(algo) in t.system_attrs:
            a.presumed += 1
            a.withdrawn += isinstance(c, Skip)
        for key, obj in t.system_attrs.items():
            if key.startswith(prefix):
                gen = int(key[len(prefix):])
                try:
                    rec = Record.from_json(obj, run=obj.get("run"), gen=gen)
                except (ValueError, AttributeError):
                    continue
                a.generations += 1
                a.answered += len(rec.answered)
                a.moved += len(rec.moved)
                bound[(t.number, gen)] = set(rec.bound.values())
                a.told_rows[(t.number, gen)] = rec.told
                told.update(rec.told.values())
                told.update(n for n, _ in rec.answered.values())
                told.update(rec.skipped)
        if t.state == TrialState.RUNNING:
            a.running += 1
        if t.state.is_finished() and t.datetime_start and t.datetime_complete:
            a.trial_seconds += (t.datetime_complete - t.datetime_start).total_seconds()
    head = max(claims, default=None)
    current = (claims[head].src, claims[head].gen) if head is not None else None
    seen: set[str] = set()
    rows: dict[tuple[int, int, int], int] = {}
    for t in trials:
        c = claims.get(t.number)
        if c is not None and c.row is not None:
            k = (c.src, c.gen, c.row)
            rows[k] = rows.get(k, 0) + 1
        if t.state != TrialState.COMPLETE:
            continue
        a.complete += 1
        key = repr(sorted(t.params.items()))
        if key in seen:
            a.repeated += 1
        seen.add(key)
        a.spares += c is not None and c.row is None
        if c is None or t.number in told:
            continue
        if (c.src, c.gen) == current or t.number in bound.get(current, ()):  # type: ignore[arg-type]
            a.pending += 1
        elif c.row is None:
            a.unused_spares += 1
        else:
            a.never_told += 1
    a.reissued = sum(n - 1 for n in rows.values())
    return a


def summary(a: Audit) -> dict[str, Any]:
    """The counts as a flat dict (for tables)."""
    return {
        "trials": a.trials, "repeated": a.repeated, "never_told": a.never_told,
        "spares": a.spares, "unused_spares": a.unused_spares, "moved": a.moved,
        "reissued": a.reissued, "running": a.running,
        "presumed": a.presumed, "withdrawn": a.withdrawn,
        "answered": a.answered, "generations": a.generations,
        "wait_%": round(100 * a.wait_fraction, 1) if math.isfinite(a.wait_fraction) else None,
        "barrier_%": round(100 * a.barrier_fraction, 1),
    }
