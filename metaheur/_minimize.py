"""``minimize()``: run any registered optimizer on a Python objective.

The objective is called once per population with an ``(n, d)`` array when
``vectorized=True``; otherwise once per point, in parallel through joblib when
``n_jobs != 1`` (so any joblib backend, e.g. Dask or Ray, works unchanged). The
evaluation budget is never exceeded. Failures (an exception or a NaN/inf value)
count as ``+inf`` and are reported as ``n_failed`` unless ``on_error="raise"``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import OptimizeResult as _ScipyResult

from metaheur._base import BoundsLike, Optimizer, SeedLike, as_bounds
from metaheur._registry import get

__all__ = ["minimize", "OptimizeResult", "evaluate_batch"]

logger = logging.getLogger(__name__)

_ON_ERROR = ("inf", "raise")


class OptimizeResult(_ScipyResult):
    """Result of :func:`minimize`, in the spirit of ``scipy.optimize.OptimizeResult``.

    Attributes: ``x``, ``fun``, ``nfev``, ``nit``, ``n_failed``, ``success``, ``status``
    (0 budget spent, 1 target reached, 2 time limit, 3 stopped by callback),
    ``message``, ``history`` (a ``pandas.DataFrame`` with columns ``nit``, ``nfev``,
    ``best_f``) and ``optimizer`` (the final ask/tell object; ``get_state()`` resumes it).
    """


def _check_scalar(value: Any, x: NDArray) -> float:
    arr = np.asarray(value, dtype=float)
    if arr.size != 1:
        raise ValueError(
            f"objective must return one number per point; got shape {arr.shape} for a point "
            f"of shape {x.shape} (use vectorized=True for a function of (n, d) arrays)"
        )
    return float(arr.reshape(()))


def _call_point(fun: Callable[..., Any], x: NDArray, args: tuple, raise_errors: bool) -> float:
    try:
        value = fun(x, *args)
    except Exception:
        if raise_errors:
            raise
        logger.debug("objective raised at x=%s", x, exc_info=True)
        return math.nan
    return _check_scalar(value, x)


def evaluate_batch(
    fun: Callable[..., Any],
    X: NDArray,
    *,
    args: tuple = (),
    vectorized: bool = False,
    parallel: Any = None,
    on_error: str = "inf",
) -> NDArray:
    """Evaluate ``fun`` on the rows of ``X``; failures become NaN (``on_error="inf"``).

    ``parallel`` is an open ``joblib.Parallel`` (or ``None`` for a serial loop).
    """
    raise_errors = on_error == "raise"
    n = X.shape[0]
    if vectorized:
        try:
            values = fun(X, *args)
        except Exception:
            if raise_errors:
                raise
            logger.warning("vectorised objective raised; the %d points count as failed", n,
                           exc_info=True)
            return np.full(n, math.nan)
        f = np.asarray(values, dtype=float)
        if f.shape != (n,):
            raise ValueError(
                f"vectorized objective must return shape ({n},) for an ({n}, {X.shape[1]}) "
                f"input; got shape {f.shape}"
            )
        return f
    if parallel is None:
        return np.array([_call_point(fun, x, args, raise_errors) for x in X], dtype=float)
    from joblib import delayed

    return np.array(
        parallel(delayed(_call_point)(fun, x, args, raise_errors) for x in X), dtype=float
    )


def minimize(
    fun: Callable[..., Any],
    bounds: BoundsLike,
    algo: str | type[Optimizer] = "dlf-aoa",
    *,
    budget: int | None = None,
    max_iter: int | None = None,
    pop_size: int = 30,
    seed: SeedLike = None,
    args: tuple = (),
    vectorized: bool = False,
    n_jobs: int | None = 1,
    callback: Callable[[OptimizeResult], Any] | None = None,
    target: float | None = None,
    time_limit: float | None = None,
    on_error: str = "inf",
    x0: Any = None,
    progress: bool = False,
    **params: Any,
) -> OptimizeResult:
    """Minimise ``fun`` over the box ``bounds`` with a registered metaheuristic.

    Parameters
    ----------
    fun
        ``fun(x, *args) -> float`` for one point ``x`` of shape (d,), or, with
        ``vectorized=True``, ``fun(X, *args) -> (n,)`` for an ``(n, d)`` array.
    bounds
        ``(d, 2)`` pairs or ``scipy.optimize.Bounds``.
    algo
        Registry name (see :func:`metaheur.available`) or an :class:`Optimizer` class.
    budget, max_iter
        At most one; the default budget is ``10_000 * d`` evaluations (CEC convention).
    n_jobs
        Parallel workers for point-wise objectives (joblib; ``-1`` = all cores). Ignored,
        with a warning, when ``vectorized=True``.
    callback
        Called after the initial population and after every iteration with an
        :class:`OptimizeResult` of the state so far; returning ``True`` or raising
        ``StopIteration`` stops the run.
    target
        Stop as soon as the best value is ``<= target``.
    time_limit
        Wall-clock seconds; the run stops after the iteration that crosses it.
    on_error
        ``"inf"`` (default): an exception or NaN/inf value counts as ``+inf`` and is
        counted in ``n_failed``; ``"raise"`` re-raises the objective's exception.
    x0
        Warm-start points placed in the initial population.
    progress
        Show a tqdm progress bar over evaluations.
    **params
        Hyper-parameters of the algorithm (``Optimizer.defaults``).
    """
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
    if not callable(fun):
        raise ValueError(f"fun must be callable, got {type(fun).__name__}")
    for name, value in (("target", target), ("time_limit", time_limit)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise ValueError(f"{name} must be a finite number or None, got {value!r}")
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be > 0 seconds, got {time_limit}")
    cls = algo if isinstance(algo, type) else get(algo)
    if budget is None and max_iter is None:
        budget = 10_000 * as_bounds(bounds)[0].size
    opt = cls(bounds, pop_size=pop_size, budget=budget, max_iter=max_iter, seed=seed, x0=x0,
              **params)

    if vectorized and n_jobs not in (1, None):
        import warnings

        warnings.warn("vectorized=True ignores n_jobs", UserWarning, stacklevel=2)
    parallel = None
    if not vectorized and n_jobs not in (1, None):
        from joblib import Parallel

        parallel = Parallel(n_jobs=n_jobs)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=opt.budget, desc=cls.name, unit="eval")
    start = time.monotonic()
    status, message = 0, "evaluation budget exhausted"
    try:
        if parallel is not None:
            parallel.__enter__()
        while not opt.done:
            X = opt.ask()
            f = evaluate_batch(fun, X, args=args, vectorized=vectorized, parallel=parallel,
                               on_error=on_error)
            opt.tell(X, f)
            if bar is not None:
                bar.update(X.shape[0])
                bar.set_postfix(best=f"{opt.best_f:.4g}", refresh=False)
            if opt._round != 0:  # mid-iteration (POA phase 1): finish the iteration first
                continue
            if target is not None and opt.best_f <= target:
                status, message = 1, f"target {target} reached"
                break
            if callback is not None:
                try:
                    stop = callback(_result(opt, True, -1, "running"))
                except StopIteration:
                    stop = True
                if stop:
                    status, message = 3, "stopped by callback"
                    break
            if time_limit is not None and time.monotonic() - start >= time_limit:
                status, message = 2, f"time limit of {time_limit} s reached"
                break
    finally:
        if parallel is not None:
            parallel.__exit__(None, None, None)
        if bar is not None:
            bar.close()
    if opt.n_failed:
        logger.info("%d of %d evaluations failed and counted as +inf", opt.n_failed, opt.nfev)
    return _result(opt, status in (0, 1), status, message)


def _result(opt: Optimizer, success: bool, status: int, message: str) -> OptimizeResult:
    import pandas as pd

    return OptimizeResult(
        x=opt.best_x.copy(),
        fun=opt.best_f,
        nfev=opt.nfev,
        nit=opt.nit,
        n_failed=opt.n_failed,
        success=success and math.isfinite(opt.best_f),
        status=status,
        message=message if math.isfinite(opt.best_f) else message + "; every evaluation failed",
        history=pd.DataFrame(opt.history),
        optimizer=opt,
    )
