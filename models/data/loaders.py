"""Public entry points of the datasets (docs/models.md §1, §2, §3): :func:`load_slices`,
:func:`load_volumes` and :func:`detect_format`.

Real sources are read from the exact on-disk layouts of §1 (one module per dataset) and never
downloaded; see :mod:`metaheur.models.data.sources` for where they are looked for. With
``source="auto"`` a missing dataset falls back to the synthetic generator of §2 with one logged
warning. Results are memoised in memory keyed on every argument, and preprocessed 2-D data and
synthetic data are also cached on disk (:mod:`metaheur.models.data.cache`).
Do not modify the returned arrays in place: they are shared by the in-memory cache.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metaheur.models.data.cache import disk_load, disk_save, warn_once
from metaheur.models.data.chestct import chestct_files, find_chestct
from metaheur.models.data.images import ahash_groups, fingerprint, read_images
from metaheur.models.data.iqothnccd import find_iqoth, iqoth_files
from metaheur.models.data.lidc import find_lidc, load_lidc
from metaheur.models.data.nodulemnist import find_nodulemnist, load_nodulemnist
from metaheur.models.data.sources import MEMO, clear_cache, env_key, first_real
from metaheur.models.data.synthetic import (
    NODULES_VERSION,
    SLICES_VERSION,
    make_nodules,
    make_slices,
)
from metaheur.models.data.types import (
    CHESTCT_CLASSES,
    IQOTH_CLASSES,
    LAYOUTS,
    SYNTH_CLASSES,
    Slices2D,
    Volumes3D,
)
from metaheur.models.preprocess import enhance_batch, hu_window

__all__ = [
    "CHESTCT_CLASSES",
    "IQOTH_CLASSES",
    "Slices2D",
    "Volumes3D",
    "clear_cache",
    "detect_format",
    "load_slices",
    "load_volumes",
]

logger = logging.getLogger(__name__)

_CACHE_VERSION = 1


def _check_common(segmentation: str, dedupe: str | None) -> None:
    from metaheur.models.bac import SEGMENTATIONS

    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
    if dedupe not in (None, "ahash"):
        raise ValueError(f"dedupe must be 'ahash' or None, got {dedupe!r}")



def _cache_check(shape: tuple[int | None, ...], n_classes: int, *,
                 split: np.ndarray | None = None, groups: bool = False
                 ) -> Callable[[dict[str, np.ndarray]], str | None]:
    """What is wrong with cached arrays (a cache file is untrusted input): ``X`` float32 of
    ``shape`` (``None``: any length on that axis) in [0, 1], ``y`` labels below
    ``n_classes``, ``split`` exactly the expected one when given, and integer ``groups``
    when ``groups``."""
    n = shape[0]
    assert n is not None

    def check(z: dict[str, np.ndarray]) -> str | None:
        missing = [k for k in ("X", "y", *(("split",) if split is not None else ()),
                               *(("groups",) if groups else ())) if k not in z]
        if missing:
            return f"it lacks {', '.join(missing)}"
        X, y = z["X"], z["y"]
        if X.dtype != np.float32 or X.ndim != len(shape) or any(
                want is not None and got != want
                for got, want in zip(X.shape, shape, strict=True)):
            want = " x ".join("?" if k is None else str(k) for k in shape)
            return f"X is {X.dtype} {X.shape}, not float32 of shape {want}"
        if not (np.isfinite(X).all() and X.min(initial=0) >= 0 and X.max(initial=0) <= 1):
            return "X has values outside [0, 1]"
        if y.shape != (n,) or y.dtype.kind not in "iu" or not ((0 <= y) & (y < n_classes)).all():
            return f"y is not {n} labels in 0..{n_classes - 1}"
        if split is not None and (z["split"].shape != split.shape
                                  or not (z["split"] == split).all()):
            return "split is not the expected train/val/test assignment"
        if groups and (z["groups"].shape != (n,) or z["groups"].dtype.kind not in "iu"):
            return f"groups is not {n} integers"
        return None
    return check



def _official_split(n: tuple[int, int, int]) -> np.ndarray:
    """Synthetic data's split: ``n[0]`` "train", then ``n[1]`` "val", then ``n[2]`` "test"."""
    return np.repeat(np.array(["train", "val", "test"]), [int(k) for k in n])


