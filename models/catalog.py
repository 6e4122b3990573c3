"""What the models package offers, importable without torch (for CLIs and help texts).

:data:`MODELS` maps each objective's name to its class's import path (imported on first use),
:data:`FORMATS` maps each data format to the model it feeds, and :func:`quick_kwargs` gives
the constructor keywords of a tiny configuration (tests, smoke runs: seconds per trial).

A new model objective is one module with an :class:`~metaheur.models.objectives.Objective`
subclass plus one registration: :func:`register_model` in-process, or, for a package that
``metaheur tune --model`` should see, an entry point in the group ``metaheur.models``
(``name = "package.module:Class"``).
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Any

__all__ = ["MODELS", "FORMATS", "TRIALS_PER_GPU", "ENTRY_POINT_GROUP", "quick_kwargs",
           "model_for_format", "register_model", "objective_class"]

ENTRY_POINT_GROUP = "metaheur.models"
logger = logging.getLogger(__name__)

#: Model objectives: name -> its :class:`Objective` subclass or ``"module:Class"`` path.
MODELS: dict[str, str | type] = {
    "lstm-elu": "metaheur.models.objectives.lstm_elu:LSTMELUObjective",
    "ifm": "metaheur.models.objectives.ifm:IFMObjective",
}

#: Data formats and the model each one feeds (``None``: the synthetic data of either model).
FORMATS: dict[str, str | None] = {
    "synthetic": None,
    "digits": "lstm-elu",
    "iqothnccd": "lstm-elu",
    "chestct": "lstm-elu",
    "nodulemnist3d": "ifm",
    "lidc": "ifm",
}


def _is_path(target: object) -> bool:
    """``"module:Class"``: a module path and an attribute, both non-empty."""
    if not isinstance(target, str):
        return False
    module, colon, attr = target.partition(":")
    return bool(module and colon and attr)


def register_model(name: str, target: str | type, *, formats: tuple[str, ...] = ()) -> None:
    """Add the objective ``target`` (a class or its ``"module:Class"`` path) as ``name``,
    and the data formats it reads; ``ValueError`` if the name or a format is taken, or if
    ``target`` or ``formats`` has another form."""
    if not isinstance(name, str) or not name or name in MODELS:
        raise ValueError(f"model name must be a new non-empty string; taken: {', '.join(MODELS)}")
    if not (isinstance(target, type) or _is_path(target)):
        raise ValueError(f"target must be an objective class or its 'module:Class' path, "
                         f"got {target!r}")  # fmt: skip
    if isinstance(formats, str) or not all(isinstance(f, str) and f for f in formats):
        raise ValueError(f"formats must be a tuple of data format names (non-empty strings), "
                         f"got {formats!r}")  # fmt: skip
    taken = [f for f in formats if f in FORMATS]
    if taken:
        raise ValueError(f"data formats {taken} already feed {[FORMATS[f] for f in taken]}")
    MODELS[name] = target
    FORMATS.update(dict.fromkeys(formats, name))


def objective_class(name: str) -> type:
    """The objective class registered as ``name`` (imports its module, and so torch)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    target = MODELS[name]
    if not isinstance(target, str):
        return target
    if not _is_path(target):  # an entry point's value, e.g. a module without ":Class"
        raise ValueError(f"model {name!r}: {target!r} is not a 'module:Class' path")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in MODELS:
            logger.warning("model plug-in %r ignored: the name is taken", ep.name)
        else:
            MODELS[ep.name] = ep.value


def model_for_format(fmt: str) -> str | None:
    """The model that ``fmt`` feeds (``None`` for synthetic data); ValueError if unknown."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown data format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return FORMATS[fmt]


def quick_kwargs(model: str, source: str = "synthetic") -> dict[str, Any]:
    """Constructor keywords of the tiny configuration of ``model`` on ``source`` data."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    kw: dict[str, Any] = {"fixed": {"epochs": 1}}
    if model == "lstm-elu":
        if source != "digits":
            kw["trunk_config"] = {"epochs": 1}
        if source == "synthetic":
            kw.update(n=(64, 32, 32), image_size=32)
    elif model == "ifm":
        kw["scales"] = (32,)
        if source == "synthetic":
            kw.update(n=(48, 24, 24), size=16, spacing_mm=4.0, input_size=8)
    # any other model: one epoch is its whole quick configuration
    return kw


_load_entry_points()

#: Trials run at once on one GPU by default (separate processes): the CPU-side work of one
#: small trial (Python loop, metrics) leaves a GPU mostly idle (docs/models.md §9).
TRIALS_PER_GPU = 4
