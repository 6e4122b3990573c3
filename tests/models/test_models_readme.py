"""Behaviour that README.md's "Models" section and docs/models.md §6 promise, where the code
once disagreed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from metaheur.models.data import split_indices  # noqa: E402
from metaheur.models.data.types import Slices2D  # noqa: E402


@pytest.mark.parametrize("per_class", [7, 12, 19])
def test_grouped_split_of_a_small_dataset_with_many_groups(per_class: int) -> None:
    """Regression: a grouped dataset with 20 groups or more whose every class held fewer
    than 20 samples (a small IQ-OTH/NCCD folder after ``dedupe="ahash"``, a LIDC file of a
    few dozen nodules) failed with scikit-learn's "n_splits=20 cannot be greater than the
    number of members in each class" instead of the documented grouped 70/15/15 split."""
    n = 3 * per_class
    y = np.repeat(np.arange(3), per_class)
    groups = np.arange(n)  # every image its own group: no near-duplicates
    data = Slices2D(X=np.zeros((n, 1, 4, 4), np.float32), y=y,
                    class_names=("normal", "benign", "malignant"), groups=groups, split=None,
                    source="iqothnccd")
    parts = split_indices(data, seed=0)
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(n))
    assert all(len(parts[p]) >= 1 for p in ("train", "val", "test"))
    assert 0.6 <= len(parts["train"]) / n <= 0.8


def _scaled(x: float) -> float:
    return 2.0 * x


class _Settings:
    """Stand-ins for settings a user keeps in public attributes (README "Adding a model")."""

    class Ridge:
        factor = 1.0

    class Lasso:
        factor = 3.0


def _twin_objective(setting_name: str, setting: object) -> object:
    from optuna.distributions import FloatDistribution

    from metaheur.models.objectives import HP, Objective, RunResult

    class Toy(Objective):
        name = "toy"

        def table(self) -> dict:
            return {"x": HP(FloatDistribution(0.0, 1.0), 0.5)}

        def run(self, params, trial=None):  # type: ignore[no-untyped-def]
            s = getattr(self, setting_name)
            value = s(params["x"]) if not isinstance(s, type) else s.factor * params["x"]
            return RunResult(score=float(value), metrics={"f1": 1.0}, y_val=np.zeros(2),
                             proba_val=np.zeros(2), params=dict(params), seconds=0.0)

    obj = Toy(device="cpu")
    setattr(obj, setting_name, setting)
    return obj


@pytest.mark.parametrize(("first", "second"), [(_Settings.Ridge, _Settings.Lasso),
                                               (_scaled, abs)])
def test_a_callable_public_setting_is_part_of_the_configuration(first, second) -> None:
    """README "Adding a model": a score is reused only from a trial scored under the same
    configuration, the objective's public attributes among it. Regression: public attributes
    holding a class or a function (an estimator class, a transform) were left out of the
    fingerprint, so a worker with another estimator copied the other worker's score."""
    import optuna

    study = optuna.create_study()
    a, b = _twin_objective("model", first), _twin_objective("model", second)
    assert a.fingerprint() != b.fingerprint()
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": 0.5})
    study.optimize(a, n_trials=1)
    study.optimize(b, n_trials=1)
    assert "reused_from" not in study.trials[1].user_attrs
    assert study.trials[1].value != study.trials[0].value


def test_a_method_patched_onto_an_objective_does_not_change_its_configuration() -> None:
    """Patching a method on an instance (tests, instrumentation) keeps its fingerprint."""
    a, b = _twin_objective("model", _scaled), _twin_objective("model", _scaled)
    b.run = lambda params, trial=None: a.run(params, trial)  # type: ignore[attr-defined]
    assert a.fingerprint() == b.fingerprint()
