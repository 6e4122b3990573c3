"""LIDC-IDRI patches (our own ``.npz`` of HU patches; docs/models.md §1.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metaheur.models.data.nodulemnist import named_npz_keys, npz_keys
from metaheur.models.data.types import LAYOUTS, Volumes3D
from metaheur.models.preprocess import hu_window

__all__ = ["find_lidc", "load_lidc"]

_LIDC_KEYS = ("patches", "labels", "patient_id")


def find_lidc(base: Path) -> Path | None:
    if base.is_file():
        return base if "patches" in named_npz_keys(base) else None
    if base.is_dir():
        cands = [base / "lidc_patches.npz"] + sorted(base.glob("*.npz"))
        for f in cands:
            if f.is_file() and "patches" in npz_keys(f):
                return f
    return None



def load_lidc(path: Path) -> Volumes3D:
    keys = npz_keys(path)
    missing = [k for k in _LIDC_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path} lacks keys {missing}; expected {LAYOUTS['lidc']}")
    with np.load(path, allow_pickle=False) as z:
        P, labels, pid = z["patches"], z["labels"].reshape(-1), z["patient_id"]
        spacing = float(z["spacing_mm"]) if "spacing_mm" in z.files else 1.0
    if P.ndim != 4 or P.shape[0] != labels.shape[0] or pid.shape[0] != labels.shape[0]:
        raise ValueError(f"{path}: patches must be (N, S, S, S) with N labels and patient ids, "
                         f"got {P.shape}, {labels.shape}, {pid.shape}")
    bad = np.setdiff1d(np.unique(labels), (0, 1))
    if bad.size:
        raise ValueError(f"{path}: labels must be 0 (benign) or 1 (malignant), found "
                         f"{bad[:5].tolist()}")  # fmt: skip
    y = labels.astype(np.int64)
    lo, hi = (float(P.min()), float(P.max())) if P.size else (0.0, 0.0)
    if hi - lo <= 2.0:  # CT in HU spans about -1000..+400; already scaled data would come
        raise ValueError(  # out of the HU window as a constant (0.714 for [0, 1])
            f"{path}: patches must be in Hounsfield units (lung CT spans about -1000..+400), "
            f"got values in [{lo:g}, {hi:g}], which look already scaled; store the HU values "
            "as `python -m metaheur.models.data.prepare_lidc` does"
        )
    return Volumes3D(X=hu_window(P), y=y, spacing_mm=spacing, groups=pid.astype(str), split=None,
                     source="lidc_npz")

