"""Fixtures that write tiny datasets in the exact real on-disk layouts (docs/models.md §1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaheur.models.data import clear_cache

IQ = "The IQ-OTHNCCD lung cancer dataset"
CT_TRAIN = {
    "adenocarcinoma_left.lower.lobe_T2_N0_M0_Ib": 0,
    "large.cell.carcinoma_left.hilum_T2_N2_M0_IIIa": 1,
    "normal": 2,
    "squamous.cell.carcinoma_left.hilum_T1_N2_M0_IIIa": 3,
}
CT_TEST = {"adenocarcinoma": 0, "large.cell.carcinoma": 1, "normal": 2,
           "squamous.cell.carcinoma": 3}
CT_COUNTS = {"train": 3, "valid": 1, "test": 2}  # images per class and split


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No real data or cache of the developer's machine leaks into a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("METAHEUR_DATA_DIR", raising=False)
    monkeypatch.setenv("METAHEUR_CACHE_DIR", str(home / "cache"))
    clear_cache()
    yield
    clear_cache()


def _blob_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A distinct grayscale picture (smooth blobs) so average hashes differ between images."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((h, w))
    for _ in range(4):
        cy, cx, r = rng.uniform(0, 1, 3)
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (0.02 + 0.05 * r))
    return (255 * img / img.max()).astype(np.uint8)


@pytest.fixture
def iqoth_root(tmp_path: Path) -> Path:
    """Nested IQ-OTH/NCCD tree; malignant case (3) duplicates (2); some non-square JPGs."""
    rng = np.random.default_rng(0)
    base = tmp_path / "iq" / IQ / IQ
    counts = {"Normal": 4, "Bengin": 3, "Malignant": 5}
    for cls, k in counts.items():
        d = base / f"{cls} cases"
        d.mkdir(parents=True)
        for i in range(1, k + 1):
            h, w = (40, 52) if i % 2 else (48, 48)
            arr = _blob_image(rng, h, w)
            if cls == "Malignant" and i == 3:
                arr = np.asarray(Image.open(d / f"{cls} case (2).jpg").convert("L"))
            Image.fromarray(np.stack([arr] * 3, -1)).save(d / f"{cls} case ({i}).jpg", quality=95)
    (base / "IQ-OTH_NCCD lung cancer dataset.txt").write_text("readme")
    return tmp_path / "iq"


@pytest.fixture
def chestct_root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    root = tmp_path / "chest"
    for split, k in CT_COUNTS.items():
        names = CT_TEST if split == "test" else CT_TRAIN
        for name in names:
            d = root / "Data" / split / name
            d.mkdir(parents=True)
            for i in range(k):
                arr = _blob_image(rng, 30 + 7 * i, 44)
                img = Image.fromarray(arr)
                if i == 1:
                    img = img.convert("RGB")  # screenshots are RGB
                img.save(d / f"{i:06d}.png")
    return root


def _nodulemnist(path: Path, S: int, sizes=(6, 3, 3)) -> None:
    rng = np.random.default_rng(S)
    arrays = {}
    for split, n in zip(("train", "val", "test"), sizes, strict=True):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, S, S, S), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 2).reshape(n, 1).astype(np.uint8)
    np.savez(path, **arrays)


@pytest.fixture
def nodulemnist_root(tmp_path: Path) -> Path:
    """Both Zenodo files side by side (the _64 one must win)."""
    root = tmp_path / "nm"
    root.mkdir()
    _nodulemnist(root / "nodulemnist3d.npz", 28)
    _nodulemnist(root / "nodulemnist3d_64.npz", 64)
    return root


@pytest.fixture
def nodulemnist28_root(tmp_path: Path) -> Path:
    root = tmp_path / "nm28"
    root.mkdir()
    _nodulemnist(root / "nodulemnist3d.npz", 28)
    return root


@pytest.fixture
def lidc_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    n = 8
    f = tmp_path / "lidc" / "lidc_patches.npz"
    f.parent.mkdir()
    np.savez_compressed(
        f,
        patches=rng.integers(-1200, 600, (n, 64, 64, 64)).astype(np.int16),
        labels=(np.arange(n) % 2).astype(np.int8),
        malignancy_mean=rng.uniform(1, 5, n).astype(np.float32),
        n_readers=np.full(n, 3, dtype=np.int8),
        diameter_mm=rng.uniform(3, 30, n).astype(np.float32),
        patient_id=np.array([f"LIDC-IDRI-{i // 2:04d}" for i in range(n)]),
        spacing_mm=np.float32(1.0),
    )
    return f
