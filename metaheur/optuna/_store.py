"""The generation store: records of one run, its horizon and restarts (see ``_protocol``).

Works on any Optuna storage and needs no sampler: :class:`GenerationStore`'s ``start``
makes generation 0 (or a restart segment), ``advance`` tells a finished generation and
asks the next, ``save`` / ``load`` write and read a record in a trial's system
attributes, ``predict`` proposes the spare points.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial

from metaheur import _state
from metaheur._base import Optimizer
from metaheur.optuna._protocol import BadRecord, Record, check_rows, record_key
from metaheur.optuna._runspace import RunSpace

__all__ = ["Generation", "GenerationStore", "run_settings"]

logger = logging.getLogger(__name__)

_MAX_ANSWERED = 100  # consecutive generations answered wholly from history before giving up


@dataclass
class Generation:
    """A record with its optimizer (after ``ask()``) and its decoded rows."""

    record: Record
    src: int
    opt: Optimizer
    X: NDArray
    params: list[dict[str, Any]]
    keys: list[str]
    # rows bound to a trial that had finished when the generation was made -> its value
    done: dict[int, float] = field(default_factory=dict)

    @property
    def gen(self) -> int:
        return self.record.gen

    @property
    def free_rows(self) -> list[int]:
        r = self.record
        return [i for i in range(self.X.shape[0])
                if i not in r.answered and i not in r.bound and i not in r.same]

    def reserved(self) -> dict[int, int]:
        """Row -> the trial number it is reserved for: the ``i``-th free row for trial
        ``src + i`` (``_protocol``, "Reserved rows"); empty unless the record reserves."""
        if not self.record.reserve:
            return {}
        return {r: self.src + i for i, r in enumerate(self.free_rows)}


def run_settings(pop_size: Any, n_trials: Any, algo_params: Mapping[str, Any],
                 pruned_last: bool = False) -> str:
    """The sampler settings a run's signature holds (``RunSpace``): workers given other
    settings make another run. ``consider_pruned_trials`` counts only when on, so runs
    without it keep the signature of releases before it."""
    return repr([pop_size, n_trials, sorted(algo_params.items())]
                + (["consider_pruned_trials"] if pruned_last else []))


class GenerationStore:
    """Makes, reads and writes the generations of one algorithm's runs."""

    def __init__(self, cls: type[Optimizer], pop_size: int, n_trials: int,
                 algo_params: Mapping[str, Any], *, skip_evaluated: bool = True,
                 pruned_last: bool = False) -> None:
        self.cls, self.pop_size, self.n_trials = cls, pop_size, n_trials
        self.algo_params = dict(algo_params)
        self.skip_evaluated = skip_evaluated
        self.pruned_last = pruned_last  # consider_pruned_trials
        self.signature = run_settings(pop_size, n_trials, self.algo_params, pruned_last)

    # ------------------------------------------------------------- storage
    @property
    def settings(self) -> dict[str, Any]:
        """The sampler settings of this store's runs, as a record states them (read only to
        tell the user that workers of one study were given different settings)."""
        plain = (bool, int, float, str, type(None))
        out = {"pop_size": self.pop_size, "n_trials": self.n_trials,
               "algo_params": {k: v if isinstance(v, plain) else repr(v)
                               for k, v in sorted(self.algo_params.items())}}
        return out | ({"consider_pruned_trials": True} if self.pruned_last else {})

    def save(self, storage: BaseStorage, trial_id: int, g: Generation) -> None:
        obj = g.record.to_json()
        obj["settings"] = self.settings
        storage.set_trial_system_attr(trial_id, record_key(self.cls.name, g.gen), obj)

    def load(self, run: RunSpace, trial: FrozenTrial, gen: int) -> Generation:
        """The generation ``gen`` held by ``trial``; :class:`BadRecord` if it is unusable."""
        cached = run.cache.get((trial.number, gen))
        if cached is not None:
            return cached
        obj = trial.system_attrs.get(record_key(self.cls.name, gen))
        if obj is None:
            raise BadRecord(f"trial #{trial.number} holds no record of generation {gen}")
        rec = Record.from_json(obj, run=run.sig, gen=gen)
        try:
            opt = self.cls.from_state(rec.opt, check_version=False)
            if opt.dim != run.encoder.dim or opt.pop_size != self.pop_size:
                raise ValueError("its shape does not match the search space and pop_size")
            X = opt.ask()
        except Exception as exc:  # untrusted state: any failure means "cannot use it"
            raise BadRecord(f"its optimizer state is unusable ({exc})") from exc
        check_rows(rec, X)
        g = self._generation(run, rec, trial.number, opt, X)
        return g

    def _generation(self, run: RunSpace, rec: Record, src: int, opt: Optimizer,
                    X: NDArray) -> Generation:
        params = [run.encoder.decode(x) for x in X]
        g = Generation(rec, src, opt, X, params, [run.key(p) for p in params])
        run.cache[(src, rec.gen)] = g
        return g

    # ------------------------------------------------------------ life cycle
    def start(self, run: RunSpace, src: int, seed: int | np.random.Generator, *, gen: int,
              restart: int, held: Mapping[str, int],
              population: list[tuple[float, NDArray]] = ()) -> Generation:  # type: ignore[assignment]
        """Generation 0 of a run (or of a restart segment), warm-started from the best
        completed trials in the space (and ``population``)."""
        limit = self.pop_size if not population else max(self.pop_size // 2, 1)
        fill = seed if isinstance(seed, np.random.Generator) else (seed, 0x5EED)
        X0, f0 = self._warm_points(run, limit, population, fill)
        opt = self._new_optimizer(run.encoder.dim, seed, X0, f0)
        return self._ask(run, src, opt, gen, restart, held, told={})

    def advance(self, run: RunSpace, g: Generation, src: int, f: NDArray,
                told: dict[int, int], held: Mapping[str, int],
                ahead: Mapping[int, tuple[int, NDArray]] | None = None) -> Generation:
        """Tell ``g`` its values ``f`` (minimisation sign) and ask the next generation.

        ``ahead``: row -> (number, point) of the spare trials that predicted a row of the
        next batch; each such row takes the spare's point (:meth:`_move`)."""
        opt = self.cls.from_state(g.record.opt, check_version=False)
        X = opt.ask()
        opt.tell(X, f)
        return self._ask(run, src, opt, g.gen + 1, g.record.restart, held, told, ahead or {})

    def _ask(self, run: RunSpace, src: int, opt: Optimizer, gen: int, restart: int,
             held: Mapping[str, int], told: dict[int, int],
             ahead: Mapping[int, tuple[int, NDArray]] = {}) -> Generation:  # noqa: B006
        """Ask until a batch has a row needing a trial; rows already evaluated are
        answered from history and told at once. ``ahead`` applies to the first batch
        only, and only when it is the batch the spares predicted (no restart between)."""
        skipped: list[int] = []
        moved: dict[int, int] = {}
        for _ in range(_MAX_ANSWERED):
            if opt.done:
                opt, restart = self._restart(run, opt, restart), restart + 1
                ahead = {}
            X = opt.ask()
            if X.shape[0] == 0:
                opt.tell(X, np.empty(0))
                continue
            if ahead:
                opt, X, moved = self._move(opt, X, ahead)
                ahead = {}
            rec = Record(run.sig, gen, restart, opt.get_state(), told=told, skipped=skipped,
                         moved=moved, reserve=run.plain, read=run.read)
            g = self._generation(run, rec, src, opt, X)
            self.answer(run, g, held)
            if g.free_rows or rec.bound.keys() - g.done.keys():
                return g
            f = np.array([self._known_value(g, i) for i in range(X.shape[0])])
            logger.debug("generation %d answered wholly from the study's history", gen)
            opt.tell(X, f)
            skipped = skipped + sorted([n for n, _ in rec.answered.values()]
                                       + [rec.bound[i] for i in g.done])
            gen += 1
        logger.warning("the algorithm keeps proposing evaluated points; evaluating one again")
        rec.answered.clear()
        rec.same.clear()
        for i in g.done:
            del rec.bound[i]
        g.done.clear()
        return g

    @staticmethod
    def _known_value(g: Generation, i: int) -> float:
        """The value of row ``i`` of a generation every row of which is known when made."""
        while i in g.record.same:
            i = g.record.same[i]
        return g.record.answered[i][1] if i in g.record.answered else g.done[i]

    def _move(self, opt: Optimizer, X: NDArray, ahead: Mapping[int, tuple[int, NDArray]]
              ) -> tuple[Optimizer, NDArray, dict[int, int]]:
        """Put each spare's point in place of the row it predicted (speculative mode, see
        ``_protocol``): the pending batch of ``opt``'s state (and of a wrapped optimizer's
        state holding the same batch, e.g. a restart layer's current run) is edited and
        the state restored, so the optimizer is told the spare's point with the spare's
        value (its other pending quantities, e.g. PSO's velocities, stay its own ask's).
        Nothing moves when the state does not allow it (a new run's initial population)."""
        rows = {r: (k, np.asarray(x, dtype=float)) for r, (k, x) in ahead.items()
                if r < X.shape[0] and np.shape(x) == X.shape[1:]}
        if not rows:
            return opt, X, {}
        state = opt.get_state()
        _edit_pending(state, X, {r: x for r, (_, x) in rows.items()})
        try:
            moved = self.cls.from_state(state, check_version=False)
        except ValueError as exc:
            logger.debug("the spares' points cannot replace their rows (%s)", exc)
            return opt, X, {}
        return moved, moved.ask(), {r: k for r, (k, _) in rows.items()}

    def _movable(self, opt: Optimizer, X: NDArray) -> bool:
        """Can a spare's point replace a row of ``opt``'s pending batch ``X``?"""
        probe = {0: (-1, X[0] * 0.5)}  # another point of the box
        return bool(self._move(opt, X, probe)[2])

    def answer(self, run: RunSpace, g: Generation, held: Mapping[str, int]) -> None:
        """Fill the rows of a fresh generation that need no trial: taken by a spare,
        answered from history, bound to a running trial, or the same as an earlier row."""
        rec = g.record
        first: dict[str, int] = {}
        for i, key in enumerate(g.keys):
            if i in rec.moved:  # the spare's point: its trial's result is the row's
                rec.bound[i] = rec.moved[i]
                first.setdefault(key, i)
                continue
            if key in first:
                rec.same[i] = first[key]
                continue
            first[key] = i
            if key in held:
                rec.bound[i] = held[key]
            elif self.skip_evaluated and (e := run.lookup(g.params[i])) is not None:
                if math.isfinite(e.value):
                    rec.answered[i] = (e.number, e.value)
                elif e.claimed or rec.read is not None:  # inf or pruned: records hold
                    rec.bound[i] = e.number  # finite values, so bind the row to the
                    g.done[i] = e.value  # finished trial (told its +inf; row_views)
        if not self.skip_evaluated:  # repeats wanted: only bind points already running
            rec.same.clear()

    def _new_optimizer(self, dim: int, seed: int | np.random.Generator,
                       X0: NDArray | None, f0: NDArray | None) -> Optimizer:
        m = 0 if f0 is None else f0.size
        horizon: dict[str, int] = {"budget": self.n_trials - m}
        if self.n_trials - m < self.pop_size - m + 1:  # at least one iteration: T >= 1
            horizon = {"max_iter": 1}
        return self.cls([(-1.0, 1.0)] * dim, pop_size=self.pop_size, seed=seed, x0=X0, f0=f0,
                        **horizon, **self.algo_params)

    def _restart(self, run: RunSpace, opt: Optimizer, restart: int) -> Optimizer:
        X, f = opt.population
        pop = [(float(v), x) for v, x in zip(f, X, strict=True)]
        m = max(self.pop_size // 2, 1)
        X0, f0 = self._warm_points(run, m, pop, opt.rng)
        logger.info("schedule horizon reached after %d evaluations; restart %d keeps %d points",
                    opt.nfev, restart + 1, 0 if f0 is None else f0.size)
        return self._new_optimizer(run.encoder.dim, opt.rng, X0, f0)

    def _warm_points(self, run: RunSpace, limit: int, population: Any,
                     fill: np.random.Generator | tuple[int, int]
                     ) -> tuple[NDArray | None, NDArray | None]:
        """Best ``limit`` distinct points of ``population`` and of the completed trials. A
        trial that ran before one of the space's parameters existed gets a uniform value
        there (``fill``: a generator, or the seed of one made when first needed), not the
        centre where its inactive parameters go: a population of such points would
        otherwise all agree on the new parameter and, for algorithms that move relative
        to the population, never search it."""
        cands: list[tuple[float, int, int, dict[str, Any]]] = []
        for i, (fv, x) in enumerate(population):
            if math.isfinite(fv):
                cands.append((fv, 0, i, run.encoder.decode(x)))
        for e in run.evaluated:
            cands.append((e.value, 1, e.number, e.params))
        cands.sort(key=lambda c: c[:3])
        X: list[NDArray] = []
        f: list[float] = []
        seen: set[str] = set()
        for fv, src, i, params in cands:
            key = run.key(params, tuple(n for n in run.encoder.names if n in params))
            if len(f) >= limit:
                break
            if key in seen:
                continue
            seen.add(key)
            if src == 0:
                X.append(np.asarray(population[i][1], dtype=float))
                f.append(fv)
                continue
            x = run.encoder.encode(params, partial=True)
            new = [j for j, n in enumerate(run.encoder.names) if n not in params
                   and i <= run.lacks_after(tuple(n for n in run.encoder.names
                                                  if n in params), n)]
            if new:
                if not isinstance(fill, np.random.Generator):
                    fill = np.random.default_rng(list(fill))
                x[new] = fill.uniform(-1.0, 1.0, len(new))
            X.append(x)
            f.append(fv)
        if not f:
            return None, None
        return np.array(X), np.array(f)

    # ---------------------------------------------------------------- spares
    def predict(self, g: Generation, f: NDArray, rng: np.random.Generator | None,
                depth: int = 3, rows: bool = False) -> Iterator[tuple[int | None, NDArray]]:
        """Points a spare trial may evaluate, most useful first, as ``(row, x)``: the next
        generation's rows predicted from the values known so far (``+inf`` for the others;
        rows whose value is known first), then ``depth - 1`` generations further, then
        (with ``rng``) uniform points. ``row`` is ``None`` except, with ``rows``, for the
        next generation's rows when a spare's point can take the row's place."""
        opt = self.cls.from_state(g.record.opt, check_version=False)
        X = opt.ask()
        fv = f
        known = np.isfinite(f)
        for level in range(depth):
            opt.tell(X, fv)
            if opt.done:
                break
            X = opt.ask()
            if X.shape[0] == 0:
                continue
            movable = rows and level == 0 and self._movable(opt, X)
            order = sorted(range(X.shape[0]), key=lambda i: (not known[i % known.size], i))
            for i in order:
                yield (i if movable else None), X[i]
            fv = np.full(X.shape[0], np.inf)
            known = np.zeros(X.shape[0], dtype=bool)
        while rng is not None:
            yield None, np.asarray(rng.uniform(-1.0, 1.0, g.X.shape[1]))


def _edit_pending(state: dict[str, Any], X: NDArray, rows: Mapping[int, NDArray]) -> None:
    """Replace rows of the pending batch ``X`` in an optimizer state (JSON data, edited in
    place), and in every nested optimizer state whose pending rows are ``X``'s."""
    core = state.get("core")
    if isinstance(core, dict) and core.get("pending_full") is not None:
        for name in ("pending_full", "pending"):
            P = np.array(_state.decode(core[name]), dtype=float)
            if P.ndim != 2 or P.shape[1:] != X.shape[1:]:
                continue
            n = min(P.shape[0], X.shape[0])
            for r, x in rows.items():
                if r < n and np.array_equal(P[r], X[r]):
                    P[r] = x
            core[name] = _state.encode(P)
    for value in (state.get("algo_state") or {}).values():
        if isinstance(value, dict) and "core" in value:
            _edit_pending(value, X, rows)
