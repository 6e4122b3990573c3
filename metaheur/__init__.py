"""metaheur: vectorised population-based metaheuristics for hyper-parameter optimisation.

Core API::

    import metaheur
    res = metaheur.minimize(fun, bounds, algo="dlf-aoa", budget=20_000, seed=0)
    opt = metaheur.get("gwo")(bounds, pop_size=30, budget=20_000, seed=0)   # ask/tell

Writing an algorithm: subclass :class:`Optimizer`, declare its hyper-parameters'
:class:`Real` / :class:`Integer` / :class:`Flag` / :class:`Choice` constraints and its
state :class:`Field` s, and :func:`register` it (or publish it from a package through the
entry-point group ``metaheur.optimizers``, loaded on the first :func:`get` or
:func:`available`); ``get("<name>-ipop")`` is its restart variant.

Optuna samplers live in :mod:`metaheur.optuna` (imported on first access).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from metaheur import optimizers as _optimizers  # noqa: F401  (registers the built-ins)
from metaheur._base import Optimizer
from metaheur._params import Choice, Flag, Integer, Real
from metaheur._registry import available, get, register
from metaheur._state import Field
from metaheur._version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "Optimizer",
    "OptimizeResult",
    "available",
    "get",
    "minimize",
    "register",
    "__version__",
    # for writing an algorithm: hyper-parameter constraints and state fields
    "Real",
    "Integer",
    "Flag",
    "Choice",
    "Field",
]

_LAZY_SUBMODULES = {"optuna", "functions", "cli"}


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"metaheur.{name}")
    if name in ("minimize", "OptimizeResult"):
        module = importlib.import_module("metaheur._minimize")
        return getattr(module, name)
    raise AttributeError(f"module 'metaheur' has no attribute {name!r}")
