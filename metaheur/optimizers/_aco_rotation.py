"""ACOR's variable-correlation handling: each ant samples in a rotated coordinate system.

Socha & Dorigo (2008), §3 (docs/algorithms.md §5.1), as we read it; the paper was not at
hand, so the rule for choosing the direction is quoted from memory and the completion of
the basis is our choice. For the ant with kernel row ``s_l = S[ℓ]``::

    (R1)  u ~ P(u) ∝ |S_u − s_l|⁴             a second archive row, far rows preferred
    (R2)  e_1 = (S_u − s_l) / |S_u − s_l|;    B = [e_1, e_2, .., e_D] orthonormal
    (R3)  σ_j = ξ Σ_e |(S_e − s_l) · e_j| / (k − 1)     Eq. (3) in the new coordinates
    (R4)  x = s_l + B (σ ⊙ z),   z ~ N(0, I)            Eq. (4), rotated back

Our choices: the paper completes ``B`` by Gram–Schmidt; we take the Householder
reflection that maps the first standard axis onto ``±e_1`` (its other columns are the
standard axes reflected), an orthonormal completion as valid, applied in O(D) per vector
instead of O(D³) per ant; ``u`` is one uniform draw per ant, after the kernel draws and
the normals of Eq. (4); an ant whose rows all coincide with ``s_l`` (collapsed archive)
gets a zero direction, whose basis is the standard one, and σ = 0 there. The work is
O(m · k · D) per iteration (Eq. (3) without rotation needs O(rows · k · D) for the rows
that can be chosen), done in chunks of ants of at most :data:`CHUNK_ELEMENTS` array
elements, so memory stays bounded (pop_size 1000, D = 20: about 0.4 s per ask).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["direction_basis", "pick_directions", "rotated_samples"]

#: Largest (ants × archive rows × D) block held at once (8 bytes each, two blocks): 2 MiB.
CHUNK_ELEMENTS = 1 << 18


def _reflectors(d: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Householder data of each direction: ``v`` (n, D), ``beta`` (n,), ``sign`` (n,).

    ``H = I − beta v vᵀ`` with ``v = d̂ + sign · e_1`` (``sign`` that of ``d̂_1``, so
    ``vᵀv = 2 + 2|d̂_1| >= 2``: no cancellation) maps ``e_1`` to ``−sign · d̂``; the basis
    is ``B = H diag(−sign, 1, .., 1)``. A zero ``d`` is taken as ``e_1`` (``B = I``).
    """
    top = np.abs(d).max(axis=1)
    unit = d / np.where(top > 0.0, top, 1.0)[:, None]  # scaled first: |d|² may overflow
    norm = np.sqrt(np.einsum("nd,nd->n", unit, unit))
    unit /= np.where(norm > 0.0, norm, 1.0)[:, None]
    unit[norm == 0.0, 0] = 1.0  # a zero direction: the first standard axis
    sign = np.where(unit[:, 0] < 0.0, -1.0, 1.0)
    unit[:, 0] += sign  # v, with |v_1| = 1 + |d̂_1|
    return unit, 1.0 / np.abs(unit[:, 0]), sign  # beta = 2 / vᵀv = 1 / |v_1|


def direction_basis(d: NDArray) -> NDArray:
    """Orthonormal bases ``B`` (n, D, D) whose first column is ``d / |d|`` (R2), explicitly.

    ``d`` is (n, D). ``B = H diag(−sign, 1, .., 1)`` with the Householder reflection ``H``
    of :func:`_reflectors`: its other columns are the standard axes reflected, ``e_j −
    beta v_j v``. A zero ``d`` gives the standard basis. The sampler applies ``B``
    without forming it (O(D) per vector); this is for checks and for reading.
    """
    v, beta, sign = _reflectors(d)
    B = np.eye(d.shape[1]) - beta[:, None, None] * v[:, :, None] * v[:, None, :]
    B[:, :, 0] *= -sign[:, None]
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
    ``B`` is applied as its reflection (``Hy = y − beta v (vᵀy)``), so an iteration costs
    O(m k D), as without rotation. Loop version (per ant i)::

        Y = S − S[ell[i]];  u = choice(k, p=|Y|⁴ / Σ|Y|⁴);  B = direction_basis(Y[u])
        sigma = scale · |Y @ B|.sum(0);  X[i] = S[ell[i]] + B @ (sigma · Z[i])
    """
    k, D = S.shape
    m = ell.shape[0]
    X = np.empty((m, D))
    step = max(1, min(m, CHUNK_ELEMENTS // (k * D)))
    work = np.empty((2, step, k, D))  # two blocks, reused by every chunk (no page faults)
    for a in range(0, m, step):  # chunks of ants: memory stays bounded at any pop_size
        b = min(a + step, m)
        n = b - a
        center = S[ell[a:b]]  # (n, D)
        Y = np.subtract(S, center[:, None, :], out=work[0, :n])  # the archive seen from s_ℓ
        u = pick_directions(Y, r[a:b])
        v, beta, sign = _reflectors(Y[np.arange(n), u])
        Yv = np.einsum("nkd,nd->nk", Y, v)
        Yv *= beta[:, None]
        # −(Y H): the rows in the new coordinates up to signs, which |.| drops
        W = np.einsum("nk,nd->nkd", Yv, v, out=work[1, :n])
        W -= Y
        sigma = np.abs(W, out=W).sum(axis=1)  # (n, D), Eq. (3) along the new axes
        sigma *= scale
        sigma *= Z[a:b]  # y = σ ⊙ z; then x = s_ℓ + H diag(−sign, 1, ..) y
        sigma[:, 0] *= -sign
        sigma -= (beta * np.einsum("nd,nd->n", v, sigma))[:, None] * v
        X[a:b] = center + sigma
    return X
