"""Training losses (docs/models.md §5): AUC power surrogate, IFM total loss, (weighted)
cross-entropy.

The AUC surrogate and the total loss are seed 000 (Gou et al., ITC 53(3) 2024) Eqs. 12-13. All
losses are computed in float32 even under bf16/fp16 autocast: the pairwise ``(1 - delta)^lambda``
loses precision in half precision.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import Tensor

__all__ = ["auc_power_loss", "ifm_loss", "cross_entropy", "balanced_class_weight"]


def _finite_number(value: object) -> bool:
    """A real, finite number (not a bool): a NaN or inf weight only makes the loss NaN/inf."""
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, bool) \
        and math.isfinite(value)


def _check_lam(lam: float) -> float:
    if not (_finite_number(lam) and lam > 0):
        raise ValueError(f"lam (lambda of the AUC power loss) must be a finite number > 0, "
                         f"got {lam!r}")  # fmt: skip
    return float(lam)


def auc_power_loss(logits: Tensor, y: Tensor, lam: float = 2.0) -> Tensor:
    """AUC power surrogate over all (positive, negative) pairs of the batch (seed 000 Eq. 12).

    ``l = 1/(lam T+ T-) sum_i sum_j (1 - (F(x_i+) - F(x_j-)))^lam`` with ``F = sigmoid(logit)``;
    the base lies in (0, 2), so no hinge is needed (Eqs. 9-10). ``lam=1`` is the linear surrogate
    (Eq. 10), ``lam=2`` the squared one (Eq. 11). A batch without positives or without negatives
    gives ``0 * logits.sum()`` (keeps the graph). For ``lam < 1`` the base is floored at
    float32's eps, where a saturated pair (base 0) would give an infinite gradient.
    """
    lam = _check_lam(lam)
    p = torch.sigmoid(logits.float().reshape(-1))
    y = y.reshape(-1)
    pos, neg = p[y == 1], p[y == 0]
    if pos.numel() == 0 or neg.numel() == 0:
        return 0.0 * logits.float().sum()
    d = 1.0 - (pos[:, None] - neg[None, :])
    if lam < 1:  # d**lam has an infinite slope at 0, which a saturated pair reaches in float32
        d = d.clamp_min(torch.finfo(d.dtype).eps)
    return d.pow(lam).mean() / lam


def ifm_loss(
    logits: Tensor,
    y: Tensor,
    alpha: float = 1.0,
    lam: float = 2.0,
    pos_weight: float | None = None,
) -> Tensor:
    """IFM sub-network loss ``L = L_CE + alpha * l_lam`` (seed 000 Eq. 13), in float32.

    ``L_CE`` is ``BCEWithLogits``, optionally with ``pos_weight = n- / n+`` (off by default:
    the AUC term is the imbalance remedy).
    """
    if not (_finite_number(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    if pos_weight is not None and not (_finite_number(pos_weight) and pos_weight > 0):
        raise ValueError(f"pos_weight must be None or a finite number > 0, got {pos_weight!r}")
    z = logits.float().reshape(-1)
    target = y.reshape(-1).float()
    pw = None if pos_weight is None else torch.tensor(float(pos_weight), device=z.device)
    ce = F.binary_cross_entropy_with_logits(z, target, pos_weight=pw)
    if alpha == 0:
        return ce
    return ce + alpha * auc_power_loss(z, y, lam)


def balanced_class_weight(y: ArrayLike, n_classes: int) -> Tensor:
    """``n / (K n_k)`` per class, as scikit-learn's ``class_weight="balanced"`` (absent -> 0)."""
    labels = np.asarray(y, dtype=np.int64).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}) (n_classes={n_classes}), got "
                         f"the range [{labels.min()}, {labels.max()}]")  # fmt: skip
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    w = np.divide(labels.size, n_classes * counts, out=np.zeros(n_classes), where=counts > 0)
    return torch.as_tensor(w, dtype=torch.float32)


def cross_entropy(logits: Tensor, y: Tensor, weight: Tensor | None = None) -> Tensor:
    """Multi-class cross-entropy in float32 (LSTM-ELU), optional per-class ``weight``."""
    if weight is not None:
        weight = weight.to(device=logits.device, dtype=torch.float32)
    return F.cross_entropy(logits.float(), y.long(), weight=weight)
