"""``metaheur tune --algo-param`` and ``--pop-size``: checked before any data is read,
recorded in the study, inherited by a resume that gives none (``--algo-param`` values that
differ from the study's are refused); and the keywords tune constructs the model's
objective with."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from typing import Any

from metaheur.cli.tune_stored import read_pop_size
from metaheur.harness.algo_params import as_options, check_algo_params, check_optuna_params

__all__ = ["DEFAULT_POP_SIZE", "OWNED", "SAMPLER_OPTIONS", "checked_params", "min_pop",
           "objective_kwargs", "resolve_params", "resolve_pop_size"]

logger = logging.getLogger(__name__)

DEFAULT_POP_SIZE = 8
#: Options of the metaheuristic sampler that --algo-param takes beside the hyper-parameters.
SAMPLER_OPTIONS = ("skip_evaluated", "speculative", "wait_timeout", "consider_pruned_trials")
#: What this command sets with options of its own.
OWNED = {"pop_size": "--pop-size", "seed": "--seed", "n_trials": "--trials",
         "search_space": "--profile (the model's search space)"}


def objective_kwargs(args: argparse.Namespace, source: str, root: str | None, profile: str,
                     split: str, artifact_dir: str) -> dict[str, Any]:
    """The keywords tune constructs ``args.model``'s objective with: ``source``, ``root``,
    ``profile``, ``device``, ``seed`` and ``artifact_dir`` (README "Adding a model": what
    its constructor must accept); ``split`` where the constructor takes it (by name or
    ``**kwargs``, as :class:`~metaheur.models.objectives.Objective` does), since an
    objective that does not cannot split by it; and under the hidden ``--quick`` the tiny
    configuration (tests)."""
    import inspect

    from metaheur.models.catalog import objective_class, quick_kwargs

    kw: dict[str, Any] = {"source": source, "root": root, "profile": profile,
                          "device": args.device, "seed": args.seed,
                          "artifact_dir": artifact_dir}
    try:
        params = inspect.signature(objective_class(args.model)).parameters.values()
        takes_split = any(p.kind is p.VAR_KEYWORD or p.name == "split" for p in params)
    except (TypeError, ValueError):  # no signature to read: give it, as before
        takes_split = True
    if takes_split:
        kw["split"] = split
    if args.quick:  # tiny configuration for tests: seconds per trial
        kw.update(quick_kwargs(args.model, source))
    return kw


def checked_params(algo: str, args: argparse.Namespace,
                   pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """``--algo-param`` pairs as a dict, checked before any data is read: names by
    :func:`~metaheur.harness.algo_params.check_algo_params` (Optuna's samplers:
    :func:`~metaheur.harness.algo_params.check_optuna_params`), values by building the
    sampler once (the algorithm's constraints name what is allowed); ``ValueError``
    otherwise."""
    import metaheur
    from metaheur.harness.seeding import tune_sampler
    from metaheur.harness.study import OPTUNA_SAMPLERS

    if algo in OPTUNA_SAMPLERS:
        return check_optuna_params(algo, pairs, owned=OWNED)
    params = check_algo_params(metaheur.get(algo), pairs, options=SAMPLER_OPTIONS, owned=OWNED)
    tune_sampler(algo, 0, args.pop_size, args.trials, None, params)  # tune's own warnings
    return params


def resolve_params(args: argparse.Namespace, algo: str, stored: dict[str, Any] | None,
                   study_name: str, stored_pop: Any = None) -> dict[str, Any]:
    """The run's ``--algo-param`` values: those given (an existing study must have been
    created with the same), else the study's own (untrusted input: checked like given ones,
    a bad one is a ``ValueError`` naming the study), else none. ``stored_pop``: the
    ``--pop-size`` the study last ran with (untrusted), to tell a stored value that does
    not suit this run's ``--pop-size`` (the option is then at fault) from a malformed one."""
    given = args.algo_params
    if given is None:
        if not stored:
            return {}
        logger.info("study %r continues with its stored --algo-param %s", study_name,
                    " ".join(as_options(stored)[1::2]))
        try:
            params = checked_params(algo, args, stored.items())
        except ValueError as exc:
            _refuse_pop_size(algo, args, stored, study_name, stored_pop, exc)
            import optuna

            from metaheur.harness.study import OPTUNA_SAMPLERS

            which = f" for Optuna {optuna.__version__}" if algo in OPTUNA_SAMPLERS else ""
            raise ValueError(f"study {study_name!r} has algo_params in its storage that are "
                             f"malformed{which} ({exc}); use --study NAME --out DIR to start "
                             "another study") from None
        args.algo_params = params
        return params
    if stored is not None and stored != given:
        keep = " ".join(as_options(stored)) or "no --algo-param"
        raise ValueError(f"study {study_name!r} was created with algo_params={stored!r}, not "
                         f"{given!r}; use --study NAME --out DIR to start another study "
                         f"(or {keep} to continue this one)")
    return given


def _refuse_pop_size(algo: str, args: argparse.Namespace, stored: dict[str, Any],
                     study_name: str, stored_pop: Any, exc: ValueError) -> None:
    """Raise a ``ValueError`` naming ``--pop-size`` when the study's ``stored`` values,
    refused with this run's ``--pop-size`` (``exc``), pass with the one it ran with."""
    if (not isinstance(stored_pop, int) or isinstance(stored_pop, bool)
            or stored_pop == args.pop_size):
        return
    try:
        checked_params(algo, argparse.Namespace(pop_size=stored_pop, trials=args.trials),
                       stored.items())
    except (ValueError, TypeError):
        return
    kept = " ".join(as_options(stored))
    raise ValueError(f"--pop-size {args.pop_size} does not suit the {kept} that study "
                     f"{study_name!r} keeps ({exc}); it ran with --pop-size {stored_pop}"
                     ) from None


def min_pop(algo: str) -> int:
    """The smallest ``--pop-size`` ``algo`` takes."""
    from metaheur.harness.study import OPTUNA_SAMPLERS

    if algo in OPTUNA_SAMPLERS:
        return 2
    import metaheur

    return metaheur.get(algo).min_pop_size


def resolve_pop_size(args: argparse.Namespace, stored: dict[str, Any], study_name: str,
                     algo: str) -> int:
    """``--pop-size``, else the one a resumed study last ran with, else the default."""
    if args.pop_size is not None:
        return args.pop_size
    pop = read_pop_size(stored, study_name, min_pop(algo))
    return DEFAULT_POP_SIZE if pop is None else pop
