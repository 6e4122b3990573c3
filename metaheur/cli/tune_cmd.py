"""``metaheur tune``: tune a model's hyper-parameters with a metaheuristic (or TPE, CMA-ES,
random search) on an Optuna storage, resumably, with a progress bar and a report.

Defaults: LSTM-ELU on the embedded synthetic data, 48 trials of population 8, seed 0, a SQLite
study in ``metaheur-runs/<model>-<algo>/study.db``. Running the
same command again continues the study; Ctrl-C stops after saving what finished.
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import os
import shlex
import time
import warnings
from pathlib import Path
from typing import Any

from metaheur.models.catalog import FORMATS, MODELS, TRIALS_PER_GPU, quick_kwargs

DEFAULT_TRIALS = 48  # pop 8: initial population + 5 generations; about 9 min on 2 CPU cores
DEFAULT_POP_SIZE = 8
MIN_GENERATIONS = 5
QUICK_ENV = "METAHEUR_TUNE_QUICK"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``tune`` sub-parser."""
    p = subparsers.add_parser(
        "tune",
        help="tune a model's hyper-parameters (LSTM-ELU, IFM) on an Optuna storage",
        description="Tune the hyper-parameters of a model with a metaheuristic sampler "
        "(or Optuna's tpe, cmaes, random). Results go to --out: study.db (unless --storage), "
        "trials.csv, best.json and PNG plots. Running the same command again continues the "
        "study; several copies pointed at one --storage cooperate. Research benchmark, not "
        "for clinical use.",
    )
    p.add_argument("--algo", "-a", default="dlf-aoa",
                   help="aoa, dlf-aoa, pso, aco, gwo, poa (and plugins; `metaheur list`), "
                   "or Optuna's tpe, cmaes, random; default: dlf-aoa")
    p.add_argument("--model", "-m", default="lstm-elu",
                   help=f"model to tune: {', '.join(MODELS)}; default: lstm-elu")
    p.add_argument("--data", default=None, metavar="PATH",
                   help="dataset folder or .npz (format detected); default: embedded synthetic "
                   "data")
    p.add_argument("--data-format", default=None,
                   help=f"dataset format instead of detection: {', '.join(FORMATS)}")
    p.add_argument("--trials", "-n", type=int, default=DEFAULT_TRIALS,
                   help=f"finished trials wanted in the study (earlier runs count); "
                   f"default: {DEFAULT_TRIALS}")
    p.add_argument("--timeout", type=float, default=None,
                   help="stop starting new trials after this many seconds")
    p.add_argument("--pop-size", type=int, default=DEFAULT_POP_SIZE,
                   help=f"population size of the metaheuristic (cmaes: popsize); "
                   f"default: {DEFAULT_POP_SIZE}")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the sampler, the data split and the training; default: 0")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="training device; default: auto (CUDA when available)")
    p.add_argument("--profile", default=None, choices=["cpu", "gpu"],
                   help="search space / model sizes; default: gpu on CUDA, else cpu (a resumed "
                   "study keeps its own)")
    p.add_argument("--n-jobs", type=int, default=None,
                   help="parallel worker processes on this machine (1 torch thread each); "
                   f"default: min(2, CPU cores) on CPU, {TRIALS_PER_GPU} on CUDA")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="Optuna storage URL, e.g. postgresql://user:password@host/db; default: "
                   "sqlite:///<out>/study.db")
    p.add_argument("--study", default=None, metavar="NAME",
                   help="study name; default: <model>-<algo>")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="output folder; default: metaheur-runs/<model>-<algo>")
    p.add_argument("--pruner", default="none",
                   help="none, median, hyperband, successive-halving; default: none")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # tiny models (tests)
    return p


