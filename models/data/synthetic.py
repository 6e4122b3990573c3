"""Synthetic CT data: 3-D nodule patches and 2-D chest slices (docs/models.md §2).

Both generators are deterministic given ``seed`` (one ``np.random.default_rng(seed)`` per call,
never the global RNG), render in HU with vectorised numpy over the grid (no per-voxel loops) and
leave the intensity mapping to the same preprocessing as real data: :func:`make_nodules` returns
HU (the loader applies the HU window of §3.1), :func:`make_slices` returns the lung-windowed
image that imitates the JPGs (the loader applies Wiener + CLAHE, §3.2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = ["NODULES_VERSION", "SLICES_VERSION", "make_nodules", "make_slices"]

# Bump when the rendered data change, so on-disk caches keyed on it are invalidated.
NODULES_VERSION = 2  # 2: sizes overlap, texture cue (shape/margin/texture, not density)
SLICES_VERSION = 1


def _check_unit(name: str, v: float) -> None:
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {v}")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


def _unit(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` uniform random unit vectors in 3-D, (k, 3) in (z, y, x)."""
    v = rng.standard_normal((k, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _blend(V: np.ndarray, m: np.ndarray, hu: float | np.ndarray) -> None:
    """In place: ``V <- (1 - m) V + m hu`` (soft masks composited in painting order)."""
    V += m * (hu - V)


# --------------------------------------------------------------------------------------------
# 3-D nodules, docs/models.md §2.1
# --------------------------------------------------------------------------------------------


def make_nodules(
    n: int,
    seed: int,
    size: int = 32,
    spacing_mm: float = 2.0,
    p_malignant: float = 0.3,
    label_noise: float = 0.05,
    difficulty: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodule-centred CT patches in HU (docs/models.md §2.1).

    Returns ``X`` float32 (n, size, size, size) in HU, axes (z, y, x), and ``y`` int64 (n,) with
    0 = benign, 1 = malignant after ``label_noise`` flips. Components: parenchyma with correlated
    texture, 2-6 vessels, an optional pleural wall, a nodule with stretch, lobulation,
    spiculation, class-dependent margin, internal texture, halo, cavity and calcification, then
    an anisotropic PSF and white noise. The classes differ by shape, margin and texture rather
    than by size or mean density: the diameters overlap (median 8.5 mm benign,
    ``8.5 (1 + 0.15 (1 - difficulty))`` mm malignant), so a classifier of the mean density in
    central spheres stays well below a network (``benchmarks/objective_landscape.py``).
    ``difficulty`` in [0, 1] shrinks the malignant/benign differences.
    """
    if n < 0 or size < 2 or spacing_mm <= 0:
        raise ValueError(f"need n >= 0, size >= 2, spacing_mm > 0; got {n}, {size}, {spacing_mm}")
    for name, v in (("p_malignant", p_malignant), ("label_noise", label_noise),
                    ("difficulty", difficulty)):
        _check_unit(name, v)
    rng = np.random.default_rng(seed)
    c = ((np.arange(size) - (size - 1) / 2.0) * spacing_mm).astype(np.float32)
    grid = (c[:, None, None], c[None, :, None], c[None, None, :])  # z, y, x in mm
    X = np.empty((n, size, size, size), dtype=np.float32)
    y_true = (rng.random(n) < p_malignant).astype(np.int64)
    for i in range(n):
        X[i] = _render_nodule(rng, bool(y_true[i]), grid, size, spacing_mm, difficulty)
    flip = rng.random(n) < label_noise  # reader disagreement
    return X, np.where(flip, 1 - y_true, y_true).astype(np.int64)


def _render_nodule(
    rng: np.random.Generator,
    malignant: bool,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    size: int,
    sp: float,
    d: float,
) -> np.ndarray:
    z, yy, x = grid
    half = size * sp / 2.0
    shape = (size, size, size)
    # parenchyma: U(-880, -800) + white noise filtered at 2 mm, rescaled to SD 25 HU
    tex = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), 2.0 / sp,
                                  mode="wrap")
    tex *= 25.0 / max(float(tex.std()), 1e-6)
    V = tex + np.float32(rng.uniform(-880.0, -800.0))

    # vessels: infinite straight tubes with a soft edge 1/(1+exp((d-r)/0.35))
    for _ in range(rng.integers(2, 7)):
        p0 = rng.uniform(-half, half, 3)
        u = _unit(rng, 1)[0]
        dz, dy, dx = z - p0[0], yy - p0[1], x - p0[2]
        t = dz * u[0] + dy * u[1] + dx * u[2]
        dist = np.sqrt(np.maximum(dz * dz + dy * dy + dx * dx - t * t, 0.0))
        r = rng.uniform(0.6, 2.2)
        _blend(V, _sigmoid((r - dist) / 0.35), rng.uniform(-20.0, 60.0))

    # pleura / chest wall (juxtapleural nodules)
    if rng.random() < 0.15:
        nrm = _unit(rng, 1)[0]
        s = z * nrm[0] + yy * nrm[1] + x * nrm[2] - rng.uniform(0.45, 0.9) * half
        _blend(V, _sigmoid(s / 0.8), rng.uniform(20.0, 60.0))

    # size: log-normal diameter, clipped to [3, 0.5 FOV] mm
    sigma = 0.30 + 0.15 * d
    median = 8.5 * (1.0 + 0.15 * (1.0 - d)) if malignant else 8.5
    diam = float(np.clip(median * np.exp(sigma * rng.standard_normal()), 3.0, half))
    R0 = diam / 2.0
    ctr = rng.normal(0.0, 0.8, 3)  # annotation jitter

    # shape: stretch, lobulation (vMF bumps), spiculation (narrow vMF spikes)
    stretch, axis = rng.uniform(0.0, 0.25), _unit(rng, 1)[0]
    p_lob = 0.5 + 0.5 * (1.0 - d) if malignant else 0.25
    p_spic = 0.15 + 0.5 * (1.0 - d / 2.0) if malignant else 0.08
    lob = spk = None
    if rng.random() < p_lob:
        k = int(rng.integers(3, 7))
        lob = (_unit(rng, k), rng.uniform(-0.3, 0.35, k) * R0, rng.uniform(3.0, 8.0, k))
    if rng.random() < p_spic:
        k = int(rng.integers(4, 12))
        spk = (_unit(rng, k), rng.uniform(2.0, 9.0, k), rng.uniform(60.0, 200.0, k))
    b = rng.uniform(0.5, 1.1) if malignant else rng.uniform(0.2, 0.6)  # margin width, mm

    # density components
    solid = rng.normal(30.0, 25.0)
    halo = cavity = calc = None
    if malignant and rng.random() < 0.3:
        halo = (rng.uniform(1.5, 4.0), rng.uniform(-650.0, -350.0))
    if malignant and rng.random() < 0.08:
        cavity = 0.35 * R0
    if rng.random() < (0.03 if malignant else 0.12):
        hu_c = rng.uniform(250.0, 800.0)
        if rng.random() < 0.5:  # central
            calc = ([np.zeros(3)], [rng.uniform(0.25, 0.7) * R0], hu_c)
        else:  # popcorn: 2-4 blobs inside the nodule
            k = int(rng.integers(2, 5))
            offs = _unit(rng, k) * (rng.uniform(0.0, 0.6, k) * R0)[:, None]
            calc = (list(offs), list(np.maximum(rng.uniform(0.15, 0.3, k) * R0, 0.6)), hu_c)

    # local sub-grid around the centre, large enough for every component
    reach = R0 * (1.0 + stretch) + 6.0 * b + 1.0
    if lob is not None:
        reach += float(np.clip(lob[1], 0.0, None).sum())
    if spk is not None:
        reach += float(spk[1].max())
    if halo is not None:
        reach += halo[0]
    sl = []
    for a, ax in enumerate((z.ravel(), yy.ravel(), x.ravel())):
        lo = int(np.searchsorted(ax, ctr[a] - reach, side="left"))
        hi = int(np.searchsorted(ax, ctr[a] + reach, side="right"))
        sl.append(slice(lo, max(hi, lo + 1)))
    lz = z[sl[0]] - ctr[0]
    ly = yy[:, sl[1]] - ctr[1]
    lx = x[:, :, sl[2]] - ctr[2]
    r = np.sqrt(lz * lz + ly * ly + lx * lx)
    rs = np.maximum(r, 1e-6)
    uz, uy, ux = lz / rs, ly / rs, lx / rs

    def dot(v: np.ndarray) -> np.ndarray:
        return uz * v[0] + uy * v[1] + ux * v[2]

    R = R0 * (1.0 + stretch * dot(axis) ** 2)
    if lob is not None:
        for mu, amp, kap in zip(*lob, strict=True):
            R = R + amp * np.exp(kap * (dot(mu) - 1.0))
    if spk is not None:
        for mu, length, kap in zip(*spk, strict=True):
            R = R + length * np.exp(kap * (dot(mu) - 1.0))
    R = np.maximum(R, 0.3 * R0)
    L = V[sl[0], sl[1], sl[2]]  # view: blends write through
    if halo is not None:
        _blend(L, _sigmoid((R + halo[0] - r) / b), halo[1])
    m = _sigmoid((R - r) / b)
    # internal texture: heterogeneous malignant tissue, near-homogeneous benign nodules
    het = (60.0 if malignant else 12.0) * (1.0 - 0.5 * d)
    noise = ndimage.gaussian_filter(rng.standard_normal(L.shape).astype(np.float32), 0.8 / sp)
    noise *= het / max(float(noise.std()), 1e-6)
    _blend(L, m, solid + noise)
    if calc is not None:
        for off, rc in zip(calc[0], calc[1], strict=True):
            dc = np.sqrt((lz - off[0]) ** 2 + (ly - off[1]) ** 2 + (lx - off[2]) ** 2)
            _blend(L, m * _sigmoid((rc - dc) / 0.3), calc[2])
    if cavity is not None:
        _blend(L, _sigmoid((cavity - r) / 0.5), -900.0)

    # scanner: anisotropic Gaussian PSF (thick slices) and white noise
    psf = (rng.uniform(0.5, 1.2) / sp, 0.6 / sp, 0.6 / sp)
    V = ndimage.gaussian_filter(V, psf, mode="nearest", truncate=3.0)
    V += rng.normal(0.0, rng.uniform(15.0, 45.0), shape).astype(np.float32)
    return V


# --------------------------------------------------------------------------------------------
# 2-D slices, docs/models.md §2.2
# --------------------------------------------------------------------------------------------


def make_slices(
    n: int,
    seed: int,
    size: int = 64,
    class_probs: Sequence[float] = (0.38, 0.11, 0.51),
    label_noise: float = 0.03,
    difficulty: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Axial chest slices with 0 normal, 1 benign, 2 malignant (docs/models.md §2.2).

    Rendered in HU at 2x supersampling on [-1, 1]^2 (x = column, y = row, posterior down),
    blurred (PSF sigma 0.7 output px), block-averaged to ``size``, given white noise SD U(10, 40)
    HU and mapped through the lung window (L -600, W 1500). Returns ``X`` float32
    (n, size, size) in [0, 1] and ``y`` int64 (n,) after ``label_noise`` flips to another class.
    """
    p = np.asarray(class_probs, dtype=float)
    if n < 0 or size < 8:
        raise ValueError(f"need n >= 0 and size >= 8, got n={n}, size={size}")
    if p.shape != (3,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
        raise ValueError(
            f"class_probs must be 3 non-negative numbers summing to 1, got {class_probs}"
        )
    _check_unit("label_noise", label_noise)
    _check_unit("difficulty", difficulty)
    rng = np.random.default_rng(seed)
    S2 = 2 * size
    coord = ((np.arange(S2) + 0.5) / S2 * 2.0 - 1.0).astype(np.float32)
    gx, gy = coord[None, :], coord[:, None]
    px = 2.0 / S2  # supersampled pixel in [-1, 1] units
    y_true = rng.choice(3, size=n, p=p).astype(np.int64)
    X = np.empty((n, size, size), dtype=np.float32)
    for i in range(n):
        hu = _render_slice(rng, int(y_true[i]), gx, gy, px, difficulty)
        hu = ndimage.gaussian_filter(hu, 1.4, mode="nearest")  # PSF 0.7 output px
        hu = hu.reshape(size, 2, size, 2).mean(axis=(1, 3))
        hu += rng.normal(0.0, rng.uniform(10.0, 40.0), hu.shape).astype(np.float32)
        X[i] = np.clip((hu + 1350.0) / 1500.0, 0.0, 1.0)  # lung window L -600, W 1500
    flip = rng.random(n) < label_noise
    other = (y_true + rng.integers(1, 3, n)) % 3
    return X, np.where(flip, other, y_true).astype(np.int64)


def _soft_disk(d: np.ndarray, r: float | np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased disk coverage; below a pixel, a Gaussian speck of the disk's area."""
    if np.ndim(r) == 0 and r < px:
        s2 = max(r * r / 2.0, (px / 2.0) ** 2)
        return (r * r / (2.0 * s2)) * np.exp(-d * d / (2.0 * s2))
    return np.clip((r - d) / px + 0.5, 0.0, 1.0)


def _render_slice(
    rng: np.random.Generator, cls: int, gx: np.ndarray, gy: np.ndarray, px: float, d: float
) -> np.ndarray:
    S2 = gx.shape[1]
    hu = np.full((S2, S2), -1000.0, dtype=np.float32)
    # body: ellipse, 40 HU, outer 14 % ring of fat; table line below
    ax, ay, cy = rng.uniform(0.82, 0.92), rng.uniform(0.58, 0.70), rng.uniform(-0.05, 0.05)
    rho = np.sqrt((gx / ax) ** 2 + ((gy - cy) / ay) ** 2)
    hu[rho < 1.0] = -100.0
    hu[rho < 0.86] = 40.0
    ty = cy + ay + rng.uniform(0.04, 0.08)
    hu[(np.abs(gy - ty) < 0.012) & (np.abs(gx) < 0.95)] = 150.0

    # lungs: two wobbly ellipses, -860 HU + correlated texture (SD 60, filter 1.5 px)
    lung = np.zeros((S2, S2), dtype=bool)
    for side in (-1.0, 1.0):
        cx, ly = side * rng.uniform(0.38, 0.46), cy + rng.uniform(-0.08, 0.0)
        la, lb = rng.uniform(0.26, 0.34), rng.uniform(0.38, 0.48)
        ex, ey = (gx - cx) / la, (gy - ly) / lb
        th = np.arctan2(ey, ex)
        wobble = 1.0 + 0.08 * np.cos(2.0 * th + rng.uniform(0, 2 * np.pi))  # 2nd harmonic
        lung |= np.sqrt(ex * ex + ey * ey) < wobble
    lung &= rho < 0.84
    tex = ndimage.gaussian_filter(rng.standard_normal((S2, S2)).astype(np.float32), 3.0)
    tex *= 60.0 / max(float(tex.std()), 1e-6)
    hu[lung] = (-860.0 + tex)[lung]

    # bones: spine disc posterior, 9 rib dots per side just inside the outline
    sr = rng.uniform(0.07, 0.09)
    spine = np.hypot(gx, gy - (cy + ay - 0.12 - sr)) < sr
    hu[spine] = 700.0
    th = np.linspace(-1.2, 1.2, 9)[:, None, None] + rng.normal(0.0, 0.04, (9, 1, 1))
    for side in (-1.0, 1.0):
        rx, ry = side * 0.9 * ax * np.cos(th), cy + 0.9 * ay * np.sin(th)
        ribs = (np.hypot(gx - rx, gy - ry) < 0.022).any(axis=0)
        hu[ribs] = 600.0

    # vessels: 12-27 faint specks inside the lungs
    li = np.flatnonzero(lung)
    if li.size:
        k = int(rng.integers(12, 28))
        pos = rng.choice(li, size=k)
        vy, vx = gy.ravel()[pos // S2], gx.ravel()[pos % S2]
        for j in range(k):
            r = rng.uniform(0.005, 0.02)
            _blend(hu, _soft_disk(np.hypot(gx - vx[j], gy - vy[j]), r, px), rng.uniform(0.0, 60.0))

    if cls == 0 or not li.size:
        return hu
    # nodule (benign 1 / malignant 2)
    sigma = 0.2 + 0.1 * d
    theta_lob = theta_spk = None
    if cls == 1:
        r0 = float(np.clip(0.055 * np.exp(sigma * rng.standard_normal()), 0.02, 0.2))
        if rng.random() < 0.15:  # mildly lobulated
            k = int(rng.integers(2, 4))
            theta_lob = (rng.uniform(0, 2 * np.pi, k), rng.uniform(0.05, 0.15, k) * r0,
                         rng.uniform(2.0, 6.0, k))
        hu_n = rng.uniform(250.0, 700.0) if rng.random() < 0.35 else rng.normal(35.0, 20.0)
        pleural, cav = False, 0.0
    else:
        med = 0.055 + 0.06 * (1.0 - 0.6 * d)
        r0 = float(np.clip(med * np.exp(sigma * rng.standard_normal()), 0.03, 0.2))
        k = int(rng.integers(2, 5))  # always lobulated
        theta_lob = (rng.uniform(0, 2 * np.pi, k), rng.uniform(0.1, 0.3, k) * r0,
                     rng.uniform(2.0, 6.0, k))
        if rng.random() < 0.6:
            k = int(rng.integers(4, 10))
            theta_spk = (rng.uniform(0, 2 * np.pi, k), rng.uniform(0.4, 1.0, k) * r0,
                         rng.uniform(60.0, 200.0, k))
        hu_n = rng.normal(35.0, 20.0)
        pleural = rng.random() < 0.3
        cav = rng.uniform(0.3, 0.5) * r0 if rng.random() < 0.1 else 0.0

    # centre from the distance transform: fully inside the lung, or touching the pleura
    edt = ndimage.distance_transform_edt(lung) * px
    r_body = r0 * (1.0 + (theta_lob[1].sum() / r0 if theta_lob is not None else 0.0))
    ok = (edt > 0.5 * r0) & (edt < 0.95 * r0) if pleural else edt > r_body
    cand = np.flatnonzero(ok)
    pos = int(rng.choice(cand)) if cand.size else int(np.argmax(edt))
    ny, nx = gy.ravel()[pos // S2], gx.ravel()[pos % S2]
    dy, dx = gy - ny, gx - nx
    dist = np.hypot(dx, dy)
    ang = np.arctan2(dy, dx)
    R = np.full_like(dist, r0)
    for comp in (theta_lob, theta_spk):
        if comp is not None:
            for t0, amp, kap in zip(*comp, strict=True):
                R += amp * np.exp(kap * (np.cos(ang - t0) - 1.0))
    _blend(hu, _soft_disk(dist, R, px), hu_n)
    if cav > 0.0:
        _blend(hu, _soft_disk(dist, cav, px), -900.0)
    return hu
