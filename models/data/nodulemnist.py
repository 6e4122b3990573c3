"""NoduleMNIST3D (MedMNIST v2 ``.npz``; docs/models.md §1.1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from metaheur.models.data.cache import warn_once
from metaheur.models.data.npz import named_npz_keys, npz_array, npz_keys
from metaheur.models.data.types import LAYOUTS, NODULEMNIST_KEYS, Volumes3D

__all__ = ["find_nodulemnist", "load_nodulemnist"]

_NODULEMNIST_FILES = {  # file name -> (Volumes3D.source, MD5 from Zenodo)
    "nodulemnist3d_64.npz": ("nodulemnist3d_64", "c47c5b7d457bf6332200d2ea6d64ecd8"),
    "nodulemnist3d.npz": ("nodulemnist3d", "8755a7e9e05a4d9ce80a24c3e7a256f3"),
}

_MD5_CHECKED: set[tuple[str, int, int]] = set()


def _md5_check(path: Path, expected: str) -> None:
    st = path.stat()
    tag = (str(path), st.st_size, st.st_mtime_ns)
    if tag in _MD5_CHECKED:
        return
    _MD5_CHECKED.add(tag)
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    if h.hexdigest() != expected:
        warn_once(f"{path}: MD5 {h.hexdigest()} differs from the Zenodo file's {expected}")



def find_nodulemnist(base: Path) -> Path | None:
    if base.is_file():
        return base if "train_images" in named_npz_keys(base) else None
    if base.is_dir():
        for fname in _NODULEMNIST_FILES:  # the _64 file first
            if (base / fname).is_file():
                return base / fname
    return None



def load_nodulemnist(path: Path) -> Volumes3D:
    src, md5 = _NODULEMNIST_FILES.get(path.name, ("nodulemnist3d", None))
    keys = npz_keys(path)
    missing = [k for k in NODULEMNIST_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path} lacks keys {missing}; expected {LAYOUTS['nodulemnist3d']}")
    if md5 is not None:
        _md5_check(path, md5)
    Xs, ys, ss = [], [], []
    for split in ("train", "val", "test"):
        img, lab = npz_array(path, f"{split}_images"), npz_array(path, f"{split}_labels")
        if img.ndim != 4 or len(set(img.shape[1:])) != 1:
            raise ValueError(f"{path}: {split}_images must be (N, S, S, S), got {img.shape}")
        n, S = img.shape[:2]
        if lab.shape not in ((n,), (n, 1)):
            raise ValueError(f"{path}: {split}_labels must be (N,) or (N, 1) for {n} images, "
                             f"got {lab.shape}")  # fmt: skip
        if img.dtype != np.uint8:
            raise ValueError(f"{path}: {split}_images must be uint8 (MedMNIST's format, 0..255), "
                             f"got {img.dtype}")  # fmt: skip
        if Xs and S != Xs[0].shape[1]:
            raise ValueError(f"{path}: {split}_images are {S}^3 but train_images "
                             f"{Xs[0].shape[1]}^3; all splits must share one size")  # fmt: skip
        Xs.append(img.astype(np.float32) / np.float32(255.0))  # no HU window (§1.1)
        bad = np.setdiff1d(np.unique(lab), (0, 1))
        if bad.size:
            raise ValueError(f"{path}: {split}_labels must be 0 (benign) or 1 (malignant), "
                             f"found {bad[:5].tolist()}")  # fmt: skip
        ys.append(lab.reshape(-1).astype(np.int64))
        ss.append(np.full(n, split))
    X = np.concatenate(Xs)
    if X.shape[1] < 64:
        src = "nodulemnist3d"
        warn_once(
            f"{path} is {X.shape[1]}^3 at 1 mm, covering only {X.shape[1]} mm: use fovs_mm="
            "(20, 24, 28) (metaheur.models.preprocess.default_fovs); "
            "nodulemnist3d_64.npz is recommended"
        )
    return Volumes3D(X=X, y=np.concatenate(ys), spacing_mm=1.0, groups=None,
                     split=np.concatenate(ss), source=src)

