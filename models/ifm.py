"""IFM: multi-scale CRFE + RAM 3D-CNN sub-networks and their weighted ensemble.

Seed 000 (Gou et al., ITC 53(3) 2024; spec: docs/models.md §4.1-§4.2). Each
:class:`IFMSubNet` sees one field of view of a nodule patch. A stem and three channels
(general G, macro/undercomplete A, micro/detail D from the original image) exchange features
by cross-residual feature exchange (:class:`CRFE`, KiU-Net CRFB style), are fused by residual
attention (:class:`RAM`), pass a residual stage, get image compensation and end in a one-logit
head. :class:`IFMEnsemble` combines the sub-networks' probabilities with weights fitted on a 0.1
simplex grid (paper Eq. 4).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from torch import Tensor, nn

from metaheur.models.lstm_elu import _check_float
from metaheur.models.resnet import _check_positive_int

__all__ = [
    "CBR",
    "CRFE",
    "RAM",
    "BasicBlock3d",
    "IFMSubNet",
    "IFMEnsemble",
    "simplex_grid",
    "fit_ensemble_weights",
]

logger = logging.getLogger(__name__)


def _size(x: Tensor) -> tuple[int, int, int]:
    return tuple(x.shape[-3:])  # type: ignore[return-value]


def _pool_to(x: Tensor, size: Sequence[int], mode: str) -> Tensor:
    """Max/avg pool ``x`` down to ``size`` (integer factors use plain pooling, else adaptive)."""
    if _size(x) == tuple(size):
        return x
    factors = [a // b for a, b in zip(_size(x), size, strict=True)]
    exact = all(f * b == a for f, a, b in zip(factors, _size(x), size, strict=True))
    if mode == "max":
        return F.max_pool3d(x, factors) if exact else F.adaptive_max_pool3d(x, size)
    return F.avg_pool3d(x, factors) if exact else F.adaptive_avg_pool3d(x, size)


def _upsample_to(x: Tensor, size: Sequence[int]) -> Tensor:
    if _size(x) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="trilinear", align_corners=False)


class CBR(nn.Sequential):
    """Conv3d 3³ (padding 1, no bias, stride ``stride``) + BatchNorm3d + ReLU.

    Shape:
        - Input: ``(B, in_ch, s, s, s)``
        - Output: ``(B, out_ch, ceil(s / stride), ...)``
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_ch, out_ch, 3, stride, 1, bias=False), nn.BatchNorm3d(out_ch), nn.ReLU()
        )


class CRFE(nn.Module):
    """Cross-residual feature exchange between a coarse and a fine tensor
    (docs/models.md §4.1 rows 5-6).

    Both updates use the pre-update tensors::

        coarse' = coarse + ReLU(BN(conv(maxpool_to_coarse(fine))))
        fine'   = fine   + ReLU(upsample_to_fine(BN(conv(coarse))))

    Shape:
        - Input: ``coarse (B, c_coarse, a, a, a)``, ``fine (B, c_fine, g, g, g)``, ``a <= g``
        - Output: tensors of the input shapes
    """

    def __init__(self, c_coarse: int, c_fine: int) -> None:
        super().__init__()
        self.to_coarse = nn.Sequential(
            nn.Conv3d(c_fine, c_coarse, 3, 1, 1, bias=False), nn.BatchNorm3d(c_coarse)
        )
        self.to_fine = nn.Sequential(
            nn.Conv3d(c_coarse, c_fine, 3, 1, 1, bias=False), nn.BatchNorm3d(c_fine)
        )

    def forward(self, coarse: Tensor, fine: Tensor) -> tuple[Tensor, Tensor]:
        new_coarse = coarse + torch.relu(self.to_coarse(_pool_to(fine, _size(coarse), "max")))
        new_fine = fine + torch.relu(_upsample_to(self.to_fine(coarse), _size(fine)))
        return new_coarse, new_fine


