"""Losses, metrics and the training loop (docs/models.md §5, §6)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optuna  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.utils.class_weight import compute_class_weight  # noqa: E402

from metaheur.models.ifm import IFMSubNet  # noqa: E402
from metaheur.models.losses import (  # noqa: E402
    auc_power_loss,
    balanced_class_weight,
    cross_entropy,
    ifm_loss,
)
from metaheur.models.lstm_elu import LSTMELUNet  # noqa: E402
from metaheur.models.metrics import (  # noqa: E402
    UndefinedMetricWarning,
    binary_metrics,
    multiclass_metrics,
    roc_auc,
)
from metaheur.models.train import (  # noqa: E402
    TrainingDiverged,
    fit,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
    train_model,
)


# --- losses ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lam", [1.0, 2.0, 3.5])
def test_auc_power_loss_matches_double_loop(lam):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(11, generator=g, dtype=torch.float64)
    y = torch.tensor([1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0])
    p = torch.sigmoid(logits).tolist()
    pos = [p[i] for i in range(11) if y[i] == 1]
    neg = [p[j] for j in range(11) if y[j] == 0]
    ref = sum((1 - (a - b)) ** lam for a in pos for b in neg) / (lam * len(pos) * len(neg))
    out = auc_power_loss(logits, y, lam)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(ref, rel=1e-5)


def test_auc_power_loss_one_class_batch_keeps_graph():
    logits = torch.randn(5, requires_grad=True)
    out = auc_power_loss(logits, torch.zeros(5, dtype=torch.long))
    assert out.item() == 0.0
    out.backward()
    assert torch.equal(logits.grad, torch.zeros(5))


def test_auc_power_loss_float32_under_bf16():
    logits = torch.randn(16).to(torch.bfloat16)
    y = torch.arange(16) % 2
    assert auc_power_loss(logits, y).dtype == torch.float32
    assert ifm_loss(logits, y).dtype == torch.float32
    with pytest.raises(ValueError, match="lam"):
        auc_power_loss(logits, y, lam=0.0)


def test_ifm_loss_is_ce_plus_alpha_auc():
    logits, y = torch.randn(12), torch.arange(12) % 3 == 0
    y = y.long()
    ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y.float())
    total = ifm_loss(logits, y, alpha=0.75, lam=2.0)
    torch.testing.assert_close(total, ce + 0.75 * auc_power_loss(logits, y, 2.0))
    torch.testing.assert_close(ifm_loss(logits, y, alpha=0.0), ce)


def test_balanced_class_weight_and_ce():
    y = np.array([0, 0, 0, 1, 2, 2])
    w = balanced_class_weight(y, 3)
    np.testing.assert_allclose(
        w.numpy(), compute_class_weight("balanced", classes=np.arange(3), y=y)
    )
    logits = torch.randn(6, 3)
    ref = torch.nn.functional.cross_entropy(logits, torch.as_tensor(y), weight=w)
    torch.testing.assert_close(cross_entropy(logits, torch.as_tensor(y), weight=w), ref)


# --- metrics vs scikit-learn ----------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 80)
    p = np.round(rng.random(80), 2)  # rounding creates ties for the AUC
    m = binary_metrics(y, p)
    pred = (p >= 0.5).astype(int)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["sensitivity"] == m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["error_rate"] == pytest.approx(1 - m["accuracy"])


@pytest.mark.parametrize("seed, K", [(0, 3), (1, 4), (2, 10)])
def test_multiclass_metrics_match_sklearn(seed, K):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(K), rng.integers(0, K, 120)])
    P = rng.dirichlet(np.ones(K), len(y))
    P[np.arange(len(y)), y] += rng.random(len(y)) * 0.5  # better than chance
    P /= P.sum(axis=1, keepdims=True)
    pred = P.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        m = multiclass_metrics(y, P)
    kw = {"average": "macro", "zero_division": 0}
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, **kw))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, **kw))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, **kw))
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, P, multi_class="ovr", average="macro"))
    C = skm.confusion_matrix(y, pred, labels=np.arange(K))
    tn = C.sum() - C.sum(0) - C.sum(1) + np.diag(C)
    assert m["specificity"] == pytest.approx(np.mean(tn / (tn + C.sum(0) - np.diag(C))))


def test_zero_denominator_gives_zero_and_one_warning_per_metric():
    y = np.array([0, 1, 2, 2, 0])
    P = np.tile([0.1, 0.1, 0.8], (5, 1))  # always predicts class 2
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = multiclass_metrics(y, P)
    msgs = [str(w.message).split(":")[0] for w in rec if w.category is UndefinedMetricWarning]
    assert msgs.count("precision") == 1
    assert m["precision"] == pytest.approx((0 + 0 + 2 / 5) / 3)
    with pytest.warns(UndefinedMetricWarning, match="auc"):
        assert roc_auc(np.zeros(4), np.arange(4)) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="precision"):
        assert binary_metrics([0, 1, 1], [0.1, 0.2, 0.3])["precision"] == 0.0


@pytest.mark.parametrize(("call", "why"), [
    (lambda: binary_metrics([-1, 1, -1, 1], [0.1, 0.9, 0.2, 0.8]), "0 or 1"),
    (lambda: binary_metrics([0, 2, 0, 2], [0.1, 0.9, 0.2, 0.8]), "0 or 1"),
    (lambda: roc_auc([0, 2, 0, 2], [0.1, 0.9, 0.2, 0.8]), "0 or 1"),
    (lambda: binary_metrics([0, 1, 0, 1], [0.1, np.nan, 0.2, 0.8]), "finite"),
    (lambda: multiclass_metrics([0, 1.7, 2], np.eye(3)), "integer"),
    (lambda: multiclass_metrics([0, np.nan, 2], np.eye(3)), "integer"),
    (lambda: multiclass_metrics([0, 1, 2], [[1, 0, 0], [np.nan, 1, 0], [0, 0, 1]]), "finite"),
])
def test_metrics_refuse_labels_and_probabilities_they_would_misread(call, why):
    """Regression (session 26's audit): {-1, 1} labels gave a perfect classifier accuracy
    0.5, label 1.7 was read as 1, and NaN probabilities were scored by argmax."""
    from metaheur.models.metrics import argmax_score

    with pytest.raises(ValueError, match=why):
        call()
    with pytest.raises(ValueError, match="finite"):
        argmax_score([0, 1, 2], [[1, 0, 0], [np.nan, 1, 0], [0, 0, 1]])


def test_auc_power_loss_below_lambda_1_has_finite_gradients():
    """Regression (session 26's audit): a saturated, separated pair has base 0 in float32,
    and d**0.5 has an infinite gradient there (NaN after the chain rule)."""
    logits = torch.tensor([40.0, -40.0], requires_grad=True)
    loss = auc_power_loss(logits, torch.tensor([1, 0]), lam=0.5)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    # lambda >= 1 is untouched, bit for bit
    z = torch.tensor([0.3, -0.2, 1.1])
    y = torch.tensor([1, 0, 0])
    d = 1.0 - (torch.sigmoid(z)[y == 1][:, None] - torch.sigmoid(z)[y == 0][None, :])
    assert auc_power_loss(z, y, 2.0).item() == (d.pow(2.0).mean() / 2.0).item()


# --- training loop --------------------------------------------------------------------------
def _lstm_data(n=24, size=32, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.random((n, 1, size, size), dtype=np.float32) * 0.3
    X[y == 1, :, : size // 2] += 0.5  # learnable
    X[y == 2, :, :, : size // 2] += 0.5
    return X.astype(np.float32), y


def _ce_score(y, P):
    return 1.0 - float(np.mean(P.argmax(axis=1) == y))


def _lstm(**kw):
    torch.manual_seed(0)
    return LSTMELUNet(width=4, hidden=16, image_size=32, **{"dropout": 0.0, **kw})


def test_training_reduces_loss_on_fixed_batch():
    X, y = _lstm_data()
    model = _lstm()
    xb, yb = torch.as_tensor(X), torch.as_tensor(y)
    before = cross_entropy(model(xb), yb).item()  # train mode: batch statistics
    train_model(
        model, (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, lr=1e-2,
        epochs=15, batch_size=24, schedule="constant", device="cpu",
    )  # fmt: skip
    model.train()
    assert cross_entropy(model(xb), yb).item() < 0.7 * before


def test_ifm_training_reduces_loss_on_fixed_batch():
    rng = np.random.default_rng(0)
    y = np.arange(16) % 2
    X = rng.random((16, 1, 8, 8, 8)) * 0.5 + y[:, None, None, None, None] * 0.3
    X = X.astype(np.float32)
    torch.manual_seed(0)
    model = IFMSubNet(width=8, dropout=0.0)
    loss = lambda z, t: ifm_loss(z, t, alpha=1.0, lam=2.0)  # noqa: E731
    before = loss(model(torch.as_tensor(X)), torch.as_tensor(y)).item()
    res = train_model(
        model, (X, y), (X, y), loss_fn=loss, score_fn=lambda t, p: 1 - roc_auc(t, p),
        output="sigmoid", lr=1e-2, epochs=10, batch_size=16, schedule="constant", device="cpu",
    )  # fmt: skip
    model.train()
    assert loss(model(torch.as_tensor(X)), torch.as_tensor(y)).item() < 0.8 * before
    assert res.val_output.shape == (16,) and res.score < 0.5


def test_same_seed_same_score_and_threads_restored():
    X, y = _lstm_data()
    kw = dict(loss_fn=cross_entropy, score_fn=_ce_score, epochs=2, batch_size=8, seed=3,
              augment=True, device="cpu")  # fmt: skip
    n_threads = torch.get_num_threads()
    r1 = train_model(_lstm(dropout=0.3), (X, y), (X, y), **kw)
    r2 = train_model(_lstm(dropout=0.3), (X, y), (X, y), **kw)
    assert torch.get_num_threads() == n_threads
    assert r1.score == r2.score
    np.testing.assert_array_equal(r1.val_output, r2.val_output)


def test_report_each_epoch_only_when_attached():
    X, y = _lstm_data()
    calls = []

    def score(t, p):
        calls.append(1)
        return _ce_score(t, p)

    kw = dict(loss_fn=cross_entropy, score_fn=score, epochs=3, batch_size=8, device="cpu")
    train_model(_lstm(), (X, y), (X, y), **kw)
    assert len(calls) == 1
    reported = []
    res = train_model(_lstm(), (X, y), (X, y), report=lambda s, v: reported.append((s, v)), **kw)
    assert [s for s, _ in reported] == [33, 67, 100] and len(res.history) == 3
    assert reported[-1][1] == res.score


@pytest.mark.parametrize("n, steps", [(33, 1), (34, 2)])
def test_final_batch_of_one_is_dropped(n, steps):
    X, y = _lstm_data(n)
    res = train_model(
        _lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, epochs=2,
        batch_size=32, device="cpu",
    )  # fmt: skip
    assert res.steps == 2 * steps


@pytest.mark.parametrize("schedule", ["onecycle", "constant", "step"])
def test_schedules_run(schedule):
    X, y = _lstm_data(16)
    s = fit(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, epochs=1,
            batch_size=8, schedule=schedule, device="cpu")  # fmt: skip
    assert 0.0 <= s <= 1.0


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"schedule": "cosine"}, "schedule"),
        ({"lr": -1.0}, "lr"),
        ({"batch_size": 1}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"grad_clip": -1.0}, "grad_clip"),
        ({"device": "tpu"}, "device"),
        ({"output": "relu"}, "output"),
    ],
)
def test_bad_fit_arguments(kw, match):
    X, y = _lstm_data(8)
    with pytest.raises(ValueError, match=match):
        train_model(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, **kw)


def test_bad_thread_setting(monkeypatch):
    monkeypatch.setenv("METAHEUR_TORCH_THREADS", "zero")
    X, y = _lstm_data(8)
    with pytest.raises(ValueError, match="METAHEUR_TORCH_THREADS"):
        fit(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, device="cpu")


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def _nan_loss(z, t):
    return cross_entropy(z, t) * float("nan")


def test_divergence_scores_inf_or_raises():
    X, y = _lstm_data(16)
    kw = dict(loss_fn=_nan_loss, score_fn=_ce_score, epochs=2, batch_size=8, device="cpu")
    with pytest.raises(TrainingDiverged, match="non-finite training loss"):
        train_model(_lstm(), (X, y), (X, y), **kw)
    assert fit(_lstm(), (X, y), (X, y), **kw) == math.inf


def test_divergence_prunes_an_optuna_trial():
    X, y = _lstm_data(16)
    study = optuna.create_study()
    trial = study.ask()
    with pytest.raises(optuna.TrialPruned, match="non-finite"):
        train_model(_lstm(), (X, y), (X, y), loss_fn=_nan_loss, score_fn=_ce_score, epochs=1,
                    batch_size=8, device="cpu", trial=trial)  # fmt: skip
    assert "non-finite" in trial.user_attrs["failure"]


def test_checkpoint_round_trip_weights_only(tmp_path):
    X, y = _lstm_data(16)
    model = _lstm()
    path = tmp_path / "ckpt.pt"
    score = fit(model, (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score, epochs=1,
                batch_size=8, device="cpu", checkpoint=path)  # fmt: skip
    fresh = _lstm()
    ckpt = load_checkpoint(path, fresh)
    assert ckpt["meta"]["score"] == score
    ckpt2 = torch.load(path, weights_only=True)  # loadable without pickle
    assert set(ckpt2["state_dict"]) == set(model.state_dict())
    model.eval()
    fresh.eval()
    xb = torch.as_tensor(X)
    torch.testing.assert_close(model(xb), fresh(xb))
    save_checkpoint(tmp_path / "b.pt", fresh, note="x", epochs=3)
    assert load_checkpoint(tmp_path / "b.pt")["meta"] == {"note": "x", "epochs": 3}


class _OOMNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_is_a_failed_trial_not_a_crash():
    X, y = np.zeros((8, 4), np.float32), np.arange(8) % 3
    kw = dict(loss_fn=cross_entropy, score_fn=_ce_score, epochs=1, batch_size=4, device="cpu")
    assert fit(_OOMNet(), (X, y), (X, y), **kw) == math.inf
    trial = optuna.create_study().ask()
    with pytest.raises(optuna.TrialPruned, match="out of memory"):
        train_model(_OOMNet(), (X, y), (X, y), trial=trial, **kw)
    assert "batch_size=4" in trial.user_attrs["failure"]


def test_progress_steps_compare_like_with_like():
    """Regression: with epochs tuned, step k was epoch k of schedules of different lengths, and
    the IFM's k * epochs + e mixed sub-networks. Steps are percent of the schedule per stage."""
    from metaheur.models.train import progress_step

    assert [progress_step(e, 4) for e in range(4)] == [25, 50, 75, 100]
    assert [progress_step(e, 2) for e in range(2)] == [50, 100]  # comparable with 4 epochs
    assert [progress_step(e, 2, stage=1) for e in range(2)] == [150, 200]
    steps = [progress_step(e, 15) for e in range(15)]
    assert steps == sorted(set(steps)) and steps[-1] == 100


def test_more_than_100_epochs_report_each_step_once():
    """Regression: with epochs > 100 (the IFM's GPU range reaches 120) two epochs shared a
    percent step; Optuna warned and dropped the later value. Each step now carries the value
    of the last epoch that reaches it."""
    X, y = _lstm_data()
    calls = []
    trial = optuna.create_study().ask()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's "already reported" is a UserWarning
        res = train_model(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score,
                          lr=1e-3, epochs=120, batch_size=24, schedule="constant",
                          device="cpu", trial=trial, report=lambda s, v: calls.append((s, v)))
    steps = [s for s, _ in calls]
    assert steps == list(range(1, 101))
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == steps
    assert calls[-1][1] == res.history[-1]
    assert len(res.history) == 120


def test_oom_frees_cuda_memory_after_the_traceback_is_gone(monkeypatch):
    """Regression: empty_cache() ran inside ``except``, while the traceback held the tensors."""
    import sys
    import weakref

    import metaheur.models.train as train_mod

    refs = []

    class OOMNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            big = torch.ones(1000)
            refs.append(weakref.ref(big))
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 10 GiB")

    seen = []

    def release():
        seen.append((sys.exc_info()[0], [r() is None for r in refs]))

    monkeypatch.setattr(train_mod, "release_cuda_memory", release)
    X, y = np.zeros((8, 4), np.float32), np.arange(8) % 2
    with pytest.raises(train_mod.TrainingFailed, match="out of memory"):
        train_mod.train_model(OOMNet(), (X, y), (X, y), loss_fn=cross_entropy,
                              score_fn=_ce_score, epochs=1, batch_size=4, device="cpu")
    assert seen == [(None, [True])]


def test_amp_dtype_and_scaler(monkeypatch):
    from metaheur.models import device as dv

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert dv.amp_dtype(cpu) is None and not dv.grad_scaler(cpu).is_enabled()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert dv.amp_dtype(cuda) == torch.bfloat16 and dv.amp_dtype(cuda, amp=False) is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert dv.amp_dtype(cuda) == torch.float16  # e.g. V100, T4: fp16 needs the scaler


def test_device_settings_turn_on_cudnn_benchmark_for_cuda_only():
    from metaheur.models.device import device_settings

    before = torch.backends.cudnn.benchmark
    with device_settings(torch.device("cuda")):
        assert torch.backends.cudnn.benchmark
    assert torch.backends.cudnn.benchmark == before
    with device_settings(torch.device("cpu")):
        assert torch.backends.cudnn.benchmark == before


def test_float16_inputs_are_trained_in_float32():
    """Datasets may be held as float16 (the GPU profile); batches are cast when drawn."""
    X, y = _lstm_data()
    kw = dict(loss_fn=cross_entropy, score_fn=_ce_score, epochs=2, batch_size=8, seed=1,
              device="cpu")
    r16 = train_model(_lstm(), (X.astype(np.float16), y), (X.astype(np.float16), y), **kw)
    r32 = train_model(_lstm(), (X.astype(np.float16).astype(np.float32), y),
                      (X.astype(np.float16).astype(np.float32), y), **kw)
    assert r16.score == r32.score


def test_train_config_validates_and_keywords_override():
    from metaheur.models.train import TrainConfig

    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TrainConfig(epochs=0)
    X, y = _lstm_data()
    with pytest.raises(TypeError, match="unknown keywords"):
        train_model(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score,
                    epoch=2, device="cpu")
    res = train_model(_lstm(), (X, y), (X, y), loss_fn=cross_entropy, score_fn=_ce_score,
                      config=TrainConfig(epochs=5, batch_size=8), epochs=1, device="cpu")
    assert res.epochs == 1


# --- audit regressions (models) -------------------------------------------------------------
class _ThreadProbe(torch.nn.Module):
    """Records the torch thread count each forward pass runs with."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)
        self.threads: list[int] = []

    def forward(self, x):
        self.threads.append(torch.get_num_threads())
        return self.lin(x.reshape(x.shape[0], -1))


def test_predict_runs_with_the_trial_thread_count(monkeypatch):
    """Regression: ``predict`` (the objectives' test evaluation) ran with every core's thread
    instead of ``METAHEUR_TORCH_THREADS`` (docs/models.md §6.1), oversubscribing the CPU when
    trials run in parallel processes."""
    from metaheur.models.train import predict

    monkeypatch.setenv("METAHEUR_TORCH_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = _ThreadProbe()
        out = predict(model, np.zeros((5, 4), np.float32), device="cpu")
        assert model.threads == [1]
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert out.shape == (5, 3)


@pytest.mark.parametrize("val, match", [
    ("short_y", "val X and y must have the same length"),
    ("empty", "val X and y must have the same length >= 1"),
])  # fmt: skip
def test_validation_data_are_checked_before_training(val, match):
    """Regression: mismatched or empty validation data trained every epoch, then failed in the
    score function with an unrelated message (``proba must be (N, K) ...``)."""
    X, y = np.zeros((12, 4), np.float32), np.arange(12) % 3
    Xva, yva = (X[:10], y[:8]) if val == "short_y" else (X[:0], y[:0])
    model = _ThreadProbe()
    with pytest.raises(ValueError, match=match):
        train_model(model, (X, y), (Xva, yva), loss_fn=cross_entropy, score_fn=_ce_score,
                    epochs=2, batch_size=4, device="cpu")  # fmt: skip
    assert model.threads == []  # refused before any training step


@pytest.mark.parametrize("kw, match", [
    ({"lam": math.inf}, "lam"),
    ({"lam": float("nan")}, "lam"),
    ({"alpha": math.inf}, "alpha"),
    ({"alpha": True}, "alpha"),
    ({"pos_weight": -1.0}, "pos_weight"),
    ({"pos_weight": math.inf}, "pos_weight"),
])  # fmt: skip
def test_ifm_loss_refuses_parameters_that_only_give_nan(kw, match):
    """Regression: ``lam=inf`` made the loss NaN (reported as a diverged training run, blaming
    the learning rate) and ``alpha=inf`` made it inf; both are now a clear ValueError."""
    z, t = torch.randn(8), torch.tensor([0, 1] * 4)
    with pytest.raises(ValueError, match=match):
        ifm_loss(z, t, **kw)


@pytest.mark.parametrize("y", [[0, 1, 3], [0, -1, 1]])
def test_balanced_class_weight_refuses_labels_outside_the_classes(y):
    """Regression: a label >= n_classes gave NumPy's 'operands could not be broadcast'."""
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        balanced_class_weight(y, 3)


@pytest.mark.parametrize("bad", [float("nan"), math.inf])
def test_roc_auc_refuses_non_finite_scores_by_name(bad):
    """Regression: NaN scores gave scikit-learn's bare 'Input contains NaN.'"""
    with pytest.raises(ValueError, match="score must be finite"):
        roc_auc([0, 1, 0, 1], [0.1, bad, 0.3, 0.2])


def test_load_checkpoint_names_a_file_it_cannot_use(tmp_path):
    """Regression: a damaged file or one without ``state_dict`` gave torch's unpickling message
    or a bare ``KeyError: 'state_dict'``, without the file's name."""
    bad = tmp_path / "damaged.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="damaged.pt"):
        load_checkpoint(bad, _lstm())
    other = tmp_path / "other.pt"
    torch.save({"weights": 1}, other)
    with pytest.raises(ValueError, match="other.pt.*state_dict"):
        load_checkpoint(other, _lstm())


def test_train_config_seed_and_numpy_integers():
    """Regression: ``seed=-1`` was accepted and failed later in NumPy ('expected non-negative
    integer'); NumPy integers (``np.int64(3)``) were refused as epochs / batch_size."""
    from metaheur.models.train import TrainConfig

    for seed in (-1, 1.5, True, 2**64):
        with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
            TrainConfig(seed=seed)
    with pytest.raises(ValueError, match="lr must be"):
        TrainConfig(lr=True)
    cfg = TrainConfig(epochs=np.int64(3), batch_size=np.int64(16), seed=np.uint32(7),
                      max_shift=np.int32(1))  # fmt: skip
    assert (cfg.epochs, cfg.batch_size, cfg.seed, cfg.max_shift) == (3, 16, 7, 1)
    assert all(type(v) is int for v in (cfg.epochs, cfg.batch_size, cfg.seed, cfg.max_shift))
