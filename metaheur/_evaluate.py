"""Calling the objective: one guarded evaluation per batch, and answers from history.

:func:`evaluate_batch` turns whatever the objective returns into float values (failures
become NaN and are counted by reason). :class:`EvaluationMemo` answers points that were
evaluated before: AOA and DLF-AOA move an agent that sits on the best point by
``x_best - x = 0``, and POA keeps rows unchanged when a move is refused, so they ask
points again; for an expensive objective (a training run) each such call is wasted.
Only finite values are stored: a failed evaluation is tried again in a later batch. The
memo holds at most :data:`MEMO_MAX_BYTES` and forgets the points used least recently.
"""

from __future__ import annotations

import decimal
import logging
import math
import numbers
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["evaluate_batch", "EvaluationMemo", "MEMO_MAX_BYTES"]

logger = logging.getLogger(__name__)

#: The memory an :class:`EvaluationMemo` may hold by default (about 1.4 million points at
#: d = 10, 64,000 at d = 500; the repeats come from the best point and from rows that did
#: not move, which are used again soon).
MEMO_MAX_BYTES = 256 * 2**20


def _as_value(value: Any) -> tuple[float, str | None]:
    """One objective value as a float, or NaN and the reason it is not a real number."""
    if hasattr(value, "detach"):  # a tensor that may require grad (torch), without torch
        value = value.detach()
    if not isinstance(value, numbers.Number) and hasattr(value, "item"):
        size = getattr(value, "size", 1)
        size = size() if callable(size) else size
        if hasattr(value, "numel"):
            size = value.numel()
        if size != 1:
            raise ValueError(
                f"objective must return one number per point; got {size} values (use "
                "vectorized=True for a function of (n, d) arrays)"
            )
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return math.nan, "returned a bool"
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        if value.imag != 0:
            return math.nan, "returned a complex number"
        value = value.real
    if isinstance(value, numbers.Real):
        try:
            return float(value), None
        except OverflowError:
            return math.nan, "returned a number too large for a float"
    if isinstance(value, decimal.Decimal):  # real, though not a numbers.Real
        return _as_value(float(value))
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return _as_value(value[0])
        raise ValueError(
            f"objective must return one number per point; got a {type(value).__name__} of "
            f"{len(value)} values (use vectorized=True for a function of (n, d) arrays)"
        )
    return math.nan, f"returned a {type(value).__name__}"


def _as_values(values: Any, n: int, d: int) -> tuple[NDArray, list[str | None]]:
    """A vectorised objective's ``(n,)`` values as floats; NaN where one is not real."""
    if hasattr(values, "detach"):
        values = values.detach()
    if hasattr(values, "cpu"):
        values = values.cpu()
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"vectorized objective returned {type(values).__name__}: {exc}") from None
    if arr.shape != (n,):
        raise ValueError(
            f"vectorized objective must return shape ({n},) for an ({n}, {d}) input; got "
            f"shape {arr.shape}"
        )
    if arr.dtype.kind in "fiu":
        return arr.astype(float), [None] * n
    out, reasons = np.empty(n), []
    for i, v in enumerate(arr.tolist() if arr.dtype.kind != "O" else list(arr)):
        out[i], reason = _as_value(v)
        reasons.append(reason)
    return out, reasons


def _raised(exc: BaseException) -> str:
    """``"NameError: name 'y' is not defined"``, cut to 300 characters: what a worker
    process sends back of an exception (its traceback stays there)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def _call_point(
    fun: Callable[..., Any], x: NDArray, args: tuple, raise_errors: bool
) -> tuple[float, str | None, str | None]:
    """``fun(x)`` as ``(value, reason it failed, what it raised)``."""
    try:
        value = fun(x, *args)
    except Exception as exc:
        if raise_errors:
            raise
        logger.debug("objective raised at x=%s", x, exc_info=True)
        return math.nan, f"raised {type(exc).__name__}", _raised(exc)
    f, reason = _as_value(value)
    if reason is not None and raise_errors:
        raise TypeError(f"objective {reason} ({value!r}) at x={x.tolist()}; expected a real "
                        "number")
    return f, reason, None


def evaluate_batch(
    fun: Callable[..., Any],
    X: NDArray,
    *,
    args: tuple = (),
    vectorized: bool = False,
    parallel: Any = None,
    on_error: str = "inf",
    failures: Counter | None = None,
    on_raise: Callable[[str], Any] | None = None,
) -> NDArray:
    """Evaluate ``fun`` on the rows of ``X``; failures become NaN (``on_error="inf"``).

    The objective gets a copy of ``X``, so it may change its input. A value that is not
    a real number (a string, a dict, a complex number with an imaginary part, an int too
    large for a float) is a failed evaluation, counted by reason in ``failures``, or a
    ``TypeError`` with ``on_error="raise"``. Non-finite values count as
    ``"non-finite value"``. ``parallel`` is an open ``joblib.Parallel`` (or ``None``).
    ``on_raise`` gets what the batch raised (``"Type: message"``) where the call of a
    vectorised objective raised, or where every point of a point-wise one did.
    """
    f, reasons = _evaluate_rows(fun, X, args, vectorized, parallel, on_error == "raise",
                                on_raise)
    if failures is not None:
        failures.update(r for r in reasons if r is not None)
    return f


def _evaluate_rows(fun: Callable[..., Any], X: NDArray, args: tuple, vectorized: bool,
                   parallel: Any, raise_errors: bool,
                   on_raise: Callable[[str], Any] | None = None
                   ) -> tuple[NDArray, list[str | None]]:
    """:func:`evaluate_batch`'s values and, per row, why it failed (``None``: it did not)."""
    n = X.shape[0]
    X = X.copy()
    if vectorized:
        try:
            values = fun(X, *args)
        except Exception as exc:
            if raise_errors:
                raise
            logger.warning("vectorised objective raised; the %d points count as failed", n,
                           exc_info=True)
            if on_raise is not None:
                on_raise(_raised(exc))
            return np.full(n, math.nan), [f"raised {type(exc).__name__}"] * n
        f, reasons = _as_values(values, n, X.shape[1])
    else:
        if parallel is None:
            calls = [_call_point(fun, x, args, raise_errors) for x in X]
        else:
            from joblib import delayed

            calls = parallel(delayed(_call_point)(fun, x, args, raise_errors) for x in X)
        f, reasons = np.array([c[0] for c in calls], dtype=float), [c[1] for c in calls]
        if on_raise is not None and calls and all(c[2] is not None for c in calls):
            on_raise(calls[0][2])
    if raise_errors:
        bad = [r for r in reasons if r is not None]
        if bad:
            raise TypeError(f"objective {bad[0]}; expected real numbers")
    if not np.isfinite(f).all():
        reasons = [r if r is not None or math.isfinite(v) else "non-finite value"
                   for v, r in zip(f.tolist(), reasons, strict=True)]
    return f, reasons


