"""Regression tests: the 3-D loaders (NoduleMNIST3D, LIDC patches) and ``extract_patch`` refuse
malformed input with a ``ValueError`` naming the file and key (docs/models.md §1.1, §1.2)."""

from __future__ import annotations

import io
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from metaheur.models.data.lidc import load_lidc
from metaheur.models.data.nodulemnist import load_nodulemnist
from metaheur.models.data.prepare_lidc import extract_patch


def _nodulemnist(path: Path, **override: np.ndarray) -> Path:
    """A tiny valid NoduleMNIST3D file (4 volumes of 8^3 per split), with arrays replaced."""
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = rng.integers(0, 256, (4, 8, 8, 8), dtype=np.uint8)
        arrays[f"{split}_labels"] = np.array([[0], [1], [0], [1]], np.uint8)
    np.savez(path, **{**arrays, **override})
    return path


def _lidc(path: Path, **override: np.ndarray) -> Path:
    """A tiny valid LIDC patches file (4 HU patches of 8^3), with arrays replaced."""
    rng = np.random.default_rng(0)
    arrays = {"patches": rng.integers(-1000, 400, (4, 8, 8, 8)).astype(np.int16),
              "labels": np.array([0, 1, 0, 1], np.int8),
              "patient_id": np.array(["a", "a", "b", "b"]), "spacing_mm": np.float32(1.0)}
    np.savez(path, **{**arrays, **override})
    return path


def _member_data_offset(path: Path, key: str) -> int:
    """Offset in ``path`` of the first byte of member ``key.npy``'s (stored or compressed) data."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(f"{key}.npy")
    raw = path.read_bytes()
    o = info.header_offset
    name_len = int.from_bytes(raw[o + 26:o + 28], "little")
    extra_len = int.from_bytes(raw[o + 28:o + 30], "little")
    return o + 30 + name_len + extra_len


def _patch_byte(path: Path, offset: int, value: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] = value
    path.write_bytes(bytes(raw))


def _npz_with_header(path: Path, key: str, shape: tuple[int, ...], compress: int) -> Path:
    """An ``.npz`` whose member ``key`` has a valid ``.npy`` header declaring ``shape`` int16
    but only a few bytes of data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<i2", "fortran_order": False, "shape": shape})
    buf.write(b"\0" * 64)
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr(f"{key}.npy", buf.getvalue())
    return path


# ---------------------------------------------------------------- NoduleMNIST3D


def test_nodulemnist_valid_file_loads(tmp_path):
    v = load_nodulemnist(_nodulemnist(tmp_path / "nodulemnist3d.npz",
                                      val_labels=np.array([0, 1, 1, 0], np.uint8)))
    assert v.X.shape == (12, 8, 8, 8) and v.y.shape == (12,) and 0 <= v.X.min() <= v.X.max() <= 1
    np.testing.assert_array_equal(v.y[4:8], [0, 1, 1, 0])  # (N,) labels are fine too


@pytest.mark.parametrize("labels", [np.zeros((4, 2), np.uint8), np.zeros((2, 2), np.uint8),
                                    np.zeros((4, 1, 1), np.uint8), np.uint8(0)])
def test_nodulemnist_labels_must_be_n_or_n_by_1(tmp_path, labels):
    """Regression: (N, 2) labels gave 2N labels for N images."""
    f = _nodulemnist(tmp_path / "nodulemnist3d.npz", train_labels=labels)
    with pytest.raises(ValueError, match=r"nodulemnist3d\.npz.*train_labels.*\(N,\) or \(N, 1\)"):
        load_nodulemnist(f)


@pytest.mark.parametrize("images", [
    np.full((4, 8, 8, 8), np.nan, np.float32),
    np.full((4, 8, 8, 8), 0.5, np.float32),
    np.full((4, 8, 8, 8), -3000, np.int16),
])
def test_nodulemnist_images_must_be_uint8(tmp_path, images):
    """Regression: NaN or int16 -3000 images went into X (outside [0, 1])."""
    f = _nodulemnist(tmp_path / "nodulemnist3d.npz", val_images=images)
    with pytest.raises(ValueError, match=r"nodulemnist3d\.npz.*val_images must be uint8"):
        load_nodulemnist(f)


