"""Image files, class folders and the data cache are untrusted input (docs/models.md §1, §3.2):
refused with the file named, rebuilt, or skipped with a warning; never a raw library error,
a machine's worth of memory, or data dropped without a word."""

from __future__ import annotations

import io
import logging
import os
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaheur.models.data import clear_cache, load_slices, load_volumes

IQ = "The IQ-OTHNCCD lung cancer dataset"  # as in conftest.py


def _classes(root: Path) -> Path:
    return root / IQ / IQ


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` (a decompression bomb's shape)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
            + chunk(b"IEND", b""))


# ------------------------------------------------------------------ image files
def test_a_thin_image_is_refused_before_its_square_canvas_is_made(iqoth_root):
    """Regression: a 1×60000 PNG of 138 bytes was padded to a 60000² float canvas (14 GB)
    before the resize; an image's long side is now bounded, and the file is named."""
    thin = _classes(iqoth_root) / "Normal cases" / "thin.png"
    Image.fromarray(np.zeros((1, 9000), np.uint8)).save(thin)
    with pytest.raises(ValueError, match=r"thin\.png.*9000.*at most 8192"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_a_decompression_bomb_is_named(iqoth_root):
    """Regression: Pillow's DecompressionBombError is no OSError: it escaped unnamed."""
    (_classes(iqoth_root) / "Normal cases" / "bomb.png").write_bytes(
        _png_header_only(100_000, 100_000))
    with pytest.raises(ValueError, match=r"cannot read image .*bomb\.png"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs byte file names (POSIX)")
def test_file_names_that_are_not_utf8_are_read(iqoth_root):
    """Regression: the cache fingerprint encoded paths as UTF-8 and raised
    UnicodeEncodeError on a Latin-1 file name (a surrogate escape)."""
    folder = os.fsencode(_classes(iqoth_root) / "Normal cases")
    png = io.BytesIO()
    Image.new("L", (32, 32), 90).save(png, format="PNG")  # Pillow 10 cannot save to bytes paths
    try:
        with open(folder + b"/caso_\xe9.png", "wb") as fh:
            fh.write(png.getvalue())
    except OSError:
        pytest.skip("this file system refuses byte file names")
    d = load_slices("iqothnccd", root=iqoth_root, image_size=16)
    assert np.bincount(d.y).tolist() == [5, 3, 5]


def test_image_order_does_not_depend_on_the_directory_order(tmp_path, monkeypatch):
    """Regression (session 24's audit): names equal but for case or leading zeros tied in
    the natural sort key, so they kept the order the file system listed them in, and the
    split (drawn over that order) could differ between machines."""
    from metaheur.models.data.images import list_images

    names = ["case (1).png", "Case (1).png", "case (01).png", "case (2).png", "CASE (10).png"]
    for name in names:
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / name)
    listed = list(tmp_path.iterdir())
    orders = []
    for order in (listed, listed[::-1]):
        monkeypatch.setattr(Path, "iterdir", lambda self, o=order: iter(o))
        orders.append([p.name for p in list_images(tmp_path)])
    assert orders[0] == orders[1]
    assert orders[0][-1] == "CASE (10).png"  # still natural: 10 after 2


def test_files_that_are_not_read_are_named_in_a_warning(iqoth_root, caplog):
    """Regression: a .bmp, a dangling link, a FIFO or a sub-folder in a class folder was
    dropped without a word; hidden files (macOS metadata) stay silent."""
    folder = _classes(iqoth_root) / "Normal cases"
    Image.new("L", (32, 32)).save(folder / "extra.bmp")
    (folder / "sub").mkdir()
    (folder / "._Normal case (1).jpg").write_bytes(b"\0")
    if hasattr(os, "symlink"):
        os.symlink(folder / "missing.png", folder / "link.png")
    with caplog.at_level(logging.WARNING):
        d = load_slices("iqothnccd", root=iqoth_root, image_size=16)
    assert np.bincount(d.y).tolist() == [4, 3, 5]
    text = caplog.text
    assert "extra.bmp" in text and "sub" in text and "._Normal" not in text
    if hasattr(os, "symlink"):
        assert "link.png" in text


def test_two_folders_for_one_class_are_refused(iqoth_root):
    """Regression: "Bengin cases" and "Benign cases" side by side: the second folder's
    images were dropped silently (only the first folder of a class was kept)."""
    base = _classes(iqoth_root)
    shutil.copytree(base / "Bengin cases", base / "Benign cases")
    with pytest.raises(ValueError, match=r"(?s)benign.*Bengin cases.*Benign cases"):
        load_slices("iqothnccd", root=iqoth_root, image_size=16)


def test_class_folders_in_two_subtrees_are_refused_not_dropped(iqoth_root, tmp_path):
    """Regression (session 24's audit): a tree with train/ and test/, each holding the three
    class folders, loaded train/'s 12 images and silently dropped test/'s 12: only the
    first folder found of a class was kept, and only folders side by side were compared."""
    base = _classes(iqoth_root)
    root = tmp_path / "split-tree"
    for part in ("train", "test"):
        shutil.copytree(base, root / part)
    with pytest.raises(ValueError, match=r"(?s)two folders, .*(train.*test|test.*train)"):
        load_slices("iqothnccd", root=root, image_size=16)


def test_auto_on_a_chest_ct_tree_loads_chest_ct(chestct_root):
    """Regression (session 24's audit): Chest CT's ``normal`` folder matches an IQ-OTH
    class name, so ``source="auto"`` took the tree for IQ-OTH/NCCD (one class of three)
    and failed; auto-detection now asks for all three IQ-OTH classes, as
    ``detect_format`` does."""
    d = load_slices("auto", root=chestct_root, image_size=16)
    assert d.source == "chestct" and len(d.class_names) == 4


def test_two_chestct_folders_for_one_class_are_refused(chestct_root):
    train = next(p for p in chestct_root.rglob("train") if p.is_dir())
    first = next(p for p in sorted(train.iterdir()) if p.name.startswith("adenocarcinoma"))
    shutil.copytree(first, train / "adenocarcinoma_copy")
    with pytest.raises(ValueError, match=r"(?s)adenocarcinoma.*two folders|folders.*adeno"):
        load_slices("chestct", root=chestct_root, image_size=16)


# ------------------------------------------------------------------ the data cache
def _cache_file(sub: str) -> Path:
    (f,) = (Path.home() / "cache" / sub).glob("*.npz")
    return f


def _tampered(ref: dict[str, np.ndarray]) -> list[tuple[str, bytes]]:
    def npz(**arrays: np.ndarray) -> bytes:
        b = io.BytesIO()
        np.savez(b, **arrays)
        return b.getvalue()

    others = {k: v for k, v in ref.items() if k != "X"}
    b = io.BytesIO()
    np.savez_compressed(b, **ref)
    broken = bytearray(b.getvalue())
    broken[80:88] = b"\xff\xfe\x00\x13\x37\x00\xaa\x55"  # inside X's deflate stream
    huge = io.BytesIO()  # a valid .npy header declaring 4 TiB, then a few bytes
    with zipfile.ZipFile(huge, "w") as zf:
        with zf.open("X.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)})
            fh.write(b"\0" * 64)
        for k, v in others.items():
            with zf.open(f"{k}.npy", "w") as member:
                np.lib.format.write_array(member, v)
    n = len(ref["y"])
    return [("short X", npz(X=ref["X"][:2], **others)),
            ("X of another image size", npz(X=ref["X"][..., :8, :8], **others)),
            ("X header declaring 4 TiB", huge.getvalue()),
            ("NaN X", npz(X=ref["X"] * np.nan, **others)),
            ("X out of range", npz(X=ref["X"] + 5, **others)),
            ("no X", npz(**others)),
            ("y out of range", npz(**{**ref, "y": ref["y"] + 7})),
            ("bad split", npz(**{**ref, "split": np.full(n, "x")}) if "split" in ref
             else npz(**ref)),
            # regression: every sample "train" (the test set trained on) passed the check
            ("all split train", npz(**{**ref, "split": np.full(n, "train")}) if "split" in ref
             else npz(**ref)),
            ("damaged deflate stream", bytes(broken))]


@pytest.mark.parametrize("kind", ["slices", "volumes"])
def test_a_tampered_synthetic_cache_is_rebuilt(kind, caplog):
    """Regression: a cache file with 2 images for 24 labels, NaN pixels or no ``X`` was
    used as it was (or raised KeyError / zlib.error); it is checked and rebuilt."""
    load = ((lambda: load_slices("synthetic", image_size=16, n=(12, 6, 6)))
            if kind == "slices" else (lambda: load_volumes("synthetic", n=(6, 3, 3), size=16)))
    ref = load()
    f = _cache_file("synthetic")
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files}
    for what, data in _tampered(arrays):
        f.write_bytes(data)
        clear_cache()
        with caplog.at_level(logging.WARNING, logger="metaheur.models.data.cache"):
            again = load()
        np.testing.assert_array_equal(again.X, ref.X, err_msg=what)
        np.testing.assert_array_equal(again.y, ref.y, err_msg=what)
        np.testing.assert_array_equal(again.split, ref.split, err_msg=what)


def test_a_cache_that_lost_its_groups_is_rebuilt(iqoth_root):
    """Regression: a prepared-images cache without ``groups`` silently turned off the
    near-duplicate grouping that ``dedupe="ahash"`` asked for."""
    ref = load_slices("iqothnccd", root=iqoth_root, image_size=16)
    f = _cache_file("prepared")
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files if k != "groups"}
    with open(f, "wb") as fh:
        np.savez(fh, **arrays)
    clear_cache()
    again = load_slices("iqothnccd", root=iqoth_root, image_size=16)
    np.testing.assert_array_equal(again.groups, ref.groups)


def test_valid_cache_files_are_read_as_they_are(iqoth_root, caplog):
    """The checks refuse nothing the loaders write (else every load would rebuild)."""
    loads = [lambda: load_slices("synthetic", image_size=16, n=(6, 3, 3)),
             lambda: load_slices("synthetic", image_size=16, n=(6, 3, 3),
                                 segmentation="bac_channel"),
             lambda: load_volumes("synthetic", n=(6, 3, 3), size=16),
             lambda: load_slices("iqothnccd", root=iqoth_root, image_size=16),
             lambda: load_slices("iqothnccd", root=iqoth_root, image_size=16, dedupe=None)]
    for load in loads:
        load()
    clear_cache()
    mtimes = {f: f.stat().st_mtime_ns for f in (Path.home() / "cache").rglob("*.npz")}
    with caplog.at_level(logging.WARNING):
        for load in loads:
            load()
    assert "cache" not in caplog.text
    assert {f: f.stat().st_mtime_ns for f in (Path.home() / "cache").rglob("*.npz")} == mtimes
