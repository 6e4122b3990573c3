"""Checks and geometry of the restart layer (:mod:`metaheur.restarts`): the box of a local
run, and what a restored current run must satisfy to fit the wrapper's counters and
settings (docs/algorithms.md §12.3). The state is untrusted input: every rule here is a
``(violated, what)`` pair that the wrapper turns into a ``ValueError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

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
        (g > k or (g != k and not opt.restart_local) or (local and k == 0)
         or opt._local_runs > k - g or (not local and opt._local_runs != 0),
         f"is run {k} with {g} global restarts and {opt._local_runs} local runs since "
         f"the last, in regime {opt._kind}: impossible"),
        (int(opt._spent.sum()) != (start if k else 0)
         or opt._last_global > opt._spent[GLOBAL],
         f"follows runs of {opt._spent.tolist()} evaluations (last global "
         f"{opt._last_global}), but starts after {start}"),
        (opt.nfev != start + run.nfev,
         f"has made {run.nfev} evaluations, we {opt.nfev} of which {start} before it"),
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
        (not opt.done and (run.done or opt._stall >= opt.restart_patience),
         "has ended but no restart followed"),
        (not (opt.best_f <= run.best_f <= opt._run_best <= opt._run_mark),
         "has best values inconsistent with ours"),
        ((opt._pending is None) != (run._pending is None)
         or (opt._pending is not None and not np.array_equal(opt._pending_full, asked)),
         "has a pending batch other than ours"),
    ]
