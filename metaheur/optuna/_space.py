"""Encode an Optuna search space onto the box [-1, 1]^d and back.

One dimension per parameter. The centre of every range sits at 0, the origin of the box,
because GWO, POA and AOA/DLF-AOA are origin-biased (docs/algorithms.md §0.3):

* ``FloatDistribution`` (linear): ``x = (v - c) / r`` with ``c`` the midpoint and ``r`` the
  half-width of ``[low, high]``; ``log=True`` does the same on ``log(v)``.
* ``FloatDistribution(step=s)`` and ``IntDistribution(step=s)``: the ``K + 1`` grid values
  ``low + k * s`` own equal-width bins of [-1, 1]; a value encodes to the centre of its bin.
  Integer grids are counted exactly: both ends of a range wider than 2**53 are reached,
  its interior to within a double's resolution (Optuna stores parameters as floats).
* ``IntDistribution(log=True)``: linear in ``log(v)`` on ``[low - 0.5, high + 0.5]`` (as
  Optuna's own transform), so every integer owns the bin of the reals that round to it.
* ``CategoricalDistribution``: ``n`` equal-width bins of [-1, 1], one per choice (any
  choices, in their declared order). A one-hot encoding (a coordinate per choice, decoded by
  argmax) was measured on the tuning tasks and was worse at 100 trials (docs/algorithms.md
  §0.3), so one coordinate per parameter stays.

``decode`` always returns a valid value of the distribution (clipped to the range, on the
grid) as a plain Python ``float``/``int``/choice, and ``decode(encode(p)) == p`` for every
value of a discrete dimension. Continuous floats round-trip exactly whenever the affine
map has an exact pre-image (``encode`` searches the neighbouring floats for it), otherwise to
within a few units in the last place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["SearchSpaceEncoder", "UnionSearchSpace", "box_problem"]

_LINEAR, _LOG, _GRID, _INTLOG, _CAT = range(5)


class _Dim:
    """Encoding of one parameter: a kind and the numbers it needs."""

    __slots__ = ("kind", "dist", "c", "r", "low", "high", "step", "n", "dlow", "dstep", "float")

    def __init__(self, name: str, dist: BaseDistribution) -> None:
        self.dist = dist
        if isinstance(dist, CategoricalDistribution):
            self.kind, self.n = _CAT, len(dist.choices)
        elif isinstance(dist, (FloatDistribution, IntDistribution)):
            self.float = isinstance(dist, FloatDistribution)
            self.low, self.high = dist.low, dist.high
            if dist.log and self.float:
                self.kind = _LOG
                lo, hi = math.log(dist.low), math.log(dist.high)
            elif dist.log:
                self.kind = _INTLOG
                lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            elif self.float and dist.step is None:
                self.kind = _LINEAR
                lo, hi = float(dist.low), float(dist.high)
            else:
                self.kind = _GRID
                self.step = dist.step if dist.step is not None else 1
                if self.float:
                    self.n = int(round((dist.high - dist.low) / self.step)) + 1
                else:  # exact: above 2**53 a float count misses the top value
                    self.n = (dist.high - dist.low) // self.step + 1
                if self.float:  # decimal grid: low + k * step without binary noise
                    self.dlow, self.dstep = Decimal(repr(dist.low)), Decimal(repr(self.step))
                lo = hi = 0.0
            self.c, self.r = 0.5 * (lo + hi), 0.5 * (hi - lo)
        else:
            raise ValueError(
                f"parameter {name!r}: unsupported distribution {type(dist).__name__}; "
                "supported: FloatDistribution, IntDistribution, CategoricalDistribution"
            )

    # --------------------------------------------------------------- decode
    def bin(self, x: float, n: int) -> int:
        x = min(max(x, -1.0), 1.0)  # x from storage may lie far outside the box (overflow)
        return min(int(math.floor((x + 1.0) * 0.5 * n)), n - 1)

    def decode(self, x: float) -> Any:
        kind = self.kind
        if kind == _CAT:
            return self.dist.choices[self.bin(x, self.n)]
        if kind == _GRID:
            k = self.bin(x, self.n)
            if not self.float:
                return int(min(self.low + k * self.step, self.high))
            return min(max(float(self.dlow + k * self.dstep), self.low), self.high)
        if kind != _INTLOG and (x <= -1.0 or x >= 1.0):  # the box's faces are the range's ends
            return float(self.low if x <= -1.0 else self.high)
        y = self.c + x * self.r if self.r > 0 else self.c
        if kind == _LINEAR:
            return min(max(float(y), self.low), self.high)
        if kind == _LOG:
            return min(max(float(math.exp(y)), self.low), self.high)
        y = min(y, math.log(self.high) + 1.0)  # x from storage may lie far outside the box
        return int(min(max(round(math.exp(y)), self.low), self.high))  # _INTLOG

    # --------------------------------------------------------------- encode
    def encode(self, v: Any) -> float:
        kind = self.kind
        if kind == _CAT:
            return _bin_centre(int(self.dist.to_internal_repr(v)), self.n)
        if kind == _GRID:
            if self.float or not isinstance(v, (int, np.integer)):
                k = int(round((float(v) - self.low) / self.step))
            else:  # exact for integers above 2**53
                k = (int(v) - self.low + self.step // 2) // self.step
            return _bin_centre(min(max(k, 0), self.n - 1), self.n)
        v = float(v)
        if kind == _INTLOG:
            v = min(max(v, self.low), self.high)
            return _clip1((math.log(v) - self.c) / self.r)
        if self.r <= 0:
            return 0.0
        if v <= self.low or v >= self.high:  # the faces, as decode has them (no rounding)
            return -1.0 if v <= self.low else 1.0
        y = math.log(v) if kind == _LOG else v
        x = _clip1((y - self.c) / self.r)
        if self.decode(x) == v:
            return x
        # Search the neighbouring floats for an exact pre-image (decode is monotone in x).
        lo = hi = x
        for _ in range(8):
            lo, hi = np.nextafter(lo, -2.0), np.nextafter(hi, 2.0)
            for cand in (float(lo), float(hi)):
                if -1.0 <= cand <= 1.0 and self.decode(cand) == v:
                    return cand
        return x


def _bin_centre(k: int, n: int) -> float:
    return -1.0 + (2 * k + 1) / n


def _clip1(x: float) -> float:
    return min(max(x, -1.0), 1.0)


class SearchSpaceEncoder:
    """Map an Optuna search space to the box [-1, 1]^d, one dimension per parameter.

    Example::

        from optuna.distributions import FloatDistribution, CategoricalDistribution
        enc = SearchSpaceEncoder({"lr": FloatDistribution(1e-5, 1e-1, log=True),
                                  "act": CategoricalDistribution(["relu", "tanh"])})
        x = enc.encode({"lr": 1e-3, "act": "tanh"})   # array([0. , 0.5])
        enc.decode(x)                                  # {'lr': 0.001, 'act': 'tanh'}

    Attributes
    ----------
    names
        Parameter names, in the order of the search-space dict (one dimension each).
    dim
        Number of dimensions ``d``.
    bounds
        ``(d, 2)`` array of ``[-1, 1]`` rows, the box the optimizer runs in.
    """

    def __init__(self, space: Mapping[str, BaseDistribution]) -> None:
        if not isinstance(space, Mapping):
            raise ValueError(
                f"space must be a dict of parameter name -> optuna distribution, "
                f"got {type(space).__name__}"
            )
        self.space: dict[str, BaseDistribution] = dict(space)
        self.names: list[str] = list(self.space)
        self._dims = [_Dim(name, dist) for name, dist in self.space.items()]
        self._index = {name: i for i, name in enumerate(self.names)}
        self.dim = len(self.names)
        self.bounds: NDArray = np.tile(np.array([-1.0, 1.0]), (self.dim, 1))

    def encode(self, params: Mapping[str, Any], *, partial: bool = False) -> NDArray:
        """Return the ``(d,)`` point of ``params`` (a dict holding every name in ``names``;
        with ``partial=True`` a missing (inactive) parameter encodes to 0, the centre)."""
        missing = [n for n in self.names if n not in params]
        if missing and not partial:
            raise ValueError(f"params lack the search-space parameter(s) {missing}")
        return np.array([d.encode(params[n]) if n in params else 0.0
                         for n, d in zip(self.names, self._dims, strict=True)])

    def canonical(self, name: str, v: Any) -> Any:
        """``v`` as :meth:`decode` writes it, so one configuration has one key whoever
        wrote it: a stepped value is the exact grid point (Optuna's samplers write
        ``low + k * step``, e.g. 0.30000000000000004 for 0.3), a continuous one the value
        its point decodes to (``1e-3`` on a log range without an exact pre-image: the
        float next to it; ``-0.0``: ``0.0``), a choice the declared choice equal to it
        (Optuna stores ``False`` of ``[0, False]`` as ``0``)."""
        d = self._dims[self._index[name]]
        return d.decode(d.encode(v))

    def on_grid(self, name: str, v: Any) -> bool:
        """Is ``v`` a point of ``name``'s space: in its range and, for a grid, on it up to
        binary noise? Optuna's ``enqueue_trial`` keeps an off-grid or out-of-range value:
        such a trial did not evaluate the point it snaps or clips to."""
        d = self._dims[self._index[name]]
        if d.kind == _CAT:
            return True
        if d.kind != _GRID:
            return bool(d.low <= v <= d.high)
        c = self.canonical(name, v)
        if not d.float:
            return c == v
        return abs(c - float(v)) <= max(1e-6 * d.step, 1e-12 * abs(c))

    def decode(self, x: ArrayLike) -> dict[str, Any]:
        """Return the parameter dict of the ``(d,)`` point ``x`` (clipped to the box)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.dim,):
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}")
        return {
            n: d.decode(v) for n, d, v in zip(self.names, self._dims, x.tolist(), strict=True)
        }

    def __repr__(self) -> str:
        return f"SearchSpaceEncoder({self.space!r})"


