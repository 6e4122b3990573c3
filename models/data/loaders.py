"""Dataset containers, real-data loaders and caching (docs/models.md §1, §2, §3).

Real sources are read from the exact on-disk layouts of §1 and never downloaded. Root
resolution, in order: the ``root`` argument, ``$METAHEUR_DATA_DIR/<name>``,
``~/.cache/metaheur/data/<name>`` (NoduleMNIST3D also ``~/.medmnist``). With ``source="auto"`` a
missing dataset falls back to the synthetic generator of §2 with one logged warning. Results are
cached in memory keyed on every argument, and preprocessed 2-D data and synthetic data also on
disk under ``$METAHEUR_CACHE_DIR`` (default ``~/.cache/metaheur``; "off" disables it), written
atomically (temp file + ``os.replace``) so concurrent trial processes are safe.
Do not modify the returned arrays in place: they are shared by the in-memory cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from metaheur.models.data.synthetic import GENERATOR_VERSION, make_nodules, make_slices
from metaheur.models.preprocess import enhance_batch, hu_window, to_square

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

IQOTH_CLASSES = ("normal", "benign", "malignant")  # fixed indices 0, 1, 2 (§1.3)
CHESTCT_CLASSES = ("adenocarcinoma", "large_cell_carcinoma", "normal", "squamous_cell_carcinoma")
SYNTH_CLASSES = ("normal", "benign", "malignant")
_IQOTH_ALIASES = {
    "normal": ("normal cases", "normal"),
    "benign": ("bengin cases", "benign cases", "bengin", "benign"),  # "Bengin" misspelt upstream
    "malignant": ("malignant cases", "malignant"),
}
_CHESTCT_SPLITS = {"train": "train", "valid": "val", "test": "test"}
_IMG_EXT = {".jpg", ".jpeg", ".png"}
_NODULEMNIST_FILES = {  # file name -> (Volumes3D.source, MD5 from Zenodo)
    "nodulemnist3d_64.npz": ("nodulemnist3d_64", "c47c5b7d457bf6332200d2ea6d64ecd8"),
    "nodulemnist3d.npz": ("nodulemnist3d", "8755a7e9e05a4d9ce80a24c3e7a256f3"),
}
_NODULEMNIST_KEYS = ("train_images", "train_labels", "val_images", "val_labels",
                     "test_images", "test_labels")
_LIDC_KEYS = ("patches", "labels", "patient_id")
_SEARCH_DEPTH = 4
_CACHE_VERSION = 1

LAYOUTS = {
    "iqothnccd": (
        "<root>/[The IQ-OTHNCCD lung cancer dataset/...]/{Normal cases, Bengin cases, "
        "Malignant cases}/*.jpg (class folders found case-insensitively up to depth 4)"
    ),
    "chestct": (
        "<root>/Data/{train,valid,test}/<class>/*.png|*.jpg with class folders starting with "
        "adenocarcinoma, large.cell.carcinoma, normal, squamous.cell.carcinoma"
    ),
    "nodulemnist3d": (
        "<root>/nodulemnist3d_64.npz (preferred) or <root>/nodulemnist3d.npz with keys "
        + ", ".join(_NODULEMNIST_KEYS)
    ),
    "lidc": (
        "<root>/lidc_patches.npz (or any .npz) with keys patches (N,64,64,64) int16 HU, labels, "
        "patient_id, made by `python -m metaheur.models.data.prepare_lidc`"
    ),
}


@dataclass(frozen=True)
class Slices2D:
    """2-D slices for LSTM-ELU (docs/models.md §1.0); ``X`` float32 (N, C, H, W) in [0, 1]."""

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    groups: np.ndarray | None
    split: np.ndarray | None
    source: str


@dataclass(frozen=True)
class Volumes3D:
    """3-D patches for the IFM (docs/models.md §1.0); ``X`` float32 (N, S, S, S) in [0, 1]."""

    X: np.ndarray
    y: np.ndarray
    spacing_mm: float
    groups: np.ndarray | None
    split: np.ndarray | None
    source: str


_MEMO: dict[tuple[Any, ...], Slices2D | Volumes3D] = {}
_WARNED: set[str] = set()
_MD5_CHECKED: set[tuple[str, int, int]] = set()


def clear_cache() -> None:
    """Forget the in-memory cache (the on-disk cache is left alone)."""
    _MEMO.clear()


def _warn_once(msg: str) -> None:
    if msg not in _WARNED:
        _WARNED.add(msg)
        logger.warning(msg)


# ------------------------------------------------------------------ roots and disk cache


def _candidates(name: str, root: str | os.PathLike[str] | None) -> list[Path]:
    out = [Path(root).expanduser()] if root is not None else []
    env = os.environ.get("METAHEUR_DATA_DIR")
    if env:
        out.append(Path(env).expanduser() / name)
    out.append(Path.home() / ".cache" / "metaheur" / "data" / name)
    return out



def _first_real(
    source: str,
    names: tuple[str, ...],
    root: str | os.PathLike | None,
    probe: Callable[[str, Path], Callable[[], Any] | None],
    what: str,
    fallback: str,
) -> Any | None:
    """Load the first real dataset found: ``names`` in order (``source="auto"``) or just
    ``source``, under each name's candidate roots; ``probe(name, base)`` returns a loader or
    ``None``. An explicitly named source that is missing raises ``FileNotFoundError``
    listing the paths tried and the layout expected; ``"auto"`` warns once and returns
    ``None`` (the caller falls back to synthetic data)."""
    tried: list[str] = []
    for name in names if source == "auto" else (source,):
        bases = _candidates(name, root)
        if name == "nodulemnist3d":
            bases.append(Path.home() / ".medmnist")
        for base in bases:
            tried.append(str(base))
            load = probe(name, base)
            if load is not None:
                return load()
    if source != "auto":
        raise FileNotFoundError(
            f"{source} data not found; tried {tried}; expected {LAYOUTS[source]}"
        )
    _warn_once(f"no real {what} found in {tried}; using {fallback}")
    return None

def _env_key() -> tuple[str | None, str, str | None]:
    """What root resolution and the disk cache depend on besides the arguments."""
    return (os.environ.get("METAHEUR_DATA_DIR"), str(Path.home()),
            os.environ.get("METAHEUR_CACHE_DIR"))


def _cache_dir(sub: str) -> Path | None:
    env = os.environ.get("METAHEUR_CACHE_DIR")
    if env is not None and env.strip().lower() in {"0", "off", "none", "false"}:
        return None
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "metaheur"
    return base / sub


def _key_hash(key: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:24]


def _disk_load(sub: str, key: tuple[Any, ...]) -> dict[str, np.ndarray] | None:
    d = _cache_dir(sub)
    if d is None:
        return None
    f = d / f"{_key_hash(key)}.npz"
    if not f.is_file():
        return None
    try:
        with np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        logger.debug("ignoring unreadable cache file %s: %s", f, e)
        return None


def _disk_save(sub: str, key: tuple[Any, ...], arrays: dict[str, np.ndarray]) -> None:
    d = _cache_dir(sub)
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, d / f"{_key_hash(key)}.npz")  # atomic: readers never see half a file
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as e:
        _warn_once(f"cannot write the data cache under {d}: {e}")


def _pack(data: Slices2D | Volumes3D) -> dict[str, np.ndarray]:
    out = {"X": data.X, "y": data.y}
    if data.split is not None:
        out["split"] = data.split
    if data.groups is not None:
        out["groups"] = data.groups
    if isinstance(data, Slices2D):
        out["class_names"] = np.array(data.class_names)
    return out


# ------------------------------------------------------------------ image helpers


def _natural_key(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def _list_images(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMG_EXT]
    return sorted(files, key=_natural_key)


def _open_gray(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            return im.convert("L")
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from e


def _ahash(im: Image.Image) -> np.ndarray:
    """8x8 average hash (64 booleans)."""
    a = np.asarray(im.resize((8, 8), resample=Image.Resampling.BOX), dtype=np.float32)
    return (a > a.mean()).ravel()


def ahash_groups(hashes: np.ndarray, max_distance: int = 4) -> np.ndarray:
    """Connected components of images whose hash Hamming distance is <= max_distance (§1.3)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    B = np.asarray(hashes, dtype=np.int32)
    ham = B @ (1 - B).T + (1 - B) @ B.T
    _, labels = connected_components(csr_matrix(ham <= max_distance), directed=False)
    return labels.astype(np.int64)


