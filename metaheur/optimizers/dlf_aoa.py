"""Archimedes Optimization Algorithm with dynamic Lévy flight (DLF-AOA).

Gowthami & Jayaseelan (2026), IAES IJ-AI 15(2):1451-1463, doi:10.11591/ijai.v15.i2.pp1451-1463,
§2.5.2 (vi), Eqs. 30-33 (spec: docs/algorithms.md §2.2, recovered from the damaged text in §2.1).
DLF-AOA is AOA (:mod:`metaheur.optimizers.aoa`, same defaults, phases and greedy
selection) plus two additive Lévy terms scaled by a geometrically decaying factor::

    A = (den_b + vol_b ⊙ acc_b) / (ρ ⊙ den ⊙ vol) + α·DCS_t·L1       # Eq. (30), no-collision only
    Â = u·(A − min A)/(max A − min A) + l          + α·DCS_t·L2       # Eq. (31), every iteration
    DCS_t = dcs0 · γ^(t−1)                                            # Eqs. (32)-(33), from t

``L1``, ``L2`` are independent Mantegna steps (docs/algorithms.md §0.4, β = ``levy_beta``), drawn
every iteration, even in the collision phase where L1 is unused. The carried acceleration
and ``acc_b`` include the Lévy term. DCS is derived from ``t``, never accumulated, so a
restored run is bit-identical.

Shared random stream (design choice): DLF-AOA *is* the AOA class with its
:meth:`~metaheur.optimizers.aoa.AOA._levy_terms` hook filled in. The hook runs right after
AOA's single uniform draw of the iteration and makes ONE normal draw of shape (2, 2, N, D)
(``levy_step(rng, β, (2, N, D))``). AOA itself draws nothing there, so it does not pay for
6·N·D unused normals. Hence ``levy_scale=0`` reproduces, bit for bit, an AOA whose hook
draws the same normals and discards them (tests/test_dlf_aoa.py), not plain ``aoa`` with
the same seed, whose stream is shorter.

Numerical guard: the Lévy steps are clipped to ±1e150 before scaling. For β ≥ 0.5 that
needs ``|v| < 1e-74`` (probability below 1e-74 per draw), so the clip never changes a real
draw; it keeps an exact ``v = 0`` (floored at the smallest double, §0.4) with β ≤ 1 from
giving ``inf`` and then ``0·inf = NaN`` positions. DLF-AOA always computes Eqs. 30-31
under ``np.errstate`` (huge but finite accelerations may overflow, see the zero-span guard).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._ops import levy_step
from metaheur._registry import register
from metaheur.optimizers.aoa import AOA, _check_real

__all__ = ["DLFAOA", "dcs"]

_LEVY_CAP = 1e150


def dcs(t: int, dcs0: float = 1.0, decay: float = 0.99) -> float:
    """Dynamic candidate-solution factor ``DCS_t = dcs0·decay^(t−1)`` for t = 1, 2, ...

    Iteration 1 uses DCS(0) = dcs0 (Eq. 32); Eq. (33) multiplies by ``decay`` after each
    iteration. Computed from ``t`` directly, never accumulated.
    """
    return dcs0 * decay ** (t - 1)  # Eqs. (32)-(33)


@register
class DLFAOA(AOA):
    """AOA with dynamic Lévy flight (docs/algorithms.md §2.2).

    Hyper-parameters: those of :class:`~metaheur.optimizers.aoa.AOA` plus ``levy_scale``
    α (1.0; the paper gives no scale), ``levy_beta`` β (1.5, Mantegna), ``dcs0`` (1.0) and
    ``dcs_decay`` γ (0.99). The state is AOA's; the only extra schedule, DCS, comes from t.
    """

    name = "dlf-aoa"
    summary = "AOA with dynamic Levy flight: Levy terms in Eqs. 30-31 scaled by 0.99^(t-1)"
    reference = (
        "K. Gowthami, K. Jayaseelan, Exponential long short-term memory with Levy flight "
        "optimization for lung nodule classification, IAES International Journal of "
        "Artificial Intelligence 15(2) (2026) 1451-1463, doi:10.11591/ijai.v15.i2.pp1451-1463"
    )
    defaults: ClassVar[dict[str, Any]] = {
        **AOA.defaults,
        "levy_scale": 1.0,
        "levy_beta": 1.5,
        "dcs0": 1.0,
        "dcs_decay": 0.99,
    }

    _levy_buf: NDArray | None = None

    def _check_params(self) -> None:
        super()._check_params()
        _check_real(self, "levy_scale", lambda v: v >= 0, " >= 0")
        _check_real(self, "levy_beta", lambda v: 0 < v <= 2, " in (0, 2]")
        _check_real(self, "dcs0", lambda v: v >= 0, " >= 0")
        _check_real(self, "dcs_decay", lambda v: 0 < v <= 1, " in (0, 1]")
        self._fp_guard = True  # Lévy terms up to ±α·1e150 reach acc_b and then Eq. (30)

    def _levy_terms(self, t: int) -> NDArray:
        shape = (2, self.pop_size, self.dim)
        buf = self._levy_buf  # scratch, reused every iteration (no page faults at large N)
        if buf is None or buf.shape[1:] != shape:
            buf = self._levy_buf = np.empty((2, *shape))
        with np.errstate(over="ignore", invalid="ignore"):
            L = levy_step(self.rng, self.levy_beta, shape, out=buf)  # L1, L2
        np.minimum(L, _LEVY_CAP, out=L)
        np.maximum(L, -_LEVY_CAP, out=L)
        L *= self.levy_scale * dcs(t, self.dcs0, self.dcs_decay)  # α·DCS_t·L
        return L