class UnionSearchSpace:
    """Every parameter of the study's completed trials, for conditional search spaces.

    A parameter that appeared with two different distributions (a dynamic range) is left
    out, as are single-valued ones; the study's trials are read incrementally. A trial uses
    the parameters of its branch and ignores the others (inactive dimensions).
    """

    def __init__(self) -> None:
        self._space: dict[str, BaseDistribution] = {}
        self._conflicts: set[str] = set()
        self._seen: set[int] = set()

    def calculate(self, trials: list[Any]) -> dict[str, BaseDistribution]:
        for t in trials:
            if t.number in self._seen:
                continue
            self._seen.add(t.number)
            for name, dist in t.distributions.items():
                old = self._space.get(name)
                if old is None and name not in self._conflicts:
                    self._space[name] = dist
                elif old is not None and old != dist:
                    del self._space[name]
                    self._conflicts.add(name)
        return {k: v for k, v in sorted(self._space.items()) if not v.single()}


class _BoxProblem:
    """Picklable ``fun(x)`` of :func:`box_problem` (worker processes can receive it)."""

    def __init__(self, fun: Callable[[dict[str, Any]], float], encoder: SearchSpaceEncoder
                 ) -> None:  # fmt: skip
        self.fun, self.encoder = fun, encoder

    def __call__(self, x: NDArray) -> float:
        return float(self.fun(self.encoder.decode(np.asarray(x, dtype=float))))


def box_problem(
    fun: Callable[[dict[str, Any]], float], space: Mapping[str, BaseDistribution]
) -> tuple[Callable[[NDArray], float], NDArray]:
    """``(f, bounds)`` for :func:`metaheur.minimize` from a function of a parameter dict.

    ``f(x) = fun(SearchSpaceEncoder(space).decode(x))`` on the box ``bounds = [-1, 1]^d``;
    e.g. ``box_problem(objective.evaluate, objective.search_space())`` for a model objective.
    """
    enc = SearchSpaceEncoder(space)
    return _BoxProblem(fun, enc), np.asarray(enc.bounds, dtype=float)
