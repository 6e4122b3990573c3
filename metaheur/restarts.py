"""Restarts with a growing population for any registered algorithm (the IPOP idea).

Auger & Hansen (2005), *A restart CMA evolution strategy with increasing population size*,
CEC 2005, doi:10.1109/CEC.2005.1554902: when a run stagnates, start a new one with a
larger population. Here the new run also keeps the best point found so far (one row of its
initial population, with its known value, so it is not evaluated again)::

    run 0:  N_0 = pop_size agents, the initial population of the whole optimizer
    run k:  N_k = round(N_0 · growth^k) agents, x0 = [best_x], f0 = [best_f]
    a run ends when its own budget is spent, when its best value has not improved
    by more than ftol·|best| for `patience` iterations, or when its population has
    collapsed (every coordinate spans <= xtol of the box); then run k + 1 starts

The wrapper is itself an :class:`~metaheur.Optimizer` (registered as ``"<algo>-ipop"`` for
the built-ins and as ``"ipop"`` with an ``inner`` hyper-parameter for any algorithm, plug-ins
included), so :func:`metaheur.minimize`, the Optuna samplers and ``get_state``/``from_state``
use it unchanged. Its JSON state holds the inner optimizer's complete state, the restart
count and the stagnation counters; the best point is the core's ``best_x``/``best_f``. The
inner optimizer draws from the wrapper's generator (one stream, so a restored run is
bit-identical).

The published algorithm without restarts is the plain key (``"gwo"``); ``"gwo-ipop"``
adds restarts. ``pop_size`` is the FIRST run's population (IPOP's λ_0): start small.

Defaults, chosen on COCO BBOB with benchmarks/bbob.py (1,000·d evaluations, 24 functions,
instances 1-3, fraction of the 51 targets reached; exploration on d = 2 and 10)::

    PSO, d = 2/10                            pop 30   pop 10
    no restarts                              .416     .451
    restart_patience = 10 + ceil(30 d/N)     .387     .428
    restart_patience = 30                      -      .459
    restart_patience = 50 (default)          .416     .467
    restart_patience = 100                     -      .462
    restart_keep_best = False, patience 50   .417       -

    restart_xtol (patience 50)     0      1e-9   1e-6 (default)   1e-5   1e-4
    ACO, pop 30                    .422   .422   .435             .438   .425
    PSO, pop 30 / pop 10           .416 / .467 at 1e-9 and 1e-6 alike
    GWO .329, AOA .444 at 1e-6 (plain: GWO .327, AOA .438; patience alone: .330, .440)

    ACO, d = 2/10: plain .421; ipop (pop 30, patience rule) .432, best point kept or not;
    ipop from pop 10 .384.  GWO, d = 2/10: plain .327; ipop from pop 10 .305; ipop with
    restart_iters = 100 and no best point kept .317 (GWO does not gain from restarts).

A short patience kills runs that are still converging; ``restart_iters`` (a schedule
horizon per run) measured no better than one horizon for the whole budget (GWO .246 vs
.246, AOA .326 vs .334, all four dimensions). Keeping the best point made no measurable
difference and is kept so that no run starts worse than the last one ended. Growth 2 is
IPOP's, not tuned.

With these defaults, d = 2/5/10/20, 1,000·d evaluations, instances 1-3 (load average
10-16 on 2 cores; CMA-ES with IPOP restarts: .648 in the project's reference run)::

              aoa    dlf-aoa   pso    aco    gwo    poa      (pop_size 30)
    plain     .336   .343      .346   .324   .248   .260
    -ipop     .344   .350      .352   .347   .251   .260
    -ipop from pop_size 10: pso .364 (restart_xtol = 0: pso .365, aoa .331, dlf-aoa .332)

    100·d     plain / -ipop: aoa .163 / .164, dlf-aoa .161 / .164, pso .155 / .161,
              aco .169 / .169, gwo .162 / .162, poa .101 / .101 (never worse)

Restarts gain 0 to .02 at this budget: runs rarely stagnate within 1,000·d evaluations,
and GWO/POA are limited by their origin bias (docs/algorithms.md §0.3), not by
stagnation. Much of the gap to CMA-ES is on the ill-conditioned functions f10-f13, where
every one of ours reaches at most a quarter of the targets, with or without restarts.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur import _state
from metaheur._base import Optimizer
from metaheur._registry import available, get, register

__all__ = ["IPOP", "with_restarts", "RESTART_DEFAULTS"]

#: Hyper-parameters of the restart layer (prefixed so they never clash with the inner ones).
RESTART_DEFAULTS: dict[str, Any] = {
    "restart_growth": 2.0,
    "restart_patience": 50,
    "restart_ftol": 1e-12,
    "restart_iters": None,
    "restart_keep_best": True,
    "restart_xtol": 1e-6,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@register
class IPOP(Optimizer):
    """Any registered algorithm (hyper-parameter ``inner``, its own hyper-parameters in
    ``inner_params``) restarted with a growing population when it stagnates.

    Restart hyper-parameters: ``restart_growth`` (population factor per restart, >= 1;
    2), ``restart_patience`` (iterations without improvement that end a run; 50),
    ``restart_ftol`` (relative improvement that counts, >= 0; 1e-12), ``restart_iters``
    (iterations given to each run as its schedule horizon; ``None``: the whole remaining
    budget, so a run ends only by stagnation), ``restart_keep_best`` (the new run's
    population holds the best point so far, with its known value; True),
    ``restart_xtol`` (a run also ends once every coordinate of its population spans at
    most this fraction of the box; 1e-6; 0 turns it off).
    :attr:`population` is the current run's population; :attr:`restarts` counts the runs
    started after the first.
    """

    name = "ipop"
    summary = "Restarts with a growing population (IPOP) around any algorithm: inner=<name>"
    reference = (
        "A. Auger, N. Hansen, A restart CMA evolution strategy with increasing population "
        "size, IEEE CEC 2005, 1769-1776, doi:10.1109/CEC.2005.1554902"
    )
    defaults: ClassVar[dict[str, Any]] = {"inner": "pso", "inner_params": {}, **RESTART_DEFAULTS}
    #: The wrapped algorithm's key when fixed by a registered variant (``"gwo-ipop"``).
    inner_algo: ClassVar[str | None] = None
    _state_fields = ("_inner_state", "restarts", "_run_best", "_run_mark", "_stall", "_inner_nit")

    _inner: Optimizer | None = None
    restarts: int = 0

    # ------------------------------------------------------------------ setup
    def _split_params(self) -> tuple[str, dict[str, Any]]:
        if self.inner_algo is not None:
            inner = {k: v for k, v in self.params.items() if k not in RESTART_DEFAULTS}
            return self.inner_algo, inner
        algo, inner = self.params["inner"], self.params["inner_params"]
        if not isinstance(algo, str):
            raise ValueError(f"inner must be the name of a registered algorithm, got {algo!r}")
        if not isinstance(inner, dict):
            raise ValueError(f"inner_params must be a dict of {algo!r}'s hyper-parameters, "
                             f"got {inner!r}")
        return algo, dict(inner)

    def _check_params(self) -> None:
        g = self.restart_growth
        if not (isinstance(g, (int, float, np.integer, np.floating)) and not isinstance(g, bool)
                and math.isfinite(g) and g >= 1):
            raise ValueError(f"restart_growth must be a finite number >= 1, got {g!r}")
        for key in ("restart_ftol", "restart_xtol"):
            tol = getattr(self, key)
            if not (isinstance(tol, (int, float, np.integer, np.floating))
                    and not isinstance(tol, bool) and math.isfinite(tol) and tol >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {tol!r}")
        if not isinstance(self.restart_keep_best, (bool, np.bool_)):
            raise ValueError(f"restart_keep_best must be True or False, "
                             f"got {self.restart_keep_best!r}")
        if not (_is_int(self.restart_patience) and self.restart_patience >= 1):
            raise ValueError(f"restart_patience must be an integer >= 1, "
                             f"got {self.restart_patience!r}")
        v = self.restart_iters
        if v is not None and not (_is_int(v) and v >= 1):
            raise ValueError(f"restart_iters must be an integer >= 1 or None, got {v!r}")
        algo, inner = self._split_params()
        cls = get(algo)  # ValueError listing the available names
        if issubclass(cls, IPOP):
            raise ValueError(f"inner must be an algorithm without restarts, got {algo!r}")
        # the inner class checks its own hyper-parameters (and names them) here
        probe = cls(np.column_stack([self.lower, self.upper]), pop_size=self.pop_size,
                    max_iter=1, **inner)
        self._inner_cls, self._inner_params = cls, inner
        self._inner_rounds = probe._rounds()

    def _rounds(self) -> tuple[int, ...]:
        return self._inner_rounds  # an iteration of the first run

    # ------------------------------------------------------------ inner runs
    def _pop(self, k: int) -> int:
        return max(round(self.pop_size * float(self.restart_growth) ** k), 1)

    def _spawn(self, n: int, spent: int, **warm: Any) -> Optimizer:
        """A new inner run of ``n`` agents; ``spent`` evaluations it counts as already
        made (the initial population of run 0); its budget never passes ours."""
        remaining = self.budget - self.nfev
        kw = dict(pop_size=n, seed=self.rng, **warm, **self._inner_params)
        bounds = np.column_stack([self.lower, self.upper])
        if self.restart_iters is not None:
            opt = self._inner_cls(bounds, max_iter=int(self.restart_iters), **kw)
            wanted = opt.budget - spent
            nxt = self._pop(self.restarts + 1)
            if wanted <= remaining and remaining - wanted >= max(nxt, self._inner_cls.min_pop_size):
                return opt
        return self._inner_cls(bounds, budget=spent + remaining, **kw)

    def _start(self) -> None:
        self._run_best = self._run_mark = math.inf
        self._stall = 0
        self._inner_nit = 0

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self.restarts = 0
        self._start()
        # run 0 adopts our evaluated initial population as its own
        self._inner = self._spawn(self.pop_size, self.pop_size, x0=X)
        self._inner.tell(self._inner.ask(), f)
        self._observe(f)

    def _restart(self) -> bool:
        remaining = self.budget - self.nfev
        n = min(self._pop(self.restarts + 1), remaining)
        if n < max(self._inner_cls.min_pop_size, 1):
            return False
        warm: dict[str, Any] = {}
        if self.restart_keep_best and np.isfinite(self.best_f):
            warm = {"x0": self.best_x[None, :], "f0": [self.best_f]}
        self.restarts += 1
        self._start()
        self._inner = self._spawn(n, 0, **warm)
        return True

    def _observe(self, f: NDArray) -> None:
        """Stagnation bookkeeping on the current run's own values (not on x0's f0)."""
        if f.size:
            self._run_best = min(self._run_best, float(f.min()))
        if self._inner.nit == self._inner_nit:
            return  # mid-iteration (POA's first phase) or the initial population
        self._inner_nit = self._inner.nit
        mark = self._run_mark
        if self._run_best < mark - float(self.restart_ftol) * abs(mark) or not math.isfinite(mark):
            self._run_mark, self._stall = self._run_best, 0
        else:
            self._stall += 1
        if self.restart_xtol > 0 and self._collapsed():
            self._stall = max(self._stall, int(self.restart_patience))

    def _collapsed(self) -> bool:
        """Every coordinate of the population spans <= restart_xtol of the box."""
        X, _ = self._inner.population
        span = np.ptp(X, axis=0) if X.shape[0] else np.zeros(self.dim)
        return bool((span <= float(self.restart_xtol) * (self.upper - self.lower)).all())

    # ------------------------------------------------------------- iteration
    def _ask(self, t: int, r: int) -> NDArray:
        return self._inner.ask()  # a copy; the inner's budget ends no later than ours

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        self._inner.tell(X, f)
        self._observe(f)
        if self.done:
            return
        if self._inner.done or self._stall >= self.restart_patience:
            if not self._restart() and self._inner.done:  # pragma: no cover - see _spawn
                raise RuntimeError("restart layer: the inner run ended before the budget")

    # ------------------------------------------------------------------ state
    @property
    def _inner_state(self) -> dict[str, Any] | None:
        return None if self._inner is None else self._inner.get_state()

    @_inner_state.setter
    def _inner_state(self, state: dict[str, Any] | None) -> None:
        if state is None:
            self._inner = None
            return
        # the outer restore decoded the nested arrays; from_state reads (and checks) the
        # inner state in its JSON form
        self._inner = Optimizer.from_state(_state.encode(state), check_version=False)
        self._inner.rng = self.rng  # one stream, as before the export

    @property
    def current_run(self) -> Optimizer | None:
        """The current run's optimizer (None before the first ``tell``)."""
        return self._inner

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        if self._inner is None:
            return np.empty((0, self.dim)), np.empty(0)
        return self._inner.population


