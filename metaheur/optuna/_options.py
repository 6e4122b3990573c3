"""Checks of :class:`~metaheur.optuna.MetaheuristicSampler`'s options: each bad one is a
``ValueError`` naming it and what is allowed, raised when the sampler is created."""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np

from metaheur._base import Optimizer
from metaheur._params import default_rng
from metaheur._registry import available, get

logger = logging.getLogger(__name__)

__all__ = ["check_algo", "check_options", "check_seed", "probe", "refuse_run_options",
           "smallest_population"]


#: The start of the warning for a ``pop_size`` not below ``n_trials`` (``metaheur tune``
#: gives its own advice instead).
NEVER_ITERATES = "pop_size is not below n_trials"


def _default_pop_size(floor: int, n_trials: int) -> int:
    """``isqrt(n_trials)`` clipped to ``[4, 30]`` (N ~ T ~ sqrt(budget)), and at least the
    algorithm's smallest population ``floor``, above 30 too."""
    return int(max(floor, min(30, max(4, math.isqrt(n_trials)))))


def smallest_population(cls: type[Optimizer], algo_params: dict[str, Any]) -> int:
    """``cls.min_pop_size``, or its ``inner`` algorithm's where larger (``ipop``); an
    unknown inner is left to the constructor's own error."""
    floor = cls.min_pop_size
    inner = algo_params.get("inner")
    if isinstance(inner, str) and inner in available():
        floor = max(floor, get(inner).min_pop_size)
    return int(floor)


def check_algo(algo: Any) -> type[Optimizer]:
    if isinstance(algo, type) and issubclass(algo, Optimizer):
        return algo
    if isinstance(algo, str):
        return get(algo)  # ValueError listing the available names
    raise ValueError(
        f"algo must be a registered name or an Optimizer subclass, got {algo!r}; "
        f"available: {', '.join(available())}"
    )


def probe(cls: type[Optimizer], pop_size: int, algo_params: dict[str, Any]) -> None:
    """Build ``cls`` with ``algo_params`` (its constructor names a bad hyper-parameter),
    then run one generation and the next ask on a 3-d box with distinct values, call
    ``get_state()`` and restore it: a class whose hooks set undeclared state, or state its
    declarations do not admit, fails here rather than mid-study, in a worker restoring the
    shared state. Any other failure of the hooks on this made-up problem is not the
    study's and is left to it."""
    opt = cls([(-1.0, 1.0)] * 3, pop_size=pop_size, max_iter=1, seed=0, **algo_params)
    values = np.random.default_rng(0)
    try:
        X = opt.ask()
        opt.tell(X, values.random(X.shape[0]))
        opt.ask()
    except Exception as exc:  # noqa: BLE001 - the hooks on a made-up problem
        logger.debug("the state check of %s could not run its hooks: %r", cls.__name__, exc)
        return
    state = opt.get_state()
    try:
        cls.from_state(state)
    except ValueError as exc:
        raise ValueError(f"{cls.__name__}'s state does not restore: {exc}; check its "
                         "state_fields declarations (README: Adding an algorithm)") from None


#: The most Optuna's ``RandomSampler`` (NumPy's ``RandomState``) takes as a seed.
_MAX_SEED = 2**32 - 1


def check_seed(seed: Any) -> int | None:
    """``seed`` as an ``int`` (what Optuna's samplers take: None or an integer, here also a
    NumPy integer) in ``[0, 2**32 - 1]``; a ``ValueError`` naming it otherwise."""
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator,
                         np.random.SeedSequence)):
        raise ValueError(
            f"seed must be None or an integer for a sampler, got a {type(seed).__name__}: "
            "the optimizer's random stream lives in the study's shared storage, where every "
            "worker (in any process) derives it from the same integer seed; a NumPy "
            "generator object cannot be shared that way. Pass an integer")
    try:
        default_rng(seed)  # minimize()'s check: None or an integer >= 0, not a bool
        ok = seed is None or seed <= _MAX_SEED
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"seed must be None or an integer in [0, 2**32 - 1] (as for "
                         f"Optuna's samplers), got {seed!r}")
    return None if seed is None else int(seed)


def refuse_run_options(algo_params: dict[str, Any]) -> None:
    """The constructor arguments the sampler sets itself are no hyper-parameters."""
    for key in ("budget", "max_iter"):
        if key in algo_params:
            raise ValueError(
                f"{key} is not a sampler option: the sampler takes n_trials, the number of "
                "trials expected, and derives the optimizer's budget and horizon from it")
    for key in ("x0", "f0"):
        if key in algo_params:
            raise ValueError(
                f"{key} is not a sampler option: warm-start the study with "
                "study.enqueue_trial(params) (enqueued trials join the initial population)")


def check_options(cls: type[Optimizer], n_trials: Any, pop_size: Any, wait_timeout: Any,
                   search_space: Any, algo_params: dict[str, Any], **flags: Any) -> int:
    """Validate the sampler's options (``ValueError`` naming the option; ``algo_params``
    hold no run option, :func:`refuse_run_options`); the population size, defaulted (at
    least :func:`smallest_population`)."""
    refuse_run_options(algo_params)
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)):
        raise ValueError(f"n_trials must be an integer >= 1, got {n_trials!r}")
    if n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1, got {n_trials}")
    if pop_size is None:
        pop_size = _default_pop_size(smallest_population(cls, algo_params), int(n_trials))
    elif isinstance(pop_size, bool) or not isinstance(pop_size, (int, np.integer)):
        raise ValueError(f"pop_size must be an integer or None, got {pop_size!r}")
    elif pop_size < cls.min_pop_size:
        raise ValueError(
            f"pop_size must be >= {cls.min_pop_size} for {cls.name}, got {pop_size}"
        )
    elif pop_size >= n_trials:
        warnings.warn(
            f"{NEVER_ITERATES} (pop_size={pop_size}, n_trials={n_trials}): the first "
            f"{pop_size} trials are {cls.name}'s initial population, uniform random points, "
            "so within the trials planned the algorithm never iterates; pass the number of "
            "trials the study will run as n_trials, or a smaller pop_size",
            UserWarning, stacklevel=3)
    if wait_timeout is not None:
        ok = isinstance(wait_timeout, (int, float)) and not isinstance(wait_timeout, bool)
        if not ok or not math.isfinite(wait_timeout) or wait_timeout < 0:
            raise ValueError(
                f"wait_timeout must be None (adaptive) or a finite number of seconds "
                f">= 0, got {wait_timeout!r}"
            )
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    if search_space is not None and not isinstance(search_space, dict):
        raise ValueError(
            "search_space must be None or a dict of parameter name -> optuna "
            f"distribution, got {type(search_space).__name__}"
        )
    return int(pop_size)
