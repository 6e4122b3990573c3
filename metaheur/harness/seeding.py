"""Seeds for Optuna's samplers that differ between the copies of one run on one storage.

Several copies of ``metaheur tune`` (other machines, other terminals) share one study by
pointing at one ``--storage``. Seeded only from ``--seed`` and the trials finished when it
started, every copy's TPE, GP or random sampler would draw the same configurations (half the
trials of two copies repeated). Trial numbers are unique in a study, because the storage
assigns them, so :class:`SeededByFirstTrial` builds the sampler when its process asks its
first trial, and seeds it with that trial's number: copies differ, a resumed run differs
from the earlier ones, and a lone run on a new study keeps the seed it was given (its first
trial is #0). The metaheuristic samplers need none of this: they share one population
through the storage (metaheur.optuna).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

__all__ = ["SEEDS", "SeededByFirstTrial", "tune_sampler"]

SEEDS = 2**32  # Optuna's samplers take seeds in [0, 2**32)


def tune_sampler(algo: str, seed: int, pop_size: int, n_trials: int,
                 space: dict[str, Any] | None, params: dict[str, Any], worker: int = 0
                 ) -> BaseSampler:
    """``metaheur tune``'s sampler for worker ``worker`` (``params``: ``--algo-param``).

    Optuna's samplers get ``seed + n`` (modulo :data:`SEEDS`), ``n`` the number of the first
    trial they sample for (:class:`SeededByFirstTrial`): the storage makes ``n`` unique in
    the study, so workers, resumed runs and copies on one storage never share a seed. A
    metaheuristic sampler keeps its state in the storage, so every worker gets the run's
    seed; ``worker`` (the factory protocol of :func:`metaheur.harness.runs.run_trials`)
    changes no seed: a term for it would only make two samplers meet."""
    from metaheur.harness.study import OPTUNA_SAMPLERS, make_sampler
    from metaheur.optuna._options import NEVER_ITERATES

    if algo in OPTUNA_SAMPLERS:
        make_sampler(algo, seed=seed, pop_size=pop_size if algo == "cmaes" else None,
                     **params)  # checks the options now, not at the first trial
        return SeededByFirstTrial(functools.partial(_optuna_sampler, algo, seed, pop_size,
                                                    params))
    with warnings.catch_warnings():  # the CLI's too_few_generations advises instead
        warnings.filterwarnings("ignore", message=NEVER_ITERATES)
        return make_sampler(algo, seed=seed, pop_size=pop_size, n_trials=n_trials,
                            search_space=space, **params)


def _optuna_sampler(algo: str, base: int, pop_size: int, params: dict[str, Any],
                    first: int) -> BaseSampler:
    from metaheur.harness.study import make_sampler

    return make_sampler(algo, seed=(base + first) % SEEDS,
                        pop_size=pop_size if algo == "cmaes" else None, **params)


class SeededByFirstTrial(BaseSampler):
    """The sampler ``build(n)`` makes, where ``n`` is the number of the first trial this
    instance samples for; every call is passed on to it."""

    def __init__(self, build: Callable[[int], BaseSampler]) -> None:
        self._build = build
        self._inner: BaseSampler | None = None

    def _sampler(self, trial: FrozenTrial) -> BaseSampler:
        if self._inner is None:
            self._inner = self._build(trial.number)
        return self._inner

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._sampler(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        return self._sampler(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._sampler(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._sampler(trial).sample_independent(study, trial, param_name,
                                                       param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._sampler(trial).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        if self._inner is not None:
            self._inner.reseed_rng()

    def __repr__(self) -> str:
        inner = "not built yet" if self._inner is None else repr(self._inner)
        return f"{type(self).__name__}({inner})"
