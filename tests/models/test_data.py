"""Data layer: synthetic generators, real-format loaders, caches, splits
(docs/models.md §1-§2, §6.2)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaheur.models.data import (
    Slices2D,
    Volumes3D,
    clear_cache,
    detect_format,
    kfold_indices,
    load_digits,
    load_slices,
    load_volumes,
    make_nodules,
    make_slices,
    split_indices,
)
from metaheur.models.data.lidc import find_lidc
from metaheur.models.data.nodulemnist import find_nodulemnist
from metaheur.models.data.prepare_lidc import extract_patch, label_from_malignancy

IQ = "The IQ-OTHNCCD lung cancer dataset"  # as in conftest.py
CT_COUNTS = {"train": 3, "valid": 1, "test": 2}  # images per class and split, as in conftest.py

SMALL = (12, 6, 6)


# ---------------------------------------------------------------- synthetic generators


def test_make_slices_deterministic_shape_range():
    X1, y1 = make_slices(12, seed=3, size=32)
    X2, y2 = make_slices(12, seed=3, size=32)
    X3, _ = make_slices(12, seed=4, size=32)
    assert X1.shape == (12, 32, 32) and X1.dtype == np.float32 and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert X1.min() >= 0.0 and X1.max() <= 1.0 and np.isfinite(X1).all()
    assert set(np.unique(y1)) <= {0, 1, 2}


def test_make_slices_class_balance():
    probs = (0.38, 0.11, 0.51)
    _, y = make_slices(300, seed=0, size=16, class_probs=probs, label_noise=0.0)
    frac = np.bincount(y, minlength=3) / y.size
    np.testing.assert_allclose(frac, probs, atol=0.07)


def test_make_slices_nodule_visible():
    """Malignant slices carry a dense blob in the lungs that normal ones lack."""
    X, y = make_slices(60, seed=1, size=32, label_noise=0.0, difficulty=0.0)
    bright = (X > 0.9).mean(axis=(1, 2))  # soft tissue/bone area in the lung window
    assert bright[y == 2].mean() > bright[y == 0].mean()


def test_make_nodules_deterministic_shape_and_labels():
    X1, y1 = make_nodules(10, seed=5, size=16, spacing_mm=4.0)
    X2, y2 = make_nodules(10, seed=5, size=16, spacing_mm=4.0)
    assert X1.shape == (10, 16, 16, 16) and X1.dtype == np.float32 and y1.dtype == np.int64
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert np.isfinite(X1).all()
    assert -1300 < X1.min() and X1.max() < 1500  # HU, not windowed
    _, y = make_nodules(200, seed=0, size=8, spacing_mm=8.0, label_noise=0.0)
    assert 0.2 < y.mean() < 0.4  # P(malignant) = 0.3


def test_make_nodules_centre_is_dense():
    X, _ = make_nodules(8, seed=0, size=16, spacing_mm=2.0)
    centre = X[:, 6:10, 6:10, 6:10].mean(axis=(1, 2, 3))
    assert (centre > X.mean(axis=(1, 2, 3))).all()


@pytest.mark.parametrize("kw", [{"difficulty": 1.5}, {"label_noise": -0.1}, {"p_malignant": 2}])
def test_make_nodules_rejects_bad_args(kw):
    with pytest.raises(ValueError, match="must lie in"):
        make_nodules(2, 0, size=8, **kw)


def test_make_slices_rejects_bad_probs():
    with pytest.raises(ValueError, match="class_probs"):
        make_slices(2, 0, size=16, class_probs=(0.5, 0.6, 0.1))


# ---------------------------------------------------------------- load_* on synthetic data


def test_load_slices_synthetic_contract(tmp_path):
    d = load_slices("synthetic", image_size=32, n=SMALL, seed=1)
    assert isinstance(d, Slices2D) and d.source == "synthetic"
    assert d.X.shape == (24, 1, 32, 32) and d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert 0.0 <= d.X.min() and d.X.max() <= 1.0
    assert d.class_names == ("normal", "benign", "malignant") and d.groups is None
    assert [int((d.split == s).sum()) for s in ("train", "val", "test")] == list(SMALL)
    assert load_slices("synthetic", image_size=32, n=SMALL, seed=1) is d  # in-memory cache
    files = list((Path.home() / "cache" / "synthetic").glob("*.npz"))
    assert len(files) == 1 and not list(files[0].parent.glob("*.tmp"))
    clear_cache()
    d2 = load_slices("synthetic", image_size=32, n=SMALL, seed=1)  # from disk
    assert d2 is not d
    np.testing.assert_array_equal(d.X, d2.X)
    other = load_slices("synthetic", image_size=32, n=SMALL, seed=2)
    assert not np.array_equal(other.X, d.X)


def test_load_slices_train_val_test_streams_differ():
    d = load_slices("synthetic", image_size=16, n=(4, 4, 4), seed=0)
    assert not np.array_equal(d.X[:4], d.X[4:8])


def test_disk_cache_can_be_disabled(monkeypatch):
    monkeypatch.setenv("METAHEUR_CACHE_DIR", "off")
    load_slices("synthetic", image_size=16, n=(3, 3, 3))
    assert not (Path.home() / ".cache" / "metaheur").exists()


def test_load_slices_bac_channel():
    d = load_slices("synthetic", image_size=32, n=(4, 2, 2), segmentation="bac_channel")
    assert d.X.shape == (8, 2, 32, 32)
    assert set(np.unique(d.X[:, 1])) <= {0.0, 1.0}
    r = load_slices("synthetic", image_size=32, n=(4, 2, 2), segmentation="bac_roi")
    assert r.X.shape == (8, 1, 32, 32) and (r.X <= d.X[:, :1] + 1e-7).all()


def test_load_volumes_synthetic_contract():
    v = load_volumes("synthetic", n=(8, 4, 4), size=16, spacing_mm=4.0, seed=2)
    assert isinstance(v, Volumes3D) and v.source == "synthetic" and v.spacing_mm == 4.0
    assert v.X.shape == (16, 16, 16, 16) and v.X.dtype == np.float32
    assert 0.0 <= v.X.min() and v.X.max() <= 1.0
    assert [int((v.split == s).sum()) for s in ("train", "val", "test")] == [8, 4, 4]
    v2 = load_volumes("synthetic", n=(8, 4, 4), size=16, spacing_mm=4.0, seed=2)
    assert v2 is v


def test_auto_falls_back_to_synthetic_with_one_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="metaheur.models.data.loaders"):
        a = load_slices("auto", image_size=16, n=(3, 3, 3))
        load_slices("auto", image_size=16, n=(3, 3, 3), seed=9)
        b = load_volumes("auto", n=(3, 3, 3), size=8, spacing_mm=8.0)
    assert a.source == "synthetic" and b.source == "synthetic"
    msgs = [r.getMessage() for r in caplog.records]
    two_d = [m for m in msgs if "2-D" in m]
    assert len(two_d) == 1 and "iqothnccd" in two_d[0] and "synthetic" in two_d[0]
    assert any("nodulemnist3d" in m and ".medmnist" in m for m in msgs)


@pytest.mark.parametrize("source", ["iqothnccd", "chestct"])
def test_explicit_missing_2d_source_raises(tmp_path, source):
    with pytest.raises(FileNotFoundError, match=r"not found; tried .*expected"):
        load_slices(source, root=tmp_path / "nowhere")


@pytest.mark.parametrize("source", ["nodulemnist3d", "lidc"])
def test_explicit_missing_3d_source_raises(tmp_path, source):
    with pytest.raises(FileNotFoundError, match=r"not found; tried .*expected"):
        load_volumes(source, root=tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="source must be one of"):
        load_slices("mnist")
    with pytest.raises(ValueError, match="segmentation must be one of"):
        load_slices("synthetic", segmentation="unet")
    with pytest.raises(ValueError, match="dedupe"):
        load_slices("synthetic", dedupe="phash")
    with pytest.raises(ValueError, match="source must be one of"):
        load_volumes("luna")


# ---------------------------------------------------------------- real formats


def test_iqothnccd_loader(iqoth_root):
    d = load_slices("iqothnccd", root=iqoth_root, image_size=32)
    assert d.source == "iqothnccd" and d.class_names == ("normal", "benign", "malignant")
    assert d.X.shape == (12, 1, 32, 32) and d.split is None
    np.testing.assert_array_equal(np.bincount(d.y), [4, 3, 5])  # 0 normal, 1 benign, 2 malignant
    assert 0.0 <= d.X.min() and d.X.max() <= 1.0
    # dedupe="ahash": malignant (3) is a copy of (2) -> one group; the rest are singletons
    mal = np.flatnonzero(d.y == 2)
    assert d.groups[mal[1]] == d.groups[mal[2]]
    assert np.unique(d.groups).size == 11
    assert load_slices("iqothnccd", root=iqoth_root, image_size=32, dedupe=None).groups is None


def test_iqothnccd_found_by_auto_and_env(iqoth_root, monkeypatch):
    assert load_slices(root=iqoth_root, image_size=16).source == "iqothnccd"
    env = iqoth_root.parent / "datasets"
    (env).mkdir()
    iqoth_root.rename(env / "iqothnccd")
    monkeypatch.setenv("METAHEUR_DATA_DIR", str(env))
    assert load_slices(image_size=16).source == "iqothnccd"


def test_iqothnccd_corrupt_image_named(iqoth_root):
    bad = iqoth_root / IQ / IQ / "Normal cases" / "Normal case (2).jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"cannot read image .*Normal case \(2\)\.jpg"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_iqothnccd_empty_class_named(iqoth_root):
    folder = iqoth_root / IQ / IQ / "Bengin cases"
    for f in folder.iterdir():
        f.unlink()
    with pytest.raises(ValueError, match=r"class 'benign' has no images in folder .*Bengin cases"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_iqothnccd_missing_class_named(iqoth_root):
    folder = iqoth_root / IQ / IQ / "Malignant cases"
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    with pytest.raises(FileNotFoundError, match=r"class\(es\) \['malignant'\]"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_chestct_loader_official_split(chestct_root):
    d = load_slices("chestct", root=chestct_root, image_size=32)
    assert d.source == "chestct"
    assert d.class_names == ("adenocarcinoma", "large_cell_carcinoma", "normal",
                             "squamous_cell_carcinoma")
    n_tr, n_va, n_te = (4 * CT_COUNTS[s] for s in ("train", "valid", "test"))
    assert d.X.shape == (n_tr + n_va + n_te, 1, 32, 32)
    for part, k in (("train", "train"), ("val", "valid"), ("test", "test")):
        m = d.split == part
        np.testing.assert_array_equal(np.bincount(d.y[m], minlength=4), [CT_COUNTS[k]] * 4)
    # class index follows the canonical name, not folder order
    assert (d.y[d.split == "test"] == np.repeat(np.arange(4), CT_COUNTS["test"])).all()
    idx = split_indices(d)
    assert [len(idx[p]) for p in ("train", "val", "test")] == [n_tr, n_va, n_te]
    pooled = load_slices("chestct", root=chestct_root, image_size=32, use_official_split=False)
    assert pooled.split is None


def test_chestct_missing_class_folder(chestct_root):
    d = chestct_root / "Data" / "valid" / "normal"
    for f in d.iterdir():
        f.unlink()
    d.rmdir()
    with pytest.raises(ValueError, match=r"class 'normal' has no folder in .*valid"):
        load_slices("chestct", root=chestct_root, image_size=16)


def test_nodulemnist_prefers_64(nodulemnist_root):
    v = load_volumes("nodulemnist3d", root=nodulemnist_root)
    assert v.source == "nodulemnist3d_64" and v.spacing_mm == 1.0 and v.groups is None
    assert v.X.shape == (12, 64, 64, 64) and v.X.dtype == np.float32
    with np.load(nodulemnist_root / "nodulemnist3d_64.npz") as z:
        np.testing.assert_allclose(v.X[0], z["train_images"][0] / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(v.y[:6], z["train_labels"].ravel())
    assert [int((v.split == s).sum()) for s in ("train", "val", "test")] == [6, 3, 3]


def test_nodulemnist_28_warns(nodulemnist28_root, caplog):
    with caplog.at_level(logging.WARNING, logger="metaheur.models.data.loaders"):
        v = load_volumes("nodulemnist3d", root=nodulemnist28_root)
    assert v.source == "nodulemnist3d" and v.X.shape[1:] == (28, 28, 28)
    msgs = " ".join(r.getMessage() for r in caplog.records)
    assert "(20, 24, 28)" in msgs and "nodulemnist3d_64.npz" in msgs and "MD5" in msgs


def test_nodulemnist_in_medmnist_home(nodulemnist28_root):
    (Path.home() / ".medmnist").mkdir()
    f = nodulemnist28_root / "nodulemnist3d.npz"
    f.rename(Path.home() / ".medmnist" / f.name)
    assert load_volumes().source == "nodulemnist3d"


def test_nodulemnist_missing_keys(tmp_path):
    f = tmp_path / "nodulemnist3d.npz"
    np.savez(f, train_images=np.zeros((1, 28, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"lacks keys .*train_labels"):
        load_volumes("nodulemnist3d", root=tmp_path)


def test_lidc_loader(lidc_file):
    v = load_volumes("lidc", root=lidc_file.parent)
    assert v.source == "lidc_npz" and v.split is None and v.spacing_mm == 1.0
    assert v.X.shape == (8, 64, 64, 64) and 0.0 <= v.X.min() and v.X.max() <= 1.0
    with np.load(lidc_file) as z:
        np.testing.assert_allclose(v.X[1], np.clip((z["patches"][1] + 1000) / 1400, 0, 1),
                                   atol=1e-6)
        np.testing.assert_array_equal(v.groups, z["patient_id"])
    assert load_volumes("lidc", root=lidc_file).source == "lidc_npz"  # a file as root
    folds = kfold_indices(v, k=2, seed=0)
    for tr, va in folds:  # grouped by patient
        assert not set(v.groups[tr]) & set(v.groups[va])


def test_detect_format(iqoth_root, chestct_root, nodulemnist_root, lidc_file, tmp_path):
    assert detect_format(iqoth_root) == "iqothnccd"
    assert detect_format(chestct_root) == "chestct"
    assert detect_format(chestct_root / "Data") == "chestct"
    assert detect_format(nodulemnist_root) == "nodulemnist3d"
    assert detect_format(nodulemnist_root / "nodulemnist3d.npz") == "nodulemnist3d"
    assert detect_format(lidc_file) == "lidc"
    assert detect_format(lidc_file.parent) == "lidc"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        detect_format(tmp_path / "missing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match=r"unrecognised dataset layout .*layouts: iqothnccd"):
        detect_format(tmp_path / "junk")
    with pytest.raises(ValueError, match="unrecognised dataset file"):
        detect_format(tmp_path / "junk" / "a.txt")


def test_detect_format_names_the_expected_layout_only(iqoth_root, chestct_root, tmp_path):
    from metaheur.models.data.types import LAYOUTS

    assert detect_format(iqoth_root, expected="iqothnccd") == "iqothnccd"
    assert detect_format(chestct_root, expected="iqothnccd") == "chestct"  # the caller says
    (tmp_path / "empty").mkdir()
    for fmt, layout in LAYOUTS.items():
        with pytest.raises(ValueError) as info:
            detect_format(tmp_path / "empty", expected=fmt)
        text = str(info.value)
        assert f"has no {fmt} dataset" in text and layout in text
        assert not [o for o in LAYOUTS if o != fmt and LAYOUTS[o] in text]
    # a partial IQ-OTH/NCCD layout says which class folders are missing
    (tmp_path / "partial" / "Normal cases").mkdir(parents=True)
    (tmp_path / "partial" / "Bengin cases").mkdir()
    with pytest.raises(ValueError, match=r"found the class folders normal, benign but not "
                                         r"malignant"):
        detect_format(tmp_path / "partial", expected="iqothnccd")
    # no format asked for: every layout, as before
    with pytest.raises(ValueError, match="allowed layouts: iqothnccd") as info:
        detect_format(tmp_path / "empty")
    assert all(layout in str(info.value) for layout in LAYOUTS.values())
    with pytest.raises(ValueError, match="unknown data format 'dicom'"):
        detect_format(tmp_path / "empty", expected="dicom")


def test_detect_format_expected_is_not_hidden_by_another_layouts_unreadable_file(tmp_path):
    """Regression: with --data-format F, an unreadable .npz in the folder (a Git LFS pointer,
    a partial download) that only the LIDC search opens was the error, instead of F's layout."""
    from metaheur.models.data.types import LAYOUTS

    root = tmp_path / "partial"
    (root / "Normal cases").mkdir(parents=True)
    (root / "notes.npz").write_text("version https://git-lfs.github.com/spec/v1\n")
    with pytest.raises(ValueError, match=r"has no iqothnccd dataset \(found the class folders "
                                         r"normal but not benign, malignant\)"):
        detect_format(root, expected="iqothnccd")
    for fmt in ("chestct", "nodulemnist3d"):
        with pytest.raises(ValueError, match=f"has no {fmt} dataset") as info:
            detect_format(root, expected=fmt)
        assert LAYOUTS[fmt] in str(info.value)
    # the file is a candidate of the format asked for, or of detection: it is the error then
    for fmt in ("lidc", None):
        with pytest.raises(ValueError, match="cannot read .*notes.npz as .npz"):
            detect_format(root, expected=fmt)


