"""The population-level ask/tell contract shared by every metaheuristic.

:class:`Optimizer` keeps the books (budget, schedule horizon, best-so-far, history,
evaluation and failure counts, JSON state); subclasses write only the maths of their
algorithm through four hooks (:meth:`Optimizer._init_state`, :meth:`Optimizer._ask`,
:meth:`Optimizer._tell`, :attr:`Optimizer.population`). The core always minimises.

Life cycle (docs/algorithms.md §0.1)::

    opt = get("gwo")(bounds, pop_size=30, budget=20_000, seed=0)
    while not opt.done:
        X = opt.ask()            # (n, d), finite, inside the box
        opt.tell(X, f(X))        # NaN / inf / failures count as +inf

An iteration ``t = 1..T`` consists of one or more *rounds* (POA has two); each round
is one ask/tell pair. The very first ask returns the initial population (``t = 0``).
When the budget leaves ``r < n`` evaluations, ``ask`` returns only the first ``r``
rows of the batch; the unevaluated rows count as ``+inf`` (so greedy schemes reject
them and they never become the best).
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaheur import _state
from metaheur._version import __version__

STATE_FORMAT = 1

SeedLike = Union[int, np.random.Generator, np.random.SeedSequence, None]  # noqa: UP007
BoundsLike = Union[ArrayLike, "scipy.optimize.Bounds"]  # noqa: F821, UP007

__all__ = ["Optimizer", "as_bounds", "STATE_FORMAT"]


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
        except (TypeError, ValueError) as exc:
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
    return lower, upper


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


class Optimizer(abc.ABC):
    """Base class of every population-based optimizer (ask/tell on whole populations).

    Parameters
    ----------
    bounds
        ``(d, 2)`` array-like of ``(low, high)`` pairs or ``scipy.optimize.Bounds``.
    pop_size
        Number of agents N (ACOR: archive size k). Default 30.
    budget, max_iter
        Exactly one: the number of objective evaluations (the schedule horizon T is
        derived from it, docs/algorithms.md §0.2), or the number of iterations T (the
        budget is then ``n0 + T * evaluations_per_iteration``).
    seed
        ``int``, ``np.random.Generator``, ``np.random.SeedSequence`` or ``None``.
    x0, f0
        Optional warm start: up to ``pop_size`` points placed in the initial population
        (the rest is uniform), and optionally their known objective values, which are
        then not evaluated again.
    **params
        The algorithm's hyper-parameters; the names and published defaults are in the
        class attribute :attr:`defaults`.
    """

    #: Registry key, kebab-case, equal to the CLI value (``--algo dlf-aoa``).
    name: ClassVar[str] = ""
    #: One line for ``metaheur list``.
    summary: ClassVar[str] = ""
    #: Citation of the source paper.
    reference: ClassVar[str] = ""
    #: Hyper-parameters and their published defaults.
    defaults: ClassVar[dict[str, Any]] = {}
    #: Smallest population the algorithm is defined for (docs/algorithms.md §3).
    min_pop_size: ClassVar[int] = 2
    #: Attribute names of the algorithm state exported by :meth:`get_state`.
    _state_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        bounds: BoundsLike,
        *,
        pop_size: int = 30,
        budget: int | None = None,
        max_iter: int | None = None,
        seed: SeedLike = None,
        x0: ArrayLike | None = None,
        f0: ArrayLike | None = None,
        **params: Any,
    ) -> None:
        self.lower, self.upper = as_bounds(bounds)
        self.dim = self.lower.size
        self.pop_size = _check_int("pop_size", pop_size, self.min_pop_size)
        if self.pop_size < self.min_pop_size:  # pragma: no cover - _check_int covers it
            raise ValueError(f"pop_size must be >= {self.min_pop_size} for {self.name}")
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            allowed = ", ".join(self.defaults) or "none"
            raise ValueError(
                f"unknown hyper-parameter(s) {unknown} for {self.name!r}; allowed: {allowed}"
            )
        self.params: dict[str, Any] = {**self.defaults, **params}
        for key, value in self.params.items():
            setattr(self, key, value)
        self._check_params()
        self.rng = np.random.default_rng(seed)

        self._x_init, self._f_init = self._warm_start(x0, f0)
        n0 = self.pop_size - self._f_init.size  # rows evaluated by the first ask
        self._n_rounds = len(self._rounds())
        per_iter = sum(self._rounds())
        if (budget is None) == (max_iter is None):
            raise ValueError(
                "give exactly one of budget (number of evaluations) or max_iter "
                f"(number of iterations); got budget={budget!r}, max_iter={max_iter!r}"
            )
        self._budget_arg, self._max_iter_arg = budget, max_iter
        if budget is not None:
            if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
                if budget < max(n0, 1):
                    raise ValueError(
                        f"budget must be at least one population ({max(n0, 1)} evaluations "
                        f"for pop_size={self.pop_size}); got budget={budget}"
                    )
            self.budget = _check_int("budget", budget, max(n0, 1))
            self.max_iter = math.ceil((self.budget - n0) / per_iter)  # docs/algorithms.md §0.2
        else:
            self.max_iter = _check_int("max_iter", max_iter, 1)
            self.budget = n0 + self.max_iter * per_iter

        self.nit = 0
        self.nfev = 0
        self.n_failed = 0
        self.best_f = math.inf
        self.best_x = np.full(self.dim, np.nan)
        self._history: list[list[float]] = []
        self._initialized = False
        self._round = 0
        self._pending: NDArray | None = None
        self._pending_full: NDArray | None = None

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Validate ``self.params`` (raise ``ValueError`` naming the parameter)."""

    def _rounds(self) -> tuple[int, ...]:
        """Batch sizes of the ask/tell rounds of one iteration (POA: ``(N, N)``)."""
        return (self.pop_size,)

    @abc.abstractmethod
    def _init_state(self, X: NDArray, f: NDArray) -> None:
        """Set up the algorithm state from the evaluated initial population (t = 0)."""

    @abc.abstractmethod
    def _ask(self, t: int, r: int) -> NDArray:
        """Candidates of round ``r`` of iteration ``t`` (1-based); store pending state.

        Return a new array: the base clips it to the box in place.
        """

    @abc.abstractmethod
    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        """Commit round ``r`` of iteration ``t`` given all its rows and values."""

    @property
    @abc.abstractmethod
    def population(self) -> tuple[NDArray, NDArray]:
        """The current population (or archive / personal bests) and its values."""

    # ------------------------------------------------------------- public API
    @property
    def done(self) -> bool:
        """True once the evaluation budget is spent."""
        return self.nfev >= self.budget

    @property
    def history(self) -> dict[str, NDArray]:
        """Per-iteration record: ``nit``, ``nfev`` and best-so-far ``best_f``."""
        h = np.array(self._history, dtype=float).reshape(-1, 3)
        return {"nit": h[:, 0].astype(int), "nfev": h[:, 1].astype(int), "best_f": h[:, 2]}

    def ask(self) -> NDArray:
        """Return the next batch of points to evaluate, shape ``(n, d)``.

        Calling ``ask`` again before :meth:`tell` returns the same pending batch.
        """
        if self._pending is not None:
            return self._pending.copy()
        if self.done:
            raise RuntimeError(
                f"the budget of {self.budget} evaluations is exhausted; "
                "create a new optimizer (or restore a state) to continue"
            )
        if not self._initialized:
            n_new = self.pop_size - self._x_init.shape[0]
            self._x_init = np.vstack([self._x_init, self._uniform((n_new, self.dim))])
            X = self._x_init[self._f_init.size :]
        else:
            X = self._ask(self.nit + 1, self._round)
            X.clip(*self._clip_bounds, out=X)  # the method: half the cost of np.clip
            # After clipping only NaN can be left, and min() propagates it (one reduction,
            # no temporary array, no overflow even for huge boxes).
            if math.isnan(X.min()):
                raise RuntimeError(
                    f"{type(self).__name__}._ask() produced non-finite points; "
                    "this is a bug in the algorithm"
                )
        self._pending_full = X
        self._pending = X[: self.budget - self.nfev]
        return self._pending.copy()

    def tell(self, X: ArrayLike, f: ArrayLike) -> None:
        """Report the values ``f`` (shape ``(n,)``) of the points ``X`` from :meth:`ask`.

        Non-finite values (NaN, inf) count as ``+inf`` and as failed evaluations.
        """
        if self._pending is None:
            raise RuntimeError("tell() called without a pending ask(); call ask() first")
        X = np.asarray(X, dtype=float)
        P = self._pending
        # Byte equality is the fast path (the caller hands back our copy); value
        # equality decides otherwise (e.g. -0.0 against 0.0).
        if X.shape != P.shape or (X.tobytes() != P.tobytes() and not np.array_equal(X, P)):
            raise ValueError(
                f"tell() expects the {self._pending.shape} array returned by the last ask(); "
                f"got an array of shape {X.shape} that differs from it"
            )
        f = np.asarray(f, dtype=float)
        n = X.shape[0]
        if f.shape != (n,):
            raise ValueError(f"f must have shape ({n},), one value per asked point; got {f.shape}")
        if not np.isfinite(f).all():  # failed evaluations count as +inf
            bad = ~np.isfinite(f)
            self.n_failed += int(bad.sum())
            f = np.where(bad, np.inf, f)
        self.nfev += n
        if n:
            i = int(f.argmin())
            if f[i] < self.best_f:
                self.best_f, self.best_x = float(f[i]), X[i].copy()

        X_full = self._pending_full
        missing = X_full.shape[0] - n
        f_full = np.concatenate([f, np.full(missing, np.inf)]) if missing else f
        self._pending = self._pending_full = None
        if not self._initialized:
            f_all = np.concatenate([self._f_init, f_full])
            self._init_state(self._x_init, f_all)
            self._initialized = True
            self._x_init = np.empty((0, self.dim))
            self._f_init = np.empty(0)
            self._history.append([0, self.nfev, self.best_f])
            return
        self._tell(self.nit + 1, self._round, X_full, f_full)
        self._round += 1
        if self._round == self._n_rounds:
            self._round = 0
            self.nit += 1
            self._history.append([self.nit, self.nfev, self.best_f])
        elif self.done:  # the budget ended mid-iteration (POA phase 1): record the end
            self._history.append([self.nit, self.nfev, self.best_f])

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """Complete state as strict-JSON-serialisable data (no pickle).

        ``Optimizer.from_state(opt.get_state())`` continues exactly as ``opt`` would
        (same future points), including mid-iteration and with a batch pending.
        """
        core = {
            "nit": self.nit,
            "nfev": self.nfev,
            "n_failed": self.n_failed,
            "best_f": self.best_f,
            "best_x": self.best_x,
            "history": self._history,
            "initialized": self._initialized,
            "round": self._round,
            "budget": self.budget,
            "max_iter": self.max_iter,
            "x_init": self._x_init,
            "f_init": self._f_init,
            "pending": self._pending,
            "pending_full": self._pending_full,
        }
        algo = {k: getattr(self, k, None) for k in self._state_fields}
        return _state.encode(
            {
                "format": STATE_FORMAT,
                "algo": self.name,
                "version": __version__,
                "config": {
                    "bounds": np.column_stack([self.lower, self.upper]).tolist(),
                    "pop_size": self.pop_size,
                    "budget": self._budget_arg,
                    "max_iter": self._max_iter_arg,
                    "params": self.params,
                },
                "rng": {
                    "bit_generator": type(self.rng.bit_generator).__name__,
                    "state": self.rng.bit_generator.state,
                },
                "core": core,
                "algo_state": algo,
            }
        )

    @classmethod
    def from_state(cls, state: dict[str, Any], *, check_version: bool = True) -> Optimizer:
        """Rebuild an optimizer from :meth:`get_state` data.

        Called on :class:`Optimizer` itself, the class is looked up in the registry by
        the state's algorithm key. Raises ``ValueError`` when the state's format,
        algorithm or metaheur version does not match (``check_version=False`` accepts
        a state written by another metaheur version).
        """
        from metaheur._registry import get

        if not isinstance(state, dict) or "format" not in state or "algo" not in state:
            raise ValueError("not a metaheur optimizer state: expected a dict from get_state()")
        if state["format"] != STATE_FORMAT:
            raise ValueError(
                f"optimizer state has format {state['format']!r}; this metaheur reads "
                f"format {STATE_FORMAT}"
            )
        target = get(state["algo"]) if cls is Optimizer else cls
        if state["algo"] != target.name:
            raise ValueError(
                f"state is for algorithm {state['algo']!r}, cannot restore it into "
                f"{target.__name__} ({target.name!r})"
            )
        if check_version and state.get("version") != __version__:
            raise ValueError(
                f"state was written by metaheur {state.get('version')!r}, this is "
                f"{__version__!r}; pass check_version=False to restore it anyway "
                "(bit-identical continuation is then not guaranteed)"
            )
        s = _state.decode(state)
        cfg = s["config"]
        obj = target(
            cfg["bounds"],
            pop_size=cfg["pop_size"],
            budget=cfg["budget"],
            max_iter=cfg["max_iter"],
            **cfg["params"],
        )
        bitgen = getattr(np.random, s["rng"]["bit_generator"])()
        bitgen.state = s["rng"]["state"]
        obj.rng = np.random.Generator(bitgen)
        core = s["core"]
        for key in ("nit", "nfev", "n_failed", "budget", "max_iter"):
            setattr(obj, key, int(core[key]))
        obj.best_f = float(core["best_f"])
        obj.best_x = core["best_x"]
        obj._history = core["history"]
        obj._initialized = bool(core["initialized"])
        obj._round = int(core["round"])
        obj._x_init, obj._f_init = core["x_init"], core["f_init"]
        obj._pending, obj._pending_full = core["pending"], core["pending_full"]
        for key, value in s["algo_state"].items():
            setattr(obj, key, value)
        return obj

    # ---------------------------------------------------------------- helpers
    def _warm_start(
        self, x0: ArrayLike | None, f0: ArrayLike | None
    ) -> tuple[NDArray, NDArray]:
        if x0 is None:
            if f0 is not None:
                raise ValueError("f0 given without x0; f0 holds the values of the x0 points")
            return np.empty((0, self.dim)), np.empty(0)
        X = np.atleast_2d(np.asarray(x0, dtype=float))
        if X.ndim != 2 or X.shape[1] != self.dim or X.shape[0] > self.pop_size:
            raise ValueError(
                f"x0 must have shape (m, {self.dim}) with m <= pop_size={self.pop_size}; "
                f"got {np.shape(x0)}"
            )
        if not np.isfinite(X).all() or (X < self.lower).any() or (X > self.upper).any():
            raise ValueError("x0 must be finite and lie inside bounds")
        if f0 is None:
            return X.copy(), np.empty(0)
        f = np.asarray(f0, dtype=float).reshape(-1)
        if f.size > X.shape[0]:
            raise ValueError(
                f"f0 has {f.size} values for {X.shape[0]} x0 points; give at most one value "
                "per point (known values first)"
            )
        return X.copy(), np.where(np.isfinite(f), f, np.inf)

    @functools.cached_property
    def _clip_bounds(self) -> tuple[Any, Any]:
        """``(lower, upper)`` for clipping: two floats when the box is the same in every
        dimension (a third of the cost of clipping against arrays; same result)."""
        lo, hi = self.lower, self.upper
        if (lo == lo[0]).all() and (hi == hi[0]).all():
            return float(lo[0]), float(hi[0])
        return lo, hi

    def _uniform(self, shape: Sequence[int]) -> NDArray:
        """``lb + U(shape) ⊙ (ub − lb)`` (docs/algorithms.md §0, eq. 4 of AOA)."""
        return self.lower + self.rng.random(tuple(shape)) * (self.upper - self.lower)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dim={self.dim}, pop_size={self.pop_size}, "
            f"budget={self.budget}, max_iter={self.max_iter}, nfev={self.nfev}, "
            f"best_f={self.best_f:.6g})"
        )
