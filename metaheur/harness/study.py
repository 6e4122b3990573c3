"""Studies on an Optuna storage: algorithm and pruner names, samplers, study creation.

The storage (SQLite file, PostgreSQL server) is the source of truth: a run that is started
again with the same storage and study name continues the study, and trials already finished
count towards the requested total, so several processes or machines pointed at one storage
cooperate on one study.

Algorithm names are the registry names (:func:`metaheur.available`) plus Optuna's ``tpe``,
``cmaes`` and ``random`` for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from metaheur._registry import get
from metaheur.optuna import (
    OPTUNA_SAMPLERS,
    PRUNERS,
    make_pruner,
    make_sampler,
    sampler_names,
)

__all__ = [
    "OPTUNA_SAMPLERS",
    "PRUNERS",
    "FINISHED_STATES",
    "StudyMismatchError",
    "algorithm_names",
    "check_algo",
    "generations",
    "too_few_generations",
    "trials_per_generation",
    "make_sampler",
    "make_pruner",
    "open_study",
    "count_finished",
]

#: Trial states that count towards the requested total (an interrupted trial is FAIL and
#: is run again).
FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


class StudyMismatchError(ValueError):
    """An existing study was created with another algorithm, model, profile, data or seed
    (the keys tune checks): ``key`` is the attribute that differs, ``stored`` its value in
    the study, ``given`` the new one."""

    def __init__(self, study_name: str, key: str, stored: Any, given: Any) -> None:
        super().__init__(f"study {study_name!r} was created with {key}={stored!r}, not "
                         f"{given!r}")
        self.key, self.stored, self.given = key, stored, given

    @property
    def resume_option(self) -> str:
        """The ``metaheur tune`` option that continues the stored study."""
        if self.key == "data_path":
            return f"--data {self.stored}"
        if self.key == "data":  # a format name: the two built-in ones need no folder
            if self.stored in ("synthetic", "digits"):
                return f"--data-format {self.stored}"
            return f"--data with its {self.stored} folder"
        return f"--{self.key} {self.stored}"


# ---------------------------------------------------------------------------- names
def algorithm_names() -> list[str]:
    """Registry names followed by Optuna's ``tpe``, ``cmaes`` and ``random``."""
    return sampler_names()