def test_digits_small_real_dataset():
    d = load_slices("digits")
    assert d is load_digits()
    assert d.source == "digits" and d.X.shape == (1797, 1, 8, 8) and len(d.class_names) == 10
    assert 0.0 <= d.X.min() and d.X.max() == 1.0 and d.split is None
    idx = split_indices(d, seed=0)
    assert sum(len(v) for v in idx.values()) == 1797
    with pytest.raises(ValueError, match="segmentation must be 'none'"):
        load_slices("digits", segmentation="bac_roi")


# ---------------------------------------------------------------- splits


def _toy(n=200, groups=None, split=None, seed=0):
    y = np.random.default_rng(seed).choice(3, n, p=(0.4, 0.1, 0.5)).astype(np.int64)
    return Slices2D(X=np.zeros((n, 1, 2, 2), np.float32), y=y, class_names=("a", "b", "c"),
                    groups=groups, split=split, source="synthetic")


def test_split_indices_stratified_70_15_15():
    d = _toy(400)
    a, b = split_indices(d, seed=3), split_indices(d, seed=3)
    for p in a:
        np.testing.assert_array_equal(a[p], b[p])
    allidx = np.concatenate(list(a.values()))
    assert np.array_equal(np.sort(allidx), np.arange(400))
    assert abs(len(a["train"]) - 280) <= 2 and abs(len(a["test"]) - 60) <= 2
    for p in a:
        frac = np.bincount(d.y[a[p]], minlength=3) / len(a[p])
        np.testing.assert_allclose(frac, np.bincount(d.y) / 400, atol=0.05)


