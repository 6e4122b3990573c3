"""IQ-OTH/NCCD (3 classes, one folder per class; docs/models.md §1.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metaheur.models.data.images import list_images
from metaheur.models.data.types import IQOTH_CLASSES, LAYOUTS

__all__ = ["find_iqoth", "iqoth_files"]

SEARCH_DEPTH = 4
_IQOTH_ALIASES = {
    "normal": ("normal cases", "normal"),
    "benign": ("bengin cases", "benign cases", "bengin", "benign"),  # "Bengin" misspelt upstream
    "malignant": ("malignant cases", "malignant"),
}


def find_iqoth(base: Path) -> dict[str, Path]:
    """Class folders under ``base`` (depth <= 4) matched against the aliases; may be partial."""
    found: dict[str, Path] = {}
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
                    found.setdefault(cls, c)
                else:
                    nxt.append(c)
        if len(found) == 3:
            break
        frontier = nxt
    return found



def iqoth_files(base: Path) -> tuple[list[Path], np.ndarray]:
    found = find_iqoth(base)
    missing = [c for c in IQOTH_CLASSES if c not in found]
    if missing:
        raise FileNotFoundError(
            f"IQ-OTH/NCCD under {base}: no folder for class(es) {missing} "
            f"(aliases {[_IQOTH_ALIASES[m] for m in missing]}); expected {LAYOUTS['iqothnccd']}"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for k, cls in enumerate(IQOTH_CLASSES):
        twins = [c for c in sorted(found[cls].parent.iterdir()) if c.is_dir()
                 and c != found[cls] and c.name.strip().lower() in _IQOTH_ALIASES[cls]]
        if twins:  # which one holds the class? neither is dropped silently
            raise ValueError(
                f"IQ-OTH/NCCD class {cls!r} has two folders, {found[cls]} and {twins[0]}; "
                "merge them or remove one"
            )
        files = list_images(found[cls])
        if not files:
            raise ValueError(f"IQ-OTH/NCCD class {cls!r} has no images in folder {found[cls]}")
        paths += files
        labels += [k] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)

