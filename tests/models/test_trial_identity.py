"""A tuning trial's numbers did not move when it was made cheaper (benchmarks/trial_cost.py).

The runs of ``benchmarks/tune_models.py`` done before the speed-ups must stay comparable with
those after, so the speed-ups are exact: the per-epoch score (:func:`argmax_score`) equals
:func:`multiclass_metrics`' entry bit for bit, one view per sequence of ``W_h`` and of the input
projection gives the same gradients as a slice per step, and whole trials store the values
the code of commit 6bcab8f stored (pinned below for the torch build and CPU they were
computed on).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
import optuna  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from metaheur.models.lstm_elu import LSTMELUNet  # noqa: E402
from metaheur.models.metrics import (  # noqa: E402
    UndefinedMetricWarning,
    argmax_score,
    multiclass_metrics,
)
from metaheur.models.objectives import get_objective  # noqa: E402


# ------------------------------------------------------------------ the per-epoch score
@st.composite
def _labels_and_probs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(2, 11))
    n = draw(st.integers(1, 70))
    used = draw(st.integers(1, k))  # classes present in y (absent ones must score 0)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, used, n)
    P = rng.random((n, k)).astype(np.float32)
    if draw(st.booleans()):  # a collapsed model: one class predicted for every sample
        P[:, draw(st.integers(0, k - 1))] += 2.0
    return y, P


@settings(max_examples=100, deadline=None)
@given(_labels_and_probs())
def test_argmax_score_is_multiclass_metrics_bit_for_bit(case):
    y, P = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        full = multiclass_metrics(y, P)
    assert argmax_score(y, P, "f1") == full["f1"]
    assert argmax_score(y, P, "accuracy") == full["accuracy"]


def test_argmax_score_rounds_as_the_installed_scikit_learn_does():
    """scikit-learn < 1.4 takes F1 as ``2 p r / (p + r)`` from precision and recall, which
    rounds differently from 1.4's ``2 tp / (n_true + n_pred)`` (here 1/6 + 1 ulp): the
    per-epoch score makes scikit-learn's own call, so it equals multiclass_metrics on the
    floors (.ci/floors.txt: 1.3.0) too; a formula of its own matched only one of them."""
    y, P = np.array([0, 1, 1, 1, 1]), np.array([[1.0, 0.0]] * 5)  # class 0: tp 1, true 1, pred 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        full = multiclass_metrics(y, P)["f1"]
    assert argmax_score(y, P, "f1") == full
    assert full == pytest.approx((2 / 6) / 2, rel=1e-15)


def test_argmax_score_is_silent_and_checks_its_input():
    y, P = np.array([0, 0, 1]), np.array([[0.9, 0.1, 0.0]] * 3)  # class 2 absent everywhere
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert argmax_score(y, P) == np.mean([4 / 5, 0.0, 0.0])  # absent classes score 0
    with pytest.raises(ValueError, match="metric must be 'f1' or 'accuracy'"):
        argmax_score(y, P, "auc")
    with pytest.raises(ValueError, match="proba must be"):
        argmax_score(y, P[:2])
    with pytest.raises(ValueError, match="y_true must lie in"):
        argmax_score(np.array([0, 3, 1]), P)


# --------------------------------------------------------- one view per sequence, not step
@pytest.mark.parametrize("hidden, layers, batch", [(24, 2, 16), (40, 1, 32)])
def test_the_recurrence_trains_as_the_former_slice_per_step(hidden, layers, batch):
    """Adam trajectories of the current forward pass (one ``W_h`` view and one ``unbind`` of
    ``zx`` per sequence) and of the former one (``zx[:, t]`` and ``step`` without ``w_h``,
    which slices ``W`` itself) are equal to the last bit."""

    def per_step_slices(net: LSTMELUNet, x: torch.Tensor) -> torch.Tensor:
        seq = net.to_sequence(x)
        B, T, _ = seq.shape
        for cell in net.lstm.cells:
            zx = cell.input_projection(seq)
            h = c = zx.new_zeros(B, hidden)
            outs = []
            for t in range(T):
                h, c = cell.step(zx[:, t], h, c)
                outs.append(h)
            seq = torch.stack(outs, dim=1)
        out = torch.nn.functional.elu(seq[:, -1], net.elu_alpha)
        return net.head(net.dropout(out))

    def train(forward) -> list[torch.Tensor]:
        torch.manual_seed(0)
        net = LSTMELUNet(in_ch=1, n_classes=5, trunk=False, image_size=8, hidden=hidden,
                         layers=layers, dropout=0.3)
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        g = torch.Generator().manual_seed(1)
        for _ in range(12):
            x, y = torch.rand(batch, 1, 8, 8, generator=g), torch.randint(0, 5, (batch,),
                                                                           generator=g)
            loss = torch.nn.functional.cross_entropy(forward(net, x), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        return [p.detach().clone() for p in net.parameters()]

    with torch.random.fork_rng():
        current = train(lambda net, x: net(x))
        former = train(per_step_slices)
    assert all(torch.equal(a, b) for a, b in zip(current, former, strict=True))


# ------------------------------------------------------------------- whole trials, pinned
#: Computed with the code of commit 6bcab8f (before the speed-ups), torch 2.13.0+cpu, one torch
#: thread (METAHEUR_TORCH_THREADS unset) and scikit-learn >= 1.4, on the CPU named by the key
#: (``/proc/cpuinfo``'s vendor, family and model). MKL and oneDNN choose their kernels by CPU
#: vendor and model, not only by instruction set, so the same build rounds differently on
#: another CPU: the first pins, taken on an AVX-512 CPU whose model was not recorded, failed on
#: CI's AMD EPYC (family 25, model 17) at the last bits of the validation probabilities, which
#: moved the synthetic case's AUC while every F1 stayed equal. scikit-learn 1.3 computes F1 by
#: another formula (one ulp on the floors CI): there the floats are checked to a few ulps,
#: the validation predictions still exactly. So a pin is checked only where it was taken;
#: trial_cost's test compares the two code paths anywhere. To pin another CPU, run the cases
#: below on a checkout of 6bcab8f there and add its key. AMD family 26 model 2 shares the pins
#: of family 25 model 17: the current code reproduced them there bit for bit (2 Dec 2026).
PINNED_TORCH = "2.13.0+cpu"
CASES = {
    # split="random": tune_models' digits design (the shuffled split of the archived runs)
    "digits": ({"source": "digits", "seed": 3, "split": "random"},
               {"lr": 0.004, "weight_decay": 1e-4, "batch_size": 64, "epochs": 3, "hidden": 24,
                "layers": 2, "dropout": 0.2, "elu_alpha": 0.7, "grad_clip": 1.5,
                "balance": 0.5}),
    "synthetic": ({"n": (150, 75, 75), "image_size": 32, "trunk_config": {"epochs": 3},
                   "seed": 1},
                  {"lr": 0.005, "weight_decay": 1e-3, "batch_size": 16, "epochs": 6,
                   "hidden": 40, "layers": 2, "dropout": 0.1, "elu_alpha": 1.3, "grad_clip": 8.0,
                   "balance": 1.0}),
}
METRICS = ("accuracy", "auc", "error_rate", "f1", "precision", "recall", "specificity")
_PINS_AMD_EPYC = {
    "digits": {
        "value": "0x1.2e1966bcd05a3p-1",
        "val": ["0x1.cae759203cae7p-2", "0x1.bb955c8a2eee2p-1", "0x1.1a8c536fe1a8cp-1",
                "0x1.a3cd32865f4bap-2", "0x1.ccc0d1624ea0dp-2", "0x1.cbcbf3abae29ap-2",
                "0x1.e0bf6c5d5ff10p-1"],
        "test": ["0x1.f0d4629b7f0d4p-2", "0x1.bd0366a8f8842p-1", "0x1.0795ceb240796p-1",
                 "0x1.c686334bf09dbp-2", "0x1.186b8921614bbp-1", "0x1.de2d3cea0e96ap-2",
                 "0x1.e2a8c077cb488p-1"],
        "steps": {33: "0x1.7ebb0ed4171f4p-1", 67: "0x1.6bf730a69f0dap-1",
                  100: "0x1.2e1966bcd05a3p-1"},
        "predictions": "f098c3988ec655fe",
    },
    "synthetic": {
        "value": "0x1.a335d9e3d4eb5p-1",
        "val": ["0x1.7e4b17e4b17e5p-2", "0x1.11ee1ade80ef6p-1", "0x1.40da740da740ep-1",
                "0x1.73289870ac52dp-3", "0x1.fdb97530eca87p-4", "0x1.5555555555555p-2",
                "0x1.5555555555555p-1"],
        "test": ["0x1.62fc962fc9630p-2", "0x1.3f83dafa986d8p-1", "0x1.4e81b4e81b4e8p-1",
                 "0x1.5f78d18806c25p-3", "0x1.d950c83fb72ebp-4", "0x1.5555555555555p-2",
                 "0x1.5555555555555p-1"],
        "steps": {17: "0x1.eeb7a0f1f532cp-1", 33: "0x1.a335d9e3d4eb5p-1",
                  50: "0x1.eeb7a0f1f532cp-1", 67: "0x1.839da653e312dp-1",
                  83: "0x1.a335d9e3d4eb5p-1", 100: "0x1.a335d9e3d4eb5p-1"},
        "predictions": "75a98aea231ede34",
    },
}
#: Intel family 6 model 106 (Xeon, Ice Lake): 6bcab8f and the current code store the same
#: numbers there (3 Dec 2026); the digits case is the EPYC's bit for bit, the synthetic case
#: differs from it in the validation and test AUCs only (and so in the predictions' digest).
_AUC = METRICS.index("auc")


def _auc_replaced(pins: list[str], auc: str) -> list[str]:
    return [auc if i == _AUC else h for i, h in enumerate(pins)]


_PINS_INTEL_ICX = {
    "digits": _PINS_AMD_EPYC["digits"],
    "synthetic": {
        **_PINS_AMD_EPYC["synthetic"],
        "val": _auc_replaced(_PINS_AMD_EPYC["synthetic"]["val"], "0x1.1294ade4fdea5p-1"),
        "test": _auc_replaced(_PINS_AMD_EPYC["synthetic"]["test"], "0x1.41f3968738f27p-1"),
        "predictions": "d6fe8969d6c44dae",
    },
}
PINNED = {("AuthenticAMD", 25, 17): _PINS_AMD_EPYC, ("AuthenticAMD", 26, 2): _PINS_AMD_EPYC,
          ("GenuineIntel", 6, 106): _PINS_INTEL_ICX}


def _cpu() -> tuple[str, int, int] | None:
    """``(vendor, family, model)`` of the first CPU in ``/proc/cpuinfo``; None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            info = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines()
                        if ":" in line)
        info = {k.strip(): v.strip() for k, v in info.items()}
        return info["vendor_id"], int(info["cpu family"]), int(info["model"])
    except (OSError, KeyError, ValueError):
        return None


