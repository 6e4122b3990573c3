"""ACOR's variable-correlation handling: each ant samples in a rotated coordinate system.

Socha & Dorigo (2008), §3 (docs/algorithms.md §5.1), as we read it: the paper was not at
hand, so the rule for choosing the direction is quoted from memory. For the ant with
kernel row ``s_l = S[ℓ]``::

    (R1)  u ~ P(u) ∝ |S_u − s_l|⁴             a second archive row, far rows preferred
    (R2)  d̂ = (S_u − s_l) / |S_u − s_l|;    B = [d̂, b_2, .., b_D] by Gram–Schmidt
    (R3)  σ_j = ξ Σ_e |(S_e − s_l) · b_j| / (k − 1)     Eq. (3) in the new coordinates
    (R4)  x = s_l + B (σ ⊙ z),   z ~ N(0, I)            Eq. (4), rotated back

Our choices: ``B`` completes ``d̂`` with the Gram–Schmidt of the standard axes, last to
first (:func:`_gram_schmidt` has it in closed form, applied in O(D) per vector instead of
a QR factorisation per ant); ``u`` is one uniform draw per ant, after the kernel draws
and the normals of Eq. (4); an ant whose rows all coincide with ``s_l`` (collapsed
archive) gets a zero direction, whose basis is the standard one, and σ = 0 there. The
work is O(m · k · D) per iteration (Eq. (3) without rotation needs O(rows · k · D) for
the rows that can be chosen), done in chunks of ants of at most :data:`CHUNK_ELEMENTS`
array elements, so memory stays bounded (pop_size 1000, D = 20: about 1 s per ask).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["direction_basis", "pick_directions", "rotated_samples"]

#: Largest (ants × archive rows × D) block held at once, 2 MiB of doubles (two such blocks;
#: one ant per chunk when k·D alone is larger).
CHUNK_ELEMENTS = 1 << 18


def _gram_schmidt(d: NDArray) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Gram–Schmidt of ``[d̂, e_D, e_{D−1}, .., e_1]`` in closed form: ``u`` (n, D), ``a``,
    ``b`` (n, D), ``m`` (n,).

    With ``u = d̂`` and the prefix sums ``R_j = Σ_{i<=j} u_i²`` (0-based, ``R_{−1} = 0``),
    orthogonalising ``e_j`` against ``u`` and the axes after it gives, for ``j > m``
    (``m`` the first coordinate with ``u_m² > 0``)::

        q_j = a_j e_j − b_j Σ_{i<j} u_i e_i,  a_j = √(R_{j−1}/R_j),  b_j = u_j/√(R_j R_{j−1})

    ``e_m`` is the vector Gram–Schmidt drops (it depends on the others), and ``e_j`` for
    ``j < m`` is orthogonal to ``u`` already (``a_j = 1``, ``b_j = 0``). Slot ``m`` holds
    ``u`` itself (there ``a_m = b_m = 0``). The axes are taken last to first so that
    every sum runs forwards; a zero ``d`` is taken as ``e_1`` (the standard basis).
    """
    top = np.abs(d).max(axis=1)
    u = d / np.where(top > 0.0, top, 1.0)[:, None]  # scaled first: |d|² may overflow
    norm = np.sqrt(np.einsum("nd,nd->n", u, u))
    u /= np.where(norm > 0.0, norm, 1.0)[:, None]
    u[norm == 0.0, 0] = 1.0  # a zero direction: the first standard axis
    u[np.abs(u) < 1e-150] = 0.0  # |u| = 1: no subnormal squares in the prefix sums
    sq = u * u
    R = np.cumsum(sq, axis=1)
    R_prev = np.zeros_like(R)
    R_prev[:, 1:] = R[:, :-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(R > 0.0, np.sqrt(R_prev / R), 1.0)
        b = np.where(R_prev > 0.0, u / (np.sqrt(R) * np.sqrt(R_prev)), 0.0)
    m = np.argmax(sq > 0.0, axis=1)
    return u, a, b, m


def _slots(m: NDArray, D: int) -> NDArray:
    """Column of :func:`direction_basis` (``u`` first, then the ``q_j`` in order) held by
    each slot ``j`` of :func:`_gram_schmidt` (``u`` in slot ``m``), shape (n, D)."""
    j = np.arange(D)[None, :]
    return np.where(j < m[:, None], j + 1, np.where(j == m[:, None], 0, j))


def direction_basis(d: NDArray) -> NDArray:
    """Orthonormal bases ``B`` (n, D, D): ``d / |d|`` first, then the Gram–Schmidt of the
    standard axes (R2), explicitly. ``d`` is (n, D); a zero ``d`` gives the standard basis.
    The sampler applies ``B`` without forming it (O(D) per vector); this is for checks and
    for reading.
    """
    u, a, b, m = _gram_schmidt(d)
    n, D = d.shape
    i = np.arange(D)
    slots = a[:, None, :] * np.eye(D) - np.where(i[:, None] < i[None, :], 1.0, 0.0) * (
        u[:, :, None] * b[:, None, :])  # [row i, slot j]
    slots[np.arange(n), :, m] = u
    B = np.empty_like(slots)
    np.put_along_axis(B, np.broadcast_to(_slots(m, D)[:, None, :], B.shape), slots, axis=2)
    return B


def pick_directions(Y: NDArray, r: NDArray) -> NDArray:
    """Rows ``u`` drawn with probability ∝ |Y_u|⁴ (R1), one per ant.

    ``Y`` (n, k, D) holds the archive relative to each ant's kernel row; ``r`` (n,) are
    uniform draws in [0, 1). The squared distances are divided by their largest before
    the square; where they overflow or underflow, they are computed again from ``Y``
    divided by its largest entry. An ant whose distances are all 0 gets the last row (a
    zero direction).
    """
    d2 = np.einsum("nkd,nkd->nk", Y, Y)
    top = d2.max(axis=1)
    if not ((top > 1e-290) & (top < 1e290)).all():  # huge or tiny boxes, collapsed archives
        amax = np.maximum(Y.max(axis=(1, 2)), -Y.min(axis=(1, 2)))
        Yn = Y / np.where(amax > 0.0, amax, 1.0)[:, None, None]
        d2 = np.einsum("nkd,nkd->nk", Yn, Yn)
        top = d2.max(axis=1)
    d2 /= np.where(top > 0.0, top, 1.0)[:, None]
    cdf = np.cumsum(d2 * d2, axis=1)
    u = np.count_nonzero(cdf <= (r * cdf[:, -1])[:, None], axis=1)
    k = Y.shape[1]
    last = k - 1 - np.argmax(d2[:, ::-1] > 0.0, axis=1)  # last row of positive weight
    return np.minimum(u, last)


def rotated_samples(S: NDArray, ell: NDArray, Z: NDArray, r: NDArray, scale: float) -> NDArray:
    """The ants' points ``x = s_ℓ + B (σ ⊙ z)`` of (R1)-(R4), shape (m, D).

    ``S`` (k, D) is the archive, ``ell`` (m,) the ants' kernel rows, ``Z`` (m, D) their
    normals, ``r`` (m,) the uniform draws that choose the directions, ``scale`` = ξ/(k − 1).
    ``B`` (:func:`direction_basis`) is applied through the closed form of
    :func:`_gram_schmidt` (a cumulative sum per vector), so an iteration costs O(m k D), as
    without rotation. Loop version (per ant i)::

        Y = S − S[ell[i]];  u = choice(k, p=|Y|⁴ / Σ|Y|⁴);  B = direction_basis(Y[u])
        sigma = scale · |Y @ B|.sum(0);  X[i] = S[ell[i]] + B @ (sigma · Z[i])
    """
    k, D = S.shape
    m = ell.shape[0]
    X = np.empty((m, D))
    step = max(1, min(m, CHUNK_ELEMENTS // (k * D)))
    work = np.empty((2, step, k, D))  # two blocks, reused by every chunk (no page faults)
    for lo in range(0, m, step):  # chunks of ants: memory stays bounded at any pop_size
        hi = min(lo + step, m)
        n = hi - lo
        center = S[ell[lo:hi]]  # (n, D)
        Y = np.subtract(S, center[:, None, :], out=work[0, :n])  # the archive seen from s_ℓ
        u, a, b, slot = _gram_schmidt(Y[np.arange(n), pick_directions(Y, r[lo:hi])])
        z = np.take_along_axis(Z[lo:hi], _slots(slot, D), axis=1)  # z in slot order
        with np.errstate(over="ignore", invalid="ignore"):
            dx = _steps(Y, work[1, :n], u, a, b, slot, z, scale, units=False)
            if not np.isfinite(dx).all():  # a huge box or ξ overflowed: again, in units
                Y = np.subtract(S, center[:, None, :], out=work[0, :n])
                dx = _steps(Y, work[1, :n], u, a, b, slot, z, scale, units=True)
        X[lo:hi] = center + dx  # ±inf at worst, which the base class clips to the box
    return X


def _steps(Y: NDArray, T: NDArray, u: NDArray, a: NDArray, b: NDArray, slot: NDArray,
           z: NDArray, scale: float, *, units: bool) -> NDArray:
    """The steps ``B (σ ⊙ z)`` (R3)-(R4) of a chunk of ants, shape (n, D); ``Y`` (n, k, D)
    is the archive seen from each ant's kernel row and ``T`` a block like it (both are
    overwritten); ``z`` is in slot order.

    With ``units=True`` the work is done in units of each ant's largest ``|Y|`` and then
    of its largest σ (capped at the largest double), multiplied back at the end: a step
    that overflows is then ±inf, never the NaN of ``inf − inf`` in the sums.
    """
    rows = np.arange(Y.shape[0])
    if units:
        y_unit = np.abs(Y).max(axis=(1, 2))
        y_unit[y_unit == 0.0] = 1.0
        Y /= y_unit[:, None, None]
    # coordinates along q_j: a_j y_j − b_j Σ_{i<j} u_i y_i; along u (slot m): u · y
    np.multiply(Y, u[:, None, :], out=T)
    np.cumsum(T, axis=2, out=T)  # Σ_{i<=j} u_i y_i
    dot = T[:, :, -1].copy()
    T[:, :, 1:] = T[:, :, :-1]  # Σ_{i<j}
    T[:, :, 0] = 0.0
    T *= b[:, None, :]
    Y *= a[:, None, :]
    Y -= T
    Y[rows, :, slot] = dot
    sigma = np.abs(Y, out=Y).sum(axis=1)  # (n, D), Eq. (3) along the new axes
    sigma *= scale
    if units:
        np.minimum(sigma, np.finfo(float).max, out=sigma)
        s_unit = sigma.max(axis=1)
        s_unit[s_unit == 0.0] = 1.0
        sigma /= s_unit[:, None]
    # w = σ ⊙ z in slot order; x = s_ℓ + Σ_j w_j B_j:
    # x_i = a_i w_i − u_i Σ_{j>i} b_j w_j + w_m u_i
    w = sigma * z
    bw = b * w
    C = np.cumsum(bw[:, ::-1], axis=1)[:, ::-1]
    C -= bw
    dx = a * w
    dx -= u * C
    dx += w[rows, slot][:, None] * u
    if units:  # one factor at a time: finite × finite overflows to ±inf, never NaN
        dx *= s_unit[:, None]
        dx *= y_unit[:, None]
    return dx