class EvaluationMemo:
    """Finite objective values keyed by the exact coordinates of each point (``-0.0`` and
    ``0.0`` are one coordinate), at most ``max_bytes`` of them: past that, the points used
    least recently are forgotten (and evaluated again if asked).

    ``hits`` counts the rows answered without calling the objective that got a value: a
    point evaluated before, or a repeat of a row of the same batch whose evaluation
    succeeded. A repeat of a row that failed is not evaluated again either (no call is
    spent twice on a batch); it fails with that row's reason, once per row, and is no hit.
    """

    def __init__(self, max_bytes: int = MEMO_MAX_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, numbers.Integral) \
                or max_bytes < 0:
            raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}")
        self._values: OrderedDict[bytes, float] = OrderedDict()
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self.hits = 0
        self._told_full = False

    def __len__(self) -> int:
        return len(self._values)

    @staticmethod
    def entry_bytes(d: int) -> int:
        """The memory one point of ``d`` coordinates costs (its key, its value and the
        table's entry, as CPython 3.11 allocates them)."""
        return 8 * d + 33 + 24 + 100

    @staticmethod
    def _rows(X: NDArray) -> NDArray:
        return np.ascontiguousarray(X, dtype=float) + 0.0  # -0.0 + 0.0 is 0.0

    def plan(self, X: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """``(f, todo, first)`` for a batch: ``f`` holds the known values (NaN elsewhere),
        ``todo`` the indices of the rows to evaluate (first occurrences of unknown
        points) and ``first[i]`` the row whose value row ``i`` takes. Counts the known
        values as hits (:meth:`evaluate` those of the repeats)."""
        X = self._rows(X)
        f = np.full(X.shape[0], np.nan)
        first = np.arange(X.shape[0])
        seen: dict[bytes, int] = {}
        todo = []
        for i, row in enumerate(X):
            key = row.tobytes()
            if key in self._values:
                f[i] = self._values[key]
                self._values.move_to_end(key)  # used: forgotten last
                self.hits += 1
            elif key in seen:
                first[i] = seen[key]
            else:
                seen[key] = i
                todo.append(i)
        return f, np.array(todo, dtype=int), first

    def store(self, X: NDArray, f: NDArray) -> None:
        """Remember the finite values ``f`` of the rows of ``X`` (forgetting the points
        used least recently past ``max_bytes``)."""
        X = self._rows(X)
        cost = self.entry_bytes(X.shape[1]) if X.ndim == 2 else 0
        for row, value in zip(X, f, strict=True):
            if np.isfinite(value):
                key = row.tobytes()
                if key not in self._values:
                    self.nbytes += cost
                self._values[key] = float(value)
        while self.nbytes > self.max_bytes and self._values:
            if not self._told_full:
                self._told_full = True
                logger.info("evaluation memo full (%d points, %d bytes): the points used "
                            "least recently are forgotten", len(self._values), self.max_bytes)
            self._values.popitem(last=False)
            self.nbytes -= cost

    def evaluate(self, fun: Callable[..., Any], X: NDArray, *, args: tuple = (),
                 parallel: Any = None, on_error: str = "inf",
                 failures: Counter | None = None,
                 on_raise: Callable[[str], Any] | None = None) -> NDArray:
        """:func:`evaluate_batch` of a point-wise ``fun``, calling it only for the points
        neither known nor repeated in ``X`` (see the class)."""
        f, todo, first = self.plan(X)
        f[todo], reasons = _evaluate_rows(fun, X[todo], args, False, parallel,
                                          on_error == "raise", on_raise)
        self.store(X[todo], f[todo])
        why = dict(zip(todo.tolist(), reasons, strict=True))
        for i in np.flatnonzero(first != np.arange(first.size)).tolist():
            f[i] = f[first[i]]
            if math.isfinite(f[i]):
                self.hits += 1
            else:
                why[i] = why[first[i]]
        if failures is not None:
            failures.update(r for r in why.values() if r is not None)
        return f