def with_restarts(algo: str) -> type[IPOP]:
    """The registered restart variant ``"<algo>-ipop"`` of ``algo`` (made on first use).

    Its hyper-parameters are ``algo``'s own plus :data:`RESTART_DEFAULTS`; for example
    ``with_restarts("dlf-aoa")(bounds, budget=10_000, levy_scale=0.1, restart_growth=3)``.
    """
    cls = get(algo)
    if issubclass(cls, IPOP):
        raise ValueError(f"{algo!r} already restarts; pass the algorithm without restarts")
    key = f"{cls.name}-ipop"
    if key in available():
        return get(key)  # type: ignore[return-value]
    clash = sorted(set(cls.defaults) & set(RESTART_DEFAULTS))
    if clash:
        raise ValueError(f"{algo!r} has hyper-parameters {clash} that the restart layer uses")
    variant = type(
        f"{cls.__name__}IPOP",
        (IPOP,),
        {
            "name": key,
            "summary": f"{cls.name} with IPOP restarts (growing population, best point kept)",
            "reference": cls.reference,
            "defaults": {**cls.defaults, **RESTART_DEFAULTS},
            "inner_algo": cls.name,
            "min_pop_size": cls.min_pop_size,
            "__module__": __name__,
        },
    )
    return register(variant)  # type: ignore[return-value]


def _register_built_ins() -> None:
    from metaheur.optimizers import aco, aoa, dlf_aoa, gwo, poa, pso  # noqa: F401 (registers)

    for algo in ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa"):
        with_restarts(algo)


_register_built_ins()
