"""Ant Colony Optimization for continuous domains (ACOR).

Socha & Dorigo (2008), *Ant colony optimization for continuous domains*, EJOR 185(3):1155-1173,
doi:10.1016/j.ejor.2006.06.046 (spec: docs/algorithms.md §5). A solution archive ``S`` of
``k`` rows, sorted by value, defines a Gaussian mixture; each ant picks one row and
samples around it. The equations, numbered here (rank ``l = 1..k``, 1-based)::

    (1)  ω_l = exp(−(l − 1)² / (2 q² k²)) / (q k √(2π))
    (2)  p_l = ω_l / Σ_r ω_r
    (3)  σ_lj = ξ Σ_e |S_ej − S_lj| / (k − 1)
    (4)  x = S_ℓ + σ_ℓ ⊙ N(0, I),   ℓ ~ p    (one kernel per ant)
    (5)  S <- the k best of [S; new ants], stable (archive rows win ties)

Choices (docs/algorithms.md §5): ``k = pop_size`` and ``m = n_ants = pop_size`` by default
(the paper: k = 50, m = 2), so every ask has the population size; the kernel is drawn
once per ant as in the paper (``kernel_per_dim=True`` draws it per coordinate, as
Yarpiz and mealpy do); the paper's optional rotation of the coordinate system (variable
correlation handling, docs/algorithms.md §5.1) is ``rotation=True``, off by default. With
the published q = 1e-4, every ω_l with l > 1 underflows to 0 for k < ~5,000, so all
ants sample around the best row; that is faithful (q ≈ 0.1 is better on multimodal
functions, see docs/algorithms.md §10.3).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._base import Optimizer
from metaheur._params import Flag, Integer, Real
from metaheur._registry import register
from metaheur._state import Field
from metaheur.optimizers._aco_rotation import rotated_samples

__all__ = ["ACOR", "rank_probabilities", "abs_dev_sums"]

#: Up to this many candidate kernels, Eq. (3) is evaluated by broadcasting
#: (O(rows · k · D)); above it, by a per-column sort and prefix sums (O(k log k · D)).
_BROADCAST_ROWS = 4


def rank_probabilities(k: int, q: float) -> NDArray:
    """Selection probabilities ``p_l`` of Eqs. (1)-(2) for ranks ``l = 1..k``.

    The constant factor ``1/(q k √(2π))`` of ω cancels in ``p``; dropping it avoids an
    overflow for tiny ``q``. Underflow of ``exp`` to 0 is intended (``p`` one-hot).
    """
    with np.errstate(over="ignore", under="ignore"):  # z, z² -> inf for tiny q: e -> 0
        z = np.arange(k, dtype=float) / (q * k)  # (l − 1) / (q k); z[0] = 0 even for tiny q
        e = np.exp(-0.5 * (z * z))  # Eq. (1) without its constant
    return e / e.sum()  # Eq. (2); e[0] = 1, so the sum is >= 1


def abs_dev_sums(S: NDArray, rows: int | None = None) -> NDArray:
    """``Σ_e |S[e, j] − S[l, j]|`` for ``l < rows`` (all rows by default), shape (rows, D).

    Few rows: broadcasting. Many: per column, sort and use prefix sums, with the
    values shifted by the column minimum first so that a collapsed column (spread of a
    few ulps far from 0) keeps its precision. Loop version::

        for l in range(rows):
            for j in range(D):
                out[l, j] = sum(abs(S[e, j] - S[l, j]) for e in range(k))
    """
    k = S.shape[0]
    rows = k if rows is None else rows
    if rows <= _BROADCAST_ROWS:
        return np.abs(S[None, :, :] - S[:rows, None, :]).sum(axis=1)
    order = np.argsort(S, axis=0, kind="stable")
    Ss = np.take_along_axis(S, order, axis=0)
    Ss -= Ss[0]  # >= 0; exact (Sterbenz) where values are close
    cs = np.cumsum(Ss, axis=0)
    # sorted position i (0-based): i·s_i − (cs_i − s_i) + (cs_last − cs_i) − (k − 1 − i)·s_i
    coef = (2.0 * np.arange(k) + 2.0 - k)[:, None]
    dist = Ss * coef + (cs[-1] - 2.0 * cs)
    out = np.empty_like(S)
    np.put_along_axis(out, order, dist, axis=0)
    return out[:rows]


@register
class ACOR(Optimizer):
    """ACOR with archive size ``k = pop_size`` and ``n_ants`` samples per iteration.

    Hyper-parameters (:attr:`defaults`): ``q`` (locality of the rank weights, 1e-4),
    ``xi`` (ξ, speed of convergence, 0.85), ``n_ants`` (m; ``None`` means
    ``pop_size``), ``kernel_per_dim`` (False: one archive row per ant, as in the paper),
    ``rotation`` (False; True: each ant samples in coordinates rotated towards a second
    archive row, the paper's variable-correlation handling, :mod:`._aco_rotation`).
    :attr:`population` returns the archive, best row first.
    """

    name = "aco"
    summary = "Ant colony for continuous domains (ACOR): Gaussian kernels on a ranked archive"
    reference = (
        "Socha K., Dorigo M., Ant colony optimization for continuous domains, "
        "EJOR 185(3) (2008) 1155-1173, doi:10.1016/j.ejor.2006.06.046"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "q": 1e-4,
        "xi": 0.85,
        "n_ants": None,
        "kernel_per_dim": False,
        "rotation": False,
    }
    min_pop_size = 2  # Eq. (3) divides by k − 1

    constraints = {
        "q": Real(low=0.0, low_open=True),
        "xi": Real(low=0.0, low_open=True),
        "n_ants": Integer(low=1, none=True),  # None: pop_size
        "kernel_per_dim": Flag(),
        "rotation": Flag(),
    }
    # the archive, sorted; nothing is pending between ask and tell
    state_fields = {"_S": Field(("N", "D"), "point"), "_fS": Field(("N",), "value")}

    @classmethod
    def validate_params(cls, *, pop_size: int | None = None, **params: Any) -> dict[str, Any]:
        """The base check, and ``rotation`` needs one kernel per ant."""
        checked = super().validate_params(pop_size=pop_size, **params)
        if checked["rotation"] and checked["kernel_per_dim"]:
            raise ValueError("aco: rotation=True needs one kernel per ant; it cannot be "
                             "combined with kernel_per_dim=True")
        return checked

    def _check_params(self) -> None:
        m = self.n_ants
        self._m = self.pop_size if m is None else int(m)
        k = self.pop_size
        self._p = rank_probabilities(k, float(self.q))
        # Generator.choice(k, p=p) is `searchsorted(cdf, random(size), "right")` with this
        # cdf; precomputing it gives the same stream at a fraction of the cost.
        cdf = np.cumsum(self._p)
        self._cdf = cdf / cdf[-1]
        self._rows = int(np.count_nonzero(self._p))  # p decreases: only these rows get ants
        self._scale = float(self.xi) / (k - 1)
        self._cols = np.arange(self.dim)

    def _rounds(self) -> tuple[int, ...]:
        return (self._m,)

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        order = np.argsort(f, kind="stable")
        self._S, self._fS = X[order], f[order]

    def _ask(self, t: int, r: int) -> NDArray:
        m, D = self._m, self.dim
        S = self._S
        shape = (m, D) if self.kernel_per_dim else m
        ell = self._cdf.searchsorted(self.rng.random(shape), side="right")  # ℓ ~ p, Eq. (2)
        Z = self.rng.standard_normal((m, D))
        if self.rotation:  # σ along each ant's own axes (docs/algorithms.md §5.1)
            return rotated_samples(S, ell, Z, self.rng.random(m), self._scale)
        sigma = abs_dev_sums(S, self._rows)  # Eq. (3), rows that can be chosen
        sigma *= self._scale
        # Eq. (4), x = S_ℓ + σ_ℓ ⊙ z, computed in Z's storage (products and sums commute)
        if self._rows == 1:  # p one-hot (the default q): every ant samples around row 0
            Z *= sigma[0]  # bit-identical to the general case with ℓ = 0
            Z += S[0]
            return Z
        if self.kernel_per_dim:  # ℓ per ant and coordinate (Yarpiz / mealpy)
            Z *= sigma[ell, self._cols]
            Z += S[ell, self._cols]
            return Z
        K = sigma.take(ell, axis=0)  # one kernel per ant
        Z *= K
        Z += S.take(ell, axis=0, out=K)
        return Z

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        if not f.min() < self._fS[-1]:  # no ant beats the worst row: the archive stays
            return
        k = self.pop_size
        fa = np.concatenate((self._fS, f))
        keep = np.argsort(fa, kind="stable")[:k]  # Eq. (5), archive first on ties
        new = keep >= k  # rows taken from the ants (no (k + m)·D temporary)
        S = self._S.take(np.where(new, 0, keep), axis=0)
        S[new] = X[keep[new] - k]
        self._S, self._fS = S, fa[keep]

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        """The archive ``S`` (sorted, best row first) and its values."""
        return self._S.copy(), self._fS.copy()