def _finish_slices(X: np.ndarray, segmentation: str) -> np.ndarray:
    """Wiener + CLAHE, then BAC if asked (§3.2): (N, H, W) -> (N, C, H, W)."""
    from metaheur.models.bac import apply_segmentation

    return apply_segmentation(enhance_batch(X), segmentation)



def load_slices(
    source: str = "auto",
    root: str | os.PathLike[str] | None = None,
    image_size: int = 64,
    *,
    seed: int = 0,
    n: tuple[int, int, int] = (600, 300, 300),
    difficulty: float = 0.5,
    segmentation: str = "none",
    dedupe: str | None = "ahash",
    use_official_split: bool = True,
) -> Slices2D:
    """2-D slices for LSTM-ELU (docs/models.md §1.0, §1.3, §1.4, §2.2, §3.2).

    ``source``: "auto" (IQ-OTH/NCCD, then Chest CT, else synthetic with one warning),
    "synthetic", "iqothnccd", "chestct" or "digits" (scikit-learn's 8x8 digits). Real and
    synthetic images are padded/resized to ``image_size`` and enhanced by Wiener + CLAHE; digits
    are only scaled by 1/16. ``n`` and ``difficulty`` apply to synthetic data (train/val/test
    streams from ``SeedSequence(seed).spawn(3)``); ``dedupe="ahash"`` groups near-duplicate real
    images for grouped CV; ``use_official_split=False`` drops Chest CT's split for pooled k-fold.
    """
    if source not in ("auto", "synthetic", "iqothnccd", "chestct", "digits"):
        raise ValueError(
            f"source must be one of auto, synthetic, iqothnccd, chestct, digits; got {source!r}"
        )
    if image_size < 8:
        raise ValueError(f"image_size must be >= 8, got {image_size}")
    _check_common(segmentation, dedupe)
    if source == "digits":
        if segmentation != "none":
            raise ValueError("segmentation must be 'none' for the 8x8 digits")
        from metaheur.models.data.digits import load_digits

        return load_digits()
    key = ("slices", source, None if root is None else str(root), env_key(), image_size, seed,
           tuple(int(v) for v in n), float(difficulty), segmentation, dedupe, use_official_split)
    if key in MEMO:
        return MEMO[key]  # type: ignore[return-value]
    data: Slices2D | None = None
    if source in ("auto", "iqothnccd", "chestct"):

        def probe(name: str, base: Path) -> Callable[[], Slices2D] | None:
            # "auto" takes a tree for IQ-OTH/NCCD only with all three class folders (Chest
            # CT has a "normal" one); an IQ-OTH tree asked for by name that lacks some is
            # loaded, for its error naming the missing classes
            if name == "iqothnccd":
                found = len(find_iqoth(base))
                hit = found == 3 or (found > 0 and source != "auto")
            else:
                hit = find_chestct(base) is not None
            if not hit:
                return None
            return lambda: _load_real_slices(name, base, image_size, segmentation, dedupe,
                                             use_official_split)

        data = first_real(source, ("iqothnccd", "chestct"), root, probe,
                           "2-D dataset (IQ-OTH/NCCD, Chest CT-Scan)",
                           "synthetic slices (docs/models.md §2.2)")
    if data is None:
        data = _synthetic_slices(image_size, seed, n, difficulty, segmentation)
    MEMO[key] = data
    return data



def _synthetic_slices(
    image_size: int, seed: int, n: tuple[int, int, int], difficulty: float, segmentation: str
) -> Slices2D:
    if len(n) != 3 or min(n) < 0:
        raise ValueError(f"n must be three non-negative sizes (train, val, test), got {n}")
    key = ("synthetic-slices", SLICES_VERSION, _CACHE_VERSION, image_size, seed,
           tuple(int(v) for v in n), float(difficulty), segmentation)
    split = _official_split(n)
    z = disk_load("synthetic", key, _cache_check((sum(n), None, image_size, image_size),
                                                 len(SYNTH_CLASSES), split=split))
    if z is None:
        Xs, ys = [], []
        for ss, k in zip(np.random.SeedSequence(seed).spawn(3), n, strict=True):
            X, y = make_slices(int(k), int(ss.generate_state(1)[0]), size=image_size,
                               difficulty=difficulty)
            Xs.append(X)
            ys.append(y)
        z = {
            "X": _finish_slices(np.concatenate(Xs), segmentation),
            "y": np.concatenate(ys),
            "split": split,
        }
        disk_save("synthetic", key, z)
    return Slices2D(X=z["X"], y=z["y"], class_names=SYNTH_CLASSES, groups=None,
                    split=z["split"], source="synthetic")



