"""Restarts for any registered algorithm: a growing population (IPOP), and optionally
local runs around the best point between the global ones (BIPOP's two regimes).

Auger & Hansen (2005), *A restart CMA evolution strategy with increasing population size*,
CEC 2005, doi:10.1109/CEC.2005.1554902: when a run stagnates, start a new one with a
larger population. Hansen (2009), *Benchmarking a BI-population CMA-ES on the BBOB-2009
function testbed*, GECCO workshops, doi:10.1145/1570256.1570333: alternate those large
global runs with small local ones, giving both regimes the same share of the evaluations.
Here every new run also keeps the best point found so far (one row of its initial
population, with its known value, so it is not evaluated again)::

    run 0:         N_0 = pop_size agents, the initial population of the whole optimizer
    global run g:  round(N_0 · growth^g) agents in the whole box, x0 = [best_x], f0 = [best_f]
    local run:     (restart_local=True) N_0 agents in a box of half-width
                   max(width · shrink^j, 1e-4) · (ub − lb) around best_x (shifted inside
                   the bounds; j: local runs since the last global one), x0 = [best_x],
                   f0 = [best_f], budget: half the last global run's evaluations; with
                   restart_local_center=True (default) the run works in coordinates
                   y = x − best_x, so its origin is the best point
    next run:      local while the local runs have spent fewer evaluations than the global
                   ones (run 0 included), else global
    a run ends when its own budget is spent, when its best value has not improved
    by more than ftol·|best| for `patience` iterations, or when its population has
    collapsed (every coordinate spans <= xtol of the whole box)

The inner algorithm runs unchanged inside each run (with :data:`RESTART_TUNED`'s values
for the variants: ``aco-ipop``: ACOR's rotation, q = 0.1, ξ = 1.0, 10 ants): a local run is the
same algorithm on a smaller box, by default translated so that the best point is its origin. The
translation changes nothing for PSO and ACOR, whose updates commute with it; GWO, POA and
AOA/DLF-AOA are origin-biased (docs/algorithms.md §0.3): their steps scale with |x|, so in
our coordinates they stall at a distance of a few per cent of |x*| from a shifted optimum,
and centred on the best point their steps scale with the distance to it instead.

The wrapper is itself an :class:`~metaheur.Optimizer` (registered as ``"<algo>-ipop"`` for
every registered algorithm: the built-ins' on import, a plug-in's on its first look-up by
that name, and as ``"ipop"`` with an ``inner`` hyper-parameter for any algorithm), so
:func:`metaheur.minimize`, the Optuna samplers and ``get_state``/``from_state``
use it unchanged. Its JSON state holds the inner optimizer's complete state (restored and
checked by the inner class), the restart count, the evaluations made before the current run
and the stagnation counters; the best point is the core's ``best_x``/``best_f``. On restore
the current run must fit the wrapper's counters and settings (docs/algorithms.md §12.3). The
inner optimizer draws from the wrapper's generator (one stream, so a restored run is
bit-identical). Run 0 adopts the wrapper's evaluated initial population with its values.

The published algorithm without restarts is the plain key (``"gwo"``); ``"gwo-ipop"``
adds restarts. ``pop_size`` is the FIRST run's population (IPOP's λ_0): start small
(``pso-ipop`` starts from 20 when not told, :data:`RESTART_POP_SIZE`).

The defaults were chosen on COCO BBOB with benchmarks/bbob.py; every measurement, and the
gap to CMA-ES, is in docs/algorithms.md §12.2-12.4.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur import _registry, _snapshot
from metaheur._base import Optimizer
from metaheur._params import BoundsLike, Constraint, Dict
from metaheur._registry import get, register
from metaheur._restart_checks import (
    GLOBAL,
    LOCAL,
    centred,
    collapsed,
    local_box,
    next_run,
    restored_progress,
    run_population,
    upgrade_first_release,
    upgrade_inner_params,
)
from metaheur._restart_settings import (
    MIN_LOCAL_WIDTH,
    RESTART_CONSTRAINTS,
    RESTART_DEFAULTS,
    RESTART_POP_SIZE,
    RESTART_TUNED,
    InnerAlgorithm,
    check_misplaced,
    first_pop_size,
    tuned_for_ipop,
    variant_attributes,
    yielded,
)
from metaheur._state import Field

__all__ = ["IPOP", "with_restarts", "local_box", "GLOBAL", "LOCAL", "RESTART_DEFAULTS",
           "RESTART_CONSTRAINTS", "RESTART_TUNED", "RESTART_POP_SIZE"]


@register
class IPOP(Optimizer):
    """Any registered algorithm (hyper-parameter ``inner``, its own hyper-parameters in
    ``inner_params``) restarted with a growing population when it stagnates.

    Restart hyper-parameters (:data:`RESTART_CONSTRAINTS`): ``restart_growth`` (population
    factor per restart, >= 1; 2), ``restart_patience`` (iterations without improvement
    that end a run; 50), ``restart_ftol`` (relative improvement that counts, >= 0; 1e-12),
    ``restart_iters`` (iterations given to each run as its schedule horizon; ``None``: the
    whole remaining budget, so a run ends only by stagnation), ``restart_keep_best`` (the
    new run's population holds the best point so far, with its known value; True),
    ``restart_xtol`` (a run also ends once every coordinate of its population spans at
    most this fraction of the box; 1e-6; 0 turns it off), ``restart_local`` (local runs
    between the global ones, BIPOP's balance; True), ``restart_local_width`` (half-width
    of the first local box after a global run, as a fraction of the box, in (0, 0.5];
    0.5), ``restart_local_shrink`` (its factor per further local run, in (0, 1]; 0.1) and
    ``restart_local_center`` (a local run works in coordinates centred on the best point;
    True). The ``"<algo>-ipop"`` variants take :data:`RESTART_TUNED`'s values for their
    algorithm (``gwo-ipop``: ``restart_iters=30``; ``poa-ipop``: 100; ``aco-ipop``: ACOR's
    ``rotation=True``, ``q=0.1``, ``xi=1.0``, ``n_ants=10``, ``restart_patience=150``), and
    ``pso-ipop`` starts from 20 agents unless told (:data:`RESTART_POP_SIZE`; ``ipop``: 30,
    or its ``inner``'s ``min_pop_size`` if larger).
    :attr:`population` is the current run's population (in our coordinates; a new run's
    known rows until its first batch), :attr:`run_origin` the origin of the current run's
    coordinates; :attr:`restarts` counts the runs started after the first. ``nit`` counts
    our ask/tell cycles (of :attr:`rounds`, the first run's); :attr:`current_run` its own.
    """

    name = "ipop"
    summary = ("Restarts around any algorithm (inner=<name>): growing global runs (IPOP), "
               "local runs around the best point (BIPOP)")
    reference = (
        "A. Auger, N. Hansen, A restart CMA evolution strategy with increasing population "
        "size, IEEE CEC 2005, 1769-1776, doi:10.1109/CEC.2005.1554902; N. Hansen, "
        "Benchmarking a BI-population CMA-ES on the BBOB-2009 function testbed, GECCO 2009 "
        "workshops, 2389-2396, doi:10.1145/1570256.1570333"
    )
    defaults: ClassVar[dict[str, Any]] = {"inner": "pso", "inner_params": {}, **RESTART_DEFAULTS}
    constraints: ClassVar[dict[str, Constraint]] = {
        "inner": InnerAlgorithm(), "inner_params": Dict(), **RESTART_CONSTRAINTS}
    #: The wrapped algorithm's key when fixed by a registered variant (``"gwo-ipop"``).
    inner_algo: ClassVar[str | None] = None
    #: The current run's complete state (restored, and checked, by its own class), the
    #: restart count, our evaluations before the run, the run's best value so far, the
    #: value that last counted as an improvement, and the iterations since then.
    state_fields: ClassVar[dict[str, Field]] = {
        "_inner_state": Field((), "state"),
        "_restarts": Field((), "integer", low=0),
        "_run_start": Field((), "integer", low=0),
        "_run_best": Field((), "value"),
        "_run_mark": Field((), "value"),
        "_stall": Field((), "integer", low=0),
        "_kind": Field((), "integer", low=GLOBAL, high=LOCAL),
        "_globals": Field((), "integer", low=0),
        "_local_runs": Field((), "integer", low=0),
        "_spent": Field((2,), "integer", low=0),
        "_last_global": Field((), "integer", low=0),
        "_offset": Field(("D",), "real"),  # checked in run_problems (zero unless centred)
    }

    _inner: Optimizer | None = None
    _restarts: int | None = None
    _run_start: int | None = None
    _run_best: float | None = None
    _run_mark: float | None = None
    _stall: int | None = None
    #: The current run's regime (GLOBAL or LOCAL), the global runs started after the
    #: first, the local runs since the last global one, the evaluations of the finished
    #: runs per regime, and those of the last finished global run.
    _kind: int | None = None
    _globals: int | None = None
    _local_runs: int | None = None
    _spent: NDArray | None = None
    _last_global: int | None = None
    _offset: NDArray | None = None

    def __init__(self, bounds: BoundsLike, *, pop_size: int | None = None, **kw: Any) -> None:
        if pop_size is None and self.inner_algo is None:
            pop_size = first_pop_size(self.defaults, self.default_pop_size, kw)
        super().__init__(bounds, pop_size=pop_size, **kw)

    # ------------------------------------------------------------------ setup
    @classmethod
    def _inner_of(cls, params: dict[str, Any]) -> tuple[type[Optimizer], dict[str, Any]]:
        """The wrapped class and its hyper-parameters, from checked ``params``."""
        if cls.inner_algo is not None:
            inner = {k: v for k, v in params.items() if k not in RESTART_DEFAULTS}
            return get(cls.inner_algo), inner
        if "pop_size" in params["inner_params"]:
            raise ValueError("inner_params may not hold 'pop_size': pass pop_size= to ipop "
                             "itself (the first run's population; restarts grow it)")
        return get(params["inner"]), params["inner_params"]

    @classmethod
    def validate_params(cls, *, pop_size: int | None = None, **params: Any) -> dict[str, Any]:
        """The base check, and the wrapped class checks ``inner_params`` (and ``pop_size``).
        ``ipop`` takes :data:`RESTART_TUNED`'s values for ``inner`` where not given, as
        ``"<inner>-ipop"`` does."""
        if cls.inner_algo is not None:  # a tuned value may give way to the user's
            params = {**yielded(cls.inner_algo, params), **params}
        else:
            check_misplaced(cls.name, cls.defaults, params)
        checked = super().validate_params(pop_size=pop_size, **params)
        if cls.inner_algo is None:  # ``inner`` is the registered name by now, however spelt
            checked.update(tuned_for_ipop(checked["inner"], params, checked["inner_params"]))
        inner_cls, inner = cls._inner_of(checked)
        try:
            inner_cls.validate_params(pop_size=pop_size, **inner)
        except ValueError as exc:
            if cls.inner_algo is not None:
                raise
            raise ValueError(f"inner_params for {inner_cls.name!r}: {exc}") from None
        return checked

    def _check_params(self) -> None:
        cls, inner = self._inner_of(self.params)
        self._inner_cls = cls
        self._inner_params = cls.validate_params(pop_size=self.pop_size, **inner)
        self._box = np.column_stack([self.lower, self.upper])
        # a run's rounds depend on its population: those of the first run are ours
        probe = cls(self._box, pop_size=self.pop_size, max_iter=1, seed=0, **self._inner_params)
        self._inner_rounds = probe.rounds

    def _rounds(self) -> tuple[int, ...]:
        return self._inner_rounds  # an iteration of the first run

    # ------------------------------------------------------------ inner runs
    def _pop(self, k: int, cap: int) -> int:
        """``N_k = round(N_0 · growth^k)``, at most ``cap`` and (``restart_growth`` is
        unbounded) at most :data:`~metaheur._snapshot.MAX_BATCH_VALUES` values."""
        cap = min(cap, max(_snapshot.MAX_BATCH_VALUES // self.dim, self.pop_size))
        try:
            n = self.pop_size * self.restart_growth**k
        except OverflowError:
            return cap
        return round(n) if n < cap else cap

    def _room(self, start: int) -> int:
        """Evaluations the run after one ending at ``start`` needs at least."""
        nxt = self._pop((self._globals or 0) + 1, self.budget - start)
        return max(nxt, self.pop_size, self._inner_cls.min_pop_size)

    def _fits(self, run: Optimizer) -> bool:
        """Whether ``run``, of ``restart_iters`` iterations, leaves room for the next one."""
        remaining = self.budget - self._run_start
        return remaining - run.budget >= self._room(self._run_start)

    def _local_budget(self, start: int) -> int:
        """A local run's budget: half the last global run's evaluations (BIPOP's rule),
        or everything left when that would leave too little for the next run."""
        remaining = self.budget - start
        budget = self._last_global // 2
        if budget < self.pop_size or remaining - budget < self._room(start):
            return max(remaining, 1)
        return budget

    def _spawn(self, n: int, **warm: Any) -> Optimizer:
        """A new global run of ``n`` agents from here on; its budget never passes ours (but
        is at least one evaluation: the initial population may have spent ours)."""
        kw = dict(pop_size=n, seed=self.rng, **warm, **self._inner_params)
        # (every iteration costs an evaluation at least: a longer horizon cannot fit)
        if self.restart_iters is not None and self.restart_iters <= self.budget - self.nfev:
            run = self._inner_cls(self._box, max_iter=self.restart_iters, **kw)
            if self._fits(run):
                return run
        return self._inner_cls(self._box, budget=max(self.budget - self.nfev, 1), **kw)

    def _local_box(self) -> NDArray:
        """The box of the next local run: half-width ``restart_local_width ·
        restart_local_shrink^j`` of the whole box (j: local runs since the last global
        one; at least :data:`MIN_LOCAL_WIDTH`) around the best point."""
        with np.errstate(under="ignore"):
            frac = self.restart_local_width * self.restart_local_shrink ** self._local_runs
        return local_box(self.best_x, self.lower, self.upper, max(frac, MIN_LOCAL_WIDTH))

    def _start(self, kind: int = GLOBAL) -> None:
        self._kind = kind
        self._run_start = self.nfev
        self._run_best = self._run_mark = math.inf
        self._stall = 0

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._restarts = self._globals = self._local_runs = self._last_global = 0
        self._spent = np.zeros(2, dtype=np.int64)
        self._offset = np.zeros(self.dim)
        self._start()
        # run 0 adopts our evaluated initial population, values known: it evaluates nothing
        self._inner = self._spawn(self.pop_size, x0=X, f0=f)
        self._inner.tell(self._inner.ask(), np.empty(0))
        self._observe(f, finished=False)

    def _restart(self) -> bool:
        """Start the next run; ``False`` (nothing changed) when too few evaluations are left."""
        local, n, spent, books = next_run(self)
        if n < self._inner_cls.min_pop_size:
            return False
        self._spent = books
        if self._kind == GLOBAL:
            self._last_global = spent
        warm: dict[str, Any] = {}
        # (a run of one agent holding the best point would have nothing to evaluate)
        if (self.restart_keep_best or local) and np.isfinite(self.best_f) and n > 1:
            warm = {"x0": self.best_x[None, :], "f0": [self.best_f]}
        self._restarts = self.restarts + 1
        self._offset = np.zeros(self.dim)
        if local:
            box = self._local_box()
            if self.restart_local_center:  # the run's origin is the best point
                box, warm, self._offset = centred(box, warm, self.best_x, self.best_f)
            self._local_runs += 1
            self._start(LOCAL)
            self._inner = self._inner_cls(box, pop_size=n, seed=self.rng,
                                          budget=self._local_budget(self.nfev),
                                          **warm, **self._inner_params)
        else:
            self._globals += 1
            self._local_runs = 0
            self._start(GLOBAL)
            self._inner = self._spawn(n, **warm)
        return True

    def _observe(self, f: NDArray, *, finished: bool) -> None:
        """Stagnation bookkeeping on the current run's own values (not on x0's f0), once
        per iteration of the run (``finished``)."""
        if f.size:
            self._run_best = min(self._run_best, float(f.min()))
        if not finished:
            return  # mid-iteration (POA's first phase) or the initial population
        mark = self._run_mark
        if self._run_best < mark and (not math.isfinite(mark)  # the first finite value
                                      or self._run_best < mark - self.restart_ftol * abs(mark)):
            self._run_mark, self._stall = self._run_best, 0
        else:
            self._stall += 1
        if self.restart_xtol > 0 and collapsed(self):
            self._stall = max(self._stall, self.restart_patience)

    # ------------------------------------------------------------- iteration
    def _ask(self, t: int, r: int) -> NDArray:
        return self._outer(self._inner.ask())  # the inner's budget ends no later than ours

    def _outer(self, Y: NDArray) -> NDArray:
        """The current run's points ``Y`` in our coordinates (before the base's clip)."""
        return Y + self._offset if self._offset.any() else Y

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        nit = self._inner.nit
        self._inner.tell(self._inner.ask(), f)  # its own points (X is them + its origin)
        self._observe(f, finished=self._inner.nit > nit)
        if self.done:
            return
        if self._inner.done or self._stall >= self.restart_patience:
            if not self._restart() and self._inner.done:  # pragma: no cover - see _spawn
                raise RuntimeError("restart layer: the inner run ended before the budget")

    # ------------------------------------------------------------------ state
    @property
    def _inner_state(self) -> dict[str, Any] | None:
        return None if self._inner is None else self._inner.get_state()

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any]) -> dict[str, Any]:
        return upgrade_inner_params(upgrade_first_release(state), cls.inner_algo)

    @_inner_state.setter
    def _inner_state(self, state: dict[str, Any] | None) -> None:
        if state is None:
            self._inner = None
            return
        try:  # the wrapped class checks its own state, with its own shapes and limits
            run = self._inner_cls.from_state(state, check_version=False)
        except ValueError as exc:
            raise ValueError(f"{self.name} state: current run: {exc}") from None
        run.rng = self.rng  # one stream, as before the export
        self._inner = run

    def _restored_progress(self, nit: int, rnd: int) -> tuple[int, int] | None:
        return restored_progress(self, nit, rnd)

    @property
    def restarts(self) -> int:
        """The number of runs started after the first."""
        return self._restarts or 0

    @property
    def current_run(self) -> Optimizer | None:
        """The current run's optimizer (None before the first ``tell``)."""
        return self._inner

    @property
    def run_origin(self) -> NDArray:
        """Where the current run's origin lies in our coordinates: the best point when a
        centred local run started (``restart_local_center``), else 0. The run's own
        points, box and best point (:attr:`current_run`) are relative to it."""
        return np.zeros(self.dim) if self._offset is None else self._offset.copy()

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        """The current run's population, in our coordinates, and its values (a new run's
        known rows, the best point, until its first batch is told)."""
        return run_population(self)


def with_restarts(algo: str) -> type[IPOP]:
    """The registered restart variant ``"<algo>-ipop"`` of ``algo`` (made on first use;
    ``metaheur.get("<algo>-ipop")`` makes it too, for any registered ``algo``).

    Its hyper-parameters are ``algo``'s own plus :data:`RESTART_DEFAULTS` (with the
    values of :data:`RESTART_TUNED` for ``algo``, if any), its ``default_pop_size``
    :data:`RESTART_POP_SIZE`'s for ``algo`` or else ``algo``'s; for example
    ``with_restarts("dlf-aoa")(bounds, budget=10_000, levy_scale=0.1, restart_growth=3)``.
    """
    return _variant(get(algo))


def _variant(cls: type[Optimizer]) -> type[IPOP]:
    """``cls``'s restart variant, registered (without any registry look-up, so that
    nothing loads plug-ins while metaheur is being imported)."""
    if issubclass(cls, IPOP):
        raise ValueError(f"{cls.name!r} already restarts; pass the algorithm without restarts")
    key = f"{cls.name}-ipop"
    made = _registry._REGISTRY.get(key)
    if made is not None and vars(made).get("_variant_of") is cls:
        return made
    variant = type(f"{cls.__name__}IPOP", (IPOP,), variant_attributes(cls, __name__, IPOP))
    return register(variant)  # type: ignore[return-value]


def __getattr__(name: str) -> type[IPOP]:
    """The restart variant whose class is called ``name`` (``"PSOIPOP"``). The variants are
    made at run time, so this is how pickle finds them, in a fresh process too."""
    if name.endswith("IPOP") and not name.startswith("_"):
        _registry.available()  # loads the plug-ins and makes their variants
        for cls in list(_registry._REGISTRY.values()):
            if cls.__name__ == name and vars(cls).get("_variant_of") is not None:
                return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _register_built_ins() -> None:
    from metaheur.optimizers.aco import ACOR
    from metaheur.optimizers.aoa import AOA
    from metaheur.optimizers.dlf_aoa import DLFAOA
    from metaheur.optimizers.gwo import GWO
    from metaheur.optimizers.poa import POA
    from metaheur.optimizers.pso import PSO

    for cls in (AOA, DLFAOA, PSO, ACOR, GWO, POA):
        _variant(cls)


_register_built_ins()
_registry.add_variant_maker("-ipop", _variant)
