"""scikit-learn's 8x8 handwritten digits as :class:`Slices2D`: the small REAL dataset.

1797 images, 10 classes, bundled with scikit-learn (no download). For
``LSTMELUNet(trunk=None)`` each image row is one time step: 8 steps of 8 features
(docs/models.md §4.3). Pixels (0..16) are only
scaled by 1/16; no Wiener, CLAHE or resizing. There is no official split, so
:func:`metaheur.models.data.split_indices` draws the stratified 70/15/15 split.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from metaheur.models.data.types import Slices2D

__all__ = ["load_digits"]


@lru_cache(maxsize=1)
def load_digits() -> Slices2D:
    """The digits as float32 (1797, 1, 8, 8) in [0, 1], labels 0-9, ``source="digits"``."""
    from sklearn.datasets import load_digits as _sk_load_digits

    d = _sk_load_digits()
    X = (np.asarray(d.images, dtype=np.float32) / np.float32(16.0))[:, None]
    return Slices2D(
        X=np.clip(X, 0.0, 1.0),
        y=np.asarray(d.target, dtype=np.int64),
        class_names=tuple(str(i) for i in range(10)),
        groups=None,
        split=None,
        source="digits",
    )
