"""HPO objectives end to end on CPU in the unit-test configuration (docs/models.md §7, §8)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import optuna  # noqa: E402
from optuna.distributions import CategoricalDistribution, FloatDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

import metaheur.models.objectives as objectives_mod  # noqa: E402
from metaheur.models.losses import cross_entropy, ifm_loss  # noqa: E402
from metaheur.models.objectives import (  # noqa: E402
    OBJECTIVES,
    IFMObjective,
    LSTMELUObjective,
    get_objective,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
# a collapsed (majority-class) model has undefined precision: expected during tuning
pytestmark = pytest.mark.filterwarnings("ignore::metaheur.models.metrics.UndefinedMetricWarning")

# unit-test configuration of docs/models.md §8: n = 64, s = 8 (IFM), 32² (LSTM-ELU), w 8, 1 epoch
LSTM_KW = {"n": (64, 32, 32), "image_size": 32, "fixed": {"epochs": 1}, "device": "cpu"}
IFM_KW = {
    "n": (64, 32, 32),
    "size": 16,
    "spacing_mm": 4.0,
    "input_size": 8,
    "fixed": {"epochs": 1, "width": 8},
    "device": "cpu",
}


@pytest.fixture(scope="module")
def lstm_obj():
    return LSTMELUObjective(**LSTM_KW)


@pytest.fixture(scope="module")
def ifm_obj():
    return IFMObjective(**IFM_KW)


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_registry():
    assert set(OBJECTIVES) == {"lstm-elu", "ifm"}
    assert isinstance(get_objective("ifm", scales=(32,), device="cpu"), IFMObjective)
    with pytest.raises(ValueError, match="unknown objective 'resnet'; available: lstm-elu, ifm"):
        get_objective("resnet")


def test_lstm_search_space_tables():
    obj = LSTMELUObjective(device="cpu")
    cpu, gpu = obj.search_space("cpu"), obj.search_space("gpu")
    names = {"lr", "weight_decay", "batch_size", "epochs", "hidden", "layers", "dropout",
             "elu_alpha", "width", "grad_clip"}  # fmt: skip
    assert set(cpu) == set(gpu) == names
    assert (cpu["epochs"].low, cpu["epochs"].high) == (3, 15)
    assert (gpu["epochs"].low, gpu["epochs"].high) == (10, 60)
    assert cpu["width"].choices == (8, 16) and gpu["width"].choices == (32, 64)
    assert cpu["batch_size"].choices == (16, 32, 64)
    assert all(cpu[k].log for k in ("lr", "weight_decay", "hidden", "grad_clip"))
    assert (cpu["lr"].low, cpu["lr"].high) == (1e-5, 1e-1)
    for profile in ("cpu", "gpu"):  # defaults lie inside the space
        space, d = obj.search_space(profile), obj.defaults(profile)
        for k, dist in space.items():
            assert dist._contains(dist.to_internal_repr(d[k])), (profile, k)
    assert obj.defaults()["epochs"] == 8 and obj.defaults()["width"] == 8
    with_cats = LSTMELUObjective(device="cpu", categoricals=True).search_space()
    assert {"gate", "cell_act", "segmentation"} <= set(with_cats)
    with pytest.raises(ValueError, match="profile"):
        obj.search_space("tpu")


def test_ifm_search_space_tables():
    obj = IFMObjective(device="cpu")
    cpu, gpu = obj.search_space("cpu"), obj.search_space("gpu")
    names = {"lr", "weight_decay", "batch_size", "epochs", "dropout", "alpha_scale", "lam",
             "width", "hidden"}  # fmt: skip
    assert set(cpu) == set(gpu) == names
    assert (cpu["epochs"].low, cpu["epochs"].high) == (2, 10)
    assert (gpu["epochs"].low, gpu["epochs"].high) == (10, 120)
    assert cpu["width"].choices == (8, 16, 32)
    assert (cpu["hidden"].low, cpu["hidden"].high, cpu["hidden"].log) == (16, 512, True)
    assert isinstance(cpu["alpha_scale"], FloatDistribution)
    assert obj.defaults()["epochs"] == 3
    assert IFMObjective(device="cpu", scales=(32,)).defaults()["epochs"] == 5
    per = IFMObjective(device="cpu", per_scale=True, scales=(32, 64)).search_space()
    assert {"lr_32", "lr_64", "dropout_32", "alpha_scale_64"} <= set(per) and "lr" not in per
    for profile in ("cpu", "gpu"):
        for k, dist in obj.search_space(profile).items():
            assert dist._contains(dist.to_internal_repr(obj.defaults(profile)[k])), (profile, k)


@pytest.mark.parametrize(
    "cls, kw, match",
    [
        (LSTMELUObjective, {"profile": "laptop"}, "profile must be one of"),
        (LSTMELUObjective, {"metric": "auc"}, "metric"),
        (LSTMELUObjective, {"fixed": {"momentum": 0.9}}, "fixed has unknown parameters"),
        (IFMObjective, {"scales": (16,)}, "scales"),
        (IFMObjective, {"init_seed": "random"}, "init_seed"),
    ],
)
def test_bad_constructor_arguments(cls, kw, match):
    with pytest.raises(ValueError, match=match):
        cls(device="cpu", **kw)


def test_fixed_parameters_leave_the_space(lstm_obj):
    assert "epochs" not in lstm_obj.search_space()
    assert lstm_obj.defaults()["epochs"] == 1


def test_lstm_evaluate_end_to_end_and_deterministic(lstm_obj):
    s1 = lstm_obj.evaluate({"lr": 1e-2})
    res = lstm_obj.last_result
    assert 0.0 <= s1 <= 1.0
    assert s1 == pytest.approx(1.0 - res.metrics["f1"])
    assert res.proba_val.shape == (32, 3) and res.y_val.shape == (32,)
    assert lstm_obj.evaluate({"lr": 1e-2}) == s1
    assert LSTMELUObjective(**LSTM_KW).evaluate({"lr": 1e-2}) == s1  # fresh instance, same seed


def test_ifm_evaluate_end_to_end_and_deterministic(ifm_obj):
    s1 = ifm_obj.evaluate()
    res = ifm_obj.last_result
    assert 0.0 <= s1 <= 1.0
    assert s1 == pytest.approx(1.0 - res.metrics["auc"])
    assert len(res.extra["ensemble_weights"]) == 3
    assert sum(res.extra["ensemble_weights"]) == pytest.approx(1.0)
    assert ifm_obj.evaluate() == s1


def test_ifm_single_scale_and_test_metrics():
    obj = IFMObjective(**{**IFM_KW, "scales": (32,), "eval_test": True})
    s = obj.evaluate({"lr": 1e-2})
    assert s == pytest.approx(1.0 - obj.last_result.extra["subnet_auc"][0], abs=1e-4)
    assert "auc" in obj.last_result.extra["test_metrics"]


@pytest.mark.parametrize(
    "params, match",
    [({"lr": 5.0}, "lr must be in"), ({"batch_size": 20}, "batch_size must be one of"),
     ({"momentum": 0.9}, "unknown parameters")],
)  # fmt: skip
def test_evaluate_rejects_bad_params(lstm_obj, params, match):
    with pytest.raises(ValueError, match=match):
        lstm_obj.evaluate(params)


@pytest.mark.parametrize("which", ["lstm", "ifm"])
def test_optuna_study_end_to_end(which, lstm_obj, ifm_obj):
    obj = lstm_obj if which == "lstm" else ifm_obj
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(obj, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert study.user_attrs == {"profile": "cpu", "objective": obj.name}
    t = study.best_trial
    assert set(t.params) == set(obj.search_space())
    assert t.value == pytest.approx(
        1.0 - t.user_attrs["metrics"]["f1" if which == "lstm" else "auc"]
    )
    pred = t.user_attrs["val_predictions"]
    assert len(pred["y"]) == len(pred["proba"]) == 32
    assert len(t.intermediate_values) >= 1


def test_pruned_trials_are_recorded():
    obj = LSTMELUObjective(**{**LSTM_KW, "fixed": {"epochs": 2}})
    study = optuna.create_study(pruner=_AlwaysPrune())
    study.optimize(obj, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED
    ifm = IFMObjective(**IFM_KW)
    study = optuna.create_study(pruner=_AlwaysPrune())
    study.optimize(ifm, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED


def _nan(fn):
    return lambda *a, **k: fn(*a, **k) * float("nan")


@pytest.mark.parametrize("which", ["lstm", "ifm"])
def test_divergence_is_pruned_or_inf_not_raised(which, monkeypatch):
    if which == "lstm":
        monkeypatch.setattr(objectives_mod, "cross_entropy", _nan(cross_entropy))
        obj = LSTMELUObjective(**LSTM_KW)
    else:
        monkeypatch.setattr(objectives_mod, "ifm_loss", _nan(ifm_loss))
        obj = IFMObjective(**IFM_KW)
    study = optuna.create_study()
    study.optimize(obj, n_trials=1)  # must not raise
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert "non-finite training loss" in trial.user_attrs["failure"]
    assert obj.evaluate() == math.inf


def test_huge_learning_rate_does_not_escape_optimize():
    obj = IFMObjective(**{**IFM_KW, "fixed": {"epochs": 2, "width": 8, "lr": 1e3}})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(0))
    study.optimize(obj, n_trials=2)  # NaN -> PRUNED with a message; else a (bad) score
    for trial in study.trials:
        assert trial.state in (TrialState.PRUNED, TrialState.COMPLETE)
        if trial.state == TrialState.PRUNED:
            assert "non-finite" in trial.user_attrs["failure"]


def test_profile_mismatch_stops_worker(lstm_obj):
    study = optuna.create_study()
    study.set_user_attr("profile", "gpu")
    with pytest.raises(ValueError, match="profile='gpu'"):
        study.optimize(lstm_obj, n_trials=1)


def test_digits_source_skips_the_trunk():
    obj = LSTMELUObjective(source="digits", fixed={"epochs": 1}, device="cpu")
    assert "width" not in obj.search_space()
    s = obj.evaluate({"lr": 1e-2, "hidden": 32})
    assert 0.0 <= s < 0.9  # 10 classes: better than chance after one epoch
    assert obj.last_result.proba_val.shape[1] == 10


def test_as_minimize_problem(lstm_obj):
    fun, bounds = lstm_obj.as_minimize_problem()
    d = len(lstm_obj.search_space())
    assert bounds.shape == (d, 2)
    x = np.clip(np.zeros(d), bounds[:, 0], bounds[:, 1])
    value = fun(x)
    assert 0.0 <= value <= 1.0
    assert fun(bounds[:, 0]) <= math.inf  # corners decode inside the space
    assert isinstance(lstm_obj.search_space()["batch_size"], CategoricalDistribution)


def test_identical_configuration_is_not_trained_twice(lstm_obj, monkeypatch):
    """A converged population re-proposes the best point: reuse its deterministic result."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lstm_obj, n_trials=1)
    first = study.trials[0]
    study.enqueue_trial(first.params)
    calls = []
    monkeypatch.setattr(lstm_obj, "run", lambda *a, **k: calls.append(1))
    study.optimize(lstm_obj, n_trials=1)
    second = study.trials[1]
    assert calls == []
    assert second.state == TrialState.COMPLETE
    assert second.value == first.value
    assert second.user_attrs["reused_from"] == 0
    assert second.user_attrs["metrics"] == first.user_attrs["metrics"]


def test_trial_init_seed_always_trains():
    obj = LSTMELUObjective(**LSTM_KW, init_seed="trial")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(obj, n_trials=1)
    study.enqueue_trial(study.trials[0].params)
    study.optimize(obj, n_trials=1)
    assert "reused_from" not in study.trials[1].user_attrs
