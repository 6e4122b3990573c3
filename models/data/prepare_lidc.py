"""Cut LIDC-IDRI nodule patches into one ``.npz`` (docs/models.md §1.2), the only code using pylidc.

Usage: ``python -m metaheur.models.data.prepare_lidc --out lidc_patches.npz [--min-readers 3]
[--label-rule mean|median]``. Needs ``~/.pylidcrc`` with ``[dicom]`` and
``path = /path/to/LIDC-IDRI``.
pylidc is imported inside :func:`main` only; the package never imports it. Output keys:
``patches`` int16 (N, 64, 64, 64) HU in (z, y, x), ``labels`` int8, ``malignancy_mean`` float32,
``n_readers`` int8, ``diameter_mm`` float32, ``patient_id`` str, ``spacing_mm`` = 1.0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["extract_patch", "label_from_malignancy", "main"]

PYLIDC_CAVEAT = (
    "pylidc 0.2.3 (PyPI) breaks on Python >= 3.12 (SafeConfigParser) and numpy >= 1.24 (np.int "
    "in Contour.to_matrix); install pylidc from git (fix in PR #70) or use Python <= 3.11 with "
    "numpy < 1.24"
)


def label_from_malignancy(scores: Sequence[float], rule: str = "mean") -> int | None:
    """0 if the readers' mean (or median) malignancy < 3, 1 if > 3, None (skip) if == 3."""
    if rule not in ("mean", "median"):
        raise ValueError(f"rule must be 'mean' or 'median', got {rule!r}")
    if len(scores) == 0:
        return None
    m = float(np.mean(scores) if rule == "mean" else np.median(scores))
    return None if m == 3.0 else int(m > 3.0)


