"""Preprocessing for both objectives (docs/models.md §3).

2-D (LSTM-ELU, §3.2): pad to a square and resize with Pillow, the local-statistics Wiener filter
of seed 004 Eq. 1 and CLAHE (scikit-image, required). 3-D (IFM, §3.1): the HU window of seed 000
Eq. 14, multi-scale field-of-view crops resampled trilinearly, and the flip + roll augmentation.
torch is imported lazily so that the numpy parts work without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.exposure import equalize_adapthist

if TYPE_CHECKING:
    import torch

__all__ = [
    "augment",
    "clahe",
    "default_fovs",
    "enhance_batch",
    "enhance_slice",
    "hu_window",
    "multiscale_crops",
    "to_square",
    "wiener",
]


def hu_window(hu: np.ndarray) -> np.ndarray:
    """HU window, seed 000 Eq. 14 (docs/models.md §3.1): ``clip((HU + 1000) / 1400, 0, 1)``,
    float32."""
    v = (np.asarray(hu, dtype=np.float32) + np.float32(1000.0)) / np.float32(1400.0)
    return np.clip(v, 0.0, 1.0, out=v)


def wiener(img: np.ndarray, window: int = 3, eps: float = 1e-12) -> np.ndarray:
    """Local-statistics Wiener filter (seed 004 Eq. 1, docs/models.md §3.2 step 2).

    ``mu = box(I)``, ``s2 = box(I^2) - mu^2``, ``nu = mean(s2)`` (noise power, per image) and
    ``I_hat = mu + max(s2 - nu, 0) / max(s2, eps) * (I - mu)``. Works on ``(H, W)`` or a batch
    ``(..., H, W)`` (box and noise power over the last two axes). Unlike ``scipy.signal.wiener``
    it is finite on flat regions: there ``s2 = 0`` and the output equals the local mean.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    I = np.asarray(img, dtype=np.float64)
    if I.ndim < 2:
        raise ValueError(f"img must have at least 2 dimensions (H, W), got shape {I.shape}")
    size = (1,) * (I.ndim - 2) + (window, window)
    mu = ndimage.uniform_filter(I, size=size, mode="reflect")
    s2 = np.maximum(ndimage.uniform_filter(I * I, size=size, mode="reflect") - mu * mu, 0.0)
    nu = s2.mean(axis=(-2, -1), keepdims=True)
    gain = np.maximum(s2 - nu, 0.0) / np.maximum(s2, eps)
    return (mu + gain * (I - mu)).astype(np.float32)


def clahe(img: np.ndarray, kernel_size: int | None = None, clip_limit: float = 0.01) -> np.ndarray:
    """CLAHE via ``skimage.exposure.equalize_adapthist`` (docs/models.md §3.2 step 3), output
    in [0, 1].

    The input is min-max normalised first; a flat image maps to zeros. ``kernel_size`` defaults
    to ``max(max(H, W) // 8, 16)``.
    """
    I = np.asarray(img, dtype=np.float64)
    if I.ndim != 2:
        raise ValueError(f"clahe expects a 2-D image (H, W), got shape {I.shape}")
    lo, hi = float(I.min()), float(I.max())
    if not np.isfinite(lo) or not np.isfinite(hi):
        raise ValueError("clahe got a non-finite image")
    if hi - lo < 1e-12:
        return np.zeros(I.shape, dtype=np.float32)
    if kernel_size is None:
        kernel_size = max(max(I.shape) // 8, 16)
    out = equalize_adapthist((I - lo) / (hi - lo), kernel_size=kernel_size, clip_limit=clip_limit)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def enhance_slice(img: np.ndarray) -> np.ndarray:
    """Wiener (3x3) then CLAHE (docs/models.md §3.2 steps 2-3): (H, W) -> float32 (H, W)
    in [0, 1]."""
    return clahe(wiener(img))


def enhance_batch(X: np.ndarray) -> np.ndarray:
    """:func:`enhance_slice` over a stack (N, H, W); the Wiener step is vectorised."""
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"enhance_batch expects (N, H, W), got shape {X.shape}")
    W = wiener(X)
    out = np.empty(W.shape, dtype=np.float32)
    for i in range(W.shape[0]):  # CLAHE is per image (its tiles and histogram are per image)
        out[i] = clahe(W[i])
    return out


