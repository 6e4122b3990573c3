"""HPO objectives: validation scores of LSTM-ELU and IFM as functions of their hyper-parameters.

Each objective declares its search space in one table (docs/models.md §7; the ``profile``
argument, never the detected device, picks the CPU or GPU column), is an Optuna objective
(``objective(trial)``, reporting each epoch for pruning) and a plain function of a parameter
dict (:meth:`~metaheur.models.objectives.base.Objective.evaluate`). All scores are
**minimised**: ``1 - val macro-F1`` for ``"lstm-elu"`` (seed 004) and ``1 - val AUC`` of the
ensemble for ``"ifm"`` (seed 000). Data are loaded once per objective and the same split is
used for every trial (common random numbers, docs/models.md §6.1).

    >>> obj = get_objective("lstm-elu")                      # synthetic slices, CPU table
    >>> study = optuna.create_study(direction="minimize"); study.optimize(obj, n_trials=20)

For :func:`metaheur.minimize`, ``metaheur.optuna.box_problem(obj.evaluate,
obj.search_space())`` gives ``(fun, bounds)`` on the encoded box.

Adding a model: one module with a table of :class:`HP` rows and an :class:`Objective`
subclass, then one registration (:func:`metaheur.models.catalog.register_model`, or an entry
point in the group ``metaheur.models``).
"""

from __future__ import annotations

from typing import Any

from metaheur.models.catalog import FORMATS, MODELS, objective_class, quick_kwargs, register_model
from metaheur.models.objectives.base import (
    HP,
    METRIC_PREFIX,
    PREDICTIONS_ARTIFACT,
    PROFILES,
    Objective,
    RunResult,
)
from metaheur.models.objectives.ifm import IFMObjective
from metaheur.models.objectives.lstm_elu import LSTMELUObjective

__all__ = [
    "HP",
    "METRIC_PREFIX",
    "PREDICTIONS_ARTIFACT",
    "PROFILES",
    "Objective",
    "RunResult",
    "LSTMELUObjective",
    "IFMObjective",
    "FORMATS",
    "MODELS",
    "get_objective",
    "quick_kwargs",
    "register_model",
]

def get_objective(name: str, **kwargs: Any) -> Objective:
    """Instantiate a registered objective: ``get_objective("ifm", scales=(32,), seed=1)``."""
    return objective_class(name)(**kwargs)