def test_nodulemnist_splits_must_share_one_volume_size(tmp_path):
    """Regression: 28^3 and 20^3 splits gave NumPy's concatenate error, without a file name."""
    f = _nodulemnist(tmp_path / "nodulemnist3d.npz",
                     test_images=np.zeros((4, 6, 6, 6), np.uint8))
    with pytest.raises(ValueError, match=r"nodulemnist3d\.npz.*test_images.*6\^3.*8\^3"):
        load_nodulemnist(f)


# ---------------------------------------------------------------- LIDC patches


def test_lidc_valid_file_loads(tmp_path):
    v = load_lidc(_lidc(tmp_path / "lidc.npz", spacing_mm=np.array([1.0])))
    assert v.X.shape == (4, 8, 8, 8) and v.spacing_mm == 1.0 and 0 <= v.X.min() <= v.X.max() <= 1


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_lidc_patches_must_be_finite(tmp_path, value):
    """Regression: NaN passed the 'already scaled' test and +-inf was clipped silently."""
    P = np.random.default_rng(0).uniform(-1000, 400, (4, 8, 8, 8)).astype(np.float32)
    P[1, 2, 3, 4] = value
    with pytest.raises(ValueError, match=r"lidc\.npz.*patches.*finite"):
        load_lidc(_lidc(tmp_path / "lidc.npz", patches=P))


def test_lidc_patches_must_be_cubic(tmp_path):
    P = np.random.default_rng(0).integers(-1000, 400, (4, 16, 16, 4)).astype(np.int16)
    with pytest.raises(ValueError, match=r"lidc\.npz.*\(N, S, S, S\).*\(4, 16, 16, 4\)"):
        load_lidc(_lidc(tmp_path / "lidc.npz", patches=P))


@pytest.mark.parametrize("spacing", [np.float32(np.nan), np.float32(0.0), np.float32(-1.0),
                                     np.float32(np.inf), np.array([1.0, 1.0, 2.5]),
                                     np.array("1.0"), np.array(True)])
def test_lidc_spacing_must_be_one_finite_positive_number(tmp_path, spacing):
    """Regression: NaN and <= 0 were accepted, a 3-vector raised TypeError."""
    f = _lidc(tmp_path / "lidc.npz", spacing_mm=spacing)
    with pytest.raises(ValueError, match=r"lidc\.npz.*spacing_mm.*one finite positive number"):
        load_lidc(f)


# ---------------------------------------------------------------- unreadable members (both)


def _write(loader: str, path: Path, **override: np.ndarray) -> Path:
    return _lidc(path, **override) if loader == "lidc" else _nodulemnist(path, **override)


def _load(loader: str, path: Path):
    return load_lidc(path) if loader == "lidc" else load_nodulemnist(path)


_KEY = {"lidc": "patches", "nodulemnist3d": "train_images"}


@pytest.mark.parametrize("loader", ["lidc", "nodulemnist3d"])
def test_member_with_bad_crc_is_named(tmp_path, loader):
    f = _write(loader, tmp_path / f"{loader}.npz")
    _patch_byte(f, _member_data_offset(f, _KEY[loader]) + 200, 0x55)  # in the array data
    with pytest.raises(ValueError, match=rf"{loader}\.npz.*{_KEY[loader]}"):
        _load(loader, f)


