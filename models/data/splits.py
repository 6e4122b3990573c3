"""Train/val/test splits and k-fold helpers (docs/models.md §6.2).

The official split is kept when the source has one (synthetic, NoduleMNIST3D, Chest CT);
otherwise a stratified 70/15/15 split is drawn once from ``seed``, grouped when ``groups`` exist
(LIDC patients, IQ-OTH duplicate clusters) so no group straddles two parts. k-fold pools train
and val and never touches test.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.model_selection import (
    GroupShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from metaheur.models.data.types import Slices2D, Volumes3D

__all__ = ["kfold_indices", "split_indices"]

_PARTS = ("train", "val", "test")
_TARGET = (0.70, 0.15, 0.15)
logger = logging.getLogger(__name__)


def split_indices(data: Slices2D | Volumes3D, seed: int = 0, *,
                  stratify: bool = True) -> dict[str, np.ndarray]:
    """``{"train", "val", "test"}`` -> sorted int64 index arrays (disjoint, covering all samples).

    Official split when ``data.split`` is set; else 70/15/15 seeded by ``seed``: grouped when
    ``data.groups`` is set (``StratifiedGroupKFold(20)``: 14/3/3 folds; with fewer than 20
    groups, or no class of 20 samples, ``GroupShuffleSplit``: 15 % test, then 15 % val),
    otherwise stratified when every class present has two samples or more.
    ``stratify=False`` draws the plain shuffled split instead: the one metaheur drew by
    mistake until December 2026 (its check never passed), kept to reproduce the runs made
    with it (docs/models.md §6.2).
    """
    y = np.asarray(data.y)
    if data.split is not None:
        s = np.asarray(data.split)
        bad = set(np.unique(s).tolist()) - set(_PARTS)
        if bad:
            raise ValueError(f"data.split has values {sorted(bad)}; allowed: {_PARTS}")
        return {p: np.flatnonzero(s == p).astype(np.int64) for p in _PARTS}
    idx = np.arange(y.shape[0])
    if y.shape[0] < 3:
        raise ValueError(f"need at least 3 samples to split, got {y.shape[0]}")
    if data.groups is not None:
        return _grouped_split(y, np.asarray(data.groups), seed)
    strat = y if stratify and _all_present(y) else None
    try:
        rest, test = train_test_split(idx, test_size=0.15, random_state=seed, stratify=strat)
        strat_r = y[rest] if strat is not None else None
        train, val = train_test_split(rest, test_size=0.15 / 0.85, random_state=seed,
                                      stratify=strat_r)
    except ValueError:  # too few samples per class to stratify
        rest, test = train_test_split(idx, test_size=0.15, random_state=seed)
        train, val = train_test_split(rest, test_size=0.15 / 0.85, random_state=seed)
    return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}


def _all_present(y: np.ndarray) -> bool:
    """Every class that occurs has two samples or more (absent label values are ignored)."""
    counts = np.bincount(y)
    return bool((counts[np.unique(y)] >= 2).all())


def _grouped_split(y: np.ndarray, groups: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    ids, sizes = np.unique(groups, return_counts=True)
    n_groups, n = ids.size, y.shape[0]
    if n_groups < 3:
        raise ValueError(
            f"the {n} samples form only {n_groups} group(s) (largest {sizes.max()}), and a "
            "grouped train/val/test split needs at least 3: with dedupe='ahash' chains of "
            "near-duplicate images merged them (very similar images, e.g. mostly blank); "
            "load the data with dedupe=None, or give groups that keep samples apart"
        )
    idx = np.arange(n)
    # StratifiedGroupKFold(20) refuses data whose every class holds fewer than 20 samples
    if n_groups >= 20 and np.bincount(y).max() >= 20:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "least populated class" on rare classes
            cv = StratifiedGroupKFold(n_splits=20, shuffle=True, random_state=seed)
            fold = np.empty(n, dtype=np.int64)
            for f, (_, te) in enumerate(cv.split(idx, y, groups)):
                fold[te] = f
        perm = np.random.default_rng(seed).permutation(20)  # which folds go where
        part = np.where(np.isin(fold, perm[:3]), 2, np.where(np.isin(fold, perm[3:6]), 1, 0))
        out = {p: np.flatnonzero(part == k).astype(np.int64) for k, p in enumerate(_PARTS)}
    else:
        gss = GroupShuffleSplit(n_splits=1, test_size=0.15, random_state=seed)
        rest, test = next(gss.split(idx, y, groups))
        gss2 = GroupShuffleSplit(n_splits=1, test_size=0.15 / 0.85, random_state=seed)
        tr, va = next(gss2.split(rest, y[rest], groups[rest]))
        out = {"train": np.sort(rest[tr]), "val": np.sort(rest[va]), "test": np.sort(test)}
    _check_grouped(out, y, sizes)
    return out


def _check_grouped(parts: dict[str, np.ndarray], y: np.ndarray, sizes: np.ndarray) -> None:
    """Warn when whole groups could not give about 70/15/15, or left a class out of a part."""
    n = y.shape[0]
    share = {p: len(parts[p]) / n for p in _PARTS}
    off = any(abs(share[p] - want) > 0.10 for p, want in zip(_PARTS, _TARGET, strict=True))
    lacking = [p for p in _PARTS if np.setdiff1d(y, y[parts[p]]).size]
    if not (off or lacking):
        return
    got = "/".join(f"{100 * share[p]:.0f}" for p in _PARTS)
    why = [f"the split is {got} %, far from 70/15/15"] if off else []
    if lacking:
        why.append(f"{' and '.join(lacking)} lack(s) a class")
    logger.warning(
        "grouped split of %d samples in %d groups: %s; whole groups go to one part and the "
        "largest group holds %d samples (%.0f %%): with dedupe='ahash' chains of "
        "near-duplicate images may have merged; dedupe=None splits by sample",
        n, sizes.size, "; ".join(why), sizes.max(), 100 * sizes.max() / n)


def kfold_indices(
    data: Slices2D | Volumes3D, k: int, seed: int = 0, *, stratify: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds over train + val as ``[(train_idx, val_idx), ...]`` (global indices; test excluded).

    ``StratifiedKFold``, or ``StratifiedGroupKFold`` when ``data.groups`` exist
    (docs/models.md §6.2); ``stratify``: of the train/val/test split, :func:`split_indices`.
    """
    if not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    parts = split_indices(data, seed, stratify=stratify)
    pool = np.sort(np.concatenate([parts["train"], parts["val"]]))
    y = np.asarray(data.y)[pool]
    if k > pool.size:
        raise ValueError(f"k={k} exceeds the {pool.size} samples outside the test set")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare classes with fewer than k members
        if data.groups is not None:
            g = np.asarray(data.groups)[pool]
            if np.unique(g).size < k:
                raise ValueError(
                    f"k={k} exceeds the {np.unique(g).size} groups outside the test set"
                )
            cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            folds = list(cv.split(pool, y, g))
        else:
            cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            folds = list(cv.split(pool, y))
    return [(pool[tr], pool[va]) for tr, va in folds]