def check_algo(name: str) -> str:
    """Normalise ``name`` (case, ``_`` → ``-``); ``ValueError`` listing what is allowed."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in algorithm_names():
        raise ValueError(f"unknown algorithm {name!r}; allowed: {', '.join(algorithm_names())}")
    return key


def trials_per_generation(algo: str, pop_size: int,
                          params: Mapping[str, Any] | None = None) -> int:
    """Evaluations of one iteration after the initial population (docs/algorithms.md §0.2):
    ``pop_size`` for Optuna's samplers; POA's two rounds; ``aco-ipop``'s 10 ants whatever
    its ``pop_size`` (``RESTART_TUNED``), or its ``n_ants`` when ``params`` (the
    algorithm's hyper-parameters) set it."""
    if algo in OPTUNA_SAMPLERS:
        return max(pop_size, 1)
    opt = get(algo)([(0.0, 1.0)], pop_size=pop_size, max_iter=1, **dict(params or {}))
    return sum(opt.rounds)


def generations(algo: str, pop_size: int, n_trials: int,
                params: Mapping[str, Any] | None = None) -> int:
    """Iterations a metaheuristic completes in ``n_trials`` evaluations after its initial
    population (docs/algorithms.md §0.2); ``n_trials // pop_size`` for Optuna's samplers."""
    if algo in OPTUNA_SAMPLERS:
        return n_trials // max(pop_size, 1)
    if n_trials < pop_size:
        return 0
    return (n_trials - pop_size) // trials_per_generation(algo, pop_size, params)


def too_few_generations(algo: str, pop_size: int, n_trials: int, *, minimum: int,
                        params: Mapping[str, Any] | None = None) -> str | None:
    """The warning for ``n_trials`` that give a metaheuristic fewer than ``minimum``
    generations, or ``None``. Its advice is one that helps: the ``--trials`` that give
    ``minimum``, and the largest smaller ``--pop-size`` that would, where one exists (not for
    ``aco-ipop``, whose generation is 10 ants whatever its population). ``params``: the
    algorithm's hyper-parameters (``--algo-param``), which may change a generation."""
    if algo in OPTUNA_SAMPLERS:
        return None
    gens = generations(algo, pop_size, n_trials, params)
    if gens >= minimum:
        return None
    per_gen = trials_per_generation(algo, pop_size, params)
    advice = f"raise --trials to at least {pop_size + minimum * per_gen}"
    for smaller in range(min(pop_size - 1, n_trials), 0, -1):  # larger: 0 generations
        try:
            if generations(algo, smaller, n_trials, params) >= minimum:
                advice += f" or lower --pop-size to {smaller}"
                break
        except ValueError:  # below the algorithm's smallest population
            break
    return (f"{n_trials} trials give {algo} only {gens} generation(s) of {per_gen} trials "
            f"after the initial population of {pop_size} (fewer than {minimum}); {advice}")


def open_study(
    storage: optuna.storages.BaseStorage,
    study_name: str,
    *,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    attrs: Mapping[str, Any] | None = None,
    check: tuple[str, ...] = ("algo", "model", "profile"),
    paths: tuple[str, ...] = (),
    strict: bool = False,
) -> tuple[optuna.Study, bool]:
    """Create the minimising study or load it; returns ``(study, created)``.

    ``attrs`` are stored as study user attributes when the study is created; for an existing
    study the keys in ``check`` must agree with the stored ones, and those in ``paths`` must
    name the same file or folder (else :class:`StudyMismatchError`). An existing study that
    does not minimise one objective is a ``ValueError``. With ``strict``, so is one that has
    trials but none of the ``check`` keys (a study of another program), and one with neither
    trials nor those keys (just made by another worker) is adopted: ``attrs`` are stored.
    """
    attrs = dict(attrs or {})
    try:
        existing = {s.study_name: s.directions for s in optuna.get_all_study_summaries(storage)}
    except Exception:  # pragma: no cover - storage-specific
        existing = {}
    created = study_name not in existing
    minimise = [optuna.study.StudyDirection.MINIMIZE]
    if not created and list(existing[study_name]) != minimise:
        goals = ", ".join(d.name.lower() for d in existing[study_name])
        raise ValueError(f"study {study_name!r} has the direction(s) {goals}; tuning "
                         "minimises one objective, so use --study NAME --out DIR to start "
                         "another study")
    study = optuna.create_study(
        storage=storage, study_name=study_name, sampler=sampler, pruner=pruner,
        direction="minimize", load_if_exists=True,
    )
    stored = study.user_attrs
    foreign = strict and bool(check) and not created and not any(k in stored for k in check)
    if foreign and (n := len(study.get_trials(deepcopy=False))):
        raise ValueError(f"study {study_name!r} has {n} trial(s) but no tune configuration "
                         f"(none of {', '.join(check)}): another program made it; use "
                         "--study NAME --out DIR to start another study")
    if created or foreign:
        for key, value in attrs.items():
            study.set_user_attr(key, value)
        return study, created
    for key in check:
        if key in stored and key in attrs and stored[key] != attrs[key]:
            raise StudyMismatchError(study_name, key, stored[key], attrs[key])
    for key in paths:
        if key in stored and key in attrs and not _same_path(stored[key], attrs[key]):
            raise StudyMismatchError(study_name, key, stored[key], attrs[key])
    return study, created


def _same_path(a: Any, b: Any) -> bool:
    """Do ``a`` and ``b`` name one file or folder (relative ones from here)? Values that
    are not both text (None: no path) compare as they are."""
    if not (isinstance(a, str) and isinstance(b, str)):
        return bool(a == b)
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):  # a stored value is untrusted input
        return a == b


def count_finished(study: optuna.Study) -> int:
    """Trials that count towards the requested total (COMPLETE and PRUNED)."""
    return len(study.get_trials(deepcopy=False, states=FINISHED_STATES))