@pytest.mark.parametrize("loader", ["lidc", "nodulemnist3d"])
def test_member_with_corrupt_deflate_stream_is_named(tmp_path, loader):
    f = tmp_path / f"{loader}.npz"
    _write(loader, tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz") as z:
        np.savez_compressed(f, **{k: z[k] for k in z.files})
    _patch_byte(f, _member_data_offset(f, _KEY[loader]), 0xFF)  # deflate block type 3: invalid
    with pytest.raises(ValueError, match=rf"{loader}\.npz.*{_KEY[loader]}"):
        _load(loader, f)


def test_object_array_member_is_named(tmp_path):
    f = _lidc(tmp_path / "lidc.npz", patient_id=np.array(["a", "a", "b", "b"], dtype=object))
    with pytest.raises(ValueError, match=r"lidc\.npz.*patient_id.*object") as info:
        load_lidc(f)
    assert "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("loader", ["lidc", "nodulemnist3d"])
def test_member_declaring_a_huge_shape_is_refused_before_reading(tmp_path, loader, compress):
    """Regression: a 0.8 KB file declaring (100000, 64, 64, 64) int16 asked for 48.8 GiB."""
    good = _write(loader, tmp_path / "good.npz")
    f = tmp_path / f"{loader}.npz"
    with np.load(good) as z, zipfile.ZipFile(f, "w", compression=compress) as zf:
        for k in z.files:
            if k != _KEY[loader]:
                buf = io.BytesIO()
                np.save(buf, z[k])
                zf.writestr(f"{k}.npy", buf.getvalue())
    _npz_with_header(tmp_path / "huge.npz", _KEY[loader], (100000, 64, 64, 64), compress)
    with zipfile.ZipFile(tmp_path / "huge.npz") as src, zipfile.ZipFile(f, "a") as zf:
        zf.writestr(src.getinfo(f"{_KEY[loader]}.npy"), src.read(f"{_KEY[loader]}.npy"))
    with pytest.raises(ValueError, match=rf"{loader}\.npz.*{_KEY[loader]}.*declares"):
        _load(loader, f)


def test_stored_member_declaring_more_than_it_holds_is_refused(tmp_path):
    f = _npz_with_header(tmp_path / "lidc.npz", "patches", (64, 64, 64, 64), zipfile.ZIP_STORED)
    with np.load(_lidc(tmp_path / "good.npz")) as z, zipfile.ZipFile(f, "a") as zf:
        for k in ("labels", "patient_id", "spacing_mm"):
            buf = io.BytesIO()
            np.save(buf, z[k])
            zf.writestr(f"{k}.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"lidc\.npz.*patches.*declares 33554432 bytes"):
        load_lidc(f)


# ---------------------------------------------------------------- prepare_lidc.extract_patch


_VOL = np.full((40, 40, 20), -800, dtype=np.int16)


@pytest.mark.parametrize("centre", [(-500, 20, 15), (20, 20, 10000), (40, 20, 10), (20, 20, 20),
                                    (np.nan, 20, 10), (20, np.inf, 10), (20, 20)])
def test_extract_patch_refuses_a_centre_outside_the_volume(centre):
    """Regression: such a centre gave an all-air patch that was labelled and saved."""
    with pytest.raises(ValueError, match="centre"):
        extract_patch(_VOL, (1.0, 1.0, 2.0), centre, size=16, box_mm=20)


@pytest.mark.parametrize("spacing", [(0.0, 1.0, 2.0), (1.0, -1.0, 2.0), (1.0, 1.0, np.nan),
                                     (1.0, 1.0)])
def test_extract_patch_refuses_bad_spacing(spacing):
    with pytest.raises(ValueError, match="spacing"):
        extract_patch(_VOL, spacing, (20, 20, 10), size=16, box_mm=20)


def test_extract_patch_accepts_centres_at_the_edges():
    for centre in [(0, 0, 0), (39, 39, 19), (39.4, 0.2, 19.9)]:
        assert extract_patch(_VOL, (1.0, 1.0, 2.0), centre, size=16, box_mm=20).shape == (16,) * 3


def test_prepare_lidc_main_skips_a_nodule_with_a_bad_centre(monkeypatch, capsys, tmp_path):
    """A nodule whose centre lies outside its scan is skipped with a message, not saved."""
    from metaheur.models.data import prepare_lidc

    def ann(centroid):
        return types.SimpleNamespace(malignancy=5, centroid=np.array(centroid, float),
                                     diameter=8.0)

    scan = types.SimpleNamespace(
        patient_id="LIDC-IDRI-0001", pixel_spacing=1.0, slice_spacing=2.0,
        to_volume=lambda: _VOL,
        cluster_annotations=lambda: [[ann((20, 20, 10))], [ann((-500, 20, 15))]])
    fake = types.SimpleNamespace(__version__="0.2.4", Scan=object, query=lambda cls: [scan])
    monkeypatch.setitem(sys.modules, "pylidc", fake)
    out = tmp_path / "p.npz"
    assert prepare_lidc.main(["--out", str(out), "--size", "16", "--box-mm", "20"]) == 0
    assert "centre" in capsys.readouterr().err
    with np.load(out) as z:
        assert z["patches"].shape == (1, 16, 16, 16) and z["labels"].tolist() == [1]