@pytest.mark.parametrize("data", ["toy", "digits", "unused label"])
def test_split_indices_stratify_every_class(data):
    """Regression (session 25): ``np.bincount(y).min(initial=0) >= 2`` is never true
    (``initial=0`` joins the minimum), so no split was ever stratified: digits' test part
    held 17 to 34 images of a class instead of 27 or 28. Each class is now split 70/15/15
    within one sample (a label value that no sample uses is no reason to drop it)."""
    d = load_digits() if data == "digits" else _toy(400)
    if data == "unused label":  # labels 0 and 2 only: bincount has a 0 for label 1
        d = Slices2D(X=d.X, y=np.where(d.y == 1, 0, d.y), class_names=d.class_names,
                     groups=None, split=None, source="synthetic")
    y = d.y
    parts = split_indices(d, seed=0)
    counts = np.bincount(y)
    for part, frac in (("test", 0.15), ("val", 0.15), ("train", 0.70)):
        got = np.bincount(y[parts[part]], minlength=counts.size)
        assert np.all(np.abs(got - frac * counts) <= 1.5), (part, got, frac * counts)
    legacy = split_indices(d, seed=0, stratify=False)  # the draw before the fix
    assert np.array_equal(np.sort(np.concatenate(list(legacy.values()))), np.arange(len(y)))
    if data == "digits":  # the split of the archived digits runs (benchmarks/results/)
        assert np.bincount(y[legacy["test"]]).tolist() == [19, 27, 25, 23, 17, 31, 34, 33, 28,
                                                          33]


