"""Validation of an optimizer's arguments: the box, integers, seeds, hyper-parameters.

Hyper-parameters have declared constraints, checked once by :class:`metaheur.Optimizer`.

An algorithm declares, beside its published :attr:`~metaheur.Optimizer.defaults`, one
constraint per hyper-parameter::

    constraints = {
        "q": Real(low=0.0, low_open=True),          # a finite real number > 0
        "tf_explore": Real(0.0, 1.0, low_open=True),  # in (0, 1]
        "n_ants": Integer(low=1, none=True),         # an integer >= 1, or None
        "kernel_per_dim": Flag(),                    # True or False
        "inertia": Choice("constant", "linear"),
        "inner_params": Dict(),                      # a dict by name (the restart layer)
    }

The base class checks every given value against its constraint and raises a
``ValueError`` naming the parameter, what is allowed and what was given. Reals come back
as ``float``, integers as ``int`` and flags as ``bool`` (NumPy scalars are accepted; ``bool``
is never accepted as a number, nor a string as anything but a choice).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # pragma: no cover
    import scipy.optimize

BoundsLike = Union[ArrayLike, "scipy.optimize.Bounds"]  # noqa: UP007

__all__ = [
    "Constraint", "Real", "Integer", "Flag", "Choice", "Dict", "check_params", "check_int",
    "resolve_pop_size",
    "as_bounds", "default_rng", "warm_start", "horizon",
]


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


class Constraint(abc.ABC):
    """What a hyper-parameter may be: :meth:`check` returns the normalised value."""

    none: bool = False
    #: Whether what it allows is fixed when declared, so that a class's default is checked
    #: when the class is (False where it depends on the registry at the time of the check).
    static: ClassVar[bool] = True

    @abc.abstractmethod
    def describe(self) -> str:
        """What is allowed, as in "must be <describe()>"."""

    @abc.abstractmethod
    def _convert(self, value: Any) -> Any:
        """The normalised value, or ``None`` when ``value`` is not allowed."""

    def check(self, name: str, value: Any) -> Any:
        """Return ``value`` normalised; raise ``ValueError`` naming ``name`` otherwise."""
        if value is None and self.none:
            return None
        converted = self._convert(value)
        if converted is None:
            allowed = self.describe() + (" or None" if self.none else "")
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return converted


@dataclass(frozen=True)
class Real(Constraint):
    """A finite real number in ``[low, high]`` (ends open on request)."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    none: bool = False

    def __post_init__(self) -> None:
        for end in ("low", "high"):
            value = getattr(self, end)
            if not _is_real(value) or math.isnan(value):
                raise ValueError(f"Real: {end} must be a real number, got {value!r}")
        if self.low > self.high:
            raise ValueError(f"Real: low {self.low:g} > high {self.high:g}")
        empty = self.low == self.high and (self.low_open or self.high_open)
        if empty or self.low == math.inf or self.high == -math.inf:
            raise ValueError(f"Real: {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                             f"{')' if self.high_open else ']'} holds no number")

    def describe(self) -> str:
        lo, hi = math.isfinite(self.low), math.isfinite(self.high)
        if lo and hi:
            rng = (f" in {'(' if self.low_open else '['}{self.low:g}, "
                   f"{self.high:g}{')' if self.high_open else ']'}")
        elif lo:
            rng = f" {'>' if self.low_open else '>='} {self.low:g}"
        elif hi:
            rng = f" {'<' if self.high_open else '<='} {self.high:g}"
        else:
            rng = ""
        return "a finite real number" + rng

    def _convert(self, value: Any) -> float | None:
        if not _is_real(value):
            return None
        try:
            v = float(value)
        except OverflowError:  # an int beyond the range of a double (10**400)
            return None
        if not math.isfinite(v):
            return None
        if v < self.low or (self.low_open and v == self.low):
            return None
        if v > self.high or (self.high_open and v == self.high):
            return None
        return v


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer in ``[low, high]``."""

    low: int | None = None
    high: int | None = None
    none: bool = False

    def __post_init__(self) -> None:
        for end in ("low", "high"):
            value = getattr(self, end)
            if isinstance(value, (float, np.floating)) and (math.isinf(value)
                                                            or float(value).is_integer()):
                # no limit, or a whole number written as a float: what they mean
                value = None if math.isinf(value) else int(value)
                object.__setattr__(self, end, value)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, np.integer))):
                raise ValueError(f"Integer: {end} must be an integer, an infinity or None, "
                                 f"got {value!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"Integer: low {self.low} > high {self.high}")

    def describe(self) -> str:
        if self.low is not None and self.high is not None:
            return f"an integer in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"

    def _convert(self, value: Any) -> int | None:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            return None
        v = int(value)
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            return None
        return v


@dataclass(frozen=True)
class Flag(Constraint):
    """``True`` or ``False`` (``np.bool_`` accepted; ``1`` and ``"yes"`` are not)."""

    none: bool = False

    def describe(self) -> str:
        return "True or False"

    def _convert(self, value: Any) -> bool | None:
        return bool(value) if isinstance(value, (bool, np.bool_)) else None


class Choice(Constraint):
    """One of a fixed set of values (compared with ``==``, types must match; a NumPy
    scalar as its Python value, so ``np.str_("a")`` is ``"a"`` but ``np.int64(1)`` is not
    ``1.0``)."""

    def __init__(self, *options: Any, none: bool = False) -> None:
        if not options:
            raise ValueError("Choice: give at least one option, as Choice('a', 'b')")
        self.options = options
        self.none = none

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def _convert(self, value: Any) -> Any:
        if isinstance(value, np.generic):  # np.str_, np.int64, ...: as the Python value
            value = value.item()
        for option in self.options:
            if type(value) is type(option) and value == option:
                return option
        return None

    def __repr__(self) -> str:
        return f"Choice({', '.join(map(repr, self.options))}, none={self.none})"


@dataclass(frozen=True)
class Dict(Constraint):
    """A dict with string keys, copied (the hyper-parameters of a wrapped algorithm: their
    values are checked by that algorithm's own constraints)."""

    none: bool = False

    def describe(self) -> str:
        return "a dict with string keys"

    def _convert(self, value: Any) -> dict[str, Any] | None:
        ok = isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
        return dict(value) if ok else None


#: Keywords of SciPy's optimisers (differential_evolution and others) that metaheur spells
#: otherwise: named in the error when given as hyper-parameters.
_SCIPY_SPELLING = {"popsize": "pop_size", "maxiter": "max_iter", "maxfev": "budget",
                   "workers": "n_jobs", "rng": "seed", "random_state": "seed"}


def check_params(
    algo: str,
    defaults: Mapping[str, Any],
    constraints: Mapping[str, Constraint],
    given: Mapping[str, Any],
) -> dict[str, Any]:
    """``defaults`` updated by ``given``, every value checked against its constraint.

    Unknown names raise ``ValueError`` listing the allowed ones. A parameter without a
    declared constraint (a plug-in that declares none) is passed through unchecked.
    """
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        hints = "".join(f"; {k!r} is {_SCIPY_SPELLING[k]}=" for k in unknown
                        if k in _SCIPY_SPELLING)
        raise ValueError(
            f"unknown hyper-parameter(s) {unknown} for {algo!r}; allowed: {allowed}{hints}"
        )
    params = {**defaults, **given}
    for key, spec in constraints.items():
        if key in params:
            params[key] = spec.check(key, params[key])
    return params


def clip_bounds(lower: NDArray, upper: NDArray) -> tuple[Any, Any]:
    """``(lower, upper)`` for clipping: two floats when the box is the same in every
    dimension (a third of the cost of clipping against arrays; same result)."""
    if (lower == lower[0]).all() and (upper == upper[0]).all():
        return float(lower[0]), float(upper[0])
    return lower, upper




def resolve_pop_size(pop_size: Any, default: int, x0: ArrayLike | None, minimum: int) -> int:
    """``pop_size`` checked by :func:`check_int`; ``None``: ``default``, or more agents
    when the warm start ``x0`` has more rows (the user never chose that limit)."""
    if pop_size is None:
        try:
            rows = np.shape(x0)[0] if x0 is not None and np.ndim(x0) == 2 else 0
        except ValueError:  # ragged: warm_start names x0 in its error
            rows = 0
        pop_size = max(default, rows)
    return check_int("pop_size", pop_size, minimum)


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def as_bounds(bounds: BoundsLike) -> tuple[NDArray, NDArray]:
    """Validate ``bounds`` and return ``(lower, upper)`` as float arrays of shape (d,).

    Accepts a sequence of ``(low, high)`` pairs, an array of shape (d, 2), or a
    ``scipy.optimize.Bounds`` whose ``lb``/``ub`` are arrays of length d (as
    ``scipy.optimize.differential_evolution`` does).
    """
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lower = np.atleast_1d(np.asarray(bounds.lb, dtype=float))
        upper = np.atleast_1d(np.asarray(bounds.ub, dtype=float))
        if lower.ndim != 1 or lower.shape != upper.shape:
            raise ValueError(
                "bounds: scipy.optimize.Bounds must have lb and ub of the same length d, "
                f"got shapes {lower.shape} and {upper.shape}"
            )
    else:
        try:
            arr = np.asarray(bounds, dtype=float)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(
                "bounds must be a sequence of (low, high) pairs or scipy.optimize.Bounds; "
                f"could not convert {bounds!r} to numbers"
            ) from exc
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(
                f"bounds must have shape (d, 2) -- one (low, high) pair per dimension -- "
                f"got shape {arr.shape}"
            )
        lower, upper = arr[:, 0].copy(), arr[:, 1].copy()
    if lower.size == 0:
        raise ValueError("bounds must contain at least one (low, high) pair; got none")
    bad = np.flatnonzero(~(np.isfinite(lower) & np.isfinite(upper)))
    if bad.size:
        raise ValueError(
            f"bounds must be finite; non-finite bound at dimension(s) {bad.tolist()}"
        )
    bad = np.flatnonzero(lower >= upper)
    if bad.size:
        raise ValueError(
            f"bounds: lower must be < upper in every dimension; violated at dimension(s) "
            f"{bad.tolist()} (lower={lower[bad].tolist()}, upper={upper[bad].tolist()})"
        )
    with np.errstate(over="ignore"):
        bad = np.flatnonzero(~np.isfinite(upper - lower))
    if bad.size:
        raise ValueError(
            f"bounds: the width upper - lower overflows a double at dimension(s) "
            f"{bad.tolist()}; rescale the problem so that every width is below 1.7e308"
        )
    return lower, upper


def default_rng(seed: Any) -> np.random.Generator:
    """``np.random.default_rng(seed)`` with an error naming ``seed`` for bad values."""
    ok = seed is None or isinstance(
        seed, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)
    ) or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0)
    if not ok:
        raise ValueError(
            "seed must be None, an integer >= 0, a numpy Generator, BitGenerator or "
            f"SeedSequence; got {seed!r}"
        )
    return np.random.default_rng(seed)


