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
import contextlib
import math
import sys
from collections.abc import Sequence
from typing import Any, ClassVar, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaheur import _snapshot
from metaheur._params import (
    BoundsLike,
    Constraint,
    as_bounds,
    check_int,
    check_params,
    clip_bounds,
    default_rng,
    horizon,
    resolve_pop_size,
    warm_start,
)
from metaheur._reserved import check_declarations
from metaheur._state import STATE_FORMAT, Field

SeedLike = Union[  # noqa: UP007
    int, np.random.Generator, np.random.BitGenerator, np.random.SeedSequence, None
]

__all__ = ["Optimizer", "as_bounds", "STATE_FORMAT"]

#: A box reaching beyond this magnitude nears the float range: an algorithm's step there
#: may overflow to ±inf (a point beyond the box, clipped), which is then not warned about.
HUGE = sys.float_info.max / 2**10
_NO_OP = contextlib.nullcontext()


def _as_real(f: ArrayLike) -> NDArray:
    """``f`` as floats; complex values with an imaginary part, text and bools are refused."""
    arr = np.asarray(f)
    if arr.dtype.kind == "c" and not arr.imag.any():
        arr = arr.real
    if arr.dtype.kind in "fiu":
        return arr.astype(float, copy=False)
    if arr.dtype.kind == "O":
        try:
            return arr.astype(float)
        except (TypeError, ValueError, OverflowError):
            pass
    raise ValueError(
        f"f must hold real numbers, one per asked point; got {arr.dtype} values "
        "(complex ones with an imaginary part, text and bools are not objective values)"
    )


def _in_box(opt: Optimizer, X: Any) -> NDArray:
    """``opt._ask``'s batch ``X`` checked and clipped to the box in place.

    It must be ``(rows, d)`` real numbers (``rows``: the round's batch size; an optimizer
    overriding :meth:`Optimizer._restored_progress` has batches of its own sizes); lists
    and integer or read-only arrays are taken as float copies. ±inf is a point beyond the
    box in that direction (an overflowing step in a huge box) and is clipped like any
    other; NaN is a bug in the algorithm.
    """
    rows = (opt._rounds_[opt._round]
            if type(opt)._restored_progress is Optimizer._restored_progress else None)
    if not (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
            and X.shape[1] == opt.dim and (rows is None or X.shape[0] == rows)
            and X.flags.writeable):
        X = _as_batch(type(opt).__name__, X, rows, opt.dim)
    X.clip(*opt._clip_bounds, out=X)  # the method: half the cost of np.clip
    # After clipping only NaN can be left, and min() propagates it (one reduction,
    # no temporary array, no overflow even for huge boxes).
    if math.isnan(X.min()):
        raise RuntimeError(
            f"{type(opt).__name__}._ask() produced NaN coordinates; "
            "this is a bug in the algorithm"
        )
    return X


def _huge(opt: Optimizer) -> bool:
    """Whether ``opt``'s box reaches beyond :data:`HUGE`."""
    return bool(max(np.abs(opt.lower).max(), np.abs(opt.upper).max()) > HUGE)


def _quiet(opt: Optimizer) -> contextlib.AbstractContextManager:
    """No overflow warnings in a box near the float range (:data:`HUGE`), where ±inf steps
    are expected and clipped; a no-op elsewhere."""
    return np.errstate(over="ignore") if opt._huge else _NO_OP


def _next_batch(opt: Optimizer) -> NDArray:
    """``opt._ask``'s batch for the current round, checked and clipped (:func:`_in_box`)."""
    with _quiet(opt):
        return _in_box(opt, opt._ask(opt.nit + 1, opt._round))


def _as_batch(name: str, X: Any, rows: int | None, dim: int) -> NDArray:
    """A batch that is not a ``(rows, dim)`` float64 array as one, or a clear error."""
    want = f"({'n' if rows is None else rows}, {dim})"
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError):  # ragged lists
        arr = np.asarray(None)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name}._ask() must return real numbers, a float array of shape "
                        f"{want}; got {type(X).__name__} of dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != dim or (rows is not None and arr.shape[0] != rows):
        raise ValueError(f"{name}._ask() must return an array of shape {want}, one row per "
                         f"point of the round; got shape {arr.shape}")
    return arr.astype(float)  # a copy: X may be the algorithm's own array


