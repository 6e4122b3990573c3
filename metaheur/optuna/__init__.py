"""Optuna samplers backed by :mod:`metaheur`'s population-based metaheuristics.

``MetaheuristicSampler(algo, ...)`` runs any registered algorithm (third-party plugins
included); the named classes fix ``algo`` for the six built-ins::

    import optuna
    from metaheur.optuna import GWOSampler

    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=300))
    study.optimize(objective, n_trials=300)

See :class:`MetaheuristicSampler` for the encoding, horizon/restart, FAIL/PRUNED, stale
RUNNING, enqueued-trial and fallback policies, and :class:`SearchSpaceEncoder` for the
map between an Optuna search space and the box [-1, 1]^d.
"""

from __future__ import annotations

from typing import Any

from metaheur.optuna._sampler import MetaheuristicSampler
from metaheur.optuna._space import SearchSpaceEncoder, box_problem

__all__ = [
    "MetaheuristicSampler",
    "SearchSpaceEncoder",
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

    def __init__(self, pop_size: int | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(self._algo_name, pop_size=pop_size, seed=seed, **kwargs)


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
