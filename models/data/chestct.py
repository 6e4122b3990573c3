"""Chest CT-Scan images (4 classes, official train/valid/test folders; docs/models.md §1.4)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from metaheur.models.data.cache import warn_once
from metaheur.models.data.images import list_images, warn_stray_images
from metaheur.models.data.iqothnccd import SEARCH_DEPTH
from metaheur.models.data.types import CHESTCT_CLASSES, LAYOUTS

__all__ = ["find_chestct", "chestct_files"]

_CHESTCT_SPLITS = {"train": "train", "valid": "val", "test": "test"}


def _canon(name: str) -> str:
    return re.sub(r"[.\-\s]", "_", name.strip().lower())



def find_chestct(base: Path) -> Path | None:
    """The folder holding ``train``, ``valid``, ``test`` (``base/Data``, ``base`` or below)."""
    if not base.is_dir():
        return None
    frontier = [base]
    for _ in range(SEARCH_DEPTH):
        nxt = []
        for d in frontier:
            subs = {c.name.lower(): c for c in d.iterdir() if c.is_dir()}
            if "train" in subs and "test" in subs:
                kids = [_canon(c.name) for c in subs["train"].iterdir() if c.is_dir()]
                if any(k.startswith(CHESTCT_CLASSES[0]) for k in kids):
                    return d
            nxt += sorted(subs.values())
        frontier = nxt
    return None



def chestct_files(base: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    data = find_chestct(base)
    if data is None:
        raise FileNotFoundError(
            f"no Chest CT-Scan layout under {base}; expected {LAYOUTS['chestct']}"
        )
    paths: list[Path] = []
    labels: list[int] = []
    splits: list[str] = []
    above = {data}  # image files here or in a split folder belong to no class
    for folder, split in _CHESTCT_SPLITS.items():
        sdir, *others = [c for c in sorted(data.iterdir())
                         if c.is_dir() and c.name.lower() == folder] or [None]
        if others:
            raise ValueError(
                f"Chest CT-Scan: split {folder!r} has two folders in {data}: {sdir.name} and "
                f"{others[0].name}; merge them or remove one"
            )
        if sdir is None:
            raise FileNotFoundError(
                f"Chest CT-Scan: split folder {folder!r} missing in {data}; "
                f"expected {LAYOUTS['chestct']}"
            )
        above.add(sdir)
        by_class: dict[int, Path] = {}
        for c in sorted(sdir.iterdir()):
            if c.is_dir():
                k = next((i for i, n in enumerate(CHESTCT_CLASSES) if _canon(c.name).startswith(n)),
                         None)
                if k is None:
                    warn_once(f"Chest CT-Scan: ignoring unknown class folder {c}")
                elif k in by_class:
                    raise ValueError(
                        f"Chest CT-Scan class {CHESTCT_CLASSES[k]!r} has two folders in "
                        f"{sdir}: {by_class[k].name} and {c.name}; merge them or remove one"
                    )
                else:
                    by_class[k] = c
        for k, cls in enumerate(CHESTCT_CLASSES):
            if k not in by_class:
                raise ValueError(
                    f"Chest CT-Scan class {cls!r} has no folder in {sdir}; "
                    f"expected {LAYOUTS['chestct']}"
                )
            files = list_images(by_class[k])
            if not files:
                raise ValueError(
                    f"Chest CT-Scan class {cls!r} has no images in folder {by_class[k]}"
                )
            paths += files
            labels += [k] * len(files)
            splits += [split] * len(files)
    warn_stray_images(above, "Chest CT-Scan")
    return paths, np.asarray(labels, dtype=np.int64), np.asarray(splits)