def test_split_indices_grouped():
    g = np.repeat(np.arange(100), 3)
    d = _toy(300, groups=g)
    s = split_indices(d, seed=1)
    assert np.array_equal(np.sort(np.concatenate(list(s.values()))), np.arange(300))
    parts = [set(g[s[p]]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert 0.6 < len(s["train"]) / 300 < 0.8


@pytest.mark.parametrize("sizes", [(200,), (150, 50)])
def test_grouped_split_with_too_few_groups_says_so(sizes):
    """Regression (session 24's audit): near-duplicate chains (dedupe="ahash") can merge
    every image into one or two groups; the grouped split then failed with scikit-learn's
    "With n_samples=1, test_size=0.15 ... the resulting train set will be empty"."""
    g = np.repeat(np.arange(len(sizes)), sizes)
    with pytest.raises(ValueError, match=r"(?s)200 samples form only \d group.*at least 3.*"
                                         r"dedupe=None"):
        split_indices(_toy(200, groups=g), seed=0)


def test_grouped_split_far_from_70_15_15_is_warned(caplog):
    """One group holding 60 % of the samples (a chain of near-duplicates) cannot give a
    70/15/15 split; the split is drawn, and the warning says how far off it is and why."""
    g = np.r_[np.zeros(120, int), np.arange(1, 81)]
    with caplog.at_level(logging.WARNING, logger="metaheur.models.data"):
        parts = split_indices(_toy(200, groups=g), seed=0)
    assert sum(len(v) for v in parts.values()) == 200
    assert "far from 70/15/15" in caplog.text and "largest group holds 120" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="metaheur.models.data"):
        split_indices(_toy(300, groups=np.repeat(np.arange(100), 3)), seed=1)
    assert caplog.text == ""


def test_kfold_indices_excludes_test_and_respects_groups():
    g = np.repeat(np.arange(60), 2)
    d = _toy(120, groups=g)
    test = set(split_indices(d, seed=0)["test"])
    folds = kfold_indices(d, k=5, seed=0)
    assert len(folds) == 5
    vals = np.concatenate([va for _, va in folds])
    assert len(vals) == len(set(vals)) and not set(vals) & test
    for tr, va in folds:
        assert not set(g[tr]) & set(g[va])
    plain = kfold_indices(_toy(120), k=3)
    assert len(plain) == 3
    with pytest.raises(ValueError, match="k must be an integer >= 2"):
        kfold_indices(d, k=1)


def test_kfold_official_split_pools_train_val():
    split = np.array(["train"] * 70 + ["val"] * 15 + ["test"] * 15)
    d = _toy(100, split=split)
    folds = kfold_indices(d, k=3)
    vals = np.sort(np.concatenate([va for _, va in folds]))
    np.testing.assert_array_equal(vals, np.arange(85))


# ---------------------------------------------------------------- prepare_lidc helpers


def test_label_rule():
    assert label_from_malignancy([1, 2, 2]) == 0
    assert label_from_malignancy([4, 5, 3]) == 1
    assert label_from_malignancy([3, 3]) is None
    assert label_from_malignancy([1, 5, 5], rule="median") == 1
    with pytest.raises(ValueError, match="rule"):
        label_from_malignancy([1], rule="max")


def test_extract_patch_centres_nodule_and_pads():
    vol = np.full((100, 100, 40), -800, dtype=np.int16)
    ii, jj, kk = np.ogrid[:100, :100, :40]
    # a 10 mm ball at (i, j, k) = (30, 60, 3) with 0.7 mm pixels and 2.5 mm slices
    ball = ((ii - 30) * 0.7) ** 2 + ((jj - 60) * 0.7) ** 2 + ((kk - 3) * 2.5) ** 2 < 25
    vol[ball] = 50
    p = extract_patch(vol, (0.7, 0.7, 2.5), (30, 60, 3), size=32, box_mm=40)
    assert p.shape == (32, 32, 32) and p.dtype == np.int16  # axes (z, y, x) = (k, i, j)
    assert p[16, 16, 16] > 0 and p[16, 16, 2] == -800 and p[16, 2, 16] == -800
    assert p[0, 16, 16] == -1000  # 16 mm below the centre is before the first slice: air


def test_prepare_lidc_main_without_pylidc(monkeypatch, capsys, tmp_path):
    import sys

    from metaheur.models.data import prepare_lidc

    monkeypatch.setitem(sys.modules, "pylidc", None)  # import fails
    assert prepare_lidc.main(["--out", str(tmp_path / "x.npz")]) == 2
    assert "pylidc" in capsys.readouterr().err


def test_images_are_read_at_their_bit_depth(tmp_path):
    """Regression: 16-bit PNGs saturated at 255 through convert("L")."""
    from metaheur.models.data.images import read_gray

    rgba = tmp_path / "a.png"
    Image.fromarray(np.full((5, 7, 4), 200, np.uint8)).save(rgba)
    assert read_gray(rgba).shape == (5, 7)
    a16 = np.array([[0, 1000, 30000, 65535]], dtype=np.uint16)
    f16 = tmp_path / "b.png"
    Image.fromarray(a16).save(f16)
    with Image.open(f16) as im:
        assert im.mode.startswith("I")
    np.testing.assert_allclose(read_gray(f16), a16 / 65535.0, rtol=1e-6)  # no saturation
    bad = tmp_path / "c.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read image .*c.png"):
        read_gray(bad)