def _read_images(
    paths: list[Path], image_size: int, want_hash: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.empty((len(paths), image_size, image_size), dtype=np.float32)
    H = np.empty((len(paths), 64), dtype=bool) if want_hash else None
    for i, p in enumerate(paths):
        im = _open_gray(p)
        X[i] = to_square(im, image_size)
        if H is not None:
            H[i] = _ahash(im)
    return X, H


def _fingerprint(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


# ------------------------------------------------------------------ IQ-OTH/NCCD (§1.3)


def _find_iqoth(base: Path) -> dict[str, Path]:
    """Class folders under ``base`` (depth <= 4) matched against the aliases; may be partial."""
    found: dict[str, Path] = {}
    if not base.is_dir():
        return found
    frontier = [base]
    for _ in range(_SEARCH_DEPTH + 1):
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


def _iqoth_files(base: Path) -> tuple[list[Path], np.ndarray]:
    found = _find_iqoth(base)
    missing = [c for c in IQOTH_CLASSES if c not in found]
    if missing:
        raise FileNotFoundError(
            f"IQ-OTH/NCCD under {base}: no folder for class(es) {missing} "
            f"(aliases {[_IQOTH_ALIASES[m] for m in missing]}); expected {LAYOUTS['iqothnccd']}"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for k, cls in enumerate(IQOTH_CLASSES):
        files = _list_images(found[cls])
        if not files:
            raise ValueError(f"IQ-OTH/NCCD class {cls!r} has no images in folder {found[cls]}")
        paths += files
        labels += [k] * len(files)
    return paths, np.asarray(labels, dtype=np.int64)


# ------------------------------------------------------------------ Chest CT-Scan (§1.4)


def _canon(name: str) -> str:
    return re.sub(r"[.\-\s]", "_", name.strip().lower())


def _find_chestct(base: Path) -> Path | None:
    """The folder holding ``train``, ``valid``, ``test`` (``base/Data``, ``base`` or below)."""
    if not base.is_dir():
        return None
    frontier = [base]
    for _ in range(_SEARCH_DEPTH):
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


def _chestct_files(base: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    data = _find_chestct(base)
    if data is None:
        raise FileNotFoundError(
            f"no Chest CT-Scan layout under {base}; expected {LAYOUTS['chestct']}"
        )
    paths: list[Path] = []
    labels: list[int] = []
    splits: list[str] = []
    for folder, split in _CHESTCT_SPLITS.items():
        sdir = next((c for c in data.iterdir() if c.is_dir() and c.name.lower() == folder), None)
        if sdir is None:
            raise FileNotFoundError(
                f"Chest CT-Scan: split folder {folder!r} missing in {data}; "
                f"expected {LAYOUTS['chestct']}"
            )
        by_class: dict[int, Path] = {}
        for c in sorted(sdir.iterdir()):
            if c.is_dir():
                k = next((i for i, n in enumerate(CHESTCT_CLASSES) if _canon(c.name).startswith(n)),
                         None)
                if k is None:
                    _warn_once(f"Chest CT-Scan: ignoring unknown class folder {c}")
                else:
                    by_class.setdefault(k, c)
        for k, cls in enumerate(CHESTCT_CLASSES):
            if k not in by_class:
                raise ValueError(
                    f"Chest CT-Scan class {cls!r} has no folder in {sdir}; "
                    f"expected {LAYOUTS['chestct']}"
                )
            files = _list_images(by_class[k])
            if not files:
                raise ValueError(
                    f"Chest CT-Scan class {cls!r} has no images in folder {by_class[k]}"
                )
            paths += files
            labels += [k] * len(files)
            splits += [split] * len(files)
    return paths, np.asarray(labels, dtype=np.int64), np.asarray(splits)


# ------------------------------------------------------------------ load_slices


def _check_common(segmentation: str, dedupe: str | None) -> None:
    from metaheur.models.bac import SEGMENTATIONS

    if segmentation not in SEGMENTATIONS:
        raise ValueError(f"segmentation must be one of {SEGMENTATIONS}, got {segmentation!r}")
    if dedupe not in (None, "ahash"):
        raise ValueError(f"dedupe must be 'ahash' or None, got {dedupe!r}")


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
    key = ("slices", source, None if root is None else str(root), _env_key(), image_size, seed,
           tuple(int(v) for v in n), float(difficulty), segmentation, dedupe, use_official_split)
    if key in _MEMO:
        return _MEMO[key]  # type: ignore[return-value]
    data: Slices2D | None = None
    if source in ("auto", "iqothnccd", "chestct"):

        def probe(name: str, base: Path) -> Callable[[], Slices2D] | None:
            hit = bool(_find_iqoth(base)) if name == "iqothnccd" else (
                _find_chestct(base) is not None)
            if not hit:
                return None
            return lambda: _load_real_slices(name, base, image_size, segmentation, dedupe,
                                             use_official_split)

        data = _first_real(source, ("iqothnccd", "chestct"), root, probe,
                           "2-D dataset (IQ-OTH/NCCD, Chest CT-Scan)",
                           "synthetic slices (docs/models.md §2.2)")
    if data is None:
        data = _synthetic_slices(image_size, seed, n, difficulty, segmentation)
    _MEMO[key] = data
    return data


def _synthetic_slices(
    image_size: int, seed: int, n: tuple[int, int, int], difficulty: float, segmentation: str
) -> Slices2D:
    if len(n) != 3 or min(n) < 0:
        raise ValueError(f"n must be three non-negative sizes (train, val, test), got {n}")
    key = ("synthetic-slices", GENERATOR_VERSION, _CACHE_VERSION, image_size, seed,
           tuple(int(v) for v in n), float(difficulty), segmentation)
    z = _disk_load("synthetic", key)
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
            "split": np.repeat(np.array(["train", "val", "test"]), list(n)),
        }
        _disk_save("synthetic", key, z)
    return Slices2D(X=z["X"], y=z["y"], class_names=SYNTH_CLASSES, groups=None,
                    split=z["split"], source="synthetic")


def _load_real_slices(
    name: str, base: Path, image_size: int, segmentation: str, dedupe: str | None,
    use_official_split: bool,
) -> Slices2D:
    if name == "iqothnccd":
        paths, y = _iqoth_files(base)
        split, classes = None, IQOTH_CLASSES
    else:
        paths, y, split = _chestct_files(base)
        classes = CHESTCT_CLASSES
        if not use_official_split:
            split = None
    key = ("real-slices", name, str(base.resolve()), _fingerprint(paths), _CACHE_VERSION,
           image_size, segmentation, dedupe)
    z = _disk_load("prepared", key)
    if z is None:
        X, H = _read_images(paths, image_size, want_hash=dedupe == "ahash")
        z = {"X": _finish_slices(X, segmentation), "y": y}
        if H is not None:
            z["groups"] = ahash_groups(H)
        _disk_save("prepared", key, z)
    groups = z.get("groups")
    if groups is not None:
        logger.info("%s: dedupe=ahash put %d images in %d groups", name, len(y),
                    len(np.unique(groups)))
    return Slices2D(X=z["X"], y=y, class_names=classes, groups=groups, split=split, source=name)


# ------------------------------------------------------------------ 3-D sources


def _md5_check(path: Path, expected: str) -> None:
    st = path.stat()
    tag = (str(path), st.st_size, st.st_mtime_ns)
    if tag in _MD5_CHECKED:
        return
    _MD5_CHECKED.add(tag)
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    if h.hexdigest() != expected:
        _warn_once(f"{path}: MD5 {h.hexdigest()} differs from the Zenodo file's {expected}")


def _find_nodulemnist(base: Path) -> Path | None:
    if base.is_file():
        ok = base.suffix == ".npz" and "train_images" in _npz_keys(base)
        return base if ok else None
    if base.is_dir():
        for fname in _NODULEMNIST_FILES:  # the _64 file first
            if (base / fname).is_file():
                return base / fname
    return None


def _npz_keys(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return list(z.files)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"cannot read {path} as .npz: {e}") from e


def _find_lidc(base: Path) -> Path | None:
    if base.is_file():
        return base if base.suffix == ".npz" and "patches" in _npz_keys(base) else None
    if base.is_dir():
        cands = [base / "lidc_patches.npz"] + sorted(base.glob("*.npz"))
        for f in cands:
            if f.is_file() and "patches" in _npz_keys(f):
                return f
    return None


def _load_nodulemnist(path: Path) -> Volumes3D:
    src, md5 = _NODULEMNIST_FILES.get(path.name, ("nodulemnist3d", None))
    keys = _npz_keys(path)
    missing = [k for k in _NODULEMNIST_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path} lacks keys {missing}; expected {LAYOUTS['nodulemnist3d']}")
    if md5 is not None:
        _md5_check(path, md5)
    Xs, ys, ss = [], [], []
    with np.load(path, allow_pickle=False) as z:
        for split in ("train", "val", "test"):
            img, lab = z[f"{split}_images"], z[f"{split}_labels"]
            if img.ndim != 4 or len(set(img.shape[1:])) != 1 or lab.shape[0] != img.shape[0]:
                raise ValueError(
                    f"{path}: {split}_images must be (N, S, S, S) with (N, 1) labels, got "
                    f"{img.shape} and {lab.shape}"
                )
            Xs.append(img.astype(np.float32) / np.float32(255.0))  # no HU window (§1.1)
            ys.append(lab.reshape(-1).astype(np.int64))
            ss.append(np.full(img.shape[0], split))
    X = np.concatenate(Xs)
    if X.shape[1] < 64:
        src = "nodulemnist3d"
        _warn_once(
            f"{path} is {X.shape[1]}^3 at 1 mm, covering only {X.shape[1]} mm: use fovs_mm="
            "(20, 24, 28) (metaheur.models.preprocess.default_fovs); nodulemnist3d_64.npz is recommended"
        )
    return Volumes3D(X=X, y=np.concatenate(ys), spacing_mm=1.0, groups=None,
                     split=np.concatenate(ss), source=src)


def _load_lidc(path: Path) -> Volumes3D:
    keys = _npz_keys(path)
    missing = [k for k in _LIDC_KEYS if k not in keys]
    if missing:
        raise ValueError(f"{path} lacks keys {missing}; expected {LAYOUTS['lidc']}")
    with np.load(path, allow_pickle=False) as z:
        P, y, pid = z["patches"], z["labels"].astype(np.int64).reshape(-1), z["patient_id"]
        spacing = float(z["spacing_mm"]) if "spacing_mm" in z.files else 1.0
    if P.ndim != 4 or P.shape[0] != y.shape[0] or pid.shape[0] != y.shape[0]:
        raise ValueError(f"{path}: patches must be (N, S, S, S) with N labels and patient ids, "
                         f"got {P.shape}, {y.shape}, {pid.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{path}: labels must be 0 (benign) or 1 (malignant)")
    return Volumes3D(X=hu_window(P), y=y, spacing_mm=spacing, groups=pid.astype(str), split=None,
                     source="lidc_npz")


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
    key = ("volumes", source, None if root is None else str(root), _env_key(), seed,
           tuple(int(v) for v in n), int(size), float(spacing_mm), float(difficulty))
    if key in _MEMO:
        return _MEMO[key]  # type: ignore[return-value]
    data: Volumes3D | None = None
    if source != "synthetic":

        def probe(name: str, base: Path) -> Callable[[], Volumes3D] | None:
            if name == "nodulemnist3d":
                f = _find_nodulemnist(base)
                return None if f is None else (lambda: _load_nodulemnist(f))
            f = _find_lidc(base)
            return None if f is None else (lambda: _load_lidc(f))

        data = _first_real(source, ("nodulemnist3d", "lidc"), root, probe,
                           "3-D dataset (NoduleMNIST3D, LIDC patches)",
                           "synthetic nodules (docs/models.md §2.1)")
    if data is None:
        data = _synthetic_volumes(seed, n, size, spacing_mm, difficulty)
    _MEMO[key] = data
    return data


def _synthetic_volumes(
    seed: int, n: tuple[int, int, int], size: int, spacing_mm: float, difficulty: float
) -> Volumes3D:
    if len(n) != 3 or min(n) < 0:
        raise ValueError(f"n must be three non-negative sizes (train, val, test), got {n}")
    key = ("synthetic-volumes", GENERATOR_VERSION, _CACHE_VERSION, seed,
           tuple(int(v) for v in n), int(size), float(spacing_mm), float(difficulty))
    z = _disk_load("synthetic", key)
    if z is None:
        Xs, ys = [], []
        for ss, k in zip(np.random.SeedSequence(seed).spawn(3), n, strict=True):
            X, y = make_nodules(int(k), int(ss.generate_state(1)[0]), size=size,
                                spacing_mm=spacing_mm, difficulty=difficulty)
            Xs.append(hu_window(X))
            ys.append(y)
        z = {"X": np.concatenate(Xs), "y": np.concatenate(ys),
             "split": np.repeat(np.array(["train", "val", "test"]), list(n))}
        _disk_save("synthetic", key, z)
    return Volumes3D(X=z["X"], y=z["y"], spacing_mm=float(spacing_mm), groups=None,
                     split=z["split"], source="synthetic")


# ------------------------------------------------------------------ detect_format


def detect_format(path: str | os.PathLike[str]) -> str:
    """Dataset layout at ``path`` (for the CLI's ``--data PATH``).

    Returns "iqothnccd", "chestct", "nodulemnist3d" or "lidc". A missing path raises
    ``FileNotFoundError``; anything else raises ``ValueError`` naming the layouts allowed.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"data path {p} does not exist")
    allowed = "; ".join(f"{k}: {v}" for k, v in LAYOUTS.items())
    if p.is_file():
        if p.suffix.lower() == ".npz":
            keys = _npz_keys(p)
            if "patches" in keys:
                return "lidc"
            if all(k in keys for k in _NODULEMNIST_KEYS):
                return "nodulemnist3d"
        raise ValueError(f"unrecognised dataset file {p}; allowed layouts: {allowed}")
    if _find_chestct(p) is not None:
        return "chestct"
    if len(_find_iqoth(p)) == 3:
        return "iqothnccd"
    if _find_nodulemnist(p) is not None:
        return "nodulemnist3d"
    if _find_lidc(p) is not None:
        return "lidc"
    raise ValueError(f"unrecognised dataset layout at {p}; allowed layouts: {allowed}")
