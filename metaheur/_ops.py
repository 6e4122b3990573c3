"""Operators shared by several algorithms, as free functions of a ``Generator``."""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["LEVY_CAP", "mantegna_sigma", "levy_step", "reflect_into_box"]


#: Largest factor ``|v|^(−1/β)`` of a Lévy step (see :func:`levy_step`).
LEVY_CAP = 1e150
_TINY = float(np.finfo(float).tiny)


@functools.lru_cache(maxsize=32)
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
    scale: float = 1.0,
) -> NDArray:
    """Symmetric Lévy-stable steps ``L = scale · u / |v|^(1/β)`` by Mantegna (1994).

    ``u ~ N(0, σ_u²)`` and ``v ~ N(0, 1)`` come from ONE normal draw of shape
    ``(2, *size)`` (into ``out`` when given: the same stream, no allocation); the result
    is ``out[0]``. ``scale`` multiplies ``σ_u`` (one pass fewer than scaling the result).

    ``|v|`` is floored at ``max(tiny, LEVY_CAP^(−β))`` so that ``|v|^(−1/β) <= LEVY_CAP``
    (1e150): no ``inf`` and no ``0·inf = NaN`` for any β > 0, and ``|L| <= scale·σ_u·|u|·1e150``.
    For β >= 0.5 the floor is below 1e-75, so it changes a draw with probability below
    1e-75 (no ``1e-9`` fudge, which would change the tail). The power is computed as
    ``exp(−log|v| / β)`` (vectorised ``log``/``exp`` are about a third cheaper than
    ``pow``); it differs from ``u / |v|**(1/β)`` by a few ulp, never in distribution.
    """
    if out is None:
        out = np.empty((2, *size))
    elif out.shape != (2, *size) or out.dtype != np.float64:
        raise ValueError(f"out must be a float64 array of shape {(2, *size)}, got "
                         f"{out.dtype} {out.shape}")
    rng.standard_normal(out=out)
    u, v = out[0], out[1]
    np.abs(v, out=v)
    np.maximum(v, _v_floor(beta), out=v)
    np.log(v, out=v)
    v *= -1.0 / beta
    np.exp(v, out=v)  # |v|^(−1/β) <= LEVY_CAP (up to rounding)
    u *= scale * mantegna_sigma(beta)
    u *= v
    return u


@functools.lru_cache(maxsize=32)
def _v_floor(beta: float) -> float:
    """``max(tiny, LEVY_CAP^(−β))``: the floor of ``|v|`` in :func:`levy_step`."""
    return max(_TINY, math.exp(-beta * math.log(LEVY_CAP)))


def reflect_into_box(X: NDArray, lower: NDArray, upper: NDArray) -> NDArray:
    """Fold the coordinates of ``X`` (``(n, d)``, in place) that left the box back into it
    (docs/algorithms.md §0, "Boundary handling"): a coordinate ``s`` beyond a bound lands
    ``s`` inside it, as many times over as the step is longer than the box (period
    ``2·(ub − lb)``). ``±inf`` goes to the bound it points at; NaN is left for the caller."""
    out = (X < lower) | (X > upper)
    if not out.any():
        return X
    lo = np.broadcast_to(lower, X.shape)[out]
    hi = np.broadcast_to(upper, X.shape)[out]
    v, width = X[out], hi - lo
    with np.errstate(invalid="ignore", over="ignore"):  # ±inf (or an overflow): clipped
        t = np.mod(v - lo, 2.0 * width)
        r = lo + (width - np.abs(t - width))
    # the clip also holds r to the box where hi - lo rounded up by an ulp
    X[out] = np.clip(np.where(np.isfinite(r), r, v), lo, hi)
    return X
