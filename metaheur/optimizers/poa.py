"""Pelican Optimization Algorithm (POA).

Trojovský & Dehghani (2022), *Pelican Optimization Algorithm: A Novel Nature-Inspired
Algorithm for Engineering Applications*, Sensors 22(3):855, doi:10.3390/s22030855
(spec: docs/algorithms.md §7), following the authors' ``POA.m`` where the two differ. Each
iteration has two ask/tell rounds of N points (2N evaluations)::

    (4)  phase 1, towards the prey p (a random member, frozen for the iteration):
         x' = x + r (p − I x)   if F_p < F_i,    x' = x + r (x − p)   otherwise
         r ~ U(N, 1) (one per agent, as in POA.m), I ∈ {1, 2} per agent
    (5)  greedy: x <- x' if F(x') <= F(x)
    (6)  phase 2, winging on the water surface:
         x' = x + R (1 − t/T) (2 r − 1) ⊙ x,   r ~ U(N, D), R = 0.2
    (7)  greedy as (5)

Choices of the reference code (docs/algorithms.md §7): the prey is an existing member (its
value is known, no extra evaluation) and acceptance is ``<=`` (drift across plateaus).
Faithful quirks kept on purpose: phase 2 is a zero move at t = T (N wasted evaluations)
and an agent that is the prey does not move in phase 1. Rows of a truncated last batch
that were never evaluated are rejected even against a failed (+inf) pelican. Phase 2
scales with |x| and I = 2 pulls towards 0, so POA is strongly origin-biased
(docs/algorithms.md §0.3, §10.3).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._base import Optimizer
from metaheur._params import Real
from metaheur._registry import register
from metaheur._state import Field

__all__ = ["POA"]


@register
class POA(Optimizer):
    """Pelican Optimization Algorithm; hyper-parameter ``R`` (phase-2 radius, 0.2)."""

    name = "poa"
    summary = "Pelican optimization: move towards a random prey, then shrink around oneself"
    reference = (
        "Trojovsky P., Dehghani M., Pelican Optimization Algorithm: A Novel Nature-Inspired "
        "Algorithm for Engineering Applications, Sensors 22(3) (2022) 855, "
        "doi:10.3390/s22030855"
    )
    defaults: ClassVar[dict[str, Any]] = {"R": 0.2}
    min_pop_size = 2  # with N = 1 the prey is the agent itself and nothing moves
    # Between phase 1 and phase 2 the prey (index, position, value) and the draws of
    # phase 1 are exported too, so a restored run is bit-identical at any point.
    state_fields = {
        "_X": Field(("N", "D"), "point"), "_fX": Field(("N",), "value"),
        "_prey": Field((), "index", present="iteration"),
        "_prey_x": Field(("D",), "point", present="iteration"),
        "_prey_f": Field((), "value", present="iteration"),
        "_I": Field(("N", 1), "real", 1.0, 2.0, present="iteration"),
        "_r": Field(("N", 1), "real", 0.0, 1.0, present="iteration"),
        "_n_eval": Field((), "count"),  # rows of the asked batch the core evaluates
    }  # fmt: skip
    constraints = {"R": Real(0.0, 1e3)}  # larger: 2 R c overflows (AOA caps its constants so)

    def _rounds(self) -> tuple[int, ...]:
        return (self.pop_size, self.pop_size)  # phase 1, phase 2: 2N evaluations

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._X, self._fX = X.copy(), f.copy()
        self._prey, self._prey_x, self._prey_f = None, None, None
        self._I, self._r = None, None
        self._n_eval = self.pop_size

    def _ask(self, t: int, r: int) -> NDArray:
        X = self._X
        # rows the core will hand out: fewer than N only in the budget's last batch
        self._n_eval = min(self.pop_size, self.budget - self.nfev)
        if r == 0:
            return self._phase1(X)
        c = self.R * (1.0 - t / self.max_iter)  # 0 at t = T: X comes back unchanged
        S = self.rng.random(X.shape)  # per agent AND per dimension
        S *= 2.0 * c
        S -= c  # R (1 − t/T) (2 r − 1)
        S *= X
        S += X  # Eq. (6)
        return S

    def _phase1(self, X: NDArray) -> NDArray:
        N = self.pop_size
        k = int(self.rng.integers(N))  # the prey: a random current member, frozen
        p, fp = X[k].copy(), self._fX[k]
        u = self.rng.random((2, N, 1))  # r and I, both per agent (shared by all dims)
        r = u[0]
        I = np.where(u[1] < 0.5, 1.0, 2.0)  # I ~ U{1, 2}
        self._prey, self._prey_x, self._prey_f, self._I, self._r = k, p, fp, I, r
        # Eq. (4) in one expression: with s = −r and J = 1 the second branch
        # x + r (x − p) is x + s (p − J x), bit for bit. Loop version:
        #   for i: Xc[i] = X[i] + r[i]*(p - I[i]*X[i]) if fp < fX[i] else X[i] + r[i]*(X[i] - p)
        better = (fp < self._fX)[:, None]
        s = np.where(better, r, -r)
        J = np.where(better, I, 1.0)
        Xc = J * X
        np.subtract(p, Xc, out=Xc)
        Xc *= s
        Xc += X
        return Xc

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        ok = f <= self._fX  # Eqs. (5) and (7), `<=` as in POA.m
        ok[self._n_eval :] = False  # never-evaluated rows (+inf) must not pass inf <= inf
        np.copyto(self._X, X, where=ok[:, None])
        np.copyto(self._fX, f, where=ok)
        if r == 1:
            self._prey, self._prey_x, self._prey_f, self._I, self._r = None, None, None, None, None

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        """The pelicans (greedy: each row is the best that agent has had) and values."""
        return self._X.copy(), self._fX.copy()
