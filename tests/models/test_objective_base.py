"""The machinery every model objective shares (models/objectives/base.py, docs/models.md §7)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import optuna  # noqa: E402

from metaheur.models.objectives import LSTMELUObjective  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
pytestmark = pytest.mark.filterwarnings("ignore::metaheur.models.metrics.UndefinedMetricWarning")

#: the digits-like rows mode: no trunk stage, a second per run
ROWS_KW = {"n": (64, 32, 32), "image_size": 16, "fixed": {"epochs": 1}, "device": "cpu",
           "features": "rows"}


@pytest.fixture(scope="module")
def rows_obj() -> LSTMELUObjective:
    return LSTMELUObjective(**ROWS_KW)


@pytest.mark.parametrize("artifacts", [False, True])
def test_an_objective_runs_under_optunas_fixed_trial(artifacts, tmp_path):
    """Regression: ``objective(optuna.trial.FixedTrial(params))``, Optuna's way to score given
    parameters, raised AttributeError ('FixedTrial' object has no attribute 'study')."""
    obj = LSTMELUObjective(**ROWS_KW, artifact_dir=tmp_path / "art" if artifacts else None)
    params = {k: v for k, v in obj.defaults().items() if k in obj.search_space()}
    trial = optuna.trial.FixedTrial(params)
    value = obj(trial)
    assert value == obj.evaluate(params)
    assert trial.user_attrs["val_f1"] == pytest.approx(1.0 - value)
    assert len(trial.user_attrs["val_predictions"]["y"]) == 32  # no study to hold an artifact


def test_an_unknown_parameter_error_lists_every_accepted_name(rows_obj):
    """Regression: the list named only the tuned parameters, so a typo of a fixed one
    ('epoch' with ``fixed={"epochs": 1}``) was told that 'epochs' is not allowed either."""
    with pytest.raises(ValueError, match=r"unknown parameters \['epoch'\]") as err:
        rows_obj.evaluate({"epoch": 2})
    for name in ("epochs", "gate", "lr"):  # fixed, not tuned, tuned: each is accepted
        assert f"'{name}'" in str(err.value)
        assert name in rows_obj._params({name: rows_obj.defaults()[name]})
