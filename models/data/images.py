"""Reading 2-D image files (PNG, JPG) for the real 2-D datasets (docs/models.md §1.3, §1.4, §3.2).

* Files whose names start with ``.`` (macOS ``._*`` AppleDouble metadata, ``.DS_Store``) are
  not images and are skipped; any other file that cannot be decoded is an error naming it.
* Any other entry of a class folder that is not read (another extension, a sub-folder, a
  broken link, a FIFO) is named in one warning per folder.
* An image's long side is at most :data:`MAX_IMAGE_SIDE` pixels (padding it to a square
  would otherwise allocate side² floats: 14 GB for a 138-byte 1 × 60000 PNG), and Pillow's
  decompression-bomb limit applies; both are errors naming the file.
* 8-bit images are read as they are; 16-bit PNGs (modes ``I;16*``, or ``I`` within 0..65535)
  are scaled by 1/65535, not clipped to 255 as ``convert("L")`` would do; float images must
  lie in [0, 1]. Anything else is refused with the file's name and mode.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from metaheur.models.data.cache import warn_once
from metaheur.models.preprocess import WIDE_MODES, pil_array, to_square, unit_gray

__all__ = ["IMG_EXT", "MAX_IMAGE_SIDE", "list_images", "read_gray", "ahash_groups",
           "read_images", "fingerprint"]

IMG_EXT = {".jpg", ".jpeg", ".png"}
MAX_IMAGE_SIDE = 8192


def _natural_key(p: Path) -> tuple[list[Any], str]:
    """Natural order ("2" before "10", case ignored), then the exact name: names equal but
    for case or leading zeros must not keep the file system's listing order."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)], p.name


def warn_stray_images(folders: set[Path], dataset: str) -> None:
    """Warn (once) about the image files lying in ``folders`` themselves (the folders above
    the class folders): no class is theirs, so they are not read."""
    stray = sorted(str(p) for f in folders for p in f.iterdir()
                   if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMG_EXT)
    if stray:
        more = f" and {len(stray) - 5} more" if len(stray) > 5 else ""
        warn_once(f"{dataset}: {len(stray)} image file(s) outside the class folders are not "
                  f"read: {', '.join(stray[:5])}{more}")


def list_images(folder: Path) -> list[Path]:
    """Image files of ``folder`` in natural order; hidden files (``._*``, ``.*``) skipped
    silently, any other entry that is not an image file with a warning naming it."""
    files, skipped = [], []
    for p in folder.iterdir():
        if p.name.startswith("."):
            continue
        (files if p.is_file() and p.suffix.lower() in IMG_EXT else skipped).append(p)
    if skipped:
        names = sorted(p.name for p in skipped)
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        warn_once(f"{folder}: {len(names)} entries are not image files "
                  f"({'/'.join(sorted(IMG_EXT))}) and are not read: {', '.join(names[:5])}{more}")
    return sorted(files, key=_natural_key)


def read_gray(path: Path) -> np.ndarray:
    """The image at ``path`` as a float32 (H, W) array in [0, 1] (see the module doc)."""
    try:
        with Image.open(path) as im:
            if max(im.size) > MAX_IMAGE_SIDE:
                raise ValueError(f"the image is {im.size[0]} x {im.size[1]} pixels; at most "
                                 f"{MAX_IMAGE_SIDE} a side are read")
            im.load()
            if im.mode in WIDE_MODES:  # 16/32-bit integers (0..65535) and floats ([0, 1])
                return unit_gray(pil_array(im))
            return np.asarray(im.convert("L"), dtype=np.float32) / np.float32(255.0)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError, EOFError, struct.error) as e:  # Pillow: "broken PNG file" is a
        raise ValueError(f"cannot read image {path}: {e}") from e  # SyntaxError


def _ahash(a: np.ndarray) -> np.ndarray:
    """8x8 average hash (64 booleans) of a [0, 1] image."""
    im = Image.fromarray(a.astype(np.float32), mode="F")
    s = np.asarray(im.resize((8, 8), resample=Image.Resampling.BOX), dtype=np.float32)
    return (s > s.mean()).ravel()


def ahash_groups(hashes: np.ndarray, max_distance: int = 4) -> np.ndarray:
    """Connected components of images whose hash Hamming distance is <= max_distance (§1.3)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    B = np.asarray(hashes, dtype=np.int32)
    ham = B @ (1 - B).T + (1 - B) @ B.T
    _, labels = connected_components(csr_matrix(ham <= max_distance), directed=False)
    return labels.astype(np.int64)



def read_images(
    paths: list[Path], image_size: int, want_hash: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(X (N, size, size) float32 in [0, 1], 8x8 average hashes or None)``."""
    X = np.empty((len(paths), image_size, image_size), dtype=np.float32)
    H = np.empty((len(paths), 64), dtype=bool) if want_hash else None
    for i, p in enumerate(paths):
        a = read_gray(p)
        X[i] = to_square(a, image_size)
        if H is not None:
            H[i] = _ahash(a)
    return X, H


def fingerprint(paths: list[Path]) -> str:
    """Digest of the files' paths, sizes and modification times (the cache key's data part)."""
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        # the path as the OS spells it: a name that is not UTF-8 has no str encoding
        h.update(os.fsencode(p) + f"|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]
