"""Shapes, gradients, parameter counts and argument checks of the networks (docs/models.md §4)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.metrics import roc_auc_score  # noqa: E402

from metaheur.models.ifm import (  # noqa: E402
    CBR,
    CRFE,
    RAM,
    BasicBlock3d,
    IFMEnsemble,
    IFMSubNet,
    fit_ensemble_weights,
    simplex_grid,
)
from metaheur.models.lstm_elu import LSTMELU, LSTMELUCell, LSTMELUNet  # noqa: E402
from metaheur.models.resnet import BasicBlock, ResNetTrunk, trunk_reduction  # noqa: E402


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def check_grads(module: torch.nn.Module, out: torch.Tensor | tuple) -> None:
    outs = out if isinstance(out, tuple) else (out,)
    sum(o.float().sum() for o in outs).backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        assert torch.isfinite(p.grad).all(), f"non-finite gradient for {name}"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# --- parameter counts (docs/models.md §4.1, §4.3) ------------------------------------------------
@pytest.mark.parametrize("width, expected", [(8, 38_704), (16, 142_888), (32, 549_792)])
def test_ifm_subnet_parameter_count(width, expected):
    assert n_params(IFMSubNet(width=width, hidden=64)) == expected


@pytest.mark.parametrize("width, expected", [(8, 208_827), (16, 749_491)])
def test_lstm_elu_parameter_count(width, expected):
    assert n_params(LSTMELUNet(width=width, hidden=64, n_classes=3)) == expected


# --- ResNet trunk ---------------------------------------------------------------------------
@pytest.mark.parametrize("stride, c_out", [(1, 8), (2, 16)])
def test_basic_block_shape_and_grad(stride, c_out):
    m = BasicBlock(8, c_out, stride)
    out = m(torch.rand(2, 8, 9, 9))
    assert out.shape == (2, c_out, 9 if stride == 1 else 5, 9 if stride == 1 else 5)
    check_grads(m, out)


@pytest.mark.parametrize("stem, size", [("small", 32), ("small", 64), ("imagenet", 64)])
def test_resnet_trunk_shape(stem, size):
    m = ResNetTrunk(1, 8, stem)
    out = m(torch.rand(2, 1, size, size))
    side = trunk_reduction(size, stem)
    assert out.shape == (2, 64, side, side)
    check_grads(m, out)


def test_trunk_reduction_table():
    assert trunk_reduction(64, "small") == 4
    assert trunk_reduction(224, "imagenet") == 7
    assert trunk_reduction(64, "imagenet") == 2


# --- LSTM-ELU -------------------------------------------------------------------------------
def test_lstm_elu_cell_matches_equations():
    cell = LSTMELUCell(5, hidden=4, elu_alpha=0.7)
    b = cell.linear.bias.detach()
    assert torch.equal(b[4:8], torch.ones(4)) and torch.equal(b[:4], torch.zeros(4))
    x, h, c = torch.randn(3, 5), torch.randn(3, 4), torch.randn(3, 4)
    h1, c1 = cell(x, (h, c))
    z = cell.linear(torch.cat([h, x], dim=1))
    i, f, o, u = z.chunk(4, dim=1)
    elu = torch.nn.ELU(0.7)
    c_ref = torch.sigmoid(f) * c + torch.sigmoid(i) * elu(u)
    h_ref = torch.sigmoid(o) * elu(c_ref)
    torch.testing.assert_close(c1, c_ref)
    torch.testing.assert_close(h1, h_ref)
    check_grads(cell, (h1, c1))


@pytest.mark.parametrize("gate, cell_act", [("elu", "elu"), ("sigmoid", "tanh")])
def test_lstm_elu_cell_variants(gate, cell_act):
    cell = LSTMELUCell(5, hidden=4, gate=gate, cell_act=cell_act)
    h, c = cell(torch.randn(3, 5), (torch.zeros(3, 4), torch.zeros(3, 4)))
    assert h.shape == c.shape == (3, 4)
    check_grads(cell, (h, c))


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_elu_stack(layers):
    m = LSTMELU(6, hidden=8, layers=layers)
    out = m(torch.randn(2, 4, 6))
    assert out.shape == (2, 8)
    check_grads(m, out)


@pytest.mark.parametrize(
    "kw, size",
    [
        ({}, 32),
        ({"sequence": "rows_flat", "image_size": 32}, 32),
        ({"stem": "imagenet", "image_size": 64}, 64),
        ({"layers": 2, "gate": "elu", "cell_act": "tanh", "in_ch": 2}, 32),
    ],
)
def test_lstm_elu_net_shapes_and_grads(kw, size):
    m = LSTMELUNet(width=4, hidden=8, **kw)
    out = m(torch.rand(3, kw.get("in_ch", 1), size, size))
    assert out.shape == (3, 3)
    check_grads(m, out)


def test_lstm_elu_net_without_trunk_for_digits():
    m = LSTMELUNet(n_classes=10, trunk=False, image_size=8, hidden=16)
    assert m.trunk is None
    out = m(torch.rand(4, 1, 8, 8))
    assert out.shape == (4, 10)
    check_grads(m, out)
    with pytest.raises(ValueError, match="image_size"):
        m(torch.rand(4, 1, 16, 16))


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"stem": "vgg"}, "stem"),
        ({"gate": "relu"}, "gate"),
        ({"cell_act": "relu"}, "cell_act"),
        ({"dropout": 1.5}, "dropout"),
        ({"width": 0}, "width"),
        ({"hidden": 2.5}, "hidden"),
        ({"layers": 0}, "layers"),
        ({"elu_alpha": 0.0}, "elu_alpha"),
        ({"sequence": "cols"}, "sequence"),
        ({"n_classes": 1}, "n_classes"),
    ],
)
def test_lstm_elu_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        LSTMELUNet(**kw)


# --- IFM modules ----------------------------------------------------------------------------
def test_cbr_and_block3d():
    m = CBR(1, 4, 2)
    out = m(torch.rand(2, 1, 8, 8, 8))
    assert out.shape == (2, 4, 4, 4, 4)
    check_grads(m, out)
    b = BasicBlock3d(4, 8, 2)
    out = b(torch.rand(2, 4, 4, 4, 4))
    assert out.shape == (2, 8, 2, 2, 2)
    check_grads(b, out)


def test_crfe_keeps_shapes():
    m = CRFE(6, 3)
    coarse, fine = torch.rand(2, 6, 2, 2, 2), torch.rand(2, 3, 8, 8, 8)
    a, g = m(coarse, fine)
    assert a.shape == coarse.shape and g.shape == fine.shape
    check_grads(m, (a, g))


def test_ram_shape_and_attention():
    m = RAM(8, 3)
    branches = [torch.rand(2, 8, 4, 4, 4) for _ in range(3)]
    out = m(branches)
    assert out.shape == (2, 8, 4, 4, 4)
    check_grads(m, out)


@pytest.mark.parametrize(
    "kw, s",
    [
        ({"width": 8}, 8),
        ({"width": 8}, 16),
        ({"width": 8, "stem_stride": 1}, 8),
        ({"width": 8, "stem_stride": 1, "overcomplete": True}, 8),
    ],
)
def test_ifm_subnet_shapes_and_grads(kw, s):
    m = IFMSubNet(**kw)
    x = torch.rand(2, 1, s, s, s)
    out = m(x)
    assert out.shape == (2,)
    check_grads(m, out)
    m2 = IFMSubNet(**kw).to(memory_format=torch.channels_last_3d)
    m2.load_state_dict(m.state_dict())
    m.eval()
    m2.eval()
    y2 = m2(x.contiguous(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(m(x), y2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"stem_stride": 3}, "stem_stride"),
        ({"width": -1}, "width"),
        ({"micro_width": 0}, "micro_width"),
        ({"dropout": -0.1}, "dropout"),
    ],
)
def test_ifm_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        IFMSubNet(**kw)


def test_ifm_bad_input_shape():
    with pytest.raises(ValueError, match="divisible"):
        IFMSubNet(width=8)(torch.rand(2, 1, 12, 12, 12))


def test_ifm_ensemble_forward():
    ens = IFMEnsemble(3, width=8)
    xs = [torch.rand(2, 1, 8, 8, 8) for _ in range(3)]
    out = ens(xs)
    assert out.shape == (2,)
    assert ((out >= 0) & (out <= 1)).all()
    check_grads(ens, out)
    with pytest.raises(ValueError, match="one per scale"):
        ens(xs[:2])


# --- ensemble weights (docs/models.md §4.2) ------------------------------------------------------
def test_simplex_grid():
    g = simplex_grid(3)
    assert g.shape == (66, 3)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    assert [tuple(r) for r in g] == sorted(tuple(r) for r in g)
    assert simplex_grid(2).shape == (11, 2)
    for step in (0, -0.1, 1.5, float("nan")):  # regression: ZeroDivisionError, AxisError
        with pytest.raises(ValueError, match="0 < step <= 1"):
            simplex_grid(3, step)


def test_ensemble_weights_constructed_example():
    y = np.array([0, 1, 0, 1, 1, 0, 0, 0])
    good, anti = y.astype(float), 1.0 - y
    # AUC 1 iff w0 > w1 + w2; among those, (0.6, 0.2, 0.2) is closest to uniform
    w, auc = fit_ensemble_weights([good, anti, anti], y)
    np.testing.assert_allclose(w, [0.6, 0.2, 0.2])
    assert auc == 1.0
    # AUC 1 iff w1 > w0 + w2 -> (0.2, 0.6, 0.2)
    w, _ = fit_ensemble_weights([anti, good, anti], y)
    np.testing.assert_allclose(w, [0.2, 0.6, 0.2])
    # everything ties and three points are equally close to uniform: lexicographically first
    w, _ = fit_ensemble_weights([good, good, good], y)
    np.testing.assert_allclose(w, [0.3, 0.3, 0.4])


def test_ensemble_weights_match_brute_force():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    P = np.stack([np.clip(y * a + rng.normal(0, 0.5, 60), 0, 1) for a in (0.2, 0.8, 0.4)])
    w, auc = fit_ensemble_weights(P, y)
    best = max(
        (roc_auc_score(y, np.array(c) / 10 @ P), tuple(c))
        for c in itertools.product(range(11), repeat=3)
        if sum(c) == 10
    )
    assert auc == pytest.approx(best[0])
    assert roc_auc_score(y, w @ P) == pytest.approx(best[0])
    ens = IFMEnsemble(3, width=8)
    assert ens.fit_weights(P, y) == pytest.approx(auc)
    np.testing.assert_allclose(ens.weights.numpy(), w, atol=1e-7)


def test_lstm_state_stays_float32_under_autocast():
    """Regression: the cell state ran in bf16 under autocast (docs/models.md §9)."""
    from metaheur.models.lstm_elu import LSTMELU

    torch.manual_seed(0)
    lstm = LSTMELU(6, hidden=5, layers=2)
    x = torch.randn(3, 4, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = lstm(x)
    assert h.dtype == torch.float32
    torch.testing.assert_close(h, lstm(x), rtol=0, atol=0)  # the same run as without autocast


def test_ifm_ensemble_lives_on_its_subnetworks_device():
    """Regression: ``weights`` was registered on the CPU, so a CUDA ensemble failed in forward.

    The meta device stands in for a GPU: any tensor left on the CPU mixes devices."""
    subnets = [IFMSubNet(width=8, micro_width=4, hidden=8).to("meta") for _ in range(2)]
    ens = IFMEnsemble(subnets=subnets)
    assert {t.device.type for t in [*ens.parameters(), *ens.buffers()]} == {"meta"}
    out = ens([torch.empty(2, 1, 8, 8, 8, device="meta")] * 2)
    assert out.device.type == "meta" and out.shape == (2,)


@pytest.mark.parametrize("make", [
    lambda: LSTMELUNet(width=8, image_size=32),
    lambda: LSTMELUNet(trunk=False, image_size=8),
    lambda: IFMSubNet(width=8, micro_width=4, hidden=8),
    lambda: IFMEnsemble(2, width=8, micro_width=4, hidden=8),
])  # fmt: skip
def test_every_parameter_and_buffer_follows_to_device(make):
    """What .to(device) must move (a stray CPU tensor fails only on a GPU)."""
    m = make().to("meta")
    stray = [n for n, t in [*m.named_parameters(), *m.named_buffers()] if t.device.type != "meta"]
    assert stray == []