def _mlp(c_in: int, c_out: int) -> nn.Sequential:
    """Linear(w -> max(w/4, 4)) -> ReLU -> Linear(-> c_out)."""
    mid = max(c_in // 4, 4)
    return nn.Sequential(nn.Linear(c_in, mid), nn.ReLU(), nn.Linear(mid, c_out))


class RAM(nn.Module):
    """Residual attention over a cluster of branches (docs/models.md §4.1 row 8).

    Branch attention ``a = softmax_b(MLP(GAP(sum_b F_b)))`` (one weight per branch and channel),
    ``F = sum_b a_b F_b``; channel map ``M_c = sigmoid(MLP(GAP(F)))``; spatial map
    ``M_s = sigmoid(conv3³([mean_c F, max_c F]))``; output ``F * (1 + M_c * M_s)``.

    Shape:
        - Input: ``n_branches`` tensors ``(B, channels, g, g, g)``
        - Output: ``(B, channels, g, g, g)``
    """

    def __init__(self, channels: int, n_branches: int = 3) -> None:
        super().__init__()
        self.channels, self.n_branches = channels, n_branches
        self.branch_mlp = _mlp(channels, n_branches * channels)
        self.channel_mlp = _mlp(channels, channels)
        self.spatial = nn.Conv3d(2, 1, 3, 1, 1)

    def forward(self, branches: Sequence[Tensor]) -> Tensor:
        B, C = branches[0].shape[:2]
        stacked = torch.stack(list(branches), dim=1)  # (B, n, C, g, g, g)
        gap = stacked.sum(dim=1).mean(dim=(2, 3, 4))  # (B, C)
        a = self.branch_mlp(gap).view(B, self.n_branches, C).softmax(dim=1)
        fused = (stacked * a[..., None, None, None]).sum(dim=1)
        m_c = torch.sigmoid(self.channel_mlp(fused.mean(dim=(2, 3, 4))))[..., None, None, None]
        pooled = torch.cat([fused.mean(dim=1, keepdim=True), fused.amax(dim=1, keepdim=True)], 1)
        m_s = torch.sigmoid(self.spatial(pooled))  # (B, 1, g, g, g)
        return fused * (1.0 + m_c * m_s)


class BasicBlock3d(nn.Module):
    """3D residual block: two 3³ convs with BN each, 1³ projection shortcut when the shape changes.

    Shape:
        - Input: ``(B, in_ch, s, s, s)``
        - Output: ``(B, out_ch, ceil(s / stride), ...)``
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(out_ch)
        self.conv2 = nn.Conv3d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_ch)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm3d(out_ch)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class IFMSubNet(nn.Module):
    """One IFM sub-network for one field of view (docs/models.md §4.1, rows 1-11).

    Stem (two CBR, max pool) -> G0; general ``G = CBR(G0)``; macro ``A = CBR(maxpool(G0))``;
    micro ``D = CBR(1 -> micro_width)(x)`` (x upsampled x2 first when ``overcomplete``);
    ``CRFE(A, G)``, ``CRFE(G', D)``; RAM over ``[G'', up(A'), BN(conv1³(avgpool(D')))]``;
    ``BasicBlock3d(w -> 2w, /2)``, ``BasicBlock3d(2w -> 2w)``; compensation
    ``R += conv1³(avgpool_to_R(x))``; head GAP -> Dropout -> Linear(2w -> hidden) -> ReLU ->
    Dropout -> Linear(hidden -> 1). ``sigmoid(logit)`` is the malignancy probability F(x).
    Parameters: 142,888 for ``width=16``, hidden 64; 38,704 for 8; 549,792 for 32.
    Any input side ``s >= 8`` divisible by ``4 * stem_stride`` works.

    Shape:
        - Input: ``(B, 1, s, s, s)`` in [0, 1]
        - Output: ``(B,)`` logits
    """

    def __init__(
        self,
        width: int = 16,
        micro_width: int = 8,
        hidden: int = 64,
        dropout: float = 0.5,
        stem_stride: int = 2,
        overcomplete: bool = False,
    ) -> None:
        super().__init__()
        w = _check_positive_int("width", width)
        wd = _check_positive_int("micro_width", micro_width)
        _check_positive_int("hidden", hidden)
        _check_float("dropout", dropout, 0.0, 1.0)
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride!r}")
        self.stem_stride, self.overcomplete = stem_stride, bool(overcomplete)
        self.stem = nn.Sequential(CBR(1, w, stem_stride), CBR(w, w), nn.MaxPool3d(2))
        self.general = CBR(w, w)
        self.macro = nn.Sequential(nn.MaxPool3d(2), CBR(w, w))
        self.micro = CBR(1, wd)
        self.crfe_ag = CRFE(w, w)
        self.crfe_gd = CRFE(w, wd)
        self.micro_proj = nn.Sequential(nn.Conv3d(wd, w, 1, bias=False), nn.BatchNorm3d(w))
        self.ram = RAM(w, 3)
        self.residual = nn.Sequential(BasicBlock3d(w, 2 * w, 2), BasicBlock3d(2 * w, 2 * w))
        self.compensation = nn.Conv3d(1, 2 * w, 1)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * w, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        s = x.shape[-1]
        if x.dim() != 5 or x.shape[1] != 1 or s < 8 or s % (4 * self.stem_stride):
            raise ValueError(
                f"IFMSubNet expects (B, 1, s, s, s) with s >= 8 divisible by "
                f"{4 * self.stem_stride}, got {tuple(x.shape)}"
            )
        g0 = self.stem(x)
        G, A = self.general(g0), self.macro(g0)
        xd = F.interpolate(x, scale_factor=2, mode="trilinear") if self.overcomplete else x
        D = self.micro(xd)
        A1, G1 = self.crfe_ag(A, G)  # CRFE(A, G)
        G2, D1 = self.crfe_gd(G1, D)  # CRFE(G', D)
        f3 = self.micro_proj(_pool_to(D1, _size(G2), "avg"))
        fused = self.ram([G2, _upsample_to(A1, _size(G2)), f3])
        R = self.residual(fused)
        R = R + self.compensation(_pool_to(x, _size(R), "avg"))  # image compensation
        return self.head(R.mean(dim=(2, 3, 4))).squeeze(-1)


def simplex_grid(n: int, step: float = 0.1) -> NDArray:
    """All weight vectors of length ``n`` on the simplex with spacing ``step``, lexicographic.

    ``n=3, step=0.1`` gives the 66 points of docs/models.md §4.2.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not (
            isinstance(step, (int, float, np.number)) and 0 < step <= 1):
        raise ValueError(f"need an integer n >= 1 and 0 < step <= 1, got n={n!r}, step={step!r}")
    k = round(1.0 / step)
    if n < 1 or not np.isclose(k * step, 1.0):
        raise ValueError(f"need n >= 1 and 1/step an integer, got n={n}, step={step}")
    pts = [c for c in itertools.product(range(k + 1), repeat=n) if sum(c) == k]
    return np.asarray(pts, dtype=float) / k


def _auc(y: NDArray, score: NDArray) -> float:
    from metaheur.models.metrics import roc_auc

    return roc_auc(y, score, warn=False)


def fit_ensemble_weights(
    probs: Sequence[ArrayLike] | ArrayLike, y: ArrayLike, step: float = 0.1
) -> tuple[NDArray, float]:
    """Grid search of ``F = sum_b w_b F_b`` on the simplex (seed 000 Eq. 4; docs/models.md §4.2).

    Maximises the AUC of the weighted probability on the given (validation) labels. Ties: the
    weights closest to uniform (Euclidean), then the lexicographically first.
    Returns ``(weights, auc)``.
    """
    P = np.asarray(probs, dtype=float)  # (n_scales, N)
    y = np.asarray(y)
    if P.ndim != 2 or P.shape[1] != y.shape[0]:
        raise ValueError(f"probs must be (n_scales, N) with N = len(y), got {P.shape}, {y.shape}")
    grid = simplex_grid(P.shape[0], step)
    aucs = np.array([_auc(y, w @ P) for w in grid])
    dist = np.linalg.norm(grid - 1.0 / P.shape[0], axis=1)
    keys = [(-round(a, 12), round(d, 12)) for a, d in zip(aucs, dist, strict=True)]
    i = min(range(len(grid)), key=keys.__getitem__)  # grid is lexicographic: min keeps the first
    return grid[i].copy(), float(aucs[i])


class IFMEnsemble(nn.Module):
    """Weighted ensemble of ``n_scales`` independent :class:`IFMSubNet` (docs/models.md §4.2).

    ``forward`` returns ``sum_b weights_b * sigmoid(logit_b)``; :meth:`fit_weights` sets the
    weights by :func:`fit_ensemble_weights` on validation probabilities. Sub-networks are
    trained one by one (each with its own alpha of the AUC loss, Eq. 13).

    Shape:
        - Input: list of ``n_scales`` tensors ``(B, 1, s, s, s)``
        - Output: ``(B,)`` ensemble probability of malignancy
    """

    def __init__(
        self, n_scales: int = 3, subnets: Sequence[IFMSubNet] | None = None, **subnet_kw: Any
    ) -> None:
        super().__init__()
        if subnets is None:
            _check_positive_int("n_scales", n_scales)
            subnets = [IFMSubNet(**subnet_kw) for _ in range(n_scales)]
        elif subnet_kw or len(subnets) < 1:
            raise ValueError("give either subnets (non-empty) or sub-network keywords, not both")
        self.subnets = nn.ModuleList(subnets)
        n = len(self.subnets)
        # on the sub-networks' device: an ensemble built from trained (e.g. CUDA) sub-networks
        # is used as it is, without a .to() that would be easy to forget
        device = next(self.subnets.parameters()).device
        self.register_buffer("weights", torch.full((n,), 1.0 / n, device=device))

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        if len(xs) != len(self.subnets):
            raise ValueError(f"expected {len(self.subnets)} inputs, one per scale, got {len(xs)}")
        probs = torch.stack(
            [torch.sigmoid(m(x).float()) for m, x in zip(self.subnets, xs, strict=True)]
        )
        return (self.weights[:, None] * probs).sum(dim=0)

    def fit_weights(self, probs: Sequence[ArrayLike], y: ArrayLike, step: float = 0.1) -> float:
        """Fit and store the weights on validation probabilities; returns the ensemble AUC."""
        w, auc = fit_ensemble_weights(probs, y, step)
        self.weights.copy_(torch.as_tensor(w, dtype=self.weights.dtype))
        logger.info("IFM ensemble weights %s, val AUC %.4f", np.round(w, 2).tolist(), auc)
        return auc
