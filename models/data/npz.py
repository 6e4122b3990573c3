"""Reading untrusted ``.npz`` files (datasets, the data cache) without trusting their headers.

A ``.npy`` member's header declares the shape to allocate before a byte of data is read: a
header of a few bytes can ask for terabytes (``MemoryError``) or for Python objects
(pickle). :func:`npz_array` refuses both with a ``ValueError`` naming the file and key.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["MAX_MEMBER_BYTES", "named_npz_keys", "npz_array", "npz_keys"]

MAX_MEMBER_BYTES = 2**31  # no array of a valid file comes near (LIDC patches: ~4000 at 64^3)


def npz_keys(path: Path) -> list[str]:
    """The array names in the ``.npz`` archive ``path``; ``ValueError`` for anything else."""
    try:
        with open(path, "rb"):  # is_zipfile says False for a file it cannot open
            pass
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from e
    if not zipfile.is_zipfile(path):  # np.load would try .npy, then pickle, and say so
        raise ValueError(f"cannot read {path} as .npz: not a NumPy .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            return list(z.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"cannot read {path} as .npz: {e}") from e


def npz_array(path: Path, key: str) -> np.ndarray:
    """Array ``key`` of the ``.npz`` at ``path``, refusing (``ValueError`` naming both) a member
    that is damaged, holds objects, or whose ``.npy`` header declares more than it can hold."""
    fmt = np.lib.format
    headers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(f"{key}.npy" if f"{key}.npy" in zf.namelist() else key)
            with zf.open(info) as fh:  # the header first: it declares the size to allocate
                version = fmt.read_magic(fh)
                if version not in headers:
                    raise ValueError(f".npy format version {version} (allowed: 1.0, 2.0)")
                shape, _, dtype = headers[version](fh)
            if dtype.hasobject:
                raise ValueError("holds Python objects (only plain numbers and strings are read)")
            size = math.prod(shape) * dtype.itemsize
            if size > min(MAX_MEMBER_BYTES, info.file_size):
                raise ValueError(
                    f"its header declares {size} bytes ({shape} {dtype}); allowed: at most the "
                    f"member's {info.file_size} bytes and {MAX_MEMBER_BYTES}"
                )
            with zf.open(info) as fh:
                return fmt.read_array(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError, KeyError, RuntimeError, NotImplementedError,
            zipfile.BadZipFile, zlib.error) as e:
        raise ValueError(f"{path}: cannot read key {key!r}: {e}") from e


def named_npz_keys(path: Path) -> list[str]:
    """:func:`npz_keys` of a file named ``*.npz`` (any case); no keys for any other name."""
    return npz_keys(path) if path.suffix.lower() == ".npz" else []
