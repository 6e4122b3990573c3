"""Checks and geometry of the restart layer (:mod:`metaheur.restarts`): the box of a local
run and its centred coordinates, the collapse of a run, what a restored current run must
satisfy to fit the wrapper's counters and settings (docs/algorithms.md §12.3), and states of
the first release read in the current layout, and the current run's population in the
wrapper's coordinates. The state is untrusted input: every rule here
is a ``(violated, what)`` pair that the wrapper turns into a ``ValueError``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from metaheur._registry import get
from metaheur._restart_settings import RESTART_DEFAULTS, RESTART_TUNED
from metaheur._state import encode

if TYPE_CHECKING:  # pragma: no cover
    from metaheur.restarts import IPOP

#: Regimes of a run (the state's ``_kind``).
GLOBAL, LOCAL = 0, 1


def local_box(center: NDArray, lower: NDArray, upper: NDArray, frac: float) -> NDArray:
    """``(d, 2)`` box of half-width ``frac · (upper − lower)`` (``frac <= 0.5``) around
    ``center``, shifted to lie inside ``[lower, upper]``; it always holds ``center``, and a
    coordinate that rounding would leave empty keeps its whole range."""
    h = frac * (upper - lower)
    lo = np.maximum(np.minimum(center - h, upper - 2 * h), lower)
    hi = np.minimum(lo + 2 * h, upper)
    lo, hi = np.minimum(lo, center), np.maximum(hi, center)
    flat = lo >= hi
    lo[flat], hi[flat] = lower[flat], upper[flat]
    return np.column_stack([lo, hi])


def next_run(opt: IPOP) -> tuple[bool, int, int, NDArray]:
    """The run a restart of ``opt`` would start now, nothing changed: ``(local, population,
    evaluations of the current run, the per-regime books with them)``."""
    spent = opt.nfev - (opt._run_start if opt.restarts else 0)  # run 0: with ours
    books = opt._spent.copy()
    books[opt._kind] += spent
    remaining = opt.budget - opt.nfev
    # BIPOP's balance: a local run next while local runs have spent less than global
    local = bool(opt.restart_local and math.isfinite(opt.best_f)
                 and books[LOCAL] < books[GLOBAL])
    n = min(opt.pop_size, remaining) if local else opt._pop(opt._globals + 1, remaining)
    return local, n, spent, books


def run_problems(opt: IPOP) -> list[tuple[bool, str]]:
    """What may be wrong with the restored current run of ``opt``: ``(violated, what)``."""
    run, start, k, g = opt._inner, opt._run_start, opt._restarts, opt._globals
    first = opt.pop_size - opt._n_known  # our initial population's evaluations
    local = opt._kind == LOCAL
    c = opt._offset  # the run's origin: nonzero only in a centred local run
    centred = local and opt.restart_local_center
    if run.dim != opt.dim:
        return [(True, "is not a run of this configuration")]
    if local:
        size = min(opt.pop_size, opt.budget - start)
        budget = opt._local_budget(start)
        # its box in our coordinates, up to the rounding of x − c + c
        tol = 4 * np.spacing(np.maximum(np.abs(opt.lower), np.abs(opt.upper)))
        lo, hi = run.lower + c, run.upper + c
        box_ok = bool(
            (lo >= opt.lower - tol).all() and (hi <= opt.upper + tol).all()
            and (np.isnan(opt.best_x).any()
                 or ((lo - tol <= opt.best_x) & (opt.best_x <= hi + tol)).all())
            and (not c.any() or ((run.lower <= 0) & (run.upper >= 0)).all()))
    else:
        size = opt.pop_size if k == 0 else opt._pop(g, opt.budget - start)
        budget = max(opt.budget - start, 1)
        box_ok = np.array_equal(run.lower, opt.lower) and np.array_equal(run.upper, opt.upper)
    iters = (not local and opt.restart_iters is not None
             and run._max_iter_arg == opt.restart_iters)
    # our pending batch is the run's, moved to our coordinates and clipped to our box
    asked = None if run._pending is None else np.clip(opt._outer(run._pending), opt.lower,
                                                      opt.upper)
    return [
        (g > k or k > start + 1 or (g != k and not opt.restart_local) or (local and k == 0)
         or opt._local_runs > k - g or (not local and opt._local_runs != 0),
         f"is run {k} with {g} global restarts and {opt._local_runs} local runs since "
         f"the last, in regime {opt._kind}: impossible"),
        (int(opt._spent.sum()) != (start if k else 0)
         or opt._last_global > opt._spent[GLOBAL],
         f"follows runs of {opt._spent.tolist()} evaluations (last global "
         f"{opt._last_global}), but starts after {start}"),
        (opt.nfev != start + run.nfev,
         f"has made {run.nfev} evaluations, we {opt.nfev} of which {start} before it"),
        (bool(c.any()) and not ((opt.lower <= c) & (c <= opt.upper)).all(),
         f"has its origin (_offset) at {c.tolist()}, outside the bounds"),
        (encode(run.params) != encode(opt._inner_params) or not box_ok,
         "is not a run of this configuration"),
        (bool(c.any()) and not centred,
         f"has its origin at {c.tolist()}, but only a centred local run "
         "(restart_local_center) moves it"),
        (start != first if k == 0 else start < first,
         f"starts after {start} evaluations (our initial population: {first})"),
        (run.pop_size != size, f"has {run.pop_size} agents, restart {k} has {size}"),
        (run._n_known != opt.pop_size if k == 0 else run._n_known > 1,
         f"has {run._n_known} known warm-start values"),
        (not (opt._fits(run) if iters else run._budget_arg == budget),
         f"has a budget of {run.budget}, ours leaves it {budget}"),
        (not opt.done and (run.done or (opt._stall >= opt.restart_patience
                                         and next_run(opt)[1] >= opt._inner_cls.min_pop_size)),
         "has ended but no restart followed"),
        (not (opt.best_f <= run.best_f <= opt._run_best <= opt._run_mark),
         "has best values inconsistent with ours"),
        ((opt._pending is None) != (run._pending is None)
         or (opt._pending is not None and not np.array_equal(opt._pending_full, asked)),
         "has a pending batch other than ours"),
    ]


def upgrade_first_release(state: dict[str, Any]) -> dict[str, Any]:
    """An ipop state of metaheur 0.1.0 as first released in the current layout. Its local
    runs were never centred, so it lacks ``_offset`` and ``restart_local_center``: it
    continues as what it was, ``restart_local_center=False`` with the origin 0. Any other
    state is returned as it is (the checks of ``from_state`` follow)."""
    algo, cfg = state.get("algo_state"), state.get("config")
    if not (isinstance(algo, dict) and isinstance(cfg, dict)
            and isinstance(cfg.get("params"), dict) and isinstance(cfg.get("bounds"), list)
            and "_offset" not in algo and "restart_local_center" not in cfg["params"]):
        return state
    offset = None if algo.get("_kind") is None else np.zeros(len(cfg["bounds"]))
    return {**state,
            "config": {**cfg, "params": {**cfg["params"], "restart_local_center": False}},
            "algo_state": {**algo, "_offset": encode(offset)}}


def upgrade_inner_params(state: dict[str, Any], inner_algo: str | None) -> dict[str, Any]:
    """A state written before a hyper-parameter of the wrapped algorithm existed, or before
    :data:`RESTART_TUNED` set one, continues as what it was: the missing value is the
    wrapped class's own default (the behaviour it had), not the tuned one. A variant
    (``inner_algo``) stores all its hyper-parameters, ``ipop`` its ``inner_params`` with
    the tuned ones, so a missing one means an earlier version. Anything malformed is
    returned as it is for the checks of ``from_state``."""
    cfg = state.get("config")
    params = cfg.get("params") if isinstance(cfg, dict) else None
    if not isinstance(params, dict):
        return state
    name = inner_algo if inner_algo is not None else params.get("inner")
    try:
        cls = get(name) if isinstance(name, str) else None
    except ValueError:  # not registered: from_state says so
        return state
    if cls is None:
        return state
    if inner_algo is not None:
        missing = {k: v for k, v in cls.defaults.items() if k not in params}
        return {**state, "config": {**cfg, "params": {**missing, **params}}} if missing else state
    inner = params.get("inner_params")
    tuned = RESTART_TUNED.get(cls.name, {})
    if not isinstance(inner, dict):
        return state
    missing = {k: cls.defaults[k] for k in tuned
               if k not in RESTART_DEFAULTS and k in cls.defaults and k not in inner}
    if not missing:
        return state
    return {**state, "config": {**cfg, "params": {**params, "inner_params": {**missing, **inner}}}}


def centred(box: NDArray, warm: dict[str, Any], c: NDArray, f_c: float
            ) -> tuple[NDArray, dict[str, Any], NDArray]:
    """A local run's box, warm start and origin in coordinates centred on the best point
    ``c`` (``restart_local_center``): the run sees ``y = x − c``, so its x0 (if ``warm``
    has one) is 0. Unchanged (origin 0) when rounding would leave a coordinate of the box
    empty."""
    shifted = box - c[:, None]  # lo <= c <= hi, so lo − c <= 0 <= hi − c exactly
    if not (shifted[:, 0] < shifted[:, 1]).all():  # pragma: no cover - huge offsets
        return box, warm, np.zeros(c.size)
    return shifted, {"x0": np.zeros((1, c.size)), "f0": [f_c]} if warm else {}, c.copy()


def collapsed(opt: IPOP) -> bool:
    """Every coordinate of the current run's population spans <= restart_xtol of the box."""
    X, _ = opt._inner.population
    span = np.ptp(X, axis=0) if X.shape[0] else np.zeros(opt.dim)
    return bool((span <= opt.restart_xtol * (opt.upper - opt.lower)).all())


def restored_progress(opt: IPOP, nit: int, rnd: int) -> tuple[int, int] | None:
    """``Optimizer._restored_progress`` of the wrapper, whose counters are the runs' sums:
    the restored current run is checked against them (:func:`run_problems`)."""
    run, k = opt._inner, opt._restarts
    for bad, what in run_problems(opt):
        if bad:
            raise ValueError(f"{opt.name} state: the current run disagrees with the "
                             f"wrapper's counters and settings: it {what}")
    if rnd >= len(opt._rounds_) or nit * len(opt._rounds_) + rnd > opt.nfev + k:
        return None  # every batch after the first has rows, but a restart's may not
    return opt.nfev, 0 if run._pending is None else run._pending.shape[0]


def run_population(opt: IPOP) -> tuple[NDArray, NDArray]:
    """:attr:`IPOP.population <metaheur.restarts.IPOP.population>`: the current run's
    population in ``opt``'s coordinates (a new run's known rows until its first batch)."""
    run = opt._inner
    if run is None:
        return np.empty((0, opt.dim)), np.empty(0)
    if run._initialized:
        X, f = run.population
    else:
        X, f = run._x_init[: run._f_init.size], run._f_init
    return opt._outer(X), f