def _pins_here() -> dict | None:
    """The pins for this machine, or None when it is not where they were taken."""
    if torch.__version__ != PINNED_TORCH:
        return None
    return PINNED.get(_cpu())


def _sklearn_1_4() -> bool:
    import sklearn

    return tuple(int(p) for p in sklearn.__version__.split(".")[:2]) >= (1, 4)


def _hexes(values, pins, exact: bool) -> bool:
    """``values`` equal the pinned floats: bit for bit, or (scikit-learn < 1.4, whose F1
    formula rounds differently, see above) to a few ulps."""
    want = [float.fromhex(h) for h in pins]
    got = [float(v) for v in values]
    if exact:
        return [v.hex() for v in got] == list(pins)
    return len(got) == len(want) and all(
        math.isclose(g, w, rel_tol=1e-15, abs_tol=1e-16) for g, w in zip(got, want, strict=True))


@pytest.mark.slow  # about 3 s (digits) and 6 s (synthetic: trains its trunk) on 2 cores
@pytest.mark.skipif(_pins_here() is None,
                    reason=f"pinned with torch {PINNED_TORCH} on the CPUs {sorted(PINNED)} only "
                           "(MKL/oneDNN round by CPU model)")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_trial_stores_what_the_former_code_stored(case, monkeypatch):
    monkeypatch.delenv("METAHEUR_TORCH_THREADS", raising=False)
    kw, params = CASES[case]
    obj = get_objective("lstm-elu", device="cpu", eval_test=True, **kw)
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        study.optimize(obj, n_trials=1)
        evaluated = obj.evaluate(params)  # no trial: validation after the last epoch only
    trial, pin, exact = study.trials[0], _pins_here()[case], _sklearn_1_4()
    attrs = trial.user_attrs
    assert trial.value == evaluated
    assert _hexes([trial.value], [pin["value"]], exact)
    assert _hexes([attrs[f"val_{m}"] for m in METRICS], pin["val"], exact)
    assert _hexes([attrs["test_metrics"][m] for m in METRICS], pin["test"], exact)
    steps = trial.intermediate_values
    assert sorted(steps) == sorted(pin["steps"])
    assert _hexes([steps[k] for k in sorted(steps)], [pin["steps"][k] for k in sorted(steps)],
                  exact)
    digest = hashlib.sha256(json.dumps(attrs["val_predictions"]).encode()).hexdigest()[:16]
    assert digest == pin["predictions"]
