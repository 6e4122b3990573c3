"""Preprocessing (docs/models.md §3): HU window, Wiener, CLAHE, resizing, FOV crops, augment,
BAC."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from metaheur.models.bac import apply_segmentation, bac, bac_stack, segment_slice
from metaheur.models.data import make_slices
from metaheur.models.preprocess import (
    augment,
    clahe,
    default_fovs,
    enhance_batch,
    enhance_slice,
    hu_window,
    multiscale_crops,
    to_square,
    wiener,
)


def test_hu_window_values():
    hu = np.array([-2000.0, -1000.0, -300.0, 400.0, 3000.0])
    out = hu_window(hu)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(-1e5, 1e5)))
def test_hu_window_range_and_monotone(hu):
    out = hu_window(hu)
    assert ((out >= 0) & (out <= 1)).all()
    order = np.argsort(hu, kind="stable")
    assert (np.diff(out[order]) >= 0).all()


@pytest.mark.parametrize("value", [0.0, 0.37, 1.0])
def test_wiener_flat_image_is_unchanged(value):
    img = np.full((16, 20), value)
    out = wiener(img)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, value, atol=1e-6)


def test_wiener_denoises_and_batches():
    rng = np.random.default_rng(0)
    clean = np.zeros((32, 32))
    clean[8:24, 8:24] = 1.0
    noisy = clean + rng.normal(0, 0.1, clean.shape)
    out = wiener(noisy)
    assert np.abs(out - clean).mean() < np.abs(noisy - clean).mean()
    stack = np.stack([noisy, noisy[::-1], np.zeros_like(noisy)])
    batched = wiener(stack)
    for i in range(3):
        np.testing.assert_allclose(batched[i], wiener(stack[i]), atol=1e-6)


def test_clahe_range_and_flat():
    rng = np.random.default_rng(1)
    img = rng.random((32, 32)) * 0.2 + 0.4
    out = clahe(img)
    assert out.dtype == np.float32 and out.shape == img.shape
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.std() > img.std()
    np.testing.assert_array_equal(clahe(np.full((16, 16), 0.3)), 0.0)
    with pytest.raises(ValueError, match="2-D"):
        clahe(np.zeros((2, 8, 8)))


def test_enhance_slice_and_batch_agree():
    X, _ = make_slices(3, seed=0, size=32)
    E = enhance_batch(X)
    assert E.shape == X.shape and E.min() >= 0 and E.max() <= 1
    np.testing.assert_allclose(E[1], enhance_slice(X[1]), atol=1e-6)


def test_to_square_pads_and_resizes():
    arr = np.full((20, 40), 200, dtype=np.uint8)  # wide: padded top and bottom with 0
    out = to_square(Image.fromarray(arr), 16)
    assert out.shape == (16, 16) and out.dtype == np.float32
    assert out[0].max() == 0.0 and out[-1].max() == 0.0
    np.testing.assert_allclose(out[8, 8], 200 / 255, atol=1e-6)
    rgb = Image.fromarray(np.full((10, 10, 3), 255, dtype=np.uint8))
    np.testing.assert_allclose(to_square(rgb, 4), 1.0)
    f = to_square(np.full((6, 3), 0.5, dtype=np.float32), 6)
    np.testing.assert_allclose(f[:, 2:4], 0.5, atol=1e-6)


def test_to_square_reads_every_image_kind_on_one_scale():
    """Regression (session 26's audit): a float RGB array was cast to uint8 (every pixel 0
    or 1, then / 255: black), and uint16 or 16-bit PIL images were taken as floats in [0, 1]
    and clipped to white."""
    a = np.random.default_rng(0).random((6, 6)).astype(np.float32)
    ref = to_square(a, 6)
    np.testing.assert_allclose(to_square(np.repeat(a[..., None], 3, axis=2), 6), ref,
                               atol=1e-6)
    u16 = np.round(a * 65535).astype(np.uint16)
    np.testing.assert_allclose(to_square(u16, 6), ref, atol=1e-4)
    np.testing.assert_allclose(to_square(Image.fromarray(u16), 6), ref, atol=1e-4)
    np.testing.assert_allclose(to_square(np.repeat(u16[..., None], 3, axis=2), 6), ref,
                               atol=1e-4)
    np.testing.assert_allclose(to_square(Image.fromarray(a, mode="F"), 6), ref, atol=1e-6)
    u8 = np.round(a * 255).astype(np.uint8)
    rgb8 = np.repeat(u8[..., None], 3, axis=2)
    np.testing.assert_array_equal(to_square(rgb8, 6), to_square(Image.fromarray(rgb8), 6))
    for bad, why in ((a.astype(np.int64), "int64"), (a * 2, r"\[0, 1\]"),
                     (np.where(a > 0.5, np.nan, a), r"\[0, 1\]")):
        with pytest.raises(ValueError, match=why):
            to_square(bad, 6)


def test_default_fovs():
    assert default_fovs(32, 2.0) == (32.0, 48.0, 64.0)
    assert default_fovs(64, 1.0) == (32.0, 48.0, 64.0)
    np.testing.assert_allclose(default_fovs(28, 1.0), (20.0, 24.0, 28.0))


def test_multiscale_crops_shapes():
    X = np.random.default_rng(0).random((3, 32, 32, 32)).astype(np.float32)
    crops = multiscale_crops(X, spacing_mm=2.0)
    assert [tuple(c.shape) for c in crops] == [(3, 1, 16, 16, 16)] * 3
    assert all(c.dtype == torch.float32 for c in crops)
    # the 32 mm crop at 2 mm is exactly 16 voxels: no resampling, the centre crop itself
    np.testing.assert_array_equal(crops[0][:, 0].numpy(), X[:, 8:24, 8:24, 8:24])
    native = multiscale_crops(torch.from_numpy(X)[:, None], 2.0, input_size=None)
    assert [c.shape[-1] for c in native] == [16, 24, 32]
    assert multiscale_crops(X[:, :28, :28, :28], 1.0, default_fovs(28, 1.0), 8)[2].shape[-1] == 8
    with pytest.raises(ValueError, match="field of view 48 mm is 48 voxels"):
        multiscale_crops(X, spacing_mm=1.0)


def test_multiscale_crops_resample_with_the_configured_torch_threads(monkeypatch):
    """Regression: the trilinear resampling of the whole dataset, run by the IFM objective in
    every trial process, used all of torch's threads, not METAHEUR_TORCH_THREADS (§6.1)."""
    import torch.nn.functional as F

    seen: list[int] = []
    real = F.interpolate
    monkeypatch.setattr(F, "interpolate",
                        lambda *a, **k: seen.append(torch.get_num_threads()) or real(*a, **k))
    monkeypatch.setenv("METAHEUR_TORCH_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        X = np.random.default_rng(0).random((2, 16, 16, 16)).astype(np.float32)
        multiscale_crops(X, spacing_mm=4.0, fovs_mm=(32, 48), input_size=4)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1]


