"""LIDC-IDRI patches (our own ``.npz`` of HU patches; docs/models.md §1.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metaheur.models.data.npz import named_npz_keys, npz_array, npz_keys
from metaheur.models.data.types import LAYOUTS, Volumes3D
from metaheur.models.preprocess import hu_window

__all__ = ["find_lidc", "load_lidc"]

_LIDC_KEYS = ("patches", "labels", "patient_id")


def find_lidc(base: Path) -> Path | None:
    if base.is_file():
        return base if "patches" in named_npz_keys(base) else None
    if base.is_dir():
        cands = [base / "lidc_patches.npz"] + sorted(  # any case; not macOS's ._ copies
            f for f in base.iterdir() if f.suffix.lower() == ".npz" and not f.name.startswith("."))
        for f in cands:
            if f.is_file() and "patches" in npz_keys(f):
                return f
    return None



def _spacing(path: Path, a: np.ndarray) -> float:
    """The voxel size in ``spacing_mm``: one finite positive number (a scalar or size-1 array)."""
    v = float(a.reshape(-1)[0]) if a.size == 1 and a.dtype.kind in "iuf" else np.nan
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{path}: key 'spacing_mm' must be one finite positive number (mm), "
                         f"got {np.array2string(a, threshold=4)} ({a.dtype})")  # fmt: skip
    return v


def load_lidc(path: Path) -> Volumes3D:
    keys = npz_keys(path)
    missing = [k for k in _LIDC_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path} lacks keys {missing}; expected {LAYOUTS['lidc']}")
    P, labels, pid = (npz_array(path, k) for k in _LIDC_KEYS)
    n = P.shape[0] if P.ndim else -1
    if (P.ndim != 4 or len(set(P.shape[1:])) != 1 or labels.shape not in ((n,), (n, 1))
            or pid.shape != (n,)):
        raise ValueError(f"{path}: patches must be (N, S, S, S) with N labels and patient ids, "
                         f"got {P.shape}, {labels.shape}, {pid.shape}")
    if P.dtype.kind not in "iuf":
        raise ValueError(f"{path}: patches must be integer or float HU values, got {P.dtype}")
    if P.dtype.kind == "f" and not np.isfinite(P).all():
        raise ValueError(f"{path}: patches must be finite HU values, found NaN or +-inf")
    spacing = _spacing(path, npz_array(path, "spacing_mm")) if "spacing_mm" in keys else 1.0
    labels = labels.reshape(-1)
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

