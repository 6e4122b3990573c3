"""Samplers and pruners by name, for the command line, benchmarks and scripts."""

from __future__ import annotations

import inspect
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna

from metaheur._registry import available

__all__ = ["NO_POPULATION", "OPTUNA_IGNORED", "OPTUNA_SAMPLERS", "PRUNERS", "make_pruner",
           "make_sampler", "optuna_options", "sampler_names"]

#: Optuna's own samplers that :func:`make_sampler` builds besides the registry's algorithms
#: (``gp``: Optuna's Gaussian-process sampler, which needs PyTorch).
OPTUNA_SAMPLERS = ("tpe", "cmaes", "gp", "random")
#: Those of them without a population (``pop_size`` means nothing to them).
NO_POPULATION = ("tpe", "gp", "random")
#: Pruner names that :func:`make_pruner` accepts.
PRUNERS = ("none", "median", "hyperband", "successive-halving")


#: Constructor arguments of Optuna's samplers that make_sampler sets from its own arguments.
_SET_BY_US = {"seed": "seed", "popsize": "pop_size"}
_PLAIN_TYPES = {"bool": bool, "int": int, "float": float, "str": str}
#: Values that Optuna's constructors accept and its samplers then fail on (or divide by):
#: (sampler, option) -> (what is allowed, test).
_STRICTER: dict[tuple[str, str], tuple[str, Any]] = {
    ("tpe", "n_ei_candidates"): ("an int >= 1", lambda v: v >= 1),
    ("tpe", "prior_weight"): ("a float > 0", lambda v: v > 0),
    ("cmaes", "sigma0"): ("a float > 0", lambda v: v > 0),
}
#: Arguments that Optuna >= 4.4 (our minimum is 4.5) takes and ignores, with a FutureWarning:
#: offering them would label runs by a setting that changes nothing.
OPTUNA_IGNORED = {("tpe", "consider_prior"): "4.3", ("cmaes", "restart_strategy"): "4.4",
                  ("cmaes", "inc_popsize"): "4.4"}


def _optuna_class(key: str) -> type:
    return {"tpe": optuna.samplers.TPESampler, "cmaes": optuna.samplers.CmaEsSampler,
            "gp": optuna.samplers.GPSampler, "random": optuna.samplers.RandomSampler}[key]


def optuna_options(name: str) -> dict[str, tuple[tuple[type, ...], bool, Any]]:
    """The options of Optuna's sampler ``name`` (``tpe``, ``cmaes``, ``gp``, ``random``) that
    take a plain value: constructor argument -> (allowed types, None allowed, default). Read
    from the installed Optuna's signature, so they follow its version; callables, samplers and trial
    lists (``gamma``, ``x0``, ``independent_sampler``, ...) are left out, and so are ``seed``
    and CMA-ES's ``popsize``, which :func:`make_sampler` sets from ``seed`` and
    ``pop_size``, and the arguments Optuna ignores (``restart_strategy``, ``inc_popsize``,
    ``consider_prior``)."""
    options = {}
    for arg, p in inspect.signature(_optuna_class(name)).parameters.items():
        if arg in _SET_BY_US or (name, arg) in OPTUNA_IGNORED \
                or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        words = set(re.findall(r"[A-Za-z_][\w.]*", str(p.annotation)))
        types = tuple(_PLAIN_TYPES[w] for w in _PLAIN_TYPES if w in words)
        if types and words <= {*_PLAIN_TYPES, "None", "Optional", "Union"}:
            options[arg] = (types, "None" in words or "Optional" in words, p.default)
    return options


def _fits(value: Any, types: tuple[type, ...]) -> bool:
    """Whether ``value`` has one of ``types`` (an integer fits a float, NumPy's too; a bool
    fits bool only) and, if a number, is finite."""
    if isinstance(value, (bool, np.bool_)):
        return bool in types
    if isinstance(value, numbers.Integral):
        return int in types or float in types
    if isinstance(value, numbers.Real):
        return float in types and math.isfinite(value)
    return isinstance(value, str) and str in types


