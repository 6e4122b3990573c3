"""LSTM-ELU's feature stage: a ResNet-18 trunk fixed once, its row features cached on disk.

Seed 004 extracts ResNet-18 features once and tunes only the LSTM-ELU that classifies them
(docs/models.md §4.3, §4.4). No pretrained weights can be downloaded here, so the trunk is
*trained once* instead: :class:`TrunkClassifier` (trunk, global average pool, linear layer) is
fitted with class-balanced cross-entropy, flip/shift augmentation and OneCycle on the
**training part only** (never on validation or test data, so the validation score of a trial
stays honest), then its stage-4 map is read row by row, ``(N, T, 8w)``, for every sample.

The features are cached in the data cache under ``features/`` keyed by a digest of the images,
the labels and training indices, the number of classes, the :class:`TrunkConfig` and the
whole :class:`~metaheur.models.train.TrainConfig` the trunk is trained with, its defaults
included (atomic writes; every trial process of a study reads the same file). A cache file
is untrusted input: one that does not hold finite float32 features of the expected shape is
ignored and rebuilt.
The trunk's training and the extraction run with ``METAHEUR_TORCH_THREADS`` torch threads on
the CPU (:func:`~metaheur.models.device.device_settings`). Cost on 2 CPU cores, 600 training
slices at 64², width 8, 20 epochs: about 1-2 minutes once per dataset, preprocessing and
configuration; a trial after it trains only the LSTM head (under 2 s on CPU).
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn

from metaheur.models.data.cache import disk_load, disk_save
from metaheur.models.device import autocast, device_settings, resolve_device
from metaheur.models.losses import balanced_class_weight, cross_entropy
from metaheur.models.metrics import UndefinedMetricWarning, multiclass_metrics
from metaheur.models.resnet import STEMS, ResNetTrunk, trunk_reduction
from metaheur.models.train import TrainConfig, train_model

__all__ = ["FEATURE_VERSION", "TrunkConfig", "TrunkClassifier", "trunk_features", "row_features",
           "feature_shape"]

logger = logging.getLogger(__name__)

#: Bump when the feature stage changes, so cached features are rebuilt.
FEATURE_VERSION = 1


@dataclass(frozen=True)
class TrunkConfig:
    """How the fixed ResNet-18 trunk is obtained (trained once on the training part)."""

    width: int = 8
    stem: str = "small"
    epochs: int = 20
    lr: float = 3e-3
    batch_size: int = 32
    weight_decay: float = 1e-4
    augment: bool = True
    sequence: str = "rows_mean"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {self.stem!r}")
        if self.sequence not in ("rows_mean", "rows_flat"):
            raise ValueError(f"sequence must be 'rows_mean' or 'rows_flat', got {self.sequence!r}")
        TrainConfig(lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size,
                    epochs=self.epochs)  # validates them  # fmt: skip


class TrunkClassifier(nn.Module):
    """ResNet-18 trunk + global average pool + linear layer: what trains the fixed trunk."""

    def __init__(self, in_ch: int, n_classes: int, width: int = 8, stem: str = "small") -> None:
        super().__init__()
        self.trunk = ResNetTrunk(in_ch, width, stem)
        self.head = nn.Linear(self.trunk.out_channels, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.trunk(x).mean(dim=(2, 3)))


def row_features(fmap: Tensor, sequence: str = "rows_mean") -> Tensor:
    """Stage-4 map ``(B, C, H', W')`` -> sequence ``(B, T = H', F)`` read top to bottom."""
    if sequence == "rows_mean":
        return fmap.mean(dim=3).transpose(1, 2)
    B, C, H, W = fmap.shape
    return fmap.permute(0, 2, 1, 3).reshape(B, H, C * W)


def feature_shape(image_shape: tuple[int, ...], config: TrunkConfig) -> tuple[int, int]:
    """``(T, F)`` of the row features of images ``(C, H, W)`` under ``config``."""
    h, w = (trunk_reduction(n, config.stem) for n in image_shape[-2:])
    channels = 8 * config.width
    return h, channels * (w if config.sequence == "rows_flat" else 1)


@torch.no_grad()
def _extract(trunk: ResNetTrunk, X: NDArray, sequence: str, device: torch.device,
             batch_size: int = 256) -> NDArray:  # fmt: skip
    """Row features of every image, with the run's thread count (docs/models.md §6.1)."""
    trunk.eval()
    out = []
    with device_settings(device):
        for i in range(0, X.shape[0], batch_size):
            xb = torch.as_tensor(np.ascontiguousarray(X[i : i + batch_size]), device=device)
            with autocast(device):
                fmap = trunk(xb.float())
            out.append(row_features(fmap.float(), sequence).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def _one_minus_f1(y: NDArray, P: NDArray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return 1.0 - multiclass_metrics(y, P)["f1"]


def _digest(X: NDArray, y: NDArray, train_idx: NDArray) -> str:
    h = hashlib.sha256()
    for a in (np.ascontiguousarray(X), np.ascontiguousarray(y, np.int64),
              np.ascontiguousarray(train_idx, np.int64)):  # memoryview needs C order
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:32]


def trunk_features(
    X: NDArray,
    y: NDArray,
    train_idx: NDArray,
    config: TrunkConfig | None = None,
    *,
    n_classes: int | None = None,
    device: str | torch.device = "auto",
) -> NDArray:
    """Row features ``(N, T, F)`` float32 of every image in ``X`` ``(N, C, H, W)``.

    The trunk is trained on ``X[train_idx]`` only (see the module doc), or the features are read
    from the cache. The result does not depend on ``device`` beyond floating-point rounding;
    the cache key leaves the device out.
    """
    cfg = config or TrunkConfig()
    X, y, train_idx = np.asarray(X), np.asarray(y), np.asarray(train_idx)
    if X.ndim != 4 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must be (N, C, H, W) with N = len(y), got {X.shape}, {y.shape}")
    k = int(n_classes or (int(y.max()) + 1))
    train_cfg = TrainConfig(lr=cfg.lr, weight_decay=cfg.weight_decay, batch_size=cfg.batch_size,
                            epochs=cfg.epochs, augment=cfg.augment, seed=cfg.seed)  # fmt: skip
    # every setting of the trunk's training, also those left to TrainConfig's defaults
    key = ("trunk-features", FEATURE_VERSION, _digest(X, y, train_idx), k,
           *(tuple(sorted(asdict(c).items())) for c in (cfg, train_cfg)))  # fmt: skip
    shape = (X.shape[0], *feature_shape(X.shape, cfg))

    def check(z: dict[str, np.ndarray]) -> str | None:  # a cache file is untrusted input
        F = z.get("F")
        if F is None or F.dtype != np.float32 or F.shape != shape or not np.isfinite(F).all():
            return f"F is not finite float32 features {shape} of these images"
        return None

    cached = disk_load("features", key, check)
    if cached is not None:
        return cached["F"]
    dev = resolve_device(device)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = TrunkClassifier(X.shape[1], k, cfg.width, cfg.stem)
    ytr = y[train_idx]
    weight = balanced_class_weight(ytr, k)
    res = train_model(
        model, (X[train_idx], ytr), (X[train_idx], ytr),
        loss_fn=partial(cross_entropy, weight=weight), score_fn=_one_minus_f1,
        config=train_cfg, device=dev,
    )  # fmt: skip
    F = _extract(model.trunk, X, cfg.sequence, dev)
    disk_save("features", key, {"F": F})
    logger.info(
        "feature stage: trunk width %d trained %d epochs on %d images in %.1f s "
        "(train macro-F1 %.3f); features %s", cfg.width, cfg.epochs, len(train_idx),
        time.perf_counter() - t0, 1.0 - res.score, F.shape,
    )  # fmt: skip
    return F

