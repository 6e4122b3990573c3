"""Optuna samplers backed by :mod:`metaheur`'s population-based metaheuristics.

``MetaheuristicSampler(algo, ...)`` runs any registered algorithm (third-party plugins
included); the named classes fix ``algo`` for the six built-ins::

    import optuna
    from metaheur.optuna import GWOSampler

    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=300))
    study.optimize(objective, n_trials=300)

See :class:`MetaheuristicSampler` for its policies, :mod:`metaheur.optuna._protocol` for
how many workers share one run through the storage, :class:`SearchSpaceEncoder` for the
map between an Optuna search space and the box [-1, 1]^d, and :func:`make_sampler` /
:func:`make_pruner` for samplers and pruners by name. :class:`JournalFlockLock` is a lock
for Optuna's ``JournalFileBackend`` that several workers wait on far less.
"""

from __future__ import annotations

from typing import Any

from metaheur.optuna._factories import (
    NO_POPULATION,
    OPTUNA_SAMPLERS,
    PRUNERS,
    make_pruner,
    make_sampler,
    optuna_options,
    sampler_names,
)
from metaheur.optuna._journal import JournalFlockLock
from metaheur.optuna._protocol import MixedVersionsError
from metaheur.optuna._sampler import MetaheuristicSampler
from metaheur.optuna._space import SearchSpaceEncoder, box_problem

__all__ = [
    "MetaheuristicSampler",
    "SearchSpaceEncoder",
    "JournalFlockLock",
    "MixedVersionsError",
    "NO_POPULATION",
    "OPTUNA_SAMPLERS",
    "PRUNERS",
    "make_pruner",
    "make_sampler",
    "optuna_options",
    "sampler_names",
    "box_problem",
    "AOASampler",
    "DLFAOASampler",
    "PSOSampler",
    "ACOSampler",
    "GWOSampler",
    "POASampler",
]


class _NamedSampler(MetaheuristicSampler):
    _algo_name: str = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(self._algo_name, **kwargs)


class AOASampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="aoa"`` (Archimedes Optimization Algorithm)."""

    _algo_name = "aoa"


class DLFAOASampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="dlf-aoa"`` (AOA with dynamic Lévy flight)."""

    _algo_name = "dlf-aoa"


class PSOSampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="pso"`` (particle swarm optimisation)."""

    _algo_name = "pso"


class ACOSampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="aco"`` (ant colony optimisation, ACOR)."""

    _algo_name = "aco"


class GWOSampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="gwo"`` (grey wolf optimizer)."""

    _algo_name = "gwo"


class POASampler(_NamedSampler):
    """:class:`MetaheuristicSampler` with ``algo="poa"`` (pelican optimization algorithm)."""

    _algo_name = "poa"
