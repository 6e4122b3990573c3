"""Row scheduling: the state of each row of a generation and what a deciding trial does.

Pure functions of the trial index (see ``_protocol`` for the rules they implement), with
one explicit result type per decision: :class:`Advance`, :class:`Take`, :class:`TakeSpare`,
:class:`Wait`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from metaheur.optuna._fallback import n_values
from metaheur.optuna._index import TrialIndex, TrialInfo
from metaheur.optuna._protocol import Claim, Record
from metaheur.optuna._runspace import RunSpace
from metaheur.optuna._store import Generation

__all__ = ["Advance", "RowState", "RowView", "Take", "TakeSpare", "Wait", "afresh",
           "answer_open_rows", "decide", "defer_twins", "pick_spare", "row_views",
           "running_configs", "stray_claims", "twin", "unspent"]


SPARE_TRIES = 2000  # points a spare is chosen among


class RowState(enum.Enum):
    DONE = "done"  # a result: answered from history, or a finished trial that counts
    HELD = "held"  # a running trial evaluates it
    MINE = "mine"  # held only by unfinished trials this thread asked (batch ask)
    QUEUED = "queued"  # held by a WAITING retry of its trial (Optuna's retry callback
    # copies the claim): it will evaluate the point; like MINE, waiting for it may deadlock
    STALE = "stale"  # held only by trials running past wait_timeout (no heartbeat)
    OPEN = "open"  # no trial, or only lost ones (interrupted, failed by the heartbeat)
    SAME = "same"  # the same parameters as an earlier row: shares its result


@dataclass(frozen=True)
class RowView:
    state: RowState
    value: float = math.inf  # DONE: the value told (minimisation sign)
    number: int = -1  # DONE: the trial whose value it is (-1: none); HELD/STALE: newest
    age: float = 0.0  # HELD/STALE: seconds since the newest holder claimed the row
    tried: bool = False  # OPEN: some trial held it before (a re-issue)
    expires: bool = True  # HELD: turns STALE after ``timeout`` (no holder known alive)


@dataclass(frozen=True)
class Advance:
    """Every row has a result: tell ``f`` (``told``: row -> trial number, -1 for none)."""

    f: NDArray
    told: dict[int, int]


@dataclass(frozen=True)
class Take:
    row: int
    reissue: bool


@dataclass(frozen=True)
class TakeSpare:
    """Every row is taken: evaluate a predicted point; ``f``: the values known so far
    (``known``: which rows have a result). ``must``: waiting would deadlock (batch ask), so
    any new point will do; otherwise only a prediction of the next generation is worth a
    trial."""

    f: NDArray
    must: bool
    known: NDArray


@dataclass(frozen=True)
class Wait:
    """Decide again after ``seconds``; ``barrier``: every row is taken (the generation's
    end), not a lower-numbered trial still deciding."""

    seconds: float
    barrier: bool = False


def _alive(info: TrialInfo, now: float, timeout: float, heartbeat: bool,
           here: Collection[int] = ()) -> bool | None:
    """True: running; None: running past ``timeout`` without a heartbeat (and not known
    alive in this process, ``here``); False: not."""
    if info.state != TrialState.RUNNING:
        return False
    if heartbeat or info.number in here:
        return True
    t = info.ticket.t if isinstance(info.ticket, Claim) else info.start
    return True if now - t < timeout else None


def _finished_when_made(rec: Record, info: TrialInfo) -> bool:
    """Had ``info``'s trial finished with a result in the read ``rec`` was made from? Then
    its row was bound by its parameters (``_store.answer``: a value of ``inf`` or a pruned
    trial, which ``answered`` cannot hold), so its result is the row's whatever its ticket
    (enqueued, drawn at random, another sampler's). A trial bound while running holds a
    claim; one whose claim was withdrawn evaluates other parameters. A record without
    ``read`` (an older version's) binds claimed trials only."""
    read = rec.read
    return (read is not None and info.counted and info.number < read[0]
            and info.number not in read[1])


def row_views(g: Generation, index: TrialIndex, run: str, now: float, timeout: float,
              heartbeat: bool, mine: Collection[int], here: Collection[int] = ()
              ) -> list[RowView]:
    """The state of each row of ``g``. ``mine``: unfinished trials this thread asked;
    ``here``: running trials known alive in this process (in memory: asked by a thread that
    is still alive), whose rows never turn STALE."""
    rec = g.record
    n = g.X.shape[0]
    holders: list[list[TrialInfo]] = [[] for _ in range(n)]
    for i, number in rec.bound.items():
        info = index.trials.get(number)
        if info is not None and (isinstance(info.ticket, Claim)  # not withdrawn
                                 or _finished_when_made(rec, info)):
            holders[i].append(info)
    for info in index.holders(run, g.src, g.gen):
        row = info.ticket.row  # type: ignore[union-attr]
        if row is not None and row < n and info.number not in rec.bound.values():
            holders[row].append(info)
    views: list[RowView] = []
    for i in range(n):
        if i in rec.same:
            views.append(RowView(RowState.SAME))
            continue
        if i in rec.answered:
            number, value = rec.answered[i]
            views.append(RowView(RowState.DONE, value, number))
            continue
        hs = sorted(holders[i], key=lambda h: h.number)
        counted = [h for h in hs if h.counted]
        if counted:
            views.append(RowView(RowState.DONE, counted[0].value, counted[0].number))
            continue
        running = [(h, _alive(h, now, timeout, heartbeat, here)) for h in hs]
        alive = [h for h, a in running if a]
        stale = [h for h, a in running if a is None]
        if alive:
            newest = max(alive, key=lambda h: h.number)
            age = now - (newest.ticket.t if isinstance(newest.ticket, Claim) else newest.start)
            state = RowState.MINE if all(h.number in mine for h in alive) else RowState.HELD
            expires = not heartbeat and not any(h.number in here for h in alive)
            views.append(RowView(state, number=newest.number, age=age, expires=expires))
        elif stale:
            newest = max(stale, key=lambda h: h.number)
            age = now - (newest.ticket.t if isinstance(newest.ticket, Claim) else newest.start)
            views.append(RowView(RowState.STALE, number=newest.number, age=age))
        elif queued := [h for h in hs if h.state == TrialState.WAITING]:
            views.append(RowView(RowState.QUEUED, number=queued[-1].number))
        else:
            views.append(RowView(RowState.OPEN, tried=bool(hs)))
    return views


Config = tuple[tuple[str, ...], str]  # names a trial suggested, and their values' key


def suggested(info: TrialInfo | None, run: RunSpace) -> Config | None:
    """The configuration a running trial evaluates, as far as it has suggested it: its
    names and their key, where they are some (in a conditional space) or all of ``run``'s
    parameters, each with ``run``'s distribution and a value on its grid (an enqueued one
    may be off it), else ``None``. Names outside ``run``'s space (single-valued ones, or
    one a ``PartialFixedSampler`` fixes) are left out, as :meth:`RunSpace.lookup` leaves
    them out of a completed trial's configuration."""
    if info is None or info.finished:
        return None
    # copies (atomic under the GIL): in memory, another thread may be suggesting into these
    # very dicts; a name whose value is not written yet is not suggested yet
    params = info.trial.params.copy()
    d = {n: v for n, v in info.trial.distributions.copy().items()
         if n in params and n in run.space}
    if not (d and all(run.space[n] == d[n] for n in d)
            and all(run.encoder.on_grid(n, params[n]) for n in d)):
        return None
    names = tuple(n for n in run.encoder.names if n in d)
    return names, run.key(params, names)


def predicted(info: TrialInfo | None, run: RunSpace) -> Config | None:
    """The configuration a running trial that claimed a point of ``run`` and has suggested
    nothing yet will evaluate, predicted in a conditional space from the completed trials:
    the parameters of those that share its point's values of the categorical parameters
    every completed trial has (the ones that choose a branch in most objectives); among
    several such sets, one whose trials share its other categorical values too, then the
    largest (``None``: none). A wrong prediction holds a row until the trial suggests
    (:func:`defer_twins`) and answers none: only a completed trial's own parameters do
    (:func:`answer_open_rows`)."""
    c = info.ticket if info is not None and not info.finished else None
    if (not isinstance(c, Claim) or c.run != run.sig or len(c.x) != run.encoder.dim
            or info.trial.params):  # type: ignore[union-attr]
        return None
    params = run.encoder.decode(np.array(c.x))
    always = frozenset.intersection(*map(frozenset, run.groups)) if run.groups else frozenset()
    best, rank = None, (False, 0)
    for names, seen in run.choices.items():  # each set's categorical values, distinct
        own = tuple((n, run.encoder.canonical(n, params[n])) for n, _ in next(iter(seen)))
        if own and not any(all(p in own for p in vals if p[0] in always) for vals in seen):
            continue  # another branch
        if best is None or (own in seen, len(names)) > rank:
            best, rank = names, (own in seen, len(names))
    return None if best is None else (best, run.key(params, best))


def running_configs(index: TrialIndex, run: RunSpace) -> dict[int, Config]:
    """:func:`suggested` of every running trial, by number, or where a claimed trial has
    suggested nothing yet in a conditional space, :func:`predicted`. While ``run`` looks
    plain (every completed trial has all its parameters) a trial holding a claim counts
    only once it has suggested every one: its row is a point; an unclaimed trial (drawn at
    random, enqueued) may turn out to lack one, so it counts as far as it has suggested.
    A trial that suggested a float outside ``run``'s space has no twin (:func:`afresh`)."""
    out: dict[int, Config] = {}
    for k in sorted(index.unfinished):
        c = suggested(info := index.trials.get(k), run)
        if c is None and not run.plain:
            c = predicted(info, run)
        if c is None or any(n_values(d) is None for d in afresh(info, run)):
            continue
        if not (run.plain and len(c[0]) < len(run.space)
                and isinstance(info.ticket, Claim)):  # type: ignore[union-attr]
            out[k] = c
    return out


def twin(run: RunSpace, params: dict, configs: dict[int, Config]) -> int | None:
    """The first trial of ``configs`` whose configuration ``params`` (a full point of
    ``run``'s space) is: equal on every name it suggested (``None``: none)."""
    return next((k for k, (names, key) in configs.items()
                 if run.key(params, names) == key), None)


def unspent(run: RunSpace, params: dict, taken: Collection[str], configs: dict[int, Config]
            ) -> bool:
    """Is the point ``params`` worth a spare trial: its key not ``taken`` (a row or a
    running claim), not evaluated, and no twin of a running trial's ``configs``?"""
    return (run.key(params) not in taken and run.lookup(params) is None
            and twin(run, params, configs) is None)


def afresh(info: TrialInfo | None, run: RunSpace) -> list[BaseDistribution]:
    """The distributions of the parameters that the running trial of ``info`` suggested and
    that a later trial with its values of ``run``'s parameters draws again from the default
    fallback sampler (``_fallback.redraws``): those outside ``run``'s space, neither
    single-valued nor set by a ``PartialFixedSampler`` (``run.fixed``). A float among them
    makes the two configurations differ with probability 1; a discrete one, while another
    value is left. None where another fallback or wrapper may repeat a value (``run.fixed``
    is ``None``)."""
    if info is None or run.fixed is None:
        return []
    params, dists = info.trial.params.copy(), info.trial.distributions.copy()
    return [d for n, d in dists.items()
            if n in params and n not in run.space and n not in run.fixed and not d.single()]


def pick_spare(run: RunSpace, points: Iterable[NDArray], taken: Collection[str],
               configs: dict[int, Config], index: TrialIndex, *, must: bool
               ) -> tuple[NDArray, dict] | None:
    """The first of ``points`` (at most :data:`SPARE_TRIES`) that is :func:`unspent`, with
    its parameters. Where none is and waiting would deadlock (``must``), the first that is
    neither taken nor evaluated but a twin of running ``configs``: one whose twins all draw
    a parameter afresh (:func:`afresh`), else any, else (a finite space, every point taken)
    the last point. ``None``: no point, or none unspent and not ``must``."""
    x, twins = None, {}  # the first twin, by whether a trial drawing nothing afresh is one
    firm: dict[int, Config] | None = None  # those trials' configs, once a twin is found
    for _, x in zip(range(SPARE_TRIES), points, strict=False):
        params = run.encoder.decode(x)
        if unspent(run, params, taken, {}):  # neither taken nor evaluated
            if twin(run, params, configs) is None:
                return x, params
            if firm is None:
                firm = {k: c for k, c in configs.items()
                        if not afresh(index.trials.get(k), run)}
            twins.setdefault(twin(run, params, firm) is not None, x)
    if x is None or not must:
        return None  # every prediction is taken: wait for the generation instead
    x = twins.get(False, twins.get(True, x))
    return x, run.encoder.decode(x)


def answer_open_rows(run: RunSpace, g: Generation, views: list[RowView], index: TrialIndex
                     ) -> list[RowView]:
    """Answer from history the OPEN rows whose configuration a trial evaluated that was
    not complete when ``g`` was made.

    In a conditional (union) space two rows can differ only in dimensions their branch
    does not suggest: one configuration under two keys, so ``answer`` cannot tell them
    apart when the generation is made; nor a row from a trial of another run (before the
    union space grew) or sampled independently that was still running then. Once such a
    trial has completed, ``run.lookup`` (which compares a trial's own parameters only)
    finds it. Only trials the read ``g`` was made from did not show finished (the record's
    ``read``: numbered from its ``hw`` on, or in its ``open``) count: the others were
    looked up then, and a generation that gave up answering (every point of a finite space
    evaluated) keeps evaluating; answered again, it would be told, and the next one would
    give up too. Every worker derives this from the stored record and trials alone, with
    no clock; a row some trial holds is left to it. A record without ``read`` (an older
    version's) counts the trials of ``g`` (numbered from ``g.src`` on) and those completed
    after its creator's claim (a junk completion time counts as after it)."""
    read, creator = g.record.read, index.trials.get(g.src)
    made = creator.ticket.t if creator and isinstance(creator.ticket, Claim) else math.inf
    out = views
    for i, v in enumerate(views):
        if v.state is not RowState.OPEN or (e := run.lookup(g.params[i])) is None:
            continue
        if read is not None:
            late = e.number >= read[0] or e.number in read[1]
        else:
            late = e.number >= g.src or _completed_after(index.trials.get(e.number), made)
        if late:
            if out is views:
                out = list(views)
            out[i] = RowView(RowState.DONE, e.value, e.number)
    return out


def _completed_after(info: TrialInfo | None, t: float) -> bool:
    """Did ``info``'s trial complete after time ``t`` (a junk completion time: yes)?"""
    done = None if info is None else info.trial.datetime_complete
    try:
        return done is not None and done.timestamp() > t
    except (ValueError, OverflowError, OSError):  # a year the platform cannot convert
        return True


def defer_twins(g: Generation, views: list[RowView], index: TrialIndex, run: RunSpace,
                now: float, timeout: float, heartbeat: bool, mine: Collection[int],
                here: Collection[int]) -> list[RowView]:
    """OPEN rows whose configuration a live running trial evaluates look held by that
    trial (``mine``, ``here``: as for :func:`row_views`); its result answers them once it
    completes (:func:`answer_open_rows`).

    Which dimensions a trial's branch uses is known once it has suggested them
    (:func:`suggested`): an OPEN row equal to its parameters on those names is its twin,
    since the objective takes the same branch at every suggestion. While the trial is
    still suggesting, a row may look like a twin that is not; that holds it for one
    decision only (views are made afresh for each), and never evaluates a configuration
    twice."""
    if not any(v.state is RowState.OPEN for v in views):
        return views  # every row taken or answered: no trial's suggestions to read
    configs = {k: c for k, c in running_configs(index, run).items()
               if _alive(index.trials[k], now, timeout, heartbeat, here)}
    out = views
    for j, v in enumerate(views):
        if v.state is RowState.OPEN and (k := twin(run, g.params[j], configs)) is not None:
            info = index.trials[k]
            t = info.ticket.t if isinstance(info.ticket, Claim) else info.start
            if out is views:
                out = list(views)
            out[j] = RowView(RowState.MINE if k in mine else RowState.HELD, number=k,
                             age=now - t, expires=not heartbeat and k not in here)
    return out


def stray_claims(g: Generation, index: TrialIndex, run: str) -> list[tuple[str, str]]:
    """(key, message) for each claim on ``g`` that names a row ``g`` lacks: a record edited
    or corrupted in the storage. :func:`row_views` ignores such a claim."""
    n = g.X.shape[0]
    return [(f"claim-row:{info.number}",
             f"trial #{info.number}'s claim names row {info.ticket.row} of generation "  # type: ignore[union-attr]
             f"{g.gen}, which has {n} rows: the claim is corrupted. Its result is not "
             "told to the algorithm, and that row is evaluated again.")
            for info in index.holders(run, g.src, g.gen)
            if info.ticket.row is not None and info.ticket.row >= n]  # type: ignore[union-attr]


def _resolve(views: list[RowView], rec_same: dict[int, int], i: int) -> RowView:
    while views[i].state is RowState.SAME:
        i = rec_same[i]
    return views[i]


def decide(g: Generation, views: list[RowView], *, speculative: bool, timeout: float,
           heartbeat: bool, max_wait: float, stranded: bool = False
           ) -> Advance | Take | TakeSpare | Wait:
    """What the deciding trial does with generation ``g`` (rules 1-5 of ``_protocol``);
    ``stranded``: its reserved row turned out a twin, so it does not wait for the others."""
    same = g.record.same
    resolved = [_resolve(views, same, i) for i in range(len(views))]
    if all(v.state is RowState.DONE for v in resolved):
        return Advance(np.array([v.value for v in resolved]),
                       {i: v.number for i, v in enumerate(resolved)})
    states = [v.state for v in views]
    if RowState.OPEN in states:
        row = states.index(RowState.OPEN)
        return Take(row, views[row].tried)
    stale = [i for i, s in enumerate(states) if s is RowState.STALE]
    if stale:
        return Take(max(stale, key=lambda i: (views[i].age, -i)), True)
    f = np.array([v.value if v.state is RowState.DONE else math.inf for v in resolved])
    busy = [s for s in states if s in (RowState.HELD, RowState.MINE, RowState.QUEUED)]
    must = all(s is not RowState.HELD for s in busy)
    # a row held past ``timeout`` by a trial known alive (in memory: its asking thread
    # lives) is not re-issued, since it may still be told, nor waited for, since it may
    # never be (an ask/tell loop stopped by Ctrl-C): as when waiting would deadlock, the
    # trial takes a spare
    must = must or stranded or (not heartbeat and any(
        v.state is RowState.HELD and not v.expires and v.age >= timeout for v in views))
    if speculative or must:
        return TakeSpare(f, must, np.array([v.state is RowState.DONE for v in resolved]))
    ages = [v.age for v in views if v.state is RowState.HELD]
    if heartbeat or not ages:  # no row can turn STALE or overdue
        return Wait(max_wait, barrier=True)
    return Wait(max(0.001, min(max_wait, timeout - max(ages))), barrier=True)
