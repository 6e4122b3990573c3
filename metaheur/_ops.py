"""Operators shared by several algorithms, as free functions of a ``Generator``."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["mantegna_sigma", "levy_step"]


def mantegna_sigma(beta: float) -> float:
    """σ_u of Mantegna's algorithm (docs/algorithms.md §0.4); 0.6965745025576967 for β = 1.5."""
    num = math.gamma(1.0 + beta) * math.sin(math.pi * beta / 2.0)
    den = math.gamma((1.0 + beta) / 2.0) * beta * 2.0 ** ((beta - 1.0) / 2.0)
    return (num / den) ** (1.0 / beta)


def levy_step(
    rng: np.random.Generator,
    beta: float,
    size: tuple[int, ...],
    *,
    out: NDArray | None = None,
) -> NDArray:
    """Symmetric Lévy-stable steps ``L = u / |v|^(1/β)`` by Mantegna (1994).

    ``u ~ N(0, σ_u²)`` and ``v ~ N(0, 1)`` come from ONE normal draw of shape
    ``(2, *size)`` (into ``out`` when given: the same stream, no allocation); the result
    is ``out[0]``. ``|v|`` is floored at the smallest positive double so that no
    ``inf``/``NaN`` can appear (no ``1e-9`` fudge, which would change the tail).

    The power is computed as ``exp(−log|v| / β)`` (vectorised ``log``/``exp`` are about a
    third cheaper than ``pow``); it differs from ``u / |v|**(1/β)`` by at most 4 ulp
    (relative 1e-15) in about 40 % of the steps, never in distribution.
    """
    if out is None:
        out = np.empty((2, *size))
    elif out.shape != (2, *size) or out.dtype != np.float64:
        raise ValueError(f"out must be a float64 array of shape {(2, *size)}, got "
                         f"{out.dtype} {out.shape}")
    rng.standard_normal(out=out)
    u, v = out[0], out[1]
    np.abs(v, out=v)
    np.maximum(v, np.finfo(float).tiny, out=v)
    np.log(v, out=v)
    v *= -1.0 / beta
    np.exp(v, out=v)  # |v|^(−1/β); overflows to inf only for v = tiny with β < ~0.5
    u *= mantegna_sigma(beta)
    u *= v
    return u