#: PIL modes read through an array (16-bit integers, 32-bit integers and floats)
WIDE_MODES = frozenset({"I", "F", "I;16", "I;16L", "I;16B", "I;16N"})
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)  # PIL's "L" weights


def unit_gray(a: np.ndarray) -> np.ndarray:
    """A 2-D float32 image in [0, 1] from a float or uint16 array, grey or RGB(A)."""
    if a.dtype == np.uint16:
        a = a / 65535.0
    elif a.dtype.kind != "f":
        raise ValueError(f"to_square reads uint8, uint16 and float images; got {a.dtype}")
    if a.ndim == 3:
        a = a[..., :3] @ _LUMA
    if not (np.isfinite(a).all() and a.min(initial=0.0) >= 0.0 and a.max(initial=0.0) <= 1.0):
        raise ValueError("a float image must hold finite values in [0, 1]")
    return a.astype(np.float32)


def pil_array(img: Image.Image) -> np.ndarray:
    """The float array of a 16- or 32-bit PIL image (integers 0..65535 scaled to [0, 1])."""
    if img.mode == "F":
        return np.asarray(img, dtype=np.float32)
    a = np.asarray(img, dtype=np.float64)
    if a.min(initial=0) < 0 or a.max(initial=0) > 65535:
        raise ValueError(f"integer image with values outside 0..65535 (mode {img.mode})")
    return a / 65535.0