# ------------------------------------------------------------------------------ helpers
def _data_source(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(source, root)`` for the objective; ``ValueError``/``FileNotFoundError`` on bad input."""
    fmt = args.data_format
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown --data-format {fmt!r}; allowed: {', '.join(FORMATS)}")
    if args.data is None:
        if fmt not in (None, "synthetic", "digits"):
            raise ValueError(f"--data-format {fmt} needs --data PATH (the dataset's folder)")
        return fmt or "synthetic", None
    path = Path(args.data).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--data {args.data}: no such file or folder")
    if fmt in ("synthetic", "digits"):
        raise ValueError(f"--data-format {fmt} takes no --data PATH")
    from metaheur.models.data import detect_format

    found = detect_format(path)  # ValueError names the layouts allowed
    if fmt is not None and fmt != found:
        raise ValueError(f"--data {args.data} has the {found} layout, not {fmt}")
    fmt = found
    wanted = FORMATS[fmt]
    if wanted != args.model:
        raise ValueError(f"--data {args.data} is {fmt} data, which feeds --model {wanted}, "
                         f"not {args.model}")
    return fmt, str(path)


def _objective_kwargs(args: argparse.Namespace, source: str, root: str | None,
                      profile: str) -> dict[str, Any]:
    kw: dict[str, Any] = {"source": source, "root": root, "profile": profile,
                          "device": args.device, "seed": args.seed}
    if args.quick:  # tiny configuration for tests: seconds per trial
        kw.update(quick_kwargs(args.model, source))
    return kw


def _sampler(algo: str, seed: int, pop_size: int, n_trials: int, finished: int,
             space: dict[str, Any], worker: int = 0) -> Any:
    """Worker ``worker``'s sampler. Optuna's samplers get ``seed + 1000 * worker + finished``
    so that workers and resumed runs do not repeat points; a metaheuristic sampler keeps its
    state in the storage, so every worker gets the run's seed."""
    from metaheur.tuning import OPTUNA_SAMPLERS, make_sampler

    if algo in OPTUNA_SAMPLERS:
        seed = seed + 1000 * worker + finished
        return make_sampler(algo, seed=seed, pop_size=pop_size if algo == "cmaes" else None)
    return make_sampler(algo, seed=seed, pop_size=pop_size, n_trials=n_trials,
                        search_space=space)


def _command(args: argparse.Namespace, storage_shown: str | None) -> str:
    """The canonical command of this run (storage masked), used to say how to resume."""
    parts = ["metaheur", "tune", "--algo", args.algo, "--model", args.model,
             "--trials", str(args.trials), "--pop-size", str(args.pop_size),
             "--seed", str(args.seed), "--out", str(args.out)]
    if args.data is not None:
        parts += ["--data", args.data]
    if args.data_format is not None:
        parts += ["--data-format", args.data_format]
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.timeout is not None:
        parts += ["--timeout", f"{args.timeout:g}"]
    if storage_shown is not None:
        parts += ["--storage", storage_shown]
    if args.study_given:
        parts += ["--study", args.study]
    if args.pruner != "none":
        parts += ["--pruner", args.pruner]
    if args.quick:
        parts += ["--quick"]
    return " ".join(shlex.quote(p) for p in parts)


def _space_json(space: dict[str, Any]) -> dict[str, Any]:
    import json

    from optuna.distributions import distribution_to_json

    return {k: json.loads(distribution_to_json(d)) for k, d in space.items()}


def _quiet_libraries() -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the bar replaces per-trial lines
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        from metaheur.models.metrics import UndefinedMetricWarning

        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    except ImportError:  # pragma: no cover - models extra missing is reported later
        pass
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")


# ---------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> int:
    """Validate, open or create the study, run the trials, write and print the report."""
    from optuna.trial import TrialState

    from metaheur import tuning
    from metaheur.report import DISCLAIMER, summary_text, write_report

    algo = tuning.check_algo(args.algo)
    args.algo = algo
    if args.model not in MODELS:
        raise ValueError(f"unknown model {args.model!r}; allowed: {', '.join(MODELS)}")
    if args.trials < 1:
        raise ValueError(f"--trials must be an integer >= 1, got {args.trials}")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ValueError(f"--timeout must be a number of seconds > 0, got {args.timeout}")
    if args.pruner not in tuning.PRUNERS:
        raise ValueError(f"unknown pruner {args.pruner!r}; allowed: {', '.join(tuning.PRUNERS)}")
    if algo not in tuning.OPTUNA_SAMPLERS:
        import metaheur

        min_pop = metaheur.get(algo).min_pop_size
        if args.pop_size < min_pop:
            raise ValueError(f"--pop-size must be >= {min_pop} for {algo}, got {args.pop_size}")
    elif args.pop_size < 2:
        raise ValueError(f"--pop-size must be >= 2, got {args.pop_size}")
    if args.n_jobs is not None and args.n_jobs < 1:
        raise ValueError(f"--n-jobs must be >= 1, got {args.n_jobs}")
    args.quick = args.quick or os.environ.get(QUICK_ENV, "") not in ("", "0")
    source, root = _data_source(args)
    if source == "digits" and args.model != "lstm-elu":
        raise ValueError("--data-format digits feeds --model lstm-elu only")
    try:
        from metaheur.models.objectives import get_objective
        from metaheur.models.train import resolve_device
    except ImportError as exc:
        raise ValueError(f"tune needs the models extra ({exc}): pip install 'metaheur[models]'"
                         ) from None
    device = resolve_device(args.device)  # ValueError for cuda without a GPU
    n_jobs = args.n_jobs or (TRIALS_PER_GPU if device.type == "cuda"
                             else min(2, os.cpu_count() or 1))

    args.study_given = args.study is not None
    args.out = args.out or f"metaheur-runs/{args.model}-{algo}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    storage_url = args.storage or f"sqlite:///{out / 'study.db'}"
    storage_shown = tuning.mask_url(args.storage) if args.storage else None
    study_name = args.study or f"{args.model}-{algo}"
    command = _command(args, storage_shown)
    _quiet_libraries()

    storage = tuning.open_storage(storage_url)  # StorageError (masked) -> exit 2
    stored = _stored_attrs(storage, study_name)
    profile = args.profile or stored.get("profile") or ("gpu" if device.type == "cuda" else "cpu")
    objective_kwargs = _objective_kwargs(args, source, root, profile)
    objective_kwargs["artifact_dir"] = str(out / "artifacts")  # validation predictions
    objective = get_objective(args.model, **objective_kwargs)  # validates the options
    # data and the one-off feature stage once here, before the workers start (they read the
    # disk cache); a bad real dataset is bad input (exit 2)
    objective.prepare()
    space = objective.search_space()
    config = {
        "algo": algo, "model": args.model, "profile": profile, "seed": args.seed,
        "pop_size": args.pop_size, "data": source, "data_path": root,
        "search_space": _space_json(space), "pruner": args.pruner,
        "storage": tuning.mask_url(storage_url), "command": command,
    }
    study, created = tuning.open_study(storage, study_name, attrs=config,
                                       check=("algo", "model", "profile", "data"))
    finished = tuning.count_finished(study)

    print(f"metaheur tune: {algo} tuning {args.model} on {source} data "
          f"({len(space)} hyper-parameters, profile {profile})")
    print(f"  seed {args.seed}, device {device}, {n_jobs} worker(s), pop_size {args.pop_size}, "
          f"{args.trials} trials, pruner {args.pruner}")
    print(f"  study {study_name!r} in {tuning.mask_url(storage_url)} "
          + ("(new)" if created else f"(resumed: {finished} trials already finished)"))
    print(f"  {DISCLAIMER}")
    gens = tuning.generations(algo, args.pop_size, args.trials)
    if algo not in tuning.OPTUNA_SAMPLERS and gens < MIN_GENERATIONS:
        print(f"warning: {args.trials} trials give {algo} only {gens} generation(s) of "
              f"{args.pop_size} after the initial population (fewer than {MIN_GENERATIONS}); "
              f"raise --trials or lower --pop-size")

    if finished >= args.trials:
        print(f"the study already has {finished} finished trials (>= --trials {args.trials}); "
              f"nothing to run; raise --trials to continue it")
        outcome = tuning.TuneOutcome(finished, False, 0.0)
    else:
        del objective  # workers build their own; free the data before forking work
        outcome = tuning.run_trials(
            storage_url, study_name,
            sampler_factory=functools.partial(_sampler, algo, args.seed, args.pop_size,
                                              args.trials, finished, space),
            objective_factory=functools.partial(get_objective, args.model, **objective_kwargs),
            n_trials=args.trials, timeout=args.timeout, n_jobs=n_jobs, pruner=args.pruner,
            progress=not args.quiet, desc=f"{algo} trials", worker_init=_quiet_libraries,
        )

    study = _reload(storage, study_name)
    t0 = time.perf_counter()
    written = write_report(study, out, extra={"command": command, "seed": args.seed,
                                              "device": str(device), "n_jobs": n_jobs,
                                              "wall_seconds": round(outcome.seconds, 1)})
    print()
    print(summary_text(study))
    print(f"wrote {', '.join(p.name for p in written.values())} to {out}/ "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"{outcome.finished} of {args.trials} trials finished "
          f"({outcome.seconds:.0f} s this run). {DISCLAIMER}")
    if outcome.interrupted:
        print(f"Interrupted: {outcome.finished} finished trials are saved in "
              f"{tuning.mask_url(storage_url)}. Resume with:\n  {command}")
        return 130
    if outcome.error:
        print(f"metaheur tune: error: a trial failed: {outcome.error}. The finished trials are "
              f"saved; resume with:\n  {command}")
        return 1
    if outcome.finished < args.trials:
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        if args.timeout is not None and outcome.seconds >= args.timeout:
            print(f"Stopped by --timeout; continue with:\n  {command}")
        elif running:
            print(f"The other {running} trial(s) are running in other workers of this study.")
    return 0


def _stored_attrs(storage: Any, study_name: str) -> dict[str, Any]:
    import optuna

    for s in optuna.get_all_study_summaries(storage):
        if s.study_name == study_name:
            return dict(s.user_attrs)
    return {}


def _reload(storage: Any, study_name: str) -> Any:
    import optuna

    return optuna.load_study(study_name=study_name, storage=storage)