def test_iqothnccd_skips_macos_metadata_files(iqoth_root):
    """Regression: one ``._*.jpg`` (AppleDouble metadata from a macOS copy) aborted the load."""
    d = next(iqoth_root.rglob("Normal cases"))
    (d / "._Normal case (1).jpg").write_bytes(b"\x00\x05\x16\x07Mac OS X metadata")
    ds = load_slices("iqothnccd", iqoth_root, image_size=32)
    assert len(ds.y) == 12


def test_lidc_patches_already_scaled_are_refused(tmp_path):
    """Regression: [0, 1] patches came out of the HU window as the constant 0.714."""
    f = tmp_path / "scaled.npz"
    rng = np.random.default_rng(0)
    np.savez(f, patches=rng.random((4, 8, 8, 8)).astype(np.float32),
             labels=np.array([0, 1, 0, 1]), patient_id=np.array(["a", "b", "c", "d"]))
    with pytest.raises(ValueError, match="Hounsfield units.*already scaled"):
        load_volumes("lidc", f)


@pytest.mark.parametrize("loader", ["lidc", "nodulemnist3d"])
def test_labels_outside_benign_malignant_are_refused(tmp_path, loader):
    """Regression: a NoduleMNIST label 3 was accepted."""
    rng = np.random.default_rng(0)
    if loader == "lidc":
        f = tmp_path / "lidc.npz"
        np.savez(f, patches=rng.integers(-1000, 400, (4, 8, 8, 8)).astype(np.int16),
                 labels=np.array([0, 1, 3, 1]), patient_id=np.array(["a", "b", "c", "d"]))
    else:
        f = tmp_path / "nodulemnist3d.npz"
        arrays = {}
        for split in ("train", "val", "test"):
            arrays[f"{split}_images"] = rng.integers(0, 256, (4, 8, 8, 8), dtype=np.uint8)
            arrays[f"{split}_labels"] = np.array([[0], [1], [3], [1]], np.uint8)
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match=r"must be 0 \(benign\) or 1 \(malignant\), found \[3\]"):
        load_volumes(loader, f)