@pytest.mark.parametrize("shape", [(4, 1, 8, 8), (3, 2, 6, 6, 6)])
def test_augment_shape_determinism_and_content(shape):
    x = torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    c = augment(x, torch.Generator().manual_seed(1))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c)
    for i in range(shape[0]):  # flips and circular rolls only permute each sample's voxels
        assert torch.equal(a[i].flatten().sort().values, x[i].flatten().sort().values)
    assert torch.equal(x, torch.arange(x.numel(), dtype=torch.float32).reshape(shape))


def test_augment_flip_only_and_bad_args():
    x = torch.rand(8, 1, 5, 5)
    out = augment(x, torch.Generator().manual_seed(3), max_shift=0)
    for i in range(8):
        cands = [x[i], x[i].flip(1), x[i].flip(2), x[i].flip(1).flip(2)]
        assert any(torch.equal(out[i], c) for c in cands)
    with pytest.raises(ValueError, match="max_shift"):
        augment(x, torch.Generator(), max_shift=-1)


def test_bac_two_regions():
    rng = np.random.default_rng(0)
    img = np.full((40, 40), 0.2)
    img[10:30, 12:32] = 0.8
    img += rng.normal(0, 0.05, img.shape)
    mask, post = bac(img)
    truth = np.zeros((40, 40), bool)
    truth[10:30, 12:32] = True
    assert (mask == truth).mean() > 0.95
    assert post.shape == img.shape and 0 <= post.min() and post.max() <= 1
    masks, _ = bac_stack(np.stack([img, img]))
    assert masks.shape == (2, 40, 40)


def test_segment_slice_finds_lungs_and_candidates():
    X, y = make_slices(4, seed=2, size=64, label_noise=0.0, difficulty=0.0)
    E = enhance_batch(X)
    lung, cand = segment_slice(E[0])
    assert 0.1 < lung.mean() < 0.6  # two lungs inside the body
    assert not (cand & ~lung).any()
    out = apply_segmentation(E, "bac_channel")
    assert out.shape == (4, 2, 64, 64)
    with pytest.raises(ValueError, match="segmentation must be one of"):
        apply_segmentation(E, "otsu")


@pytest.mark.parametrize("shape", [(5, 2, 7, 6), (3, 1, 4, 5, 6)])
def test_augment_is_flip_then_roll_with_the_generators_draws(shape):
    """One gather per axis equals flipping then rolling each sample with the same draws."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(9))
    out = augment(x, torch.Generator().manual_seed(4), max_shift=2)
    g = torch.Generator().manual_seed(4)
    B, nd = shape[0], len(shape) - 2
    flips = torch.rand((nd, B), generator=g) < 0.5
    shifts = torch.randint(-2, 3, (nd, B), generator=g)
    for b in range(B):
        ref = x[b]
        for a in range(nd):
            if flips[a, b]:
                ref = ref.flip(1 + a)
            ref = torch.roll(ref, int(shifts[a, b]), dims=1 + a)
        assert torch.equal(out[b], ref)


def test_augment_refuses_a_generator_on_another_device():
    x = torch.zeros(2, 1, 4, 4, device="meta")
    with pytest.raises(ValueError, match="draw on x's device"):
        augment(x, torch.Generator(), max_shift=1)