def _floats(name: str, value: ArrayLike) -> NDArray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an array of real numbers, got {value!r}") from None


def warm_start(
    x0: ArrayLike | None, f0: ArrayLike | None, lower: NDArray, upper: NDArray, pop_size: int
) -> tuple[NDArray, NDArray]:
    """Checked warm-start points ``(m, d)`` and their known values (``+inf`` if not finite)."""
    dim = lower.size
    if x0 is None:
        if f0 is not None:
            raise ValueError("f0 given without x0; f0 holds the values of the x0 points")
        return np.empty((0, dim)), np.empty(0)
    X = np.atleast_2d(_floats("x0", x0))
    if X.ndim != 2 or X.shape[1] != dim or X.shape[0] > pop_size:
        raise ValueError(
            f"x0 must have shape (m, {dim}) with m <= pop_size={pop_size}; got {np.shape(x0)}"
        )
    if not np.isfinite(X).all() or (X < lower).any() or (X > upper).any():
        raise ValueError("x0 must be finite and lie inside bounds")
    if f0 is None:
        return X.copy(), np.empty(0)
    f = _floats("f0", f0).reshape(-1)
    if f.size > X.shape[0]:
        raise ValueError(
            f"f0 has {f.size} values for {X.shape[0]} x0 points; give at most one value "
            "per point (known values first)"
        )
    return X.copy(), np.where(np.isfinite(f), f, np.inf)