def test_cache_root_follows_xdg_and_the_override(monkeypatch, tmp_path):
    from metaheur.models.data.cache import cache_root

    monkeypatch.delenv("METAHEUR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_root() == tmp_path / "xdg" / "metaheur"
    monkeypatch.setenv("METAHEUR_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.setenv("METAHEUR_CACHE_DIR", "off")
    assert cache_root() is None


@pytest.mark.parametrize("content", ["text", "npy"])
def test_a_file_that_is_not_an_npz_archive_is_named_so(tmp_path: Path, content: str) -> None:
    """A damaged or foreign ``.npz`` says what it is not; it used to relay NumPy's advice to
    load it "unsafely" with ``allow_pickle`` (text) or fail with a traceback (``.npy``)."""
    from metaheur.models.data.npz import npz_keys

    path = tmp_path / "nodulemnist3d_64.npz"
    if content == "text":
        path.write_text("not an archive\n")
    else:
        with open(path, "wb") as fh:
            np.save(fh, np.zeros(3))
    with pytest.raises(ValueError, match="not a NumPy .npz") as info:
        npz_keys(path)
    assert "pickle" not in str(info.value)


def test_an_unreadable_npz_path_says_why(tmp_path: Path) -> None:
    """A path that cannot be read (here a folder named like the archive; a file without
    read permission alike) gives the system's reason, not "not a NumPy .npz (zip) archive"
    (``zipfile.is_zipfile`` answers False on any OSError; review finding)."""
    from metaheur.models.data.npz import npz_keys

    path = tmp_path / "nodulemnist3d_64.npz"
    path.mkdir()
    with pytest.raises(ValueError, match="cannot read .*: Is a directory") as info:
        npz_keys(path)
    assert "not a NumPy" not in str(info.value)


def test_an_upper_case_npz_file_is_found_as_it_is_detected(nodulemnist_root, lidc_file, tmp_path):
    # detect_format reads a file's suffix case-blind; the finders that load it must agree
    # (a LIDC.NPZ was detected as lidc and then "not found")
    lidc = tmp_path / "LIDC.NPZ"
    lidc.write_bytes(lidc_file.read_bytes())
    nm = tmp_path / "NODULEMNIST3D.NPZ"
    nm.write_bytes((nodulemnist_root / "nodulemnist3d.npz").read_bytes())
    assert detect_format(lidc) == "lidc" and find_lidc(lidc) == lidc
    assert detect_format(nm) == "nodulemnist3d" and find_nodulemnist(nm) == nm


# ----------------------------------------------- session 27's audit of the loaders
def test_a_png_with_a_broken_chunk_is_named(iqoth_root):
    """Regression: Pillow raises SyntaxError ('broken PNG file') for a bad chunk header,
    which escaped read_gray as a bare SyntaxError without the file's name."""
    import struct
    import zlib

    folder = iqoth_root / IQ / IQ / "Normal cases"
    raw = zlib.compress(b"\x00" + b"\x80" * 8)

    def chunk(kind: bytes, data: bytes, length: int | None = None) -> bytes:
        n = len(data) if length is None else length
        return struct.pack(">I", n) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 1, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", raw, len(raw) - 8) + chunk(b"IEND", b""))
    (folder / "bad.png").write_bytes(png)
    with pytest.raises(ValueError, match=r"cannot read image .*bad\.png"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_lidc_search_skips_hidden_files_and_takes_any_case(lidc_file, tmp_path):
    """Regression: the folder search read macOS's ``._patches.npz`` (and failed on it) and
    missed ``PATCHES.NPZ``, though a file of that name passed directly was read."""
    plain = lidc_file.rename(lidc_file.parent / "patches.npz")
    (lidc_file.parent / "._patches.npz").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    assert find_lidc(lidc_file.parent) == plain
    assert detect_format(lidc_file.parent) == "lidc"
    upper = tmp_path / "upper"
    upper.mkdir()
    plain.rename(upper / "PATCHES.NPZ")
    assert find_lidc(upper) == upper / "PATCHES.NPZ"
    assert detect_format(upper) == "lidc"


def test_images_outside_class_folders_are_warned_about(iqoth_root, chestct_root, caplog):
    """Regression: image files next to the class folders (IQ-OTH) or in a split folder
    (Chest CT) were left out without a word."""
    src = next((iqoth_root / IQ / IQ / "Normal cases").iterdir())
    (iqoth_root / IQ / IQ / "stray.jpg").write_bytes(src.read_bytes())
    png = next((chestct_root / "Data" / "train" / "normal").iterdir())
    (chestct_root / "Data" / "train" / "loose.png").write_bytes(png.read_bytes())
    with caplog.at_level(logging.WARNING):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)
        load_slices("chestct", root=chestct_root, image_size=16)
    assert "stray.jpg" in caplog.text and "loose.png" in caplog.text


def test_two_split_folders_differing_in_case_are_refused(chestct_root):
    """Regression: with ``train`` and ``Train`` the first one listed was used and the other
    left out silently."""
    import shutil

    data = chestct_root / "Data"
    shutil.copytree(data / "train", data / "Train")
    if len({p.name for p in data.iterdir()}) < 4:  # a case-insensitive file system
        pytest.skip("this file system folds case")
    with pytest.raises(ValueError, match=r"two folders .*train.*Train|two folders .*Train.*train"):
        load_slices("chestct", root=chestct_root, image_size=16)


def test_a_folder_holding_two_layouts_is_an_error_naming_both(iqoth_root, lidc_file):
    """Regression: detect_format took the first layout of its list, silently, and the CLI
    then refused the other model without saying the folder held its data too."""
    lidc_file.rename(iqoth_root / "lidc_patches.npz")
    with pytest.raises(ValueError, match=r"several dataset layouts.*iqothnccd.*lidc"):
        detect_format(iqoth_root)
    assert detect_format(iqoth_root, expected="lidc") == "lidc"
    assert detect_format(iqoth_root, expected="iqothnccd") == "iqothnccd"


def test_duplicates_across_the_official_split_are_warned_about(chestct_root, caplog):
    """Regression: dedupe='ahash' found near-duplicate groups, but with the official split
    kept, a group spanning train and test (leakage) went unmentioned."""
    train = chestct_root / "Data" / "train" / "normal"
    src = sorted(train.iterdir())[0]
    (chestct_root / "Data" / "test" / "normal" / "copy.png").write_bytes(src.read_bytes())
    with caplog.at_level(logging.WARNING):
        d = load_slices("chestct", root=chestct_root, image_size=16)
    assert d.split is not None
    assert "span more than one part of the official split" in caplog.text
    assert "copy.png" in caplog.text
