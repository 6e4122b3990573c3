"""Archimedes Optimization Algorithm (AOA).

Hashim, Hussain, Houssein, Mabrouk & Al-Atabany (2021), Appl. Intell. 51:1531-1551,
doi:10.1007/s10489-020-01893-z (spec: docs/algorithms.md §1). Every agent is an object immersed
in a fluid with a density, a volume and an acceleration; selection is greedy per agent
(strict ``<``). One iteration t = 1..T (equation numbers of the AOA paper)::

    TF = exp((t − T)/T),   d = exp((T − t)/T) − t/T                       # Eqs. (8), (9)
    den += r·(den_b − den),   vol += r·(vol_b − vol)    (r: one scalar)    # Eq. (7)
    A = (den_mr + vol_mr ⊙ acc_mr) / (ρ ⊙ den ⊙ vol)      if TF < tf_collision   # Eq. (10)
    A = (den_b + vol_b ⊙ acc_b) / (ρ ⊙ den ⊙ vol)         otherwise              # Eq. (11)
    Â = u·(A − min A)/(max A − min A) + l      (one global min and max)   # Eq. (12)
    Xc = X + C1·R ⊙ Â ⊙ (P − X)·d                         if TF < tf_explore     # Eq. (13)
    Xc = x_b + F ⊙ C2·R ⊙ Â ⊙ (min(C3·TF, 1)·x_b − X)·d   otherwise              # Eq. (14)
    F = +1 if 2·U − C4 <= 0.5 else −1                                     # Eq. (15)

We implement the behaviour of the authors' reference ``AOA.m`` with its boundary bug fixed
(docs/algorithms.md §1.2, §9.1): thresholds ``tf_collision=0.45`` / ``tf_explore=0.40``, the
extra per-agent divisor ρ = 1 − U ∈ (0, 1] (``acc_rand_divisor``) and a random partner P
per dimension (``partner_per_dim``). The printed equations stagnate (§10.3);
``tf_collision=tf_explore=0.5, acc_rand_divisor=False, partner_per_dim=False`` give the
paper-literal variant. A zero (negligible or non-finite) span in Eq. 12 gives the constant
``l + u/2`` instead of NaN. den, vol and acc are updated for every agent, accepted or not;
``acc_b`` is the raw Eq. 6 value until the first improvement, then the best agent's Â.
Candidates outside the box are clipped (published); ``boundary="reflect"`` folds them back
inside instead (not published; docs/algorithms.md §1.7: clipping piles a tuning study's
trials on the bounds of its ranges).

Random numbers (§1.6): ONE ``rng.random`` call per iteration, laid out by
:class:`DrawLayout` as ``[R (N·D) | P of Eq. 15, or per-dimension partners (N·D) | r |
ρ (N) | mr (N) | per-agent partners (N)]``; a part is absent when its branch or switch is
off. The indices
``mr`` and the partners are ``floor(N·U)``: uniform on 0..N-1 like ``rng.integers(0, N)``
but without a second call. DLF-AOA (:mod:`metaheur.optimizers.dlf_aoa`) is this class with
the hook :meth:`AOA._levy_terms` filled in (called right after the uniform draw, under the
floating-point guard); AOA draws nothing there.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from metaheur._base import Optimizer
from metaheur._ops import reflect_into_box
from metaheur._params import Choice, Flag, Real
from metaheur._registry import register
from metaheur._state import Field

__all__ = [
    "AOA",
    "DrawLayout",
    "Draws",
    "transfer_factor",
    "density_factor",
    "normalize_acceleration",
    "apply_flag",
]

_NO_FP_GUARD = contextlib.nullcontext()
#: Raw accelerations (Eq. 6, in bound units) divided by ρ·den·vol >= 2^-159 cannot overflow
#: below this bound magnitude; wider boxes compute Eqs. 10-12 under ``np.errstate``.
_HUGE_BOUND = 1e200
_DV_MIN = float(np.finfo(float).tiny)  # den, vol > 0: 1 − U >= 2^-53 (Eq. 5), Eq. 7 mixes


def transfer_factor(t: float, T: float) -> float:
    """TF(t) = exp((t − T)/T), at most 1: rises from about e⁻¹ at t = 1 to 1 at t = T."""
    return min(1.0, math.exp((t - T) / T))  # Eq. (8)


def density_factor(t: float, T: float) -> float:
    """d(t) = exp((T − t)/T) − t/T: falls from e at t = 0 to 0 at t = T."""
    return math.exp((T - t) / T) - t / T  # Eq. (9)


def normalize_acceleration(
    A: NDArray, u: float, l: float, *, out: NDArray | None = None
) -> NDArray:
    """Global min-max normalisation of the accelerations onto ``[l, u + l]`` (Eq. 12).

    One minimum and one maximum over all N·D entries (not per column). When the span is
    zero, negligible (``<= 1e-12·max(|min|, |max|)``) or not finite, every entry is
    ``l + u/2`` (docs/algorithms.md §1.7), so no NaN can appear. ``out`` may be ``A``.
    """
    lo, hi = float(np.minimum.reduce(A, axis=None)), float(np.maximum.reduce(A, axis=None))
    span = hi - lo
    if 1e-12 * max(abs(lo), abs(hi)) < span < math.inf:
        out = np.subtract(A, lo, out=out)
        out *= u / span  # (max attained up to one rounding of u/span)
        out += l  # Eq. (12)
        return out
    if out is None:
        return np.full(A.shape, l + 0.5 * u)
    out.fill(l + 0.5 * u)
    return out


def apply_flag(R: NDArray, P: NDArray, C4: float, *, out: NDArray | None = None) -> NDArray:
    """``F ⊙ R`` with the direction flag ``F = +1 if 2·P − C4 <= 0.5 else −1`` (Eq. 15).

    ``P ~ U[0, 1)``; ``2·P − C4 <= 0.5`` is evaluated as ``P <= (0.5 + C4)/2`` and the sign
    is applied with one ``copysign`` (a zero difference is +0, so equality gives +1).
    With ``C4 = 2`` the flag is always +1; with ``C4 = 0.5`` it is +1 half of the time.
    """
    out = np.subtract((0.5 + C4) / 2.0, P, out=out)
    return np.copysign(R, out, out=out)  # Eq. (15)

#: Largest value accepted for AOA's constants C1-C4, u and l (and DLF-AOA's α, DCS_0).
_C_MAX = 1e3

class Draws(NamedTuple):
    """The uniforms of one AOA iteration, as views of one draw (docs/algorithms.md §1.6).

    ``R`` (N, D) of Eqs. 13-14; ``M`` (N, D): the flag's ``P`` of Eq. 15 (exploitation) or
    the per-dimension partner uniforms (exploration), else None; ``r`` the scalar of
    Eq. 7; ``rho`` (N,) the divisor uniforms; ``mr`` (N,) the material uniforms of
    Eq. 10; ``partner`` (N,) the per-agent partner uniforms. Absent parts are None.
    """

    R: NDArray
    M: NDArray | None
    r: float
    rho: NDArray | None
    mr: NDArray | None
    partner: NDArray | None


class DrawLayout(NamedTuple):
    """Which uniforms an AOA iteration needs; :meth:`draw` makes them in ONE call.

    Order in the stream: ``[R (N·D) | M (N·D) | r | rho (N) | mr (N) | partner (N)]``,
    absent parts taking no room, so every phase and switch has a fixed, documented
    stream. Indices ``floor(N·U)`` are uniform on 0..N-1 like ``rng.integers(0, N)``.
    """

    N: int
    D: int
    flag: bool  # M holds Eq. 15's P (exploitation)
    partners_per_dim: bool  # M holds per-dimension partners (exploration)
    rho: bool
    materials: bool  # collision phase: mr of Eq. 10
    partners_per_agent: bool  # exploration with one partner per agent

    def sizes(self) -> tuple[int, int, int, int, int, int]:
        """Lengths of ``R, M, r, rho, mr, partner`` in the draw."""
        N, ND = self.N, self.N * self.D
        return (ND, ND if self.flag or self.partners_per_dim else 0, 1,
                N if self.rho else 0, N if self.materials else 0,
                N if self.partners_per_agent else 0)

    def draw(self, rng: np.random.Generator) -> Draws:
        sizes = self.sizes()
        U = rng.random(sum(sizes))
        parts, k = [], 0
        for n in sizes:
            parts.append(U[k : k + n] if n else None)
            k += n
        R, M, r, rho, mr, partner = parts
        shape = (self.N, self.D)
        return Draws(R.reshape(shape), None if M is None else M.reshape(shape), r[0],
                     rho, mr, partner)


@register
class AOA(Optimizer):
    """Archimedes Optimization Algorithm, reference-code behaviour (docs/algorithms.md §1.2-1.5).

    Hyper-parameters: ``C1``, ``C2``, ``C3``, ``C4`` (2, 6, 2, 0.5: the CEC/engineering
    setting), ``u``, ``l`` (0.9, 0.1; Eq. 12), ``tf_collision`` (0.45), ``tf_explore``
    (0.40), ``acc_rand_divisor`` (True), ``partner_per_dim`` (True).

    State (names as in §1.3): ``X``, ``fX``; ``dv`` = stacked ``(den, vol)`` of shape
    (2, N, D); ``acc``; the best agent ``x_b``, ``f_b``, ``dv_b`` (2, 1, D) and ``acc_b``.
    Between ask and tell the new ``dv`` and the new normalised acceleration Â are pending
    in ``_dv_new`` and ``_acc_new`` (committed by tell, for every agent).
    """

    name = "aoa"
    summary = "Archimedes Optimization Algorithm (reference AOA.m behaviour, greedy selection)"
    reference = (
        "F. A. Hashim, K. Hussain, E. H. Houssein, M. S. Mabrouk, W. Al-Atabany, Archimedes "
        "optimization algorithm: a new metaheuristic algorithm for solving optimization "
        "problems, Applied Intelligence 51 (2021) 1531-1551, doi:10.1007/s10489-020-01893-z"
    )
    defaults: ClassVar[dict[str, Any]] = {
        "C1": 2.0,
        "C2": 6.0,
        "C3": 2.0,
        "C4": 0.5,
        "u": 0.9,
        "l": 0.1,
        "tf_collision": 0.45,
        "tf_explore": 0.40,
        "acc_rand_divisor": True,
        "partner_per_dim": True,
        "boundary": "clip",
    }
    min_pop_size = 2
    # upper limits: far above every published setting, low enough that no product of
    # the constants overflows to inf/NaN (1e308 did; tests/test_aoa.py)
    constraints = {
        "C1": Real(0.0, _C_MAX, low_open=True), "C2": Real(0.0, _C_MAX, low_open=True),
        "C3": Real(0.0, _C_MAX, low_open=True), "C4": Real(-_C_MAX, _C_MAX),
        "u": Real(0.0, _C_MAX, low_open=True), "l": Real(0.0, _C_MAX),
        "tf_collision": Real(0.0, 1.0, low_open=True), "tf_explore": Real(0.0, 1.0, low_open=True),
        "acc_rand_divisor": Flag(), "partner_per_dim": Flag(),
        "boundary": Choice("clip", "reflect"),
    }  # fmt: skip
    # den and vol lie in (0, 1] (Eqs. 5 and 7 keep them there)
    state_fields = {
        "_X": Field(("N", "D"), "point"), "_fX": Field(("N",), "value"),
        "_dv": Field((2, "N", "D"), "real", _DV_MIN, 1.0), "_acc": Field(("N", "D")),
        "_x_b": Field(("D",), "point"), "_f_b": Field((), "value"),
        "_dv_b": Field((2, 1, "D"), "real", _DV_MIN, 1.0), "_acc_b": Field(("D",)),
        "_dv_new": Field((2, "N", "D"), "real", _DV_MIN, 1.0, present="pending"),
        "_acc_new": Field(("N", "D"), present="pending"),
    }  # fmt: skip

    X: NDArray | None = None
    fX: NDArray | None = None
    _dv_new: NDArray | None = None
    _acc_new: NDArray | None = None

    # ------------------------------------------------------------------ setup
    def _check_params(self) -> None:
        self._cols = np.arange(self.dim)  # column index of the per-dimension partners
        # overflow in Eqs. 10-12 is possible (and handled by the zero-span guard) only with
        # astronomically wide boxes; errstate costs ~1 µs, so it is used only then
        bound = max(np.abs(self.lower).max(), np.abs(self.upper).max())
        self._fp_guard = bool(bound > _HUGE_BOUND)

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        N, D = self.pop_size, self.dim
        U = self.rng.random((3, N, D))  # den, vol, acc: per agent and dimension
        self._X, self._fX = X.copy(), f.copy()  # Eq. (4) (drawn by the core)
        self._dv = 1.0 - U[:2]  # Eq. (5), in (0, 1]: den = dv[0], vol = dv[1]
        self._acc = self.lower + U[2] * (self.upper - self.lower)  # Eq. (6), raw
        b = int(np.argmin(f))
        self._x_b, self._f_b = self._X[b].copy(), float(f[b])
        self._dv_b = self._dv[:, b : b + 1].copy()  # (2, 1, D)
        self._acc_b = self._acc[b].copy()
        self._dv_new = self._acc_new = None

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        if self._X is None:
            return np.empty((0, self.dim)), np.empty(0)
        return self._X.copy(), self._fX.copy()

    # ------------------------------------------------------------ iteration
    def _levy_terms(self, t: int, collide: bool) -> tuple[NDArray | None, NDArray] | None:
        """DLF-AOA hook: ``(α·DCS_t·L1, α·DCS_t·L2)``, each (N, D), L1 None in the collision
        phase (Eq. 30 replaces Eq. 11 only); None for AOA, which draws nothing here."""
        return None

    def _ask(self, t: int, r: int) -> NDArray:
        N, X = self.pop_size, self._X
        TF = transfer_factor(t, self.max_iter)  # Eq. (8)
        d = density_factor(t, self.max_iter)  # Eq. (9)
        collide, explore = TF < self.tf_collision, TF < self.tf_explore
        U = self._layout(collide, explore).draw(self.rng)

        dv = np.subtract(self._dv_b, self._dv)
        dv *= U.r
        dv += self._dv  # Eq. (7): den + r·(den_b − den), vol likewise
        fp = _NO_FP_GUARD
        if self._fp_guard:
            fp = np.errstate(over="ignore", divide="ignore", invalid="ignore")
        with fp:
            lev = self._levy_terms(t, collide)  # DLF-AOA only: drawn right after U
            if collide:
                mr = (U.mr * N).astype(np.intp)  # random material; may equal i
                den_mr, vol_mr = dv.take(mr, axis=1)
                num = vol_mr * self._acc.take(mr, axis=0)
                num += den_mr  # den_mr + vol_mr ⊙ acc_mr, Eq. (10)
            else:
                num = self._dv_b[0, 0] + self._dv_b[1, 0] * self._acc_b  # Eq. (11), (D,)
            if U.rho is not None:  # ρ ∈ (0, 1], one per agent
                num = np.divide(num, 1.0 - U.rho[:, None])
            A = dv[0] * dv[1]
            np.divide(num, A, out=A)  # Eqs. (10)-(11): num / (ρ ⊙ den ⊙ vol)
            if lev is not None and lev[0] is not None:
                A += lev[0]  # DLF-AOA Eq. (30)
            Ah = normalize_acceleration(A, self.u, self.l, out=A)  # Eq. (12)
            if lev is not None:
                Ah += lev[1]  # DLF-AOA Eq. (31)

        if explore:
            if self.partner_per_dim:  # a different partner in every dimension
                P = X[(U.M * N).astype(np.intp), self._cols]
            else:  # one partner x_rand per agent (paper)
                P = X[(U.partner * N).astype(np.intp)]
            Xc = np.subtract(P, X)
            Xc *= U.R
            Xc *= Ah
            Xc *= self.C1 * d
            Xc += X  # Eq. (13): X + C1·R ⊙ Â ⊙ (P − X)·d
        else:
            Xc = apply_flag(U.R, U.M, self.C4, out=U.M)  # F ⊙ R, Eq. (15) (in U's storage)
            Xc *= self.C2 * d
            Xc *= Ah
            Xc *= min(self.C3 * TF, 1.0) * self._x_b - X
            Xc += self._x_b  # Eq. (14): x_b + F ⊙ C2·R ⊙ Â ⊙ (Tt·x_b − X)·d
        self._dv_new, self._acc_new = dv, Ah
        if self.boundary == "reflect":  # not published: clipping is (docs §1.7)
            reflect_into_box(Xc, self.lower, self.upper)
        return Xc

    def _layout(self, collide: bool, explore: bool) -> DrawLayout:
        return DrawLayout(
            self.pop_size,
            self.dim,
            flag=not explore,
            partners_per_dim=explore and self.partner_per_dim,
            rho=self.acc_rand_divisor,
            materials=collide,
            partners_per_agent=explore and not self.partner_per_dim,
        )

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        keep = f < self._fX  # greedy, strict <; unevaluated rows are +inf
        np.copyto(self._X, X, where=keep[:, None])
        np.copyto(self._fX, f, where=keep)
        self._dv, self._acc = self._dv_new, self._acc_new  # for ALL agents
        self._dv_new = self._acc_new = None
        b = int(self._fX.argmin())
        if self._fX[b] < self._f_b:
            self._x_b, self._f_b = self._X[b].copy(), float(self._fX[b])
            self._dv_b = self._dv[:, b : b + 1].copy()
            self._acc_b = self._acc[b].copy()  # normalised Â of the new best
