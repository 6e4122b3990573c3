"""Archimedes Optimization Algorithm with dynamic Lévy flight (DLF-AOA).

Gowthami & Jayaseelan (2026), IAES IJ-AI 15(2):1451-1463, doi:10.11591/ijai.v15.i2.pp1451-1463,
§2.5.2 (vi), Eqs. 30-33 (spec: docs/algorithms.md §2.2, recovered from the damaged text in §2.1).
DLF-AOA is AOA (:mod:`metaheur.optimizers.aoa`, same defaults, phases and greedy
selection) plus two additive Lévy terms scaled by a geometrically decaying factor::

    A = (den_b + vol_b ⊙ acc_b) / (ρ ⊙ den ⊙ vol) + α·DCS_t·L1       # Eq. (30), no-collision only
    Â = u·(A − min A)/(max A − min A) + l          + α·DCS_t·L2       # Eq. (31), every iteration
    DCS_t = dcs0 · γ^(t−1)                                            # Eqs. (32)-(33), from t

The paper gives no scale α for its Lévy term. Our default ``levy_scale = 0.1`` was
calibrated on COCO BBOB (benchmarks/bbob.py; 24 functions, d = 2/5/10/20, instances 1-3,
fraction of the 51 targets 1e2..1e-8 reached, pop 30, common random numbers;
docs/algorithms.md §2.4). Mean over seeds 0-19, and on how many of the 20 seeds a setting
reached more targets than AOA (``--seeds 20 --paired aoa ...``; 7 Dec 2026, load 1-2)::

    budget     AOA     α = 1          α = 0.3        α = 0.1 (default)   α = 0.03
    100·d      .156    .131 (0/20)    .154 (6/20)    .162 (18/20)        .159 (13/20)
    1,000·d    .337    .296 (0/20)    .333 (8/20)    .344 (15/20)        .344 (19/20)

α = 0.1 is above AOA at both budgets (Wilcoxon signed-rank over the seeds, p = 1.3e-5 at
100·d and 0.005 at 1,000·d), above α = 0.03 at 100·d (16 of 20 seeds, p = 0.003) and level
with it at 1,000·d. α = 1 (the unscaled Mantegna step of the common MATLAB ``Levy`` helper,
our previous default, ``levy_scale="unscaled"``) is below AOA on every seed. The choice was
first read off seed 0 alone (α ∈ [0.03, 0.3] flat within noise, 0.01 lower), so a constant
serves every horizon T (a rule derived from T found nothing to exploit); one seed moves
these figures by about ±.01 (AOA at 100·d: .149-.164 over the 20).
On the tuning tasks of docs/benchmarks.md §5 (30-60 seeds, 50-200 trials) no scale
differs significantly from AOA; by seed counts 0.03 is level with AOA and 0.1 leans behind
it on two tasks (select-breast_cancer at 100 trials: better on 16 of 60 seeds, worse on 30,
p = 0.11).

``L1``, ``L2`` are independent Mantegna steps (docs/algorithms.md §0.4, β = ``levy_beta``),
drawn every iteration in which they are used: L2 always, L1 only outside the collision
phase (Eq. 30), as AOA draws only the uniforms of the branch taken. The carried
acceleration and ``acc_b`` include the Lévy term. DCS is derived from ``t``, never
accumulated, so a restored run is bit-identical.

Shared random stream (design choice): DLF-AOA *is* the AOA class with its
:meth:`~metaheur.optimizers.aoa.AOA._levy_terms` hook filled in. The hook runs right after
AOA's single uniform draw of the iteration and makes ONE normal draw of shape (2, k, N, D),
k = 1 (collision phase) or 2 (``levy_step(rng, β, (k, N, D), scale=α·DCS_t)``, into a
reused buffer). AOA itself draws nothing there, so it does not pay for 4·N·D unused
normals. Hence ``levy_scale=0`` reproduces, bit for bit, an AOA whose hook draws the same
normals and discards them (tests/test_dlf_aoa.py), not plain ``aoa`` with the same seed,
whose stream is shorter. The normals are most of DLF-AOA's cost over AOA
(``benchmarks/speed.py``).

Numerical guard: ``levy_step`` floors ``|v|`` so that ``|v|^(−1/β) <= 1e150``. For β ≥ 0.5
that needs ``|v| < 1e-75`` (probability below 1e-75 per draw), so the floor never changes
a real draw; it keeps an exact ``v = 0`` from giving ``inf`` and then ``0·inf = NaN``
positions. DLF-AOA always computes its Lévy terms and Eqs. 30-31 under ``np.errstate``
(huge but finite accelerations may overflow, see the zero-span guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from metaheur._ops import levy_step
from metaheur._params import Real
from metaheur._registry import register
from metaheur.optimizers.aoa import _C_MAX, AOA

__all__ = ["DLFAOA", "dcs", "LEVY_SCALES"]

#: Named values of ``levy_scale``: the unscaled Mantegna step (our default until the
#: BBOB calibration) and the calibrated default.
LEVY_SCALES = {"unscaled": 1.0, "calibrated": 0.1}


@dataclass(frozen=True)
class _LevyScale(Real):
    """``levy_scale``: a finite real number >= 0, or a name from :data:`LEVY_SCALES`.

    A name is an alias: it is resolved here, so ``params`` and the state's configuration
    hold the number (``"unscaled"`` and ``1.0`` give the same optimizer and state)."""

    def describe(self) -> str:
        return super().describe() + f", or one of {sorted(LEVY_SCALES)}"

    def _convert(self, value: Any) -> float | None:
        if isinstance(value, str):
            return LEVY_SCALES.get(value)
        return super()._convert(value)


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
    α (0.1, calibrated on BBOB; the paper gives no scale; ``"unscaled"`` is α = 1),
    ``levy_beta`` β (1.5, Mantegna), ``dcs0`` (1.0) and
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
        "levy_scale": 0.1,
        "levy_beta": 1.5,
        "dcs0": 1.0,
        "dcs_decay": 0.99,
    }

    _levy_buf: NDArray | None = None
    constraints = {
        **AOA.constraints,
        # Mantegna's σ_u ≈ 1.2533^(1/β) overflows a double below β ≈ 3.2e-4
        "levy_scale": _LevyScale(0.0, _C_MAX), "levy_beta": Real(1e-3, 2.0),
        "dcs0": Real(0.0, _C_MAX), "dcs_decay": Real(0.0, 1.0, low_open=True),
    }  # fmt: skip

    def _check_params(self) -> None:
        super()._check_params()
        self._fp_guard = True  # Lévy terms up to ±α·DCS·σ_u·|u|·1e150 reach acc_b, then Eq. (30)

    def _levy_terms(self, t: int, collide: bool) -> tuple[NDArray | None, NDArray]:
        N, D = self.pop_size, self.dim
        k = 1 if collide else 2  # L1 only where Eq. (30) uses it
        buf = self._levy_buf  # scratch, reused every iteration (no page faults at large N)
        if buf is None or buf.size != 4 * N * D:
            buf = self._levy_buf = np.empty(4 * N * D)
        L = levy_step(self.rng, self.levy_beta, (k, N, D),
                      out=buf[: 2 * k * N * D].reshape(2, k, N, D),
                      scale=self.levy_scale * dcs(t, self.dcs0, self.dcs_decay))  # α·DCS_t·L
        return (None, L[0]) if collide else (L[0], L[1])