def _check_optuna_options(key: str, params: Mapping[str, Any]) -> None:
    """``ValueError`` for an option of Optuna's sampler ``key`` that it does not take, that
    make_sampler sets itself, or whose value has the wrong type, is not finite, or is
    negative (they are counts, weights and scales)."""
    options = optuna_options(key)
    for arg, value in params.items():
        if arg == "popsize" and key == "cmaes":  # (seed is make_sampler's own keyword)
            raise ValueError(f"sampler {key!r}: popsize is set by make_sampler's pop_size "
                             "argument")
        if (key, arg) in OPTUNA_IGNORED:
            raise ValueError(f"sampler {key!r}: Optuna ignores {arg} since version "
                             f"{OPTUNA_IGNORED[key, arg]} (deprecated); leave it out")
        if arg not in options:
            raise ValueError(f"sampler {key!r} has no option {arg!r}; allowed: "
                             f"{', '.join(options) or 'none'}")
        types, none_ok, _ = options[arg]
        if value is None and none_ok:
            continue
        ok = _fits(value, types)
        if ok and isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            ok = value >= 0  # counts, weights and scales
        what, test = _STRICTER.get((key, arg), ("", None))
        if not what:  # the type's own rule
            what = " or ".join(t.__name__ for t in types)
            what = ("an " if what.startswith("int") else "a ") + what
            what += " >= 0" if int in types or float in types else ""
        what += " or none" if none_ok else ""
        if not ok or (test is not None and not test(value)):
            raise ValueError(f"{arg} of Optuna's {key} sampler must be {what}, got {value!r}")


def sampler_names() -> list[str]:
    """Registry names followed by Optuna's ``tpe``, ``cmaes``, ``gp`` and ``random``."""
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
    (``pop_size`` is its ``popsize``), ``GPSampler`` or ``RandomSampler`` (these three have
    no population: ``pop_size`` must be None), ``params`` their plain-valued options
    (:func:`optuna_options`, e.g. ``multivariate=True`` for TPE), checked by type before
    Optuna checks them. Names are case-insensitive and ``_`` stands for ``-``; an unknown
    name is a ``ValueError`` listing the allowed ones."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in sampler_names():
        raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(sampler_names())}")
    if key in OPTUNA_SAMPLERS:
        _check_optuna_options(key, params)
    if key in NO_POPULATION and pop_size is not None:
        raise ValueError(f"sampler {key!r} has no population: pop_size={pop_size!r} would mean "
                         "nothing to it (it applies to the metaheuristics and cmaes); pass None")
    if key in OPTUNA_SAMPLERS:
        return _optuna_sampler(key, seed, pop_size, params)
    from metaheur.optuna._sampler import MetaheuristicSampler

    kw: dict[str, Any] = {} if n_trials is None else {"n_trials": n_trials}
    if search_space is not None:
        kw["search_space"] = dict(search_space)
    return MetaheuristicSampler(key, pop_size=pop_size, seed=seed, **kw, **params)


def _optuna_sampler(key: str, seed: int | None, pop_size: int | None,
                    params: Mapping[str, Any]) -> optuna.samplers.BaseSampler:
    kw = dict(params)
    if key == "cmaes":
        try:
            import cmaes  # type: ignore[import-untyped]  # noqa: F401  (CmaEsSampler needs it)
        except ImportError as exc:
            raise ValueError("sampler 'cmaes' needs the cmaes package: pip install cmaes") from exc
        kw = {"warn_independent_sampling": False, **kw, "popsize": pop_size}
    if key == "gp":
        try:
            import torch  # noqa: F401  (GPSampler fits its model with it)
        except ImportError as exc:
            raise ValueError("sampler 'gp' needs PyTorch: install metaheur's models extra, or "
                             "pip install torch") from exc
    try:
        return _optuna_class(key)(seed=seed, **kw)
    except (TypeError, ValueError) as exc:  # Optuna's own checks of the values
        raise ValueError(f"sampler {key!r}: {exc}") from None


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
