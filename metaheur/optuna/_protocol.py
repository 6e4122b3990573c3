"""How samplers in many workers run one metaheuristic through one Optuna storage.

What the storages guarantee, and what they do not
-------------------------------------------------
Every Optuna storage (in-memory, RDB, journal) creates trials atomically and numbers them
0, 1, 2, ... in creation order, and a trial's system attributes are written by the worker
that runs it. There is no compare-and-set: a study attribute written by two workers keeps
whichever write came last. The protocol therefore never lets two workers write the same
key; it orders every decision by trial number, the one total order all workers agree on.

The log
-------
Each trial that reaches :meth:`MetaheuristicSampler.sample_relative` writes a *ticket*
(trial system attribute ``metaheur:<algo>``):

``{"v": 3, "wait": t}``
    the trial is deciding (waiting); written ``GRACE / 4`` after the trial's start (until
    then its ``datetime_start`` is its sign of life) and refreshed as often while it waits.
``{"v": 3, "skip": true}``
    the trial takes no part (enqueued parameters, nothing to sample).
``{"v": 3, "run", "src", "gen", "row", "x", "names", "t", "waited", "barrier"[, "ahead"]}``
    a *claim*: the trial evaluates row ``row`` of generation ``gen`` whose record is held
    by trial ``src`` (``row`` is ``null`` for a *spare*, a point given out while every row
    is taken, see below; a speculative spare names in ``ahead`` the row of the next
    generation it predicts); ``x`` is the encoded point, ``names`` the parameters of its
    dimensions; ``waited``: seconds the trial spent deciding, of which ``barrier`` waiting
    because every row was taken. A trial decides once: its copy in another process (a
    pickled trial in a joblib or Dask worker) or a trial object built again for it
    evaluates the claimed point (``names`` rebuilds the space there, ``run`` checks it).

A generation *record* (trial system attribute ``metaheur:<algo>:gen:<gen>`` of the trial
that made it) is written once and never changed: the optimizer state after its ``ask()``,
which trials the read it was made from showed finished (``read``), the rows answered from
the study's history, bound to running trials that already evaluate their point, or whose
point a speculative spare's replaced (rule 4), for the previous generation which trial's
value each row was told (docs/algorithms.md §0.2 for the ask/tell contract), and the
sampler settings of its run (``"settings"``, read only to warn when workers of one study
were given different settings). A trial that tells several generations at once (their rows
all done by spares) stores each record.

Decisions in trial-number order
-------------------------------
A trial decides only once every lower-numbered trial is *settled* (or claims its reserved
row earlier, see "Reserved rows" below): finished, holding a claim or skip ticket,
enqueued, created with its parameters (a retried trial, another sampler's: parameters and
no ticket in two successive reads, as an RDB read loads the system attributes before the
parameters and can show a trial that just claimed and suggested without its claim), or
presumed dead (below). The current generation of a run
is the one named by the newest claim; the first trial of a run creates generation 0 with
its own seed, every later trial reads it. So all workers see one run, whatever their
seeds: no forks, and no row is claimed twice. The deciding trial, in this order:

1. tells the generation when every row has a result and asks the next one, writing the
   new record into its own attributes first (so a claim never names a missing record);
   rows whose parameters the study already evaluated are answered from the stored value
   (unless ``skip_evaluated=False``; ``inf`` or a pruned trial, which a record does not
   hold, by binding the row to the finished trial: one without a claim counts where the
   record's ``read`` shows it finished, not for older releases), rows whose point a running
   trial evaluates are bound to it: no trial is spent twice on one point;
2. claims the first open row not reserved for another trial that may still claim it; an
   open row equal to a running trial's parameters on every one it has suggested counts
   as held by it, and is answered from its value once it completes (while no completed
   trial lacks a parameter: only once it suggested all of them, or holds no claim; where
   some does, a claimed trial that has suggested nothing yet counts with the parameters
   of the completed trials sharing its point's branch: ``_scheduler.predicted``; one that
   suggested a float outside the run's space, drawn anew by the default fallback, holds none);
3. else re-issues a row whose trial is lost: FAIL without the sampler's end mark (failed
   by Optuna's heartbeat, i.e. the worker died), FAIL by interruption (``KeyboardInterrupt``,
   ``SystemExit``), or, *only when the storage has no heartbeat*, RUNNING for longer than
   ``wait_timeout`` (in memory: and asked by a thread that has ended; a live thread's
   trial can still be told). Being the only decider, it re-issues a lost row exactly once;
4. else, if the sampler is ``speculative`` or waiting would deadlock (every open row is
   held by trials its own thread asked, e.g. batch ``study.ask()``), takes a *spare*: a
   point of the next generation predicted from the results known so far (unknown rows
   count as ``+inf``), one not evaluated nor held yet, nor a twin of a running trial as
   in rule 2, unless every point is one (``_scheduler.pick_spare``).

   *Speculative* (opt-in): the spare takes a row ``j`` of the predicted next batch that no
   other spare of this generation took, of an agent whose own result in this generation
   is known (so only its leaders or best points may still change), and writes
   ``"ahead": j`` in its claim; once every such row is taken it waits. When
   the generation is told, the deciding trial puts each such spare's point in place of
   row ``j`` of the next batch (it edits the optimizer's pending batch: the algorithm is
   told the spare's point and value) and binds the row to the spare, recording it in the
   new record's ``moved``. A lost spare (interrupted, or failed by the heartbeat) moves
   nothing: the row keeps the algorithm's own point. Every spare's result is therefore
   told, and a worker never idles while a row of the next generation is left to
   predict. This departs from the published algorithms in one way: a row's point may come
   from the results known when it was predicted, not from the whole generation (an
   asynchronous update, at most one generation behind); rows the late results do not
   change are the same points either way.

   *Batch ask* (not speculative): any new point will do; the spare is bound to a row of
   the next generation only if that generation asks its point (otherwise it is a completed
   trial in the space, a candidate at every restart). It goes on to later generations'
   predictions and then to uniform points, so ``k`` asks give ``k`` distinct points for
   any ``k``;
5. else waits (polling the storage), refreshing its wait ticket.

Reserved rows
-------------
Waiting for every lower-numbered trial turns the decisions into a queue: each costs a read
of the study and a write, and on a busy storage the later trials wait in line. A
generation record therefore *reserves* its free rows (those not answered, bound or the
same as an earlier row, in row order) for trial numbers: the ``i``-th free row for trial
``src + i``, ``src`` being the trial that made the record (``"reserve": true``; a record
made while some completed trial lacks a parameter of the run's space, a conditional space,
does not reserve). A trial whose reserved row of the current generation is open claims it
at once, without waiting for the lower-numbered trials (the liveness check below applies
as to any claim). A trial deciding in its turn treats a row reserved for another trial
that may still claim it (not settled, or not visible yet) as held by that trial.

* No row is claimed twice: while the trial a row is reserved for is unsettled, only it
  may claim the row; once it is settled (it claimed, takes no part, finished or was
  presumed dead) it never claims again.
* No claim lands on a generation already told: a generation is told only when every row
  has a result, and a reserved row has none before its trial decides. Claims therefore
  still name generations in trial-number order, and the newest claim names the current
  generation.
* No deadlock: trial ``src + i`` deciding in its turn finds an open row among the first
  ``i + 1`` free rows, since at most ``i`` trials (``src`` to ``src + i - 1``, all
  settled) hold them, or a spare (below); past the last free row's number no row is
  reserved for a higher trial.
* A later result can show a reserved row to be a twin (a completed trial without a
  parameter the row's branch does not use either, a point drawn at random), or its
  configuration held by a running trial. Such a row is answered, or held, only in the
  decision of the trial it is reserved for or after that trial has settled: the twin
  checks of rules 1-2 come after rows reserved for others are held. A trial whose own
  reserved row is a twin takes a spare (rule 4: waiting for rows reserved for later
  trials could deadlock, e.g. with one worker) and never claims the row, which is
  answered once that claim is visible. The early claim checks too, and when its row is
  a twin the trial waits for its turn. With one worker and a plain space every trial
  takes the first open row, as before: a serial run is unchanged.

Presumed dead
-------------
A trial silent for ``GRACE`` seconds (no ticket since its ``datetime_start``, or a wait
ticket not refreshed) would hold every later trial up: a worker may have died before
deciding. The next deciding trial *presumes it dead*: it writes a mark (trial system
attribute ``metaheur:<algo>:presumed-dead``) on it, and decides from a read of the storage
made after the mark. Silence is measured from a time taken *before* the read, so what
was committed earlier is in it.

A worker can be silent and alive: a storage write stalled on a lock, a process starved of
CPU. Such a trial must not decide as if nothing happened (two trials would advance the
same generation: a fork, rows evaluated twice, results never told). Each trial tracks
when it could first be presumed dead: ``GRACE / 2`` after its last ticket (or its start),
half of ``GRACE`` being left for clocks that disagree. If any of its tickets was written
later than that (``_liveness.Liveness``), it reads its own attributes after writing its
claim, and if the mark is there it *withdraws*: it overwrites the claim with a skip ticket,
takes no part in the run and samples its parameters independently (a logged warning). Both
sides write before they read, so at least one sees the other: either the marking trial
read the claim, and counts it like any claim (until it is withdrawn: then the row is open
again), or the claimant reads the mark and withdraws. A claim is never ignored while its
trial evaluates it, and no live worker is stopped.

``GRACE`` compares a trial's ``datetime_start`` and tickets with the reader's clock:
workers on several machines need clocks that agree to well within ``GRACE / 2``. A time
later than the read that found it (a clock ahead, or a forged ticket) counts from when
the reader first saw it, so such a trial is still presumed dead after ``GRACE`` of
silence; a lead of ``GRACE / 2`` or more is reported once (a warning naming the trial).

Heartbeat
---------
With a storage heartbeat the claim first records one for its trial: Optuna's heartbeat
thread starts only after ``ask()`` returns, and a worker that dies before it beats once
would leave a RUNNING trial that no ``fail_stale_trials`` ever fails, its row held for
ever. Waiting workers call ``fail_stale_trials`` every two seconds.

Failures and interruptions
--------------------------
A failure of the objective (an exception, a pruned trial: see ``consider_pruned_trials``)
counts as ``+inf``; an interruption is not a result, its row goes back to the queue. A
worker dying mid-trial without a heartbeat leaves the trial RUNNING (Optuna cannot tell it from a
slow one); its row is re-issued after ``wait_timeout``, and if the trial completes after all
its value stays in the study. In-memory storage lives in one process, where the sampler
knows which thread asked each trial: a trial whose thread is alive can still be told and is
never re-issued; only one whose thread has ended is, after ``wait_timeout``. With a heartbeat
a slow trial is never re-issued; Optuna fails a dead one, whose row is re-issued at once unless
``RetryHeartbeatStaleTrialCallback`` (before Optuna 4.9 ``RetryFailedTrialCallback``) queued a
retry: that WAITING trial holds the claim it copied, and evaluates the row.

A record that cannot be used (malformed, not a state of this algorithm, points outside the
box) is reported once as a warning; the deciding trial starts a new segment of the run
(a restart) from the study's completed trials, and the study goes on.

Versions
--------
Every ticket and record names its protocol version (``"v"``). This version (3) also reads
version 2 (metaheur 0.1.0), version 3's layout without ``"reserve"``: a version-2 record
reserves no row, so a study begun with 0.1.0 keeps its population and goes on (its current
generation is decided in turn, the later ones reserve). A version-3 record without
``"read"`` (older code) keeps the older twin window (``_scheduler.answer_open_rows``).
Tickets or records of any other version are not read (one warning; the run starts anew from
the study's completed trials), nor is a version-2 record that names ``"reserve"``. A worker
of version 2 does not read version-3 tickets: it would take the newest version-2 claim for
the run's head, and this version reads its claims: both would claim the rows of one
population, so a worker of this version that sees a version-2 ticket on a trial numbered
after this version's first ticket stops with :class:`MixedVersionsError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["GRACE", "BadRecord", "Claim", "Record", "Skip", "Waiting", "parse_ticket",
           "record_key", "ticket_key", "tomb_key"]

VERSION = 3  # 3: generation records reserve their rows for trial numbers
# Versions whose tickets and records this one reads: a version-2 record is a version-3
# record that reserves no row (metaheur 0.1.0, before reserved rows).
READS = (2, 3)
GRACE = 10.0  # seconds without a ticket (or a refreshed wait ticket): presumed dead
END_KEY = "metaheur:end"  # {"interrupted": bool}, written by after_trial for FAIL trials


def ticket_key(algo: str) -> str:
    return f"metaheur:{algo}"


def tomb_key(algo: str) -> str:
    """Key of the mark a later trial writes on a trial it presumes dead."""
    return f"metaheur:{algo}:presumed-dead"


def record_key(algo: str, gen: int) -> str:
    return f"metaheur:{algo}:gen:{gen}"


@dataclass(frozen=True)
class Waiting:
    """The trial is deciding; ``t`` is the time of its last sign of life."""

    t: float


@dataclass(frozen=True)
class Skip:
    """The trial takes no part in the run (enqueued, or nothing to sample)."""


@dataclass(frozen=True)
class Claim:
    """The trial evaluates row ``row`` (``None``: a spare) of generation ``(src, gen)``."""

    run: str
    src: int
    gen: int
    row: int | None
    x: tuple[float, ...]
    t: float
    waited: float = 0.0
    ahead: int | None = None  # a spare predicting this row of the next generation
    barrier: float = 0.0  # of ``waited``, seconds waiting because every row was taken
    names: tuple[str, ...] | None = None  # the parameter of each dimension of ``x``

    def to_json(self) -> dict[str, Any]:
        out = {
            "v": VERSION, "run": self.run, "src": self.src, "gen": self.gen, "row": self.row,
            "x": list(self.x), "t": self.t, "waited": self.waited, "barrier": self.barrier,
        }
        if self.ahead is not None:
            out["ahead"] = self.ahead
        if self.names is not None:
            out["names"] = list(self.names)
        return out


Ticket = Waiting | Skip | Claim


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _num(v: Any) -> bool:
    """A finite number a float holds (JSON integers have no size limit: 10**400 is one)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int too large for a float
        return False


