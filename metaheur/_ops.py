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


def levy_step(rng: np.random.Generator, beta: float, size: tuple[int, ...]) -> NDArray:
    """Symmetric Lévy-stable steps ``L = u / |v|^(1/β)`` by Mantegna (1994).

    ``u ~ N(0, σ_u²)`` and ``v ~ N(0, 1)`` come from ONE normal draw of shape
    ``(2, *size)``; ``|v|`` is floored at the smallest positive double so that no
    ``inf``/``NaN`` can appear (no ``1e-9`` fudge, which would change the tail).
    """
    uv = rng.standard_normal((2, *size))
    u = uv[0] * mantegna_sigma(beta)
    v = np.maximum(np.abs(uv[1]), np.finfo(float).tiny)
    return u / v ** (1.0 / beta)
