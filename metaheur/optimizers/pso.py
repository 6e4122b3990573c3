"""Particle Swarm Optimization (PSO), global-best topology.

Kennedy & Eberhart (1995), *Particle swarm optimization*, Proc. ICNN, doi:10.1109/ICNN.1995.488968,
with the constriction coefficients of Clerc & Kennedy (2002), IEEE TEC 6(1):58-73,
doi:10.1109/4235.985692, written in the inertia form of Eberhart & Shi (2000), CEC
(spec: docs/algorithms.md §4). Initial velocity and confinement follow Clerc's Standard PSO 2007.
The equations, numbered here because the sources number them differently::

    (1)  v_i <- w v_i + c1 r1 ⊙ (p_i − x_i) + c2 r2 ⊙ (g − x_i)     r1, r2 ~ U(N, D)
    (2)  v_i <- clip(v_i, −v_max, v_max),  v_max = v_max_frac · (ub − lb)
    (3)  x_i <- clip(x_i + v_i, lb, ub);   v_ij <- 0 wherever x_ij was clipped
    (4)  p_i <- x_i if f(x_i) < f(p_i);    g = p_argmin f(p)

The position always moves (only the personal best is greedy) and ``g`` is fixed for a
whole iteration (synchronous update). Defaults: constriction with φ = 4.1, i.e.
χ = w = 0.729844 and c1 = c2 = χ · 2.05 = 1.496180. ``inertia="linear"`` gives the
Shi & Eberhart (1998) variant instead: w falls linearly from ``w_max`` = 0.9 at t = 1
to ``w_min`` = 0.4 at t = T, with c1 = c2 = 2 unless given.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._base import Optimizer
from metaheur._params import Choice, Real
from metaheur._registry import register
from metaheur._state import Field

__all__ = ["PSO"]

_INERTIA = ("constant", "linear")
_C_DEFAULT = {"constant": 1.496180, "linear": 2.0}  # Clerc & Kennedy 2002; Shi & Eberhart 1998


@register
class PSO(Optimizer):
    """Global-best PSO with constriction coefficients (or linearly decreasing inertia).

    Hyper-parameters (:attr:`defaults`): ``w`` (inertia, used when
    ``inertia="constant"``), ``c1``/``c2`` (cognitive/social; ``None`` means 1.496180
    with constant inertia and 2.0 with linear inertia), ``v_max_frac`` (velocity
    clamp as a fraction of ``ub − lb``), ``inertia``
    (``"constant"`` or ``"linear"``) and ``w_max``/``w_min`` (the linear schedule).
    :attr:`population` returns the personal bests.
    """

    name = "pso"
    summary = "Particle swarm, global best, Clerc-Kennedy constriction, SPSO-2007 confinement"
    reference = (
        "Kennedy J., Eberhart R., Particle swarm optimization, Proc. ICNN (1995) 1942-1948; "
        "Clerc M., Kennedy J., IEEE TEC 6(1) (2002) 58-73"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "w": 0.729844,
        "c1": None,
        "c2": None,
        "v_max_frac": 1.0,
        "inertia": "constant",
        "w_max": 0.9,
        "w_min": 0.4,
    }
    min_pop_size = 2
    # _V_new: velocity of the pending ask, committed by tell (export/restore mid-iteration).
    state_fields = {
        "_X": Field(("N", "D"), "point"), "_V": Field(("N", "D")),
        "_P": Field(("N", "D"), "point"), "_fP": Field(("N",), "value"),
        "_g": Field((), "index"), "_V_new": Field(("N", "D"), present="pending"),
    }  # fmt: skip
    constraints = {
        "w": Real(), "w_max": Real(), "w_min": Real(),
        "c1": Real(low=0.0, none=True), "c2": Real(low=0.0, none=True),  # None: by inertia
        "v_max_frac": Real(low=0.0, low_open=True),
        "inertia": Choice(*_INERTIA),
    }  # fmt: skip
    _R: NDArray | None = None

    def _check_params(self) -> None:
        for key in ("c1", "c2"):
            if self.params[key] is None:
                setattr(self, key, _C_DEFAULT[self.inertia])
        self._c = np.array([self.c1, self.c2], dtype=float)[:, None, None]
        with np.errstate(over="ignore"):  # a fraction so large it overflows: no clamp
            self._v_max = self.v_max_frac * (self.upper - self.lower)
        self._v_min = -self._v_max

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._X = X
        # SPSO 2007: V0 = (U(lb, ub) − X0) / 2
        self._V = (self._uniform(X.shape) - X) * 0.5
        self._P, self._fP = X.copy(), f.copy()
        self._g = int(np.argmin(f))
        self._V_new = None

    def _inertia(self, t: int) -> float:
        if self.inertia == "constant":
            return self.w
        return self.w_max - (self.w_max - self.w_min) * (t - 1) / max(self.max_iter - 1, 1)

    def _ask(self, t: int, r: int) -> NDArray:
        X, P = self._X, self._P
        R = self._R  # scratch for r1, r2: per particle AND per dimension, redrawn in place
        if R is None or R.shape[1:] != X.shape:
            R = self._R = np.empty((2, *X.shape))
        self.rng.random(out=R)  # the stream of rng.random((2, N, D)), without allocating
        R *= self._c  # c1 r1, c2 r2
        d = P - X
        R[0] *= d
        np.subtract(P[self._g], X, out=d)
        R[1] *= d
        V = self._V * self._inertia(t)  # Eq. (1)
        V += R[0]
        V += R[1]
        np.minimum(V, self._v_max, out=V)  # Eq. (2)
        np.maximum(V, self._v_min, out=V)
        Xn = X + V  # Eq. (3)
        lo, hi = self._clip_bounds  # floats when the box is uniform (same result, faster)
        Xc = np.maximum(Xn, lo)
        np.minimum(Xc, hi, out=Xc)
        V *= Xc == Xn  # SPSO-2007 confinement: v = 0 (or -0.0) where x was clipped
        self._V_new = V
        return Xc

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        self._X, self._V, self._V_new = X, self._V_new, None  # X always moves
        imp = f < self._fP  # Eq. (4), strict <
        if imp.any():
            np.copyto(self._P, X, where=imp[:, None])
            np.copyto(self._fP, f, where=imp)
            self._g = int(self._fP.argmin())

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        """The personal bests ``P`` and their values."""
        return self._P.copy(), self._fP.copy()
