"""Samplers and pruners by name, for the command line, benchmarks and scripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from metaheur._registry import available

__all__ = ["NO_POPULATION", "OPTUNA_SAMPLERS", "PRUNERS", "make_pruner", "make_sampler",
           "sampler_names"]

#: Optuna's own samplers that :func:`make_sampler` builds besides the registry's algorithms.
OPTUNA_SAMPLERS = ("tpe", "cmaes", "random")
#: Those of them without a population (``pop_size`` means nothing to them).
NO_POPULATION = ("tpe", "random")
#: Pruner names that :func:`make_pruner` accepts.
PRUNERS = ("none", "median", "hyperband", "successive-halving")


def sampler_names() -> list[str]:
    """Registry names followed by Optuna's ``tpe``, ``cmaes`` and ``random``."""
    return available() + list(OPTUNA_SAMPLERS)


def make_sampler(
    name: str,
    *,
    seed: int | None = None,
    pop_size: int | None = None,
    n_trials: int | None = None,
    search_space: Mapping[str, Any] | None = None,
    **params: Any,
) -> optuna.samplers.BaseSampler:
    """Sampler by name: a :class:`~metaheur.optuna.MetaheuristicSampler` for a registry name
    (``params`` are its options and the algorithm's hyper-parameters; ``search_space`` fixes
    its space from the first trial on), else Optuna's ``TPESampler``, ``CmaEsSampler``
    (``pop_size`` is its ``popsize``) or ``RandomSampler`` (no population: ``pop_size`` must
    be None). Names are case-insensitive and ``_`` stands for ``-``; an unknown name is a
    ``ValueError`` listing the allowed ones."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in sampler_names():
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(sampler_names())}")
    if key in OPTUNA_SAMPLERS and params:
        raise ValueError(f"sampler {key!r} takes no options {sorted(params)}")
    if key in NO_POPULATION and pop_size is not None:
        raise ValueError(f"sampler {key!r} has no population: pop_size={pop_size!r} would mean "
                         "nothing to it (it applies to the metaheuristics and cmaes); pass None")
    if key == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if key == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if key == "cmaes":
        try:
            import cmaes  # type: ignore[import-untyped]  # noqa: F401  (CmaEsSampler needs it)
        except ImportError as exc:
            raise ValueError("sampler 'cmaes' needs the cmaes package: pip install cmaes") from exc
        return optuna.samplers.CmaEsSampler(seed=seed, popsize=pop_size,
                                            warn_independent_sampling=False)
    from metaheur.optuna._sampler import MetaheuristicSampler

    kw: dict[str, Any] = {} if n_trials is None else {"n_trials": n_trials}
    if search_space is not None:
        kw["search_space"] = dict(search_space)
    return MetaheuristicSampler(key, pop_size=pop_size, seed=seed, **kw, **params)


def make_pruner(name: str, *, n_startup_trials: int = 8) -> optuna.pruners.BasePruner:
    """Pruner by name (:data:`PRUNERS`); ``none`` never prunes."""
    key = str(name).strip().lower().replace("_", "-")
    if key == "none":
        return optuna.pruners.NopPruner()
    if key == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=1)
    if key == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if key == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    raise ValueError(f"unknown pruner {name!r}; allowed: {', '.join(PRUNERS)}")