def to_square(img: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """Grayscale, pad to a centred square with 0, resize to ``size`` with Pillow BILINEAR.

    Pillow's resize widens the filter support when shrinking, i.e. it antialiases (docs/models.md
    §3.2 step 1). 8-bit images and uint8 arrays are scaled by 1/255, 16-bit ones (PIL modes
    ``I;16*`` and ``I``, uint16 arrays) by 1/65535; float images and arrays must already be in
    [0, 1]. Colour is turned into luminance with Pillow's weights (ITU-R 601-2). Returns
    float32 (size, size) in [0, 1]; other integer types or values are a ``ValueError``.
    """
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if isinstance(img, Image.Image) and img.mode not in WIDE_MODES:
        im, scale = (img if img.mode == "L" else img.convert("L")), 255.0
    else:
        a = pil_array(img) if isinstance(img, Image.Image) else np.asarray(img)
        if a.ndim == 3 and a.shape[-1] in (3, 4) and a.dtype == np.uint8:  # as PIL converts
            a = np.asarray(Image.fromarray(np.ascontiguousarray(a[..., :3])).convert("L"))
        if a.ndim != 2 and not (a.ndim == 3 and a.shape[-1] in (3, 4)):
            raise ValueError(f"to_square expects a 2-D image or an RGB(A) one, got shape "
                             f"{a.shape}")
        if a.dtype == np.uint8:
            im, scale = Image.fromarray(a, mode="L"), 255.0
        else:
            im, scale = Image.fromarray(unit_gray(a), mode="F"), 1.0
    w, h = im.size
    side = max(w, h)
    if w != h:
        canvas = Image.new(im.mode, (side, side), 0)
        canvas.paste(im, ((side - w) // 2, (side - h) // 2))
        im = canvas
    if side != size:
        im = im.resize((size, size), resample=Image.Resampling.BILINEAR)
    out = np.asarray(im, dtype=np.float32) / np.float32(scale)
    return np.clip(out, 0.0, 1.0)


def default_fovs(size: int, spacing_mm: float) -> tuple[float, float, float]:
    """Fields of view for a patch of ``size`` voxels at ``spacing_mm`` (docs/models.md §1.1, §3.1).

    (32, 48, 64) mm when the patch covers at least 64 mm; otherwise the NoduleMNIST3D-28 rule
    scaled to the patch, (20, 24, 28)/28 of its extent.
    """
    extent = size * spacing_mm
    if extent >= 64.0 - 1e-9:
        return (32.0, 48.0, 64.0)
    return (extent * 20.0 / 28.0, extent * 24.0 / 28.0, float(extent))


def multiscale_crops(
    X: torch.Tensor | np.ndarray,
    spacing_mm: float,
    fovs_mm: Sequence[float] = (32, 48, 64),
    input_size: int | None = 16,
) -> list[torch.Tensor]:
    """Centre crops at several fields of view (docs/models.md §3.1 step 2).

    ``X`` is (N, S, S, S) or (N, 1, S, S, S). For each ``fov`` the centre ``round(fov /
    spacing_mm)`` voxels are kept and, if ``input_size`` is set, trilinearly resampled to
    ``input_size^3`` (``align_corners=False``), with ``METAHEUR_TORCH_THREADS`` torch threads on
    the CPU (:func:`~metaheur.models.device.device_settings`). Returns one float32
    (N, 1, s, s, s) tensor per fov.
    """
    import torch
    import torch.nn.functional as F

    from metaheur.models.device import device_settings

    t = torch.as_tensor(X, dtype=torch.float32)
    if t.ndim == 4:
        t = t.unsqueeze(1)
    if t.ndim != 5 or t.shape[1] != 1:
        raise ValueError(f"X must be (N, S, S, S) or (N, 1, S, S, S), got {tuple(t.shape)}")
    if spacing_mm <= 0:
        raise ValueError(f"spacing_mm must be > 0, got {spacing_mm}")
    spatial = t.shape[2:]
    out = []
    for fov in fovs_mm:
        c = int(round(float(fov) / spacing_mm))
        if c < 1 or c > min(spatial):
            raise ValueError(
                f"field of view {fov} mm is {c} voxels at {spacing_mm} mm, but the patch is "
                f"{tuple(spatial)} voxels; use fovs within the patch (see default_fovs)"
            )
        lo = [(s - c) // 2 for s in spatial]
        crop = t[:, :, lo[0] : lo[0] + c, lo[1] : lo[1] + c, lo[2] : lo[2] + c]
        if input_size is not None and input_size != c:
            with device_settings(t.device):  # the run's thread count (docs/models.md §6.1)
                crop = F.interpolate(crop, size=(input_size,) * 3, mode="trilinear",
                                     align_corners=False)
        out.append(crop.contiguous())
    return out


def augment(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random flips and translations per sample (docs/models.md §3.1 step 3; also used in 2-D).

    ``x`` is (B, C, *spatial). Each sample is flipped along each spatial axis with p = 0.5 and
    then rolled (circularly) by an integer drawn from U{-max_shift..max_shift} per axis. The
    draws come from ``generator``, which must live on ``x``'s device (no host copies, no
    synchronisation); each axis costs one ``gather`` with the index
    ``j = (i - shift) mod n``, mirrored to ``n - 1 - j`` for flipped samples. A seeded generator
    gives a deterministic result. Returns a new tensor of the same shape, dtype and device.
    """
    import torch

    if x.ndim < 3:
        raise ValueError(f"x must be (B, C, *spatial), got shape {tuple(x.shape)}")
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    if generator.device.type != x.device.type:
        raise ValueError(
            f"generator is on {generator.device} but x is on {x.device}; draw on x's device"
        )
    B, nd = x.shape[0], x.ndim - 2
    flips = torch.rand((nd, B), generator=generator, device=x.device) < 0.5
    shifts = torch.randint(-max_shift, max_shift + 1, (nd, B), generator=generator,
                           device=x.device)  # fmt: skip
    out = x
    for a in range(nd):
        dim, n = 2 + a, x.shape[2 + a]
        i = torch.arange(n, device=x.device)
        j = torch.remainder(i[None, :] - shifts[a][:, None], n)  # (B, n): roll
        j = torch.where(flips[a][:, None], n - 1 - j, j)  # flip applied before the roll
        view = [B] + [1] * (x.ndim - 1)
        view[dim] = n
        out = out.gather(dim, j.view(view).expand_as(out))
    return out

