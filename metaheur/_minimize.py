"""``minimize()``: run any registered optimizer on a Python objective.

The objective is called once per population with an ``(n, d)`` array when
``vectorized=True``; otherwise once per point, in parallel through joblib when
``n_jobs != 1`` (so any joblib backend, e.g. Dask or Ray, works unchanged). The
evaluation budget is never exceeded. Failures (an exception, a NaN/inf value or a
value that is not a real number) count as ``+inf`` and are reported as ``n_failed``
and, by reason, ``failures``; ``on_error="raise"`` re-raises an exception and makes a
value that is not a real number a ``TypeError`` (a NaN/inf value still counts as a
failure: it is a number, and a diverged training run returns one). The objective gets a copy of
each batch. Importing this module or running :func:`minimize` loads neither SciPy nor
pandas; the result's ``history`` becomes a ``pandas.DataFrame`` when first read.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from metaheur._base import BoundsLike, Optimizer, SeedLike, as_bounds
from metaheur._evaluate import EvaluationMemo, evaluate_batch
from metaheur._registry import get

__all__ = ["minimize", "OptimizeResult", "evaluate_batch", "STATUS"]

logger = logging.getLogger(__name__)

_ON_ERROR = ("inf", "raise")

#: ``status`` codes of :func:`minimize` and their meaning; ``success`` is True only for 0,
#: as in SciPy, where running out of evaluations or iterations is not a success.
STATUS = {
    0: "target reached",
    1: "evaluation budget exhausted",  # SciPy: maximum number of function evaluations
    2: "iteration limit (max_iter) reached",  # SciPy: maximum number of iterations
    3: "time limit reached",
    # minimize() itself lets KeyboardInterrupt propagate; `metaheur minimize` reports the
    # last finished iteration of a run stopped by Ctrl-C or SIGTERM with this status
    4: "interrupted (Ctrl-C or SIGTERM)",
    99: "stopped by callback",  # SciPy's value for a callback raising StopIteration
}

#: ``status`` of the interim results a ``callback`` receives (not a final status).
RUNNING = -1
#: ``status`` of a run stopped by Ctrl-C or SIGTERM (``metaheur minimize``).
INTERRUPTED = 4


class _Lazy:
    """A field of :class:`OptimizeResult` computed on first access."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class OptimizeResult(dict):
    """Result of :func:`minimize`: a dict with attribute access, as SciPy's.

    Attributes: ``x``, ``fun``, ``nfev`` (evaluations the optimizer made, within the
    budget), ``n_reused`` (those of them answered from memory without calling ``fun``),
    ``nit`` (iterations run; the last, possibly cut short by the budget, even inside POA's
    first phase, is iteration ``T``, docs/algorithms.md §0.2; for the ``-ipop`` variants the
    restart layer's ask/tell cycles, which may exceed ``max_iter``), ``n_failed``, ``failures``
    (reason -> count of failed evaluations; the counts sum to ``n_failed``),
    ``success``, ``status`` (see :data:`STATUS`),
    ``message``, ``history`` and ``optimizer`` (the final ask/tell object;
    ``get_state()`` resumes it). ``history`` has the columns ``nit``, ``nfev``, ``best_f``
    (one row per iteration, ``nit`` 0 (the initial population), 1, ..., ``nit``; the last
    row is the end of the run): a ``pandas.DataFrame`` when pandas is installed, otherwise a
    dict of NumPy arrays; it is built on first access, so neither pandas nor SciPy is
    imported by :func:`minimize` itself.
    """

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, _Lazy):
            value = value.make()
            super().__setitem__(key, value)
        return value

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__  # type: ignore[assignment]
    __delattr__ = dict.__delitem__  # type: ignore[assignment]

    def __iter__(self) -> Iterator[str]:  # not dict's slot: dict(res), {**res} see values
        return super().__iter__()

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(k, self[k]) for k in self]

    def __repr__(self) -> str:
        if not self:
            return f"{type(self).__name__}()"
        width = max(map(len, self)) + 1
        return "\n".join(f"{k.rjust(width)}: {self[k]!r}".replace("\n", "\n" + " " * (width + 2))
                         for k in sorted(self))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self))


def _nit(opt: Optimizer) -> int:
    """Iterations run, counting one the budget cut short after some of its rounds (POA's
    phase 1; ``opt.nit`` counts only iterations whose every round ran): the last, possibly
    truncated, iteration is iteration ``T`` (docs/algorithms.md §0.2)."""
    return opt.nit + (opt.round != 0)


def _history(opt: Optimizer, rows: int, nit: int) -> Any:
    """The first ``rows`` rows of ``opt``'s history as a DataFrame (or dict without pandas);
    the last row is labelled ``nit`` (:func:`_nit`: the optimizer records the end of a run
    cut short mid-iteration with its count of complete iterations)."""
    cols = opt.history_head(rows)
    if rows:
        cols["nit"][-1] = nit
    try:
        import pandas as pd
    except ImportError:
        return cols
    return pd.DataFrame(cols)


