"""Grey Wolf Optimizer (GWO).

Mirjalili, Mirjalili & Lewis (2014), *Grey Wolf Optimizer*, Adv. Eng. Softw. 69:46-61,
doi:10.1016/j.advengsoft.2013.12.007 (spec: docs/algorithms.md §6). Each wolf moves to the
mean of three steps towards the alpha, beta and delta wolves (Eqs. 3.5-3.7); |A|
shrinks as ``a`` falls linearly from 2 towards 0 (Eq. 3.3)::

    (3.3)  A = 2a r1 − a            (3.4)  C = 2 r2             r1, r2 ~ U(3, N, D)
    (3.5)  D_L = |C_L ⊙ x_L − x|    (3.6)  X_L = x_L − A_L ⊙ D_L   for L = α, β, δ
    (3.7)  x <- (X_α + X_β + X_δ) / 3

The leaders are the three best solutions found so far ("we save the first three best
solutions obtained so far"), updated with a cascade: a new α pushes the old α to β and
the old β to δ; ties keep the old leaders. The wolves always move (no greedy selection),
so the pack can get worse; ``a = 2 − 2 (t − 1)/T`` for ``t = 1..T``.

GWO is origin-biased: it finds an optimum at x = 0 orders of magnitude more easily than a
shifted one (Niu et al., KBS 171 (2019), doi:10.1016/j.knosys.2019.01.018; docs/algorithms.md
§0.3, §10.3). That is the published algorithm's behaviour, not a bug of this code. Near
the leaders a step is about ``A ⊙ |C − 1| ⊙ |x_L|``: it scales with the distance from the
origin, so on a shifted optimum the pack stalls at a few per cent of |x*| until ``a`` nears
0. ``gwo-ipop`` (:mod:`metaheur.restarts`) runs this class unchanged in short global runs
and in local runs centred on the best point, where the bias works for it (measured on
COCO BBOB in docs/algorithms.md §6 and §12).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._base import Optimizer
from metaheur._registry import register
from metaheur._state import Field

__all__ = ["GWO"]


@register
class GWO(Optimizer):
    """Grey Wolf Optimizer with best-so-far leaders (α, β, δ). No hyper-parameters.

    :attr:`population` returns the pack as last evaluated; :attr:`leaders` the leaders.
    """

    name = "gwo"
    summary = "Grey wolf optimizer: mean of steps towards the three best-so-far wolves"
    reference = (
        "Mirjalili S., Mirjalili S.M., Lewis A., Grey Wolf Optimizer, "
        "Adv. Eng. Softw. 69 (2014) 46-61, doi:10.1016/j.advengsoft.2013.12.007"
    )
    defaults: ClassVar[dict[str, Any]] = {}
    min_pop_size = 3  # three leaders
    # the pack and the leaders; nothing is pending between ask and tell
    state_fields = {
        "_X": Field(("N", "D"), "point"), "_fX": Field(("N",), "value"),
        "_L": Field((3, "D"), "point"), "_fL": Field((3,), "value"),
    }  # fmt: skip
    _R: NDArray | None = None

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._X, self._fX = X, f
        top = np.argsort(f, kind="stable")[:3]
        self._L, self._fL = X[top], f[top]

    def _ask(self, t: int, r: int) -> NDArray:
        a = 2.0 - 2.0 * (t - 1) / self.max_iter
        # In a box near the float range the steps are taken in units of 16 (exact: a power
        # of two), so that sums of leaders cannot overflow into inf − inf = NaN.
        s = 1.0 / 16.0 if self._huge else 1.0
        Ls, Xs = (self._L, self._X) if s == 1.0 else (self._L * s, self._X * s)
        L = Ls[:, None, :]  # (3, 1, D): α, β, δ
        R = self._R  # scratch: r1, r2 per leader, wolf and dimension, redrawn in place
        if R is None or R.shape[2:] != self._X.shape:
            R = self._R = np.empty((2, 3, *self._X.shape))
        self.rng.random(out=R)  # the stream of rng.random(R.shape), without allocating
        # The 1/3 of Eq. (3.7) is folded into A: mean_L(x_L − A_L D_L) = mean(x_L) − Σ_L A_L D_L/3.
        # Loop version: for i in range(N): Xn[i] = sum(L[j] - A[j, i] * abs(C[j, i] * L[j] - X[i])
        #                                          for j in range(3)) / 3
        A3 = R[0]
        A3 *= 2.0 * a / 3.0
        A3 -= a / 3.0  # Eq. (3.3), divided by 3
        CD = R[1]
        CD *= 2.0 * L  # C ⊙ x_L with C = 2 r2, Eq. (3.4)
        CD -= Xs
        np.abs(CD, out=CD)  # Eq. (3.5)
        A3 *= CD  # A_L D_L / 3, Eq. (3.6)
        Xn = Ls.sum(axis=0) / 3.0 - A3[0]  # Eq. (3.7); sum / 3 is .mean(), faster
        Xn -= A3[1]
        Xn -= A3[2]
        return Xn if s == 1.0 else Xn / s  # ±inf beyond the box is clipped

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        self._X, self._fX = X, f  # non-greedy: always replace
        if not f.min() < self._fL[2]:  # nothing beats δ: the leaders stay (ties included)
            return
        pool = np.concatenate((self._fL, f))
        top = np.argsort(pool, kind="stable")[:3]  # old leaders first on ties: cascade
        self._L = np.concatenate((self._L, X))[top]
        self._fL = pool[top]

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        """The pack as last evaluated (non-greedy) and its values."""
        return self._X.copy(), self._fX.copy()

    @property
    def leaders(self) -> tuple[NDArray, NDArray]:
        """α, β, δ (best three so far), shape (3, D), and their values."""
        return self._L.copy(), self._fL.copy()
