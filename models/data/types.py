"""Dataset containers and the layouts of the real datasets (docs/models.md §1.0-§1.4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Slices2D", "Volumes3D", "IQOTH_CLASSES", "CHESTCT_CLASSES", "SYNTH_CLASSES", "LAYOUTS",
           "NODULEMNIST_KEYS"]

IQOTH_CLASSES = ("normal", "benign", "malignant")  # fixed indices 0, 1, 2 (§1.3)


CHESTCT_CLASSES = ("adenocarcinoma", "large_cell_carcinoma", "normal", "squamous_cell_carcinoma")


SYNTH_CLASSES = ("normal", "benign", "malignant")

NODULEMNIST_KEYS = ("train_images", "train_labels", "val_images", "val_labels",
                     "test_images", "test_labels")

LAYOUTS = {
    "iqothnccd": (
        "<root>/[The IQ-OTHNCCD lung cancer dataset/...]/{Normal cases, Bengin cases, "
        "Malignant cases}/*.jpg (class folders found case-insensitively up to depth 4)"
    ),
    "chestct": (
        "<root>/Data/{train,valid,test}/<class>/*.png|*.jpg with class folders starting with "
        "adenocarcinoma, large.cell.carcinoma, normal, squamous.cell.carcinoma"
    ),
    "nodulemnist3d": (
        "<root>/nodulemnist3d_64.npz (preferred) or <root>/nodulemnist3d.npz with keys "
        + ", ".join(NODULEMNIST_KEYS)
    ),
    "lidc": (
        "<root>/lidc_patches.npz (or any .npz) with keys patches (N,64,64,64) int16 HU, labels, "
        "patient_id, made by `python -m metaheur.models.data.prepare_lidc`"
    ),
}


@dataclass(frozen=True)
class Slices2D:
    """2-D slices for LSTM-ELU (docs/models.md §1.0); ``X`` float32 (N, C, H, W) in [0, 1]."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    groups: np.ndarray | None
    split: np.ndarray | None
    source: str



@dataclass(frozen=True)
class Volumes3D:
    """3-D patches for the IFM (docs/models.md §1.0); ``X`` float32 (N, S, S, S) in [0, 1]."""

    X: np.ndarray
    y: np.ndarray
    spacing_mm: float
    groups: np.ndarray | None
    split: np.ndarray | None
    source: str

