"""Datasets for the ``models`` objectives (docs/models.md §1-§2): real loaders, synthetic
generators, splits. Research benchmark, not for clinical use."""

from metaheur.models.data.digits import load_digits
from metaheur.models.data.loaders import (
    CHESTCT_CLASSES,
    IQOTH_CLASSES,
    Slices2D,
    Volumes3D,
    clear_cache,
    detect_format,
    load_slices,
    load_volumes,
)
from metaheur.models.data.splits import kfold_indices, split_indices
from metaheur.models.data.synthetic import make_nodules, make_slices

__all__ = [
    "CHESTCT_CLASSES",
    "IQOTH_CLASSES",
    "Slices2D",
    "Volumes3D",
    "clear_cache",
    "detect_format",
    "kfold_indices",
    "load_digits",
    "load_slices",
    "load_volumes",
    "make_nodules",
    "make_slices",
    "split_indices",
]
