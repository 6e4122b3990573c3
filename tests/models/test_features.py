"""LSTM-ELU's fixed trunk features and their disk cache (docs/models.md §4.4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import metaheur.models.features as feat  # noqa: E402
from metaheur.models.data.cache import cache_dir  # noqa: E402
from metaheur.models.resnet import ResNetTrunk  # noqa: E402

CFG = feat.TrunkConfig(epochs=1, batch_size=4)


def _data(n: int = 12, side: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((n, 1, side, side), dtype=np.float32)
    y = np.arange(n, dtype=np.int64) % 2
    return X, y, np.arange(n - 4)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The trunk trainings that ran (1 per call of train_model)."""
    calls: list[int] = []
    real = feat.train_model
    monkeypatch.setattr(feat, "train_model", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_extraction_runs_with_the_configured_torch_threads(monkeypatch):
    """Regression: the trunk's forward pass over every image ran outside device_settings,
    with all of torch's threads instead of METAHEUR_TORCH_THREADS (docs/models.md §6.1)."""
    seen: list[tuple[bool, int]] = []
    real = ResNetTrunk.forward

    def spy(self, x):
        seen.append((torch.is_grad_enabled(), torch.get_num_threads()))
        return real(self, x)

    monkeypatch.setattr(ResNetTrunk, "forward", spy)
    monkeypatch.setenv("METAHEUR_TORCH_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        feat.trunk_features(*_data(), CFG, device="cpu")
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    extraction = [threads for grad, threads in seen if not grad]
    assert extraction and set(extraction) == {1}


@pytest.mark.parametrize("bad", ["strings", "shape", "float64", "int64"])
def test_a_cache_file_of_another_kind_is_refused_and_rebuilt(bad, counted, caplog):
    """Regression: the check refused only non-finite or wrongly counted features; strings
    crashed in ``np.isfinite`` and features of another shape or dtype were returned as the
    trunk's (a damaged cache file is untrusted input)."""
    X, y, tr = _data()
    good = feat.trunk_features(X, y, tr, CFG, device="cpu")
    assert good.dtype == np.float32 and good.shape == (12, 1, 64)  # 16² -> T = 1, 8w = 64
    (path,) = Path(cache_dir("features")).glob("*.npz")
    damaged = {"strings": np.full(good.shape, "x"), "shape": np.zeros((12, 3, 5), np.float32),
               "float64": good.astype(np.float64), "int64": np.zeros(good.shape, np.int64)}
    np.savez(path, F=damaged[bad])
    again = feat.trunk_features(X, y, tr, CFG, device="cpu")
    assert counted == [1, 1]
    assert again.dtype == np.float32 and again.shape == good.shape
    assert "ignoring cache file" in caplog.text


def test_rows_flat_features_of_a_non_square_image_pass_the_cache_check(counted):
    X = np.random.default_rng(1).random((10, 1, 32, 16), dtype=np.float32)
    y = np.arange(10) % 2
    cfg = feat.TrunkConfig(epochs=1, batch_size=4, sequence="rows_flat")
    F = feat.trunk_features(X, y, np.arange(6), cfg, device="cpu")
    assert F.shape == (10, 2, 64)  # 32 x 16 -> 2 x 1 rows of 8w = 64 channels
    np.testing.assert_array_equal(feat.trunk_features(X, y, np.arange(6), cfg, device="cpu"), F)
    assert counted == [1]  # the second call read the cache


def test_strided_labels_and_indices_are_digested(counted):
    """Regression: labels or training indices that are a strided view (a column of a table)
    crashed the cache digest with 'memoryview: casts are restricted to C-contiguous views'."""
    X, y, tr = _data()
    table = np.stack([y, 1 - y], axis=1)
    index = np.stack([tr, tr], axis=1)
    F = feat.trunk_features(X, table[:, 0], index[:, 0], CFG, device="cpu")
    np.testing.assert_array_equal(F, feat.trunk_features(X, y, tr, CFG, device="cpu"))
    assert counted == [1]  # the same key


def test_the_trunks_whole_training_configuration_keys_the_cache(monkeypatch, counted):
    """Regression: the key held the TrunkConfig only, so a training setting it leaves to
    TrainConfig's defaults (schedule, grad_clip, max_shift, amp; models/train.py) could
    change and the features trained under the former one were still read from the cache."""
    import functools

    X, y, tr = _data()
    feat.trunk_features(X, y, tr, CFG, device="cpu")
    feat.trunk_features(X, y, tr, CFG, device="cpu")
    assert counted == [1]
    monkeypatch.setattr(feat, "TrainConfig", functools.partial(feat.TrainConfig, max_shift=0))
    feat.trunk_features(X, y, tr, CFG, device="cpu")
    assert counted == [1, 1]
