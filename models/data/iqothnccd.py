"""IQ-OTH/NCCD (3 classes, one folder per class; docs/models.md §1.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metaheur.models.data.images import list_images, warn_stray_images
from metaheur.models.data.types import IQOTH_CLASSES, LAYOUTS

__all__ = ["class_folders", "find_iqoth", "iqoth_files"]

SEARCH_DEPTH = 4
_IQOTH_ALIASES = {
    "normal": ("normal cases", "normal"),
    "benign": ("bengin cases", "benign cases", "bengin", "benign"),  # "Bengin" misspelt upstream
    "malignant": ("malignant cases", "malignant"),
}


def class_folders(base: Path) -> dict[str, list[Path]]:
    """Every folder under ``base`` (depth <= 4) named as a class (the aliases), per class;
    a class folder's own sub-folders are not searched. May be partial."""
    found: dict[str, list[Path]] = {}
    if not base.is_dir():
        return found
    frontier = [base]
    for _ in range(SEARCH_DEPTH + 1):
        nxt = []
        for d in frontier:
            for c in sorted(d.iterdir()):
                if not c.is_dir():
                    continue
                name = c.name.strip().lower()
                cls = next((k for k, al in _IQOTH_ALIASES.items() if name in al), None)
                if cls is not None:
                    found.setdefault(cls, []).append(c)
                else:
                    nxt.append(c)
        frontier = nxt
    return found


def find_iqoth(base: Path) -> dict[str, Path]:
    """The first folder of each class found under ``base`` (:func:`class_folders`)."""
    return {cls: folders[0] for cls, folders in class_folders(base).items()}


def iqoth_files(base: Path) -> tuple[list[Path], np.ndarray]:
    """The image files of the three classes and their labels (``IQOTH_CLASSES`` order).

    A class with two folders anywhere in the tree ("Bengin cases" beside "Benign cases",
    or ``train/`` and ``test/`` each with the three classes) is an error naming both:
    which one holds the class is not ours to guess, and dropping one loses its images."""
    found = class_folders(base)
    missing = [c for c in IQOTH_CLASSES if c not in found]
    if missing:
        raise FileNotFoundError(
            f"IQ-OTH/NCCD under {base}: no folder for class(es) {missing} "
            f"(aliases {[_IQOTH_ALIASES[m] for m in missing]}); expected {LAYOUTS['iqothnccd']}"
        )
    above: set[Path] = set()  # the folders from base down to the class folders
    for folder in (f for fs in found.values() for f in fs):
        while folder != base and base in folder.parents:
            folder = folder.parent
            above.add(folder)
    warn_stray_images(above, "IQ-OTH/NCCD")
    paths: list[Path] = []
    labels: list[int] = []
    for k, cls in enumerate(IQOTH_CLASSES):
        folder, *others = found[cls]
        if others:
            raise ValueError(
                f"IQ-OTH/NCCD class {cls!r} has two folders, {folder} and {others[0]}"
                f"{f' (and {len(others) - 1} more)' if len(others) > 1 else ''}; the "
                "layout has one per class: merge them, or point root at one of the trees"
            )
        files = list_images(folder)
        if not files:
            raise ValueError(f"IQ-OTH/NCCD class {cls!r} has no images in folder {folder}")
        paths += files
        labels += [k] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)