#: The largest budget: evaluation counts are int64 (NumPy, Optuna's storages), and the
#: schedules divide by the horizon in floating point.
MAX_BUDGET = 2**63 - 1


def _short(n: int) -> str:
    return str(n) if n < 10**30 else f"a {len(str(n))}-digit integer"


def horizon(budget: Any, max_iter: Any, n0: int, per_iter: int, pop_size: int) -> tuple[int, int]:
    """``(budget, max_iter)`` from exactly one of them (docs/algorithms.md §0.2).

    ``n0`` rows are evaluated by the first ask (``pop_size`` less the known warm-start
    values), ``per_iter`` by every iteration.
    """
    if (budget is None) == (max_iter is None):
        raise ValueError(
            "give exactly one of budget (number of evaluations) or max_iter "
            f"(number of iterations); got budget={budget!r}, max_iter={max_iter!r}"
        )
    if budget is None:
        max_iter = check_int("max_iter", max_iter, 1)
        budget = n0 + max_iter * per_iter
        if budget > MAX_BUDGET:
            raise ValueError(
                f"max_iter is too large: {_short(max_iter)} iterations make "
                f"{_short(budget)} evaluations; at most 2**63 - 1 ({MAX_BUDGET}) are allowed"
            )
        return budget, max_iter
    if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
        if budget < max(n0, 1):
            raise ValueError(
                f"budget must be at least one population ({max(n0, 1)} evaluations "
                f"for pop_size={pop_size}); got budget={budget}"
            )
        if budget > MAX_BUDGET:
            raise ValueError(f"budget must be at most 2**63 - 1 ({MAX_BUDGET}) evaluations; "
                             f"got {_short(budget)}")
    budget = check_int("budget", budget, max(n0, 1))
    return budget, -(-(budget - n0) // per_iter)  # ceil, exact for any int
