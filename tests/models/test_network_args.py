"""Arguments of the ResNet trunk and LSTM-ELU networks (docs/models.md §4.3)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from metaheur.models.lstm_elu import LSTMELUNet  # noqa: E402
from metaheur.models.resnet import ResNetTrunk  # noqa: E402


def test_numpy_scalars_build_the_same_networks():
    """Regression: ``n_classes = y.max() + 1`` (a NumPy integer) or a width read off an array
    was refused as 'n_classes must be an integer >= 2, got np.int64(3)'."""
    torch.manual_seed(0)
    plain = LSTMELUNet(in_ch=1, n_classes=3, width=4, hidden=8, layers=2, dropout=0.25,
                       elu_alpha=1.5, image_size=32)
    torch.manual_seed(0)
    numpy = LSTMELUNet(in_ch=np.int64(1), n_classes=np.int64(3), width=np.int64(4),
                       hidden=np.int32(8), layers=np.int64(2), dropout=np.float32(0.25),
                       elu_alpha=np.float64(1.5), image_size=np.int64(32))
    assert repr(numpy) == repr(plain)
    x = torch.rand(2, 1, 32, 32)
    torch.testing.assert_close(numpy.eval()(x), plain.eval()(x))
    assert type(ResNetTrunk(1, np.int64(4)).width) is int
    for bad in (np.float64(8.0), True):
        with pytest.raises(ValueError, match="width must be a positive integer"):
            ResNetTrunk(1, bad)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0.0, 1.0\]"):
        LSTMELUNet(dropout=np.float32(1.5))
