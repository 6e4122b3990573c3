"""Bayesian active contour (BAC) segmentation (docs/models.md §3.3; seed 004 Eqs. 2-8).

Our reading of the paper's recursive Bayesian contour: a two-region level set whose force is the
Gaussian log-posterior ratio plus a prior map; Gaussian smoothing of the level set is the length
prior. For slice stacks the posterior of slice n-1, diffused, is the prior of slice n (predict,
then update). Two-stage use on one slice: lung field, then candidate dense structures inside it.
``segmentation`` options for the 2-D pipeline (§3.2 step 4): "none" | "bac_channel" | "bac_roi".
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

__all__ = [
    "SEGMENTATIONS",
    "apply_segmentation",
    "bac",
    "bac_stack",
    "candidate_mask",
    "lung_field",
    "segment_slice",
]

SEGMENTATIONS = ("none", "bac_channel", "bac_roi")


def _region_stats(I: np.ndarray, m: np.ndarray) -> tuple[float, float]:
    v = I[m]
    if v.size < 2:
        return float(I.mean()), max(float(I.var()), 1e-4)
    return float(v.mean()), max(float(v.var()), 1e-4)


def bac(
    I: np.ndarray,
    prior: np.ndarray | None = None,
    n_iter: int = 25,
    dt: float = 0.6,
    smooth: float = 1.0,
    prior_weight: float = 0.5,
    tol: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-region Bayesian level set (docs/models.md §3.3). Returns ``(mask, posterior)``.

    ``prior`` defaults to the Otsu foreground blurred by 2 px, so "inside" is the bright region.
    Each step moves ``phi`` by ``dt * tanh(llr + prior_weight * logit(prior))`` where ``llr`` is
    the Gaussian log-likelihood ratio of inside vs outside (with the area prior pi), then smooths
    by ``smooth`` px and clips to [-1, 1]; it stops when fewer than ``tol`` of the pixels change
    sign. ``posterior = sigmoid(4 phi)``.
    """
    I = np.asarray(I, dtype=np.float64)
    if prior is None:
        thr = threshold_otsu(I) if np.ptp(I) > 0 else I.mean()
        prior = ndimage.gaussian_filter((I > thr).astype(np.float64), 2.0)
    prior = np.clip(np.asarray(prior, dtype=np.float64), 0.02, 0.98)
    logit_prior = np.log(prior / (1.0 - prior))
    phi = 2.0 * prior - 1.0
    inside = phi > 0
    for _ in range(n_iter):
        m1, v1 = _region_stats(I, inside)
        m0, v0 = _region_stats(I, ~inside)
        pi = float(np.clip(inside.mean(), 1e-3, 1 - 1e-3))
        llr = (-((I - m1) ** 2) / (2 * v1) - 0.5 * np.log(v1) + np.log(pi)) - (
            -((I - m0) ** 2) / (2 * v0) - 0.5 * np.log(v0) + np.log(1 - pi)
        )
        phi = phi + dt * np.tanh(llr + prior_weight * logit_prior)
        if smooth > 0:
            phi = ndimage.gaussian_filter(phi, smooth)
        phi = np.clip(phi, -1.0, 1.0)
        new = phi > 0
        changed = float(np.mean(new != inside))
        inside = new
        if changed < tol:
            break
    return inside, 1.0 / (1.0 + np.exp(-4.0 * phi))


def lung_field(I: np.ndarray) -> np.ndarray:
    """Stage 1: dense tissue T by BAC; lung = fill(open(fill(T) & ~T)); body if < 5 % (§3.3)."""
    T, _ = bac(I)
    body = ndimage.binary_fill_holes(T)
    lung = ndimage.binary_fill_holes(ndimage.binary_opening(body & ~T, iterations=1))
    if lung.mean() < 0.05:
        return body
    return lung


def candidate_mask(I: np.ndarray, lung: np.ndarray) -> np.ndarray:
    """Stage 2: BAC inside the 1-px-eroded lung field; dense candidates (nodules, vessels)."""
    I = np.asarray(I, dtype=np.float64)
    roi = ndimage.binary_erosion(lung, iterations=1)
    if roi.sum() < 4:
        return np.zeros(I.shape, dtype=bool)
    J = np.where(roi, I, np.median(I[roi]))
    mask, _ = bac(J, smooth=0.5, prior_weight=1.0)
    return mask & roi


def segment_slice(I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-stage BAC on one slice: ``(lung_field, candidates)`` boolean masks."""
    lung = lung_field(I)
    return lung, candidate_mask(I, lung)


def bac_stack(stack: np.ndarray, **kw: float) -> tuple[np.ndarray, np.ndarray]:
    """Recursive BAC through a stack (S, H, W): prior_n = gaussian(posterior_{n-1}, 1.5 px)."""
    masks, posts = [], []
    prior = None
    for I in np.asarray(stack):
        m, post = bac(I, prior=prior, **kw)
        masks.append(m)
        posts.append(post)
        prior = ndimage.gaussian_filter(post, 1.5)
    return np.stack(masks), np.stack(posts)


def apply_segmentation(X: np.ndarray, segmentation: str = "none") -> np.ndarray:
    """Enhanced slices (N, H, W) -> model input (N, C, H, W) (docs/models.md §3.2 step 4).

    "none": C = 1. "bac_channel": the candidate mask appended as channel 2. "bac_roi": the image
    multiplied by the lung field dilated by 2 px.
    """
    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 3:
        raise ValueError(f"X must be (N, H, W), got shape {X.shape}")
    if segmentation == "none":
        return X[:, None].copy()
    out = np.empty((X.shape[0], 2 if segmentation == "bac_channel" else 1) + X.shape[1:],
                   dtype=np.float32)
    for i, I in enumerate(X):
        lung, cand = segment_slice(I)
        if segmentation == "bac_channel":
            out[i, 0], out[i, 1] = I, cand
        else:
            out[i, 0] = I * ndimage.binary_dilation(lung, iterations=2)
    return out
