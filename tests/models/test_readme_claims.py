"""Behaviour that README.md's "Models" section and docs/models.md §6 promise, where the code
once disagreed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from metaheur.models.data import split_indices  # noqa: E402
from metaheur.models.data.types import Slices2D  # noqa: E402


@pytest.mark.parametrize("per_class", [7, 12, 19])
def test_grouped_split_of_a_small_dataset_with_many_groups(per_class: int) -> None:
    """Regression: a grouped dataset with 20 groups or more whose every class held fewer
    than 20 samples (a small IQ-OTH/NCCD folder after ``dedupe="ahash"``, a LIDC file of a
    few dozen nodules) failed with scikit-learn's "n_splits=20 cannot be greater than the
    number of members in each class" instead of the documented grouped 70/15/15 split."""
    n = 3 * per_class
    y = np.repeat(np.arange(3), per_class)
    groups = np.arange(n)  # every image its own group: no near-duplicates
    data = Slices2D(X=np.zeros((n, 1, 4, 4), np.float32), y=y,
                    class_names=("normal", "benign", "malignant"), groups=groups, split=None,
                    source="iqothnccd")
    parts = split_indices(data, seed=0)
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(n))
    assert all(len(parts[p]) >= 1 for p in ("train", "val", "test"))
    assert 0.6 <= len(parts["train"]) / n <= 0.8