def version(obj: Any) -> int | None:
    """The protocol version a stored ticket or record names (``None``: none, or junk)."""
    v = obj.get("v") if isinstance(obj, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def parse_ticket(obj: Any) -> Ticket | None:
    """The ticket in a trial attribute, or ``None`` if it is absent, not one we wrote, or of
    a version this one does not read (tickets of the versions in ``READS`` have one layout)."""
    if version(obj) not in READS:
        return None
    if obj.get("skip") is True:
        return Skip()
    if "wait" in obj:
        return Waiting(float(obj["wait"])) if _num(obj["wait"]) else None
    run, src, gen, row, x, t = (obj.get(k) for k in ("run", "src", "gen", "row", "x", "t"))
    if not (isinstance(run, str) and _int(src) and _int(gen) and _num(t)):
        return None
    if row is not None and not _int(row):
        return None
    if not isinstance(x, list) or not all(_num(v) for v in x):
        return None
    waited, ahead, barrier = (obj.get(k) for k in ("waited", "ahead", "barrier"))
    if ahead is not None and (row is not None or not _int(ahead)):
        return None
    names = obj.get("names")  # absent before it was written (it is optional)
    if not (isinstance(names, list) and len(names) == len(x)
            and all(isinstance(n, str) for n in names)):
        names = None
    return Claim(run, int(obj["src"]), int(obj["gen"]), row, tuple(float(v) for v in x),
                 float(obj["t"]), float(waited) if _num(waited) else 0.0, ahead,
                 float(barrier) if _num(barrier) else 0.0,
                 None if names is None else tuple(names))


class BadRecord(ValueError):
    """A generation record that cannot be used (untrusted input from the storage)."""


class MixedVersionsError(RuntimeError):
    """Workers of two protocol versions that read each other's claims but not each other's
    tickets run on one study (a worker of metaheur 0.1.0 beside this version): carrying on
    would let both claim the rows of one population."""


@dataclass
class Record:
    """One generation, as stored: its optimizer state after ``ask()``, rows needing no trial.

    ``answered``: row -> (trial number, value) taken from the study's history;
    ``bound``: row -> number of a running trial that evaluates the row's point;
    ``same``: row -> an earlier row of this generation with the same parameters;
    ``told``: for the previous generation, row -> number of the trial whose value was told
    (``-1``: no trial, ``+inf`` was told); ``skipped``: numbers of the trials whose values
    answered generations in between that needed no trial at all; ``moved``: row -> number
    of the spare trial whose point replaced the row's (the row is also bound to it);
    ``read``: the read the generation was made from, as ``(hw, open)``: every trial
    numbered below ``hw`` and not in ``open`` (running then, or not visible yet) was
    finished, and looked up (``_scheduler.answer_open_rows``).
    """

    run: str
    gen: int
    restart: int
    opt: dict[str, Any]
    answered: dict[int, tuple[int, float]] = field(default_factory=dict)
    bound: dict[int, int] = field(default_factory=dict)
    same: dict[int, int] = field(default_factory=dict)
    told: dict[int, int] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    moved: dict[int, int] = field(default_factory=dict)
    reserve: bool = False  # free rows reserved for trial numbers (rule "Reserved rows")
    read: tuple[int, frozenset[int]] | None = None  # older records: absent

    def to_json(self) -> dict[str, Any]:
        return {
            "v": VERSION, "run": self.run, "gen": self.gen, "restart": self.restart,
            "opt": self.opt,
            "answered": [[r, n, v] for r, (n, v) in sorted(self.answered.items())],
            "bound": sorted([r, n] for r, n in self.bound.items()),
            "same": sorted([r, s] for r, s in self.same.items()),
            "told": sorted([r, n] for r, n in self.told.items()),
            "skipped": list(self.skipped),
            "moved": sorted([r, n] for r, n in self.moved.items()),
            "reserve": self.reserve,
        } | ({} if self.read is None else {"read": [self.read[0], sorted(self.read[1])]})

    @classmethod
    def from_json(cls, obj: Any, *, run: str, gen: int) -> Record:
        """Validate the structure (the optimizer state is validated by its class)."""
        if not isinstance(obj, dict):
            raise BadRecord(f"the record is a {type(obj).__name__}, not a dict")
        v = version(obj)
        if v not in READS:
            raise BadRecord(f"the record's protocol version is {obj.get('v')!r}; this "
                            f"version ({VERSION}) reads {' and '.join(map(str, READS))}")
        if obj.get("run") != run:
            raise BadRecord("the record belongs to another run")
        if obj.get("gen") != gen or not _int(obj.get("restart")):
            raise BadRecord(f"the record's generation is {obj.get('gen')!r}, expected {gen}")
        if not isinstance(obj.get("opt"), dict):
            raise BadRecord("the record holds no optimizer state")

        def pairs(name: str, width: int) -> list[list[Any]]:
            items = obj.get(name)
            if not isinstance(items, list) or not all(
                isinstance(p, list) and len(p) == width and all(_int(v) for v in p[:2])
                for p in items
            ):
                raise BadRecord(f"the record's {name!r} is malformed")
            return items

        answered = pairs("answered", 3)
        if not all(_num(p[2]) for p in answered):
            raise BadRecord("the record's 'answered' holds a value that is not finite")
        told = obj.get("told")
        if not isinstance(told, list) or not all(
            isinstance(p, list) and len(p) == 2 and _int(p[0]) and isinstance(p[1], int)
            for p in told
        ):
            raise BadRecord("the record's 'told' is malformed")
        moved = pairs("moved", 2) if "moved" in obj else []
        reserve = obj.get("reserve", False)
        if not isinstance(reserve, bool):
            raise BadRecord("the record's 'reserve' is not a boolean")
        if v == 2 and "reserve" in obj:
            raise BadRecord("the record is of version 2, which reserves no rows, yet has "
                            "'reserve'")
        read = obj.get("read")
        if "read" in obj and not (isinstance(read, list) and len(read) == 2 and _int(read[0])
                                  and isinstance(read[1], list)
                                  and all(_int(k) and k < read[0] for k in read[1])):
            raise BadRecord("the record's 'read' is malformed")
        skipped = obj.get("skipped", [])
        if not isinstance(skipped, list) or not all(_int(n) for n in skipped):
            raise BadRecord("the record's 'skipped' is malformed")
        return cls(
            run, gen, int(obj["restart"]), obj["opt"],
            answered={int(r): (int(n), float(v)) for r, n, v in answered},
            bound={int(r): int(n) for r, n in pairs("bound", 2)},
            same={int(r): int(s) for r, s in pairs("same", 2)},
            told={int(r): int(n) for r, n in told},
            skipped=[int(n) for n in skipped],
            moved={int(r): int(n) for r, n in moved},
            reserve=reserve, read=None if read is None else (read[0], frozenset(read[1])),
        )


def check_rows(rec: Record, X: NDArray) -> None:
    """Raise :class:`BadRecord` unless the asked rows are finite points of the box and the
    row maps name rows of the batch."""
    if X.ndim != 2 or not np.all(np.isfinite(X)) or np.any(np.abs(X) > 1.0):
        raise BadRecord("the record's pending rows are not finite points of the box")
    n = X.shape[0]
    rows = (list(rec.answered) + list(rec.bound) + list(rec.same) + list(rec.same.values())
            + list(rec.moved))
    if any(r >= n for r in rows) or any(s >= r for r, s in rec.same.items()):
        raise BadRecord("the record names rows that its batch does not have")
    if any(rec.bound.get(r) != k for r, k in rec.moved.items()):
        raise BadRecord("the record's 'moved' rows are not bound to their spare trials")