# ------------------------------------------------------------------ objective values
def _check_number(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite real number or None, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite real number or None, got {value!r}")
    return v


def minimize(
    fun: Callable[..., Any],
    bounds: BoundsLike,
    algo: str | type[Optimizer] = "dlf-aoa",
    *,
    budget: int | None = None,
    max_iter: int | None = None,
    pop_size: int | None = None,
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
    reuse_evaluated: bool = True,
    **params: Any,
) -> OptimizeResult:
    """Minimise ``fun`` over the box ``bounds`` with a registered metaheuristic.

    Parameters
    ----------
    fun
        ``fun(x, *args) -> float`` for one point ``x`` of shape (d,), or, with
        ``vectorized=True``, ``fun(X, *args) -> (n,)`` for an ``(n, d)`` array. ``args``
        that is not a tuple is one argument, as in ``scipy.optimize``.
    bounds
        ``(d, 2)`` pairs or ``scipy.optimize.Bounds``.
    algo
        Registry name (see :func:`metaheur.available`) or an :class:`Optimizer` class.
    budget, max_iter
        At most one; the default budget is ``10_000 * d`` evaluations (CEC convention).
    pop_size
        Population size; ``None`` (default): the algorithm's ``default_pop_size``, 30
        (``pso-ipop``: 20, docs/algorithms.md §12.3).
    n_jobs
        Parallel workers for point-wise objectives (joblib; ``-1`` = all cores; ``None``
        and ``1``: serial, whatever ``joblib.parallel_config`` says). Ignored, with a
        warning, when ``vectorized=True``.
    callback
        Called after the initial population and after every iteration (the last one too,
        however short the budget cut it), unless ``target`` stopped the run, with an
        :class:`OptimizeResult` of the state so far (``status`` -1, :data:`RUNNING`,
        ``message`` ``"running"``; its ``history`` is built only if read); the run stops
        when it returns a truthy value (``True``, ``"stop"``, ``np.True_``; as in SciPy's
        ``differential_evolution``) or raises ``StopIteration``, and goes on when it
        returns ``None``, ``False`` or ``0``.
    target
        Stop as soon as the best value is ``<= target`` (checked after every iteration,
        the last one too: a target reached by the last evaluations is a success).
    time_limit
        Wall-clock seconds; the run stops after the iteration that crosses it.
    on_error
        ``"inf"`` (default): an exception, a NaN/inf value or a value that is not a real
        number counts as ``+inf``, in ``n_failed`` and by reason in ``failures``, and a
        ``RuntimeWarning`` names the exception when the whole first batch raised;
        ``"raise"`` re-raises the objective's exception (``TypeError`` for a value that
        is not a real number; a NaN/inf value still counts as a failure). Either way,
        several values for one point (a sequence or an array of size > 1) is a
        ``ValueError``: a wrong ``vectorized=``, not a failure.
    x0
        Warm-start points placed in the initial population.
    progress
        Show a tqdm progress bar over evaluations.
    reuse_evaluated
        Point-wise objectives only: a point whose exact coordinates were already
        evaluated (with a finite value) is answered from memory instead of calling
        ``fun`` again; it still counts towards the budget (``n_reused`` in the result).
        A point repeated within one batch is evaluated once; if that evaluation fails,
        each repeat is a failure of the same reason (in ``failures``, not ``n_reused``),
        and the point is tried again when a later batch asks it. The memory holds at
        most 256 MiB of points (``metaheur._evaluate.MEMO_MAX_BYTES``; about 1.4 million
        points at d = 10) and then forgets those used least recently, which cost a call
        again if asked. ``-0.0`` and ``0.0`` are one coordinate.
        Pass ``False`` for a noisy objective whose repeats are wanted.
    **params
        Hyper-parameters of the algorithm (``Optimizer.defaults``).

    Returns
    -------
    OptimizeResult
        ``success`` and ``status`` follow SciPy's meanings: ``success`` is True only when
        the run met its goal (``target`` reached); running out of evaluations or
        iterations is not a success, as in ``scipy.optimize``, even though ``x`` is then
        the best point found. ``status`` (:data:`STATUS`):

        ======  ===========================================  ===========
        status  meaning                                       success
        ======  ===========================================  ===========
        0       ``target`` reached                            True
        1       evaluation budget exhausted (``budget``)     False
        2       iteration limit reached (``max_iter``)        False
        3       ``time_limit`` reached                        False
        4       interrupted (Ctrl-C, SIGTERM): only           False
                ``metaheur minimize``, which prints the last
                finished iteration; ``minimize`` raises
                ``KeyboardInterrupt``
        99      stopped by ``callback``                       False
        ======  ===========================================  ===========

        When every evaluation failed, ``fun`` is ``inf``, ``x`` is NaN and ``message``
        says so; ``success`` is then False whatever the status.
    """
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
    if not callable(fun):
        raise ValueError(f"fun must be callable, got {type(fun).__name__}")
    target = _check_number("target", target)
    time_limit = _check_number("time_limit", time_limit)
    if time_limit is not None and time_limit <= 0:
        raise ValueError(f"time_limit must be > 0 seconds, got {time_limit}")
    if n_jobs is not None and (
        isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer))
        or n_jobs == 0
    ):
        raise ValueError(
            f"n_jobs must be None, a positive number of workers or a negative joblib count "
            f"(-1: all cores); got {n_jobs!r}"
        )
    for name, flag in (("vectorized", vectorized), ("reuse_evaluated", reuse_evaluated)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    vectorized, reuse_evaluated = bool(vectorized), bool(reuse_evaluated)
    if not isinstance(args, tuple):  # one extra argument, as scipy.optimize takes it
        args = (args,)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable or None, got {type(callback).__name__}")
    if isinstance(algo, type):
        if not issubclass(algo, Optimizer):
            raise ValueError(
                f"algo must be a registered name or an Optimizer subclass, got {algo!r}"
            )
        cls = algo
    else:
        cls = get(algo)
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
    status = 1 if max_iter is None else 2
    failures: Counter = Counter()
    memo = EvaluationMemo() if reuse_evaluated and not vectorized else None
    try:
        if parallel is not None:
            parallel.__enter__()
        while not opt.done:
            X = opt.ask()
            raised: list[str] = []  # what the first batch raised, if all of it did
            on_raise = raised.append if opt.nfev == 0 else None
            if memo is None:
                f = evaluate_batch(fun, X, args=args, vectorized=vectorized,
                                   parallel=parallel, on_error=on_error, failures=failures,
                                   on_raise=on_raise)
            else:  # answer points evaluated before from memory (EvaluationMemo)
                f = memo.evaluate(fun, X, args=args, parallel=parallel, on_error=on_error,
                                  failures=failures, on_raise=on_raise)
            if raised:
                _warn_first_batch_raised(raised[0], X.shape, vectorized)
            opt.tell(X, f)
            if bar is not None:
                bar.update(X.shape[0])
                bar.set_postfix(best=f"{opt.best_f:.4g}", refresh=False)
            if opt.round != 0 and not opt.done:  # mid-iteration (POA phase 1): finish it
                continue
            # here an iteration ended, the last one possibly cut short by the budget
            # (even inside POA's phase 1): it is iteration T (docs/algorithms.md §0.2)
            if target is not None and opt.best_f <= target:
                status = 0
                break
            if callback is not None:
                try:
                    stop = callback(_result(opt, RUNNING, "running", failures, memo))
                except StopIteration:
                    stop = True
                if stop:
                    status = 99
                    break
            if time_limit is not None and time.monotonic() - start >= time_limit:
                status = 3
                break
    finally:
        if parallel is not None:
            parallel.__exit__(None, None, None)
        if bar is not None:
            bar.close()
    if opt.n_failed:
        logger.info("%d of %d evaluations failed and counted as +inf: %s", opt.n_failed,
                    opt.nfev, dict(failures))
    message = STATUS[status]
    if status == 0:
        message = f"target {target} reached"
    elif status == 3:
        message = f"time limit of {time_limit} s reached"
    return _result(opt, status, message, failures, memo)


def _warn_first_batch_raised(raised: str, shape: tuple[int, ...], vectorized: bool) -> None:
    """The whole first batch raised ``raised`` (``"Type: message"``): with
    ``vectorized=True`` most likely a point-wise objective, otherwise most likely a bug in
    ``fun``. Say so where the user sees it (the run goes on, as documented)."""
    import warnings

    if vectorized:
        text = (f"the objective raised {raised} on the first batch, an array of shape "
                f"{shape} (vectorized=True); its points count as failed, and so will every "
                "batch's if fun takes one point: check vectorized= (with vectorized=True fun "
                "must take an (n, d) array and return n values)")
    else:
        text = (f"the objective raised on every one of the first batch's {shape[0]} points, "
                f"the first {raised}; the run goes on and counts each failed evaluation as "
                "+inf: pass on_error='raise' to stop at the first error")
    warnings.warn(text, RuntimeWarning, stacklevel=3)


def _result(opt: Optimizer, status: int, message: str, failures: Counter,
            memo: EvaluationMemo | None = None) -> OptimizeResult:
    """The result so far; ``history`` is built on first access (linear-time callbacks)."""
    rows, nit = opt.n_history, _nit(opt)
    if not math.isfinite(opt.best_f):
        message += "; every evaluation failed"
    return OptimizeResult(
        x=opt.best_x.copy(),
        fun=opt.best_f,
        nfev=opt.nfev,
        nit=nit,
        n_failed=opt.n_failed,
        n_reused=0 if memo is None else memo.hits,
        failures=dict(failures),
        success=status == 0 and math.isfinite(opt.best_f),
        status=status,
        message=message,
        history=_Lazy(lambda: _history(opt, rows, nit)),
        optimizer=opt,
    )