def _warn_split_duplicates(name: str, paths: list[Path], groups: np.ndarray,
                           split: np.ndarray) -> None:
    """Warn (once) when near-duplicate groups span more than one part of the official
    split: the same image in train and test makes the test score optimistic."""
    spans = [g for g in np.unique(groups) if np.unique(split[groups == g]).size > 1]
    if spans:
        i = np.flatnonzero(groups == spans[0])
        example = " and ".join(f"{paths[j]} ({split[j]})" for j in i[:2])
        warn_once(f"{name}: {len(spans)} group(s) of near-duplicate images (dedupe='ahash') "
                  f"span more than one part of the official split, e.g. {example}; "
                  "use_official_split=False splits by group instead")


def _load_real_slices(
    name: str, base: Path, image_size: int, segmentation: str, dedupe: str | None,
    use_official_split: bool,
) -> Slices2D:
    if name == "iqothnccd":
        paths, y = iqoth_files(base)
        split, classes = None, IQOTH_CLASSES
    else:
        paths, y, split = chestct_files(base)
        classes = CHESTCT_CLASSES
        if not use_official_split:
            split = None
    key = ("real-slices", name, str(base.resolve()), fingerprint(paths), _CACHE_VERSION,
           image_size, segmentation, dedupe)
    z = disk_load("prepared", key, _cache_check((len(y), None, image_size, image_size),
                                                len(classes), groups=dedupe == "ahash"))
    if z is None:
        X, H = read_images(paths, image_size, want_hash=dedupe == "ahash")
        z = {"X": _finish_slices(X, segmentation), "y": y}
        if H is not None:
            z["groups"] = ahash_groups(H)
        disk_save("prepared", key, z)
    groups = z.get("groups")
    if groups is not None:
        logger.info("%s: dedupe=ahash put %d images in %d groups", name, len(y),
                    len(np.unique(groups)))
        if split is not None:
            _warn_split_duplicates(name, paths, groups, split)
    return Slices2D(X=z["X"], y=y, class_names=classes, groups=groups, split=split, source=name)



def load_volumes(
    source: str = "auto",
    root: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    n: tuple[int, int, int] = (600, 300, 300),
    size: int = 32,
    spacing_mm: float = 2.0,
    difficulty: float = 0.5,
) -> Volumes3D:
    """3-D nodule patches for the IFM (docs/models.md §1.0-§1.2, §2.1, §3.1).

    ``source``: "auto" (NoduleMNIST3D, then LIDC patches, else synthetic with one warning),
    "synthetic", "nodulemnist3d" or "lidc". Synthetic and LIDC data go through the HU window,
    NoduleMNIST3D through /255. ``n``, ``size``, ``spacing_mm`` and ``difficulty`` apply to
    synthetic data only (real patches keep their native 1 mm grid).
    """
    if source not in ("auto", "synthetic", "nodulemnist3d", "lidc"):
        raise ValueError(
            f"source must be one of auto, synthetic, nodulemnist3d, lidc; got {source!r}"
        )
    key = ("volumes", source, None if root is None else str(root), env_key(), seed,
           tuple(int(v) for v in n), int(size), float(spacing_mm), float(difficulty))
    if key in MEMO:
        return MEMO[key]  # type: ignore[return-value]
    data: Volumes3D | None = None
    if source != "synthetic":

        def probe(name: str, base: Path) -> Callable[[], Volumes3D] | None:
            if name == "nodulemnist3d":
                f = find_nodulemnist(base)
                return None if f is None else (lambda: load_nodulemnist(f))
            f = find_lidc(base)
            return None if f is None else (lambda: load_lidc(f))

        data = first_real(source, ("nodulemnist3d", "lidc"), root, probe,
                           "3-D dataset (NoduleMNIST3D, LIDC patches)",
                           "synthetic nodules (docs/models.md §2.1)")
    if data is None:
        data = _synthetic_volumes(seed, n, size, spacing_mm, difficulty)
    MEMO[key] = data
    return data