class Optimizer(abc.ABC):
    """Base class of every population-based optimizer (ask/tell on whole populations).

    Parameters
    ----------
    bounds
        ``(d, 2)`` array-like of ``(low, high)`` pairs or ``scipy.optimize.Bounds``.
    pop_size
        Number of agents N (ACOR: archive size k); ``None``: :attr:`default_pop_size`, or
        the number of ``x0`` rows if larger.
    budget, max_iter
        Exactly one: the number of objective evaluations (the schedule horizon T is
        derived from it, docs/algorithms.md §0.2), or the number of iterations T (the
        budget is then ``n0 + T * evaluations_per_iteration``).
    seed
        ``int >= 0``, ``np.random.Generator``, ``BitGenerator``, ``SeedSequence`` or ``None``.
    x0, f0
        Optional warm start: up to ``pop_size`` points placed in the initial population
        (the rest is uniform), and optionally their known objective values, which are
        then not evaluated again (the best of them is ``best_f`` from the start; all
        ``pop_size`` known: the first :meth:`ask` is empty, see there).
    **params
        The algorithm's hyper-parameters; the names and published defaults are in the
        class attribute :attr:`defaults`, what each may be in :attr:`constraints`.

    A subclass declares, beside the four hooks::

        defaults = {"sigma": 0.1}                            # published defaults
        constraints = {"sigma": Real(0.0, low_open=True)}    # checked by the base
        state_fields = {"_X": Field(("N", "D"), "point"),    # exported, checked on
                        "_f": Field(("N",), "value")}        # restore (N, D: shapes)
    """

    #: Registry key, kebab-case, equal to the CLI value (``--algo dlf-aoa``).
    name: ClassVar[str] = ""
    #: One line for ``metaheur list``.
    summary: ClassVar[str] = ""
    #: Citation of the source paper.
    reference: ClassVar[str] = ""
    #: Hyper-parameters and their published defaults.
    defaults: ClassVar[dict[str, Any]] = {}
    #: What each hyper-parameter may be (:class:`metaheur.Real`, :class:`metaheur.Integer`,
    #: :class:`metaheur.Flag`, :class:`metaheur.Choice`), checked once by the base class.
    constraints: ClassVar[dict[str, Constraint]] = {}
    #: Smallest population the algorithm is defined for (docs/algorithms.md §3).
    min_pop_size: ClassVar[int] = 2
    #: Population when ``pop_size`` is None (``pso-ipop``: 20, docs/algorithms.md §12.3).
    default_pop_size: ClassVar[int] = 30
    #: The algorithm state exported by :meth:`get_state`: attribute name -> what it must
    #: be (:class:`metaheur.Field`); :meth:`from_state` checks it on restore.
    state_fields: ClassVar[dict[str, Field]] = {}
    #: Exported names, from :attr:`state_fields` (a plug-in may list names only).
    _state_fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_declarations(cls)

    def __init__(
        self,
        bounds: BoundsLike,
        *,
        pop_size: int | None = None,
        budget: int | None = None,
        max_iter: int | None = None,
        seed: SeedLike = None,
        x0: ArrayLike | None = None,
        f0: ArrayLike | None = None,
        **params: Any,
    ) -> None:
        self.lower, self.upper = as_bounds(bounds)
        self.dim = self.lower.size
        self._clip_bounds, self._huge = clip_bounds(self.lower, self.upper), _huge(self)
        self.pop_size = resolve_pop_size(pop_size, self.default_pop_size, x0,
                                         self.min_pop_size)
        self.params: dict[str, Any] = self.validate_params(**params)
        for key, value in self.params.items():
            setattr(self, key, value)
        self._check_params()
        self.rng = default_rng(seed)

        self._x_init, self._f_init = warm_start(x0, f0, self.lower, self.upper, self.pop_size)
        self._rounds_ = tuple(int(n) for n in self._rounds())
        self._n_rounds = len(self._rounds_)
        self._set_horizon(budget, max_iter, self._f_init.size)

        self.nit = 0
        self.nfev = 0
        self.n_failed = 0
        self.best_f = math.inf
        self.best_x = np.full(self.dim, np.nan)
        if self._f_init.size and self._f_init.min() < math.inf:  # a warm start's known best
            i = int(self._f_init.argmin())
            self.best_f, self.best_x = float(self._f_init[i]), self._x_init[i].copy()
        self._history: list[list[float]] = []
        self._initialized = False
        self._round = 0
        self._pending: NDArray | None = None
        self._pending_full: NDArray | None = None
        self._config_attrs: frozenset[str] = frozenset()  # those before the hooks ran

    @classmethod
    def validate_params(cls, *, pop_size: int | None = None, **params: Any) -> dict[str, Any]:
        """Check ``pop_size`` and hyper-parameters as the constructor does, without a box.

        Returns every hyper-parameter (defaults filled in, values normalised); raises
        ``ValueError`` naming the first bad one. For callers that validate options before
        any optimizer exists (the Optuna samplers, the CLI).
        """
        if pop_size is not None:
            check_int("pop_size", pop_size, cls.min_pop_size)
        return check_params(cls.name, cls.defaults, cls.constraints, params)

    def _set_horizon(self, budget: Any, max_iter: Any, n_known: int) -> None:
        """Budget and schedule horizon T from exactly one of them (docs/algorithms.md §0.2)."""
        self.budget, self.max_iter = horizon(budget, max_iter, self.pop_size - n_known,
                                             sum(self._rounds_), self.pop_size)
        self._budget_arg, self._max_iter_arg, self._n_known = budget, max_iter, n_known

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Derive constants from the hyper-parameters (already checked against
        :attr:`constraints`); raise ``ValueError`` for what they cannot express."""

    def _rounds(self) -> tuple[int, ...]:
        """Batch sizes of the ask/tell rounds of one iteration (POA: ``(N, N)``)."""
        return (self.pop_size,)

    def _restored_progress(self, nit: int, rnd: int) -> tuple[int, int] | None:
        """``(nfev, n)`` at round ``rnd`` of iteration ``nit + 1``: evaluations so far and
        that round's rows before the budget cuts them (docs/algorithms.md §0.2), or ``None``.

        :meth:`from_state` checks restored counters and pending rows against it; an
        optimizer whose batches do not follow :attr:`rounds` (the restart layer) derives
        both from its own state and raises ``ValueError`` here.
        """
        r = self._rounds_
        if nit > self.max_iter or rnd >= len(r):
            return None
        return self.pop_size - self._n_known + nit * sum(r) + sum(r[:rnd]), r[rnd]

    @abc.abstractmethod
    def _init_state(self, X: NDArray, f: NDArray) -> None:
        """Set up the algorithm state from the evaluated initial population (t = 0)."""

    @abc.abstractmethod
    def _ask(self, t: int, r: int) -> NDArray:
        """Candidates of round ``r`` of iteration ``t`` (1-based); store pending state.

        Return a new ``(rounds[r], d)`` array of reals: the base clips it to the box in
        place (±inf too); anything else, or NaN, raises naming the class.
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
    def rounds(self) -> tuple[int, ...]:
        """Batch sizes of the ask/tell rounds of one iteration (POA: ``(N, N)``)."""
        return self._rounds_

    @property
    def round(self) -> int:
        """Index of the next round within the current iteration; 0 between iterations."""
        return self._round

    @property
    def history(self) -> dict[str, NDArray]:
        """Per-iteration record: ``nit``, ``nfev`` and best-so-far ``best_f``."""
        return self.history_head(len(self._history))

    def history_head(self, rows: int) -> dict[str, NDArray]:
        """The first ``rows`` rows of :attr:`history` (a snapshot: the record only grows)."""
        h = np.array(self._history[:rows], dtype=float).reshape(-1, 3)
        return {"nit": h[:, 0].astype(int), "nfev": h[:, 1].astype(int), "best_f": h[:, 2]}

    @property
    def n_history(self) -> int:
        """Number of rows of :attr:`history` so far (one per iteration, from t = 0)."""
        return len(self._history)

    def ask(self) -> NDArray:
        """Return the next batch of points to evaluate, shape ``(n, d)`` (calling ``ask``
        again before :meth:`tell` returns the same pending batch). ``n``: the round's size,
        cut to the evaluations left; 0 for the initial population when ``f0`` gives every
        agent's value (tell it with an empty ``f``; it costs no evaluation)."""
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
            X = _next_batch(self)
        self._pending_full = X
        self._pending = X[: self.budget - self.nfev]
        return self._pending.copy()

    def tell(self, X: ArrayLike, f: ArrayLike) -> None:
        """Report the values ``f`` (shape ``(n,)``) of the points ``X`` from :meth:`ask`.
        Non-finite values (NaN, inf) count as ``+inf`` and as failed evaluations."""
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
        f = _as_real(f)
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
            self._config_attrs = frozenset(vars(self))
            self._init_state(self._x_init, f_all)
            self._initialized = True
            self._x_init = np.empty((0, self.dim))
            self._f_init = np.empty(0)
            self._history.append([0, self.nfev, self.best_f])
            return
        with _quiet(self):
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
        ``ValueError`` when the hooks set attributes :attr:`state_fields` does not declare
        (scratch rebuilt when missing: a class-level default) or never set a declared one.
        """
        return _snapshot.export_state(self)

    @classmethod
    def from_state(cls, state: dict[str, Any], *, check_version: bool = True) -> Optimizer:
        """Rebuild an optimizer from :meth:`get_state` data.

        Called on :class:`Optimizer` itself, the class is looked up in the registry by the
        state's algorithm key. The state is untrusted input and is checked as strictly as the
        constructor checks its arguments (configuration, counters, pending batch, random
        generator, every declared :attr:`state_fields` entry); anything wrong raises
        ``ValueError``, as do a format, algorithm or metaheur version that does not match
        (``check_version=False`` accepts a state written by another metaheur version).
        """
        return _snapshot.from_state(cls, state, check_version=check_version)

    # ---------------------------------------------------------------- helpers
    def _uniform(self, shape: Sequence[int]) -> NDArray:
        """``lb + U(shape) ⊙ (ub − lb)`` (docs/algorithms.md §0, eq. 4 of AOA)."""
        return self.lower + self.rng.random(tuple(shape)) * (self.upper - self.lower)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dim={self.dim}, pop_size={self.pop_size}, budget="
                f"{self.budget}, max_iter={self.max_iter}, nfev={self.nfev}, "
                f"best_f={self.best_f:.6g})")