def extract_patch(
    vol: np.ndarray,
    spacing_ijk: Sequence[float],
    centre_ijk: Sequence[float],
    size: int = 64,
    box_mm: float = 80.0,
) -> np.ndarray:
    """A ``size``^3 patch at 1 mm around ``centre_ijk`` from ``vol`` (axes i, j, k; HU).

    Crops a box of about ``box_mm`` around the centre (padding with -1000 HU outside the scan),
    resamples only that crop to 1 mm (``scipy.ndimage.zoom``, order 1), cuts ``size``^3 centred on
    the nodule and returns int16 with axes (z, y, x) = (k, i, j). ``ValueError`` for a spacing
    that is not three finite positive numbers or a centre that is not a finite point of ``vol``.
    """
    vol = np.asarray(vol)
    sp = np.asarray(spacing_ijk, dtype=float)
    c = np.asarray(centre_ijk, dtype=float)
    if vol.ndim != 3:
        raise ValueError(f"vol must be a 3-D volume (i, j, k), got shape {vol.shape}")
    if sp.shape != (3,) or not np.all(np.isfinite(sp) & (sp > 0)):
        raise ValueError(f"spacing_ijk must be three finite positive sizes (mm), got {sp}")
    if c.shape != (3,) or not np.all(np.isfinite(c) & (c >= 0) & (c < vol.shape)):
        raise ValueError(f"centre_ijk must be a finite voxel position inside the volume of shape "
                         f"{vol.shape}, got {c}")  # fmt: skip
    half = np.ceil(box_mm / 2.0 / sp).astype(int)
    lo = np.floor(c).astype(int) - half
    hi = np.floor(c).astype(int) + half + 1
    box = np.full(tuple(hi - lo), -1000, dtype=np.float32)
    src_lo, src_hi = np.maximum(lo, 0), np.minimum(hi, vol.shape)
    if np.all(src_hi > src_lo):
        dst = tuple(slice(a - b, e - b) for a, e, b in zip(src_lo, src_hi, lo, strict=True))
        box[dst] = vol[tuple(slice(a, e) for a, e in zip(src_lo, src_hi, strict=True))]
    res = ndimage.zoom(box, sp, order=1, mode="nearest")
    ctr = (c - lo) * sp  # nodule centre in the resampled crop, mm = voxels
    start = np.round(ctr - size / 2.0).astype(int)
    out = np.full((size, size, size), -1000, dtype=np.float32)
    s_lo, s_hi = np.maximum(start, 0), np.minimum(start + size, res.shape)
    if np.all(s_hi > s_lo):
        dst = tuple(slice(a - b, e - b) for a, e, b in zip(s_lo, s_hi, start, strict=True))
        out[dst] = res[tuple(slice(a, e) for a, e in zip(s_lo, s_hi, strict=True))]
    return np.round(out).astype(np.int16).transpose(2, 0, 1)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; prints progress (this script is the only printing code in models/)."""
    ap = argparse.ArgumentParser(prog="python -m metaheur.models.data.prepare_lidc",
                                 description=__doc__)
    ap.add_argument("--out", required=True, help="output .npz path")
    ap.add_argument("--min-readers", type=int, default=1, help="readers per nodule (3: LUNA-like)")
    ap.add_argument("--label-rule", choices=("mean", "median"), default="mean")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--box-mm", type=float, default=80.0)
    args = ap.parse_args(argv)
    try:
        import pylidc as pl  # only here (docs/models.md §1.2)
    except ImportError as e:
        print(f"cannot import pylidc ({e}); pip install 'metaheur[lidc]'. {PYLIDC_CAVEAT}",
              file=sys.stderr)
        return 2
    except Exception as e:  # e.g. SafeConfigParser on Python >= 3.12
        print(f"pylidc failed to import ({type(e).__name__}: {e}). {PYLIDC_CAVEAT}",
              file=sys.stderr)
        return 2
    if getattr(pl, "__version__", "") == "0.2.3" and not hasattr(np, "int"):
        print(f"warning: {PYLIDC_CAVEAT}", file=sys.stderr)

    patches, labels, mal, readers, diam, pids = [], [], [], [], [], []
    for scan in pl.query(pl.Scan):
        try:
            vol = scan.to_volume()
            sp = (float(scan.pixel_spacing), float(scan.pixel_spacing), float(scan.slice_spacing))
            clusters = scan.cluster_annotations()
        except Exception as e:  # a broken scan should not end a multi-hour run
            print(f"skipping scan {scan.patient_id}: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        for cluster in clusters:
            if len(cluster) < args.min_readers:
                continue
            scores = [a.malignancy for a in cluster]
            y = label_from_malignancy(scores, args.label_rule)
            if y is None:
                continue
            try:
                centre = np.mean([a.centroid for a in cluster], axis=0)
            except AttributeError as e:
                print(f"{type(e).__name__}: {e}. {PYLIDC_CAVEAT}", file=sys.stderr)
                return 2
            try:
                patches.append(extract_patch(vol, sp, centre, args.size, args.box_mm))
            except ValueError as e:  # e.g. an annotation centre outside its scan
                print(f"skipping a nodule of {scan.patient_id}: {e}", file=sys.stderr)
                continue
            labels.append(y)
            mal.append(np.mean(scores))
            readers.append(len(cluster))
            diam.append(np.mean([a.diameter for a in cluster]))
            pids.append(scan.patient_id)
        print(f"{scan.patient_id}: {len(patches)} patches so far")
    if not patches:
        print("no nodules extracted; check ~/.pylidcrc and the DICOM path", file=sys.stderr)
        return 1
    np.savez_compressed(
        args.out,
        patches=np.stack(patches),
        labels=np.asarray(labels, dtype=np.int8),
        malignancy_mean=np.asarray(mal, dtype=np.float32),
        n_readers=np.asarray(readers, dtype=np.int8),
        diameter_mm=np.asarray(diam, dtype=np.float32),
        patient_id=np.asarray(pids, dtype=str),
        spacing_mm=np.float32(1.0),
    )
    print(f"wrote {len(patches)} patches to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