def _synthetic_volumes(
    seed: int, n: tuple[int, int, int], size: int, spacing_mm: float, difficulty: float
) -> Volumes3D:
    if len(n) != 3 or min(n) < 0:
        raise ValueError(f"n must be three non-negative sizes (train, val, test), got {n}")
    key = ("synthetic-volumes", NODULES_VERSION, _CACHE_VERSION, seed,
           tuple(int(v) for v in n), int(size), float(spacing_mm), float(difficulty))
    split = _official_split(n)
    z = disk_load("synthetic", key, _cache_check((sum(n), size, size, size), 2, split=split))
    if z is None:
        Xs, ys = [], []
        for ss, k in zip(np.random.SeedSequence(seed).spawn(3), n, strict=True):
            X, y = make_nodules(int(k), int(ss.generate_state(1)[0]), size=size,
                                spacing_mm=spacing_mm, difficulty=difficulty)
            Xs.append(hu_window(X))
            ys.append(y)
        z = {"X": np.concatenate(Xs), "y": np.concatenate(ys), "split": split}
        disk_save("synthetic", key, z)
    return Volumes3D(X=z["X"], y=z["y"], spacing_mm=float(spacing_mm), groups=None,
                     split=z["split"], source="synthetic")



#: Whether a folder or file holds each format's layout, in the order detection tries them.
_FINDERS: dict[str, Callable[[Path], bool]] = {
    "chestct": lambda p: find_chestct(p) is not None,
    "iqothnccd": lambda p: len(find_iqoth(p)) == 3,
    "nodulemnist3d": lambda p: find_nodulemnist(p) is not None,
    "lidc": lambda p: find_lidc(p) is not None,
}


def _holds(fmt: str, folder: Path, expected: str | None) -> bool:
    """Whether ``folder`` holds ``fmt``'s layout. A file that ``fmt``'s search cannot read (a
    ``.npz`` that is a Git LFS pointer, say) is the error only while detecting or when ``fmt``
    is the format asked for; otherwise it does not hide the asked format's message."""
    try:
        return _FINDERS[fmt](folder)
    except ValueError:
        if expected is None or fmt == expected:
            raise
        return False


def detect_format(path: str | os.PathLike[str], expected: str | None = None) -> str:
    """Dataset layout at ``path`` (for the CLI's ``--data PATH``).

    Returns "iqothnccd", "chestct", "nodulemnist3d" or "lidc"; ``expected`` (the format the
    user asked for) is tried first, and another layout found instead is returned for the
    caller to report. A missing path raises ``FileNotFoundError``; no layout found raises
    ``ValueError`` naming the layout of ``expected``, or every layout when it is ``None``;
    so does a folder holding several layouts when ``expected`` is ``None``.
    """
    if expected is not None and expected not in LAYOUTS:
        raise ValueError(f"unknown data format {expected!r}; allowed: {', '.join(LAYOUTS)}")
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"data path {p} does not exist")
    if p.is_file():
        files = ("lidc", "nodulemnist3d")  # the layouts that are one file
        order = [expected] if expected in files else []
        found = next((f for f in [*order, *files] if _FINDERS[f](p)), None)
    elif expected is not None:
        found = next((f for f in [expected, *_FINDERS] if _holds(f, p, expected)), None)
    else:  # a folder holding two layouts is the user's to choose between
        hits = [f for f in _FINDERS if _holds(f, p, None)]
        if len(hits) > 1:
            raise ValueError(f"{p} holds several dataset layouts ({', '.join(hits)}); choose "
                             "one with --data-format (or point --data at its own folder)")
        found = hits[0] if hits else None
    if found is not None:
        return found
    if expected is None:
        allowed = "; ".join(f"{k}: {v}" for k, v in LAYOUTS.items())
        what = "file" if p.is_file() else "layout at"
        raise ValueError(f"unrecognised dataset {what} {p}; allowed layouts: {allowed}")
    if p.is_file():
        raise ValueError(f"{p} is not a dataset file of the {expected} format; expected: "
                         f"{LAYOUTS[expected]}")
    hint = ""
    if expected == "iqothnccd" and (classes := find_iqoth(p)):
        missing = [c for c in IQOTH_CLASSES if c not in classes]
        hint = (f" (found the class folders {', '.join(c for c in IQOTH_CLASSES if c in classes)}"
                f" but not {', '.join(missing)})")
    raise ValueError(f"{p} has no {expected} dataset{hint}; expected: {LAYOUTS[expected]}")

