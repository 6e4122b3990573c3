"""``metaheur tune``: tune a model's hyper-parameters with a metaheuristic (or TPE, CMA-ES,
random search) on an Optuna storage, resumably, with a progress bar and a report.

Defaults: LSTM-ELU on the embedded synthetic data, 48 trials of population 8, seed 0, a SQLite
study in ``metaheur-runs/<model>-<algo>/study.db``. Running the
same command again continues the study (with its stored seed and profile unless given);
Ctrl-C stops after saving what finished.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import shlex
import signal
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaheur.cli import tune_params
from metaheur.cli.tune_params import (
    DEFAULT_POP_SIZE,
    SAMPLER_OPTIONS,
    checked_params,
    min_pop,
    resolve_params,
    resolve_pop_size,
)
from metaheur.cli.tune_stored import (
    MAX_SEED,
    PROFILES,
    SAME,
    check_resume,
    check_storage_url,
    mismatch,
    read_algo_params,
    read_attrs,
    read_profile,
    read_seconds,
    read_seed,
    read_split,
    reload,
)
from metaheur.models.catalog import FORMATS, MODELS, TRIALS_PER_GPU

DEFAULT_TRIALS = 48  # pop 8: the initial population and 5 generations
MIN_GENERATIONS = 5
QUICK_ENV = "METAHEUR_TUNE_QUICK"
DEFAULT_SEED = 0
logger = logging.getLogger(__name__)


EXAMPLES = """examples:
  metaheur tune                                    # LSTM-ELU, DLF-AOA, 48 trials of pop 8
  metaheur tune --algo pso --trials 96 --n-jobs 2
  metaheur tune --model ifm --data ~/data/LIDC --algo gwo
  metaheur tune --algo dlf-aoa --algo-param boundary=reflect --out runs/reflect
  metaheur tune --algo tpe -p multivariate=true -p n_startup_trials=16
  metaheur tune --storage postgresql://user@host/db --study shared   # several machines
"""


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``tune`` sub-parser."""
    from metaheur.cli import OUT_ARG, HelpFormatter, int_arg, positive_float, text_arg
    from metaheur.harness.algo_params import key_value

    p = subparsers.add_parser(
        "tune",
        parents=[common],
        help="tune a model's hyper-parameters (LSTM-ELU, IFM) on an Optuna storage",
        description="Tune the hyper-parameters of a model with a metaheuristic sampler "
        "(or Optuna's tpe, cmaes, gp, random). Results go to --out: study.db (unless --storage), "
        "trials.csv, best.json and PNG plots. Running the same command again continues the "
        "study; several copies pointed at one --storage cooperate. Ctrl-C or SIGTERM stops "
        "within seconds, keeps the finished trials and prints the command that resumes. "
        "Research benchmark, not for clinical use.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--algo", "-a", default="dlf-aoa",
                   help="aoa, dlf-aoa, pso, aco, gwo, poa (and plugins; `metaheur list`), "
                   "or Optuna's tpe, cmaes, gp, random; default: dlf-aoa")
    p.add_argument("--model", "-m", default="lstm-elu",
                   help=f"model to tune: {', '.join(MODELS)}; default: lstm-elu")
    p.add_argument("--data", default=None, metavar="PATH", type=text_arg(),
                   help="dataset folder or .npz (format detected); default: embedded synthetic "
                   "data")
    p.add_argument("--data-format", default=None,
                   help=f"dataset format instead of detection: {', '.join(FORMATS)}")
    p.add_argument("--trials", "-n", type=int_arg("--trials", 1), default=DEFAULT_TRIALS,
                   help=f"finished trials wanted in the study (earlier runs count); "
                   f"default: {DEFAULT_TRIALS}")
    p.add_argument("--timeout", type=positive_float("--timeout"), default=None,
                   help="stop starting new trials after this many seconds")
    p.add_argument("--pop-size", type=int_arg("--pop-size"), default=None,
                   help=f"population size of the metaheuristic (cmaes: popsize); "
                   f"default: a resumed study's, else {DEFAULT_POP_SIZE}")
    p.add_argument("--algo-param", "-p", type=key_value, action="append", default=None,
                   metavar="KEY=VALUE",
                   help="a hyper-parameter of the metaheuristic (`metaheur list --params`) or "
                   f"an option of its sampler ({', '.join(SAMPLER_OPTIONS)}), e.g. "
                   "boundary=reflect; for tpe, cmaes and gp an option of Optuna's sampler, e.g. "
                   "multivariate=true; repeat for more; default: none (the published values; "
                   "a resumed study keeps its own)")
    p.add_argument("--seed", type=int_arg("--seed", 0, MAX_SEED), default=None,
                   help="seed of the sampler, the data split and the training; default: "
                   f"{DEFAULT_SEED} (a resumed study keeps its own)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="training device; default: auto (CUDA when available)")
    p.add_argument("--profile", default=None, choices=PROFILES,
                   help="search space / model sizes; default: gpu on CUDA, else cpu (a resumed "
                   "study keeps its own)")
    p.add_argument("--n-jobs", "-j", type=int_arg("--n-jobs", 1, os.cpu_count() or 1),
                   default=None,
                   help="parallel worker processes on this machine (1 torch thread each; at "
                   f"most the CPU cores); default: min(2, CPU cores) on CPU, {TRIALS_PER_GPU} "
                   "on CUDA")
    p.add_argument("--storage", default=None, metavar="URL", type=text_arg(),
                   help="Optuna storage URL (postgresql://user:password@host/db, ...) or "
                   "SQLite file (a new one: *.db, *.sqlite*); default: sqlite:///<out>/study.db")
    p.add_argument("--study", default=None, metavar="NAME", type=text_arg(),
                   help="study name; default: <model>-<algo>")
    p.add_argument("--out", default=None, metavar="DIR", type=OUT_ARG,
                   help="output folder; default: metaheur-runs/<model>-<algo>")
    p.add_argument("--pruner", default="none",
                   help="none, median, hyperband, successive-halving; default: none")
    p.add_argument("--json", action="store_true",
                   help="print best.json's content on stdout (the run's notes go to stderr)")
    p.add_argument("--progress", action="store_true",
                   help="draw the progress bar even when stderr is not a terminal")
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)  # tiny models (tests)
    return p


# ------------------------------------------------------------------------------ helpers
def _data_source(args: argparse.Namespace) -> tuple[str, str | None]:
    """``(source, root)`` for the objective; ``ValueError``/``FileNotFoundError`` on bad input.
    A built-in dataset format is checked against the layout at ``--data``; a format that a
    registered model brings (``register_model(..., formats=...)``) goes to its objective as
    it is, with ``--data``'s path (or ``None``) as ``root``."""
    fmt = args.data_format
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown --data-format {fmt!r}; allowed: {', '.join(FORMATS)}")
    own = False  # a format that a registered model brings
    if fmt not in (None, "synthetic", "digits"):
        from metaheur.models.data.types import LAYOUTS

        own = fmt not in LAYOUTS
    root = None
    if args.data is None:
        if fmt not in (None, "synthetic", "digits") and not own:
            raise ValueError(f"--data-format {fmt} needs --data PATH (the dataset's folder)")
        if not own:
            return fmt or "synthetic", None
    else:
        path = Path(args.data).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"--data {args.data}: no such file or folder")
        if fmt in ("synthetic", "digits"):
            raise ValueError(f"--data-format {fmt} takes no --data PATH")
        from metaheur.models.data import detect_format

        found = fmt if own else detect_format(path, expected=fmt)  # names fmt's layout (or all)
        if fmt is not None and fmt != found:
            raise ValueError(f"--data {args.data} has the {found} layout, not {fmt}")
        fmt, root = found, str(path.resolve())  # the study records where its data is
    wanted = FORMATS[fmt]
    if wanted != args.model:
        what = f"--data-format {fmt}" if own else f"--data {args.data} is {fmt} data, which"
        raise ValueError(f"{what} feeds --model {wanted}, not {args.model}")
    return fmt, root


def _command(args: argparse.Namespace, storage_shown: str | None) -> str:
    """The canonical command of this run (storage masked), used to say how to resume;
    without ``--seed``, ``--profile`` or ``--algo-param`` while it is not known yet (the
    study's own is used then)."""
    from metaheur.harness.algo_params import as_options

    parts = ["metaheur", "tune", "--algo", args.algo, "--model", args.model,
             "--trials", str(args.trials)]
    if args.pop_size is not None:
        parts += ["--pop-size", str(args.pop_size)]
    if args.algo_params:
        parts += as_options(args.algo_params)
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    if args.profile is not None:
        parts += ["--profile", args.profile]
    parts += ["--out", str(args.out)]
    if args.data is not None:
        parts += ["--data", args.data]
    if args.data_format is not None:
        parts += ["--data-format", args.data_format]
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.timeout is not None:
        short = f"{args.timeout:g}"  # 7200, not 7200.0; repr where six digits lose some
        parts += ["--timeout", short if float(short) == args.timeout else repr(args.timeout)]
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


def _quiet_libraries(verbose: int = 0) -> None:
    """Logging and warning filters of this process and of every worker (picklable)."""
    import optuna

    from metaheur.cli import configure_logging

    configure_logging(verbose)  # -vv turns Optuna's per-trial log back on
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        from metaheur.models.metrics import UndefinedMetricWarning

        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    except ImportError:  # pragma: no cover - models extra missing is reported later
        pass


def _validate(args: argparse.Namespace) -> str:
    """Check the options that need no data; returns the normalised algorithm name."""
    import sys

    from metaheur.harness import study as tuning
    from metaheur.optuna import NO_POPULATION

    algo = tuning.check_algo(args.algo)
    if args.pop_size is not None and algo in NO_POPULATION:  # said, not silently ignored
        print(f"metaheur tune: warning: --pop-size has no effect with {algo}", file=sys.stderr)
    # a resume without --pop-size keeps the study's (read later); the default is checked now
    pop = DEFAULT_POP_SIZE if args.pop_size is None else args.pop_size
    if args.model not in MODELS:
        raise ValueError(f"unknown model {args.model!r}; allowed: {', '.join(MODELS)}")
    if args.pruner not in tuning.PRUNERS:
        raise ValueError(f"unknown pruner {args.pruner!r}; allowed: {', '.join(tuning.PRUNERS)}")
    if pop < min_pop(algo):
        raise ValueError(f"--pop-size must be >= {min_pop(algo)} for {algo}, got {pop}")
    # None: not given, a resumed study keeps its own
    args.algo_params = (None if args.algo_param is None else checked_params(
        algo, argparse.Namespace(pop_size=pop, trials=args.trials), args.algo_param))
    return algo


# ---------------------------------------------------------------------------------- run
@dataclass
class _Plan:
    """What ``run`` decided before opening the study."""

    algo: str
    source: str
    root: str | None
    device: Any
    n_jobs: int
    out: Path
    storage_url: str
    storage_shown: str | None  # --storage masked, for the command (None: the default)
    study_name: str
    command: str  # updated once the seed is known
    info: Any  # where notes go: stdout, or stderr under --json


def run(args: argparse.Namespace) -> int:
    """Validate, open or create the study, run the trials, write and print the report; a
    stop signal at any point prints the command that resumes."""
    import sys

    from metaheur.harness import storage as storages

    algo = args.algo = _validate(args)
    args.quick = args.quick or os.environ.get(QUICK_ENV, "") not in ("", "0")
    source, root = _data_source(args)
    if source == "digits" and args.model != "lstm-elu":
        raise ValueError("--data-format digits feeds --model lstm-elu only")
    try:
        from metaheur.models.objectives import get_objective  # noqa: F401  (models extra?)
        from metaheur.models.train import resolve_device
    except ImportError as exc:
        raise ValueError(f"tune needs the models extra ({exc}): pip install 'metaheur[models]'"
                         ) from None
    device = resolve_device(args.device)  # ValueError for cuda without a GPU
    n_jobs = args.n_jobs or (TRIALS_PER_GPU if device.type == "cuda"
                             else min(2, os.cpu_count() or 1))

    args.study_given = args.study is not None
    args.out = args.out or f"metaheur-runs/{args.model}-{algo}"
    # a URL (shown masked) or an SQLite file's path (shown as given); not an in-memory one
    given = check_storage_url(storages.storage_url(args.storage)) if args.storage else None
    out = storages.check_output_dir(args.out)  # before any work: a bad --out is exit 2 now
    storage_url = given or storages.sqlite_url(out / "study.db")
    storage_shown = args.storage if given != args.storage else given and storages.mask_url(given)
    study_name = args.study or f"{args.model}-{algo}"
    with warnings.catch_warnings(record=True) as caught:  # tune's own one-line warnings
        warnings.simplefilter("always")
        storages.check_results_owner(out, study_name)  # another study's results: exit 2 now
    for w in caught:
        print(f"metaheur tune: warning: {w.message}", file=sys.stderr)
    command = _command(args, storage_shown)
    _quiet_libraries(args.verbose)
    info = sys.stderr if args.json else sys.stdout  # under --json stdout is the JSON
    plan = _Plan(algo, source, root, device, n_jobs, out, storage_url, storage_shown,
                 study_name, command, info)
    try:
        return _tune(args, plan)
    except KeyboardInterrupt as exc:  # a stop outside the trials (they handle their own)
        from metaheur.cli import signal_of

        signum = signal_of(exc)
        how = "Stopped by SIGTERM" if signum == signal.SIGTERM else "Interrupted"
        print(f"{how}: the finished trials are saved in {storages.mask_url(storage_url)}. "
              f"Resume with:\n  {plan.command}", file=sys.stderr)
        return 128 + signum


def _tune(args: argparse.Namespace, plan: _Plan) -> int:
    """Open or create the study, run the trials, write and print the report."""
    import sys

    from optuna.trial import TrialState

    from metaheur.cli.tune_results import ending, finish, record_run
    from metaheur.harness import runs
    from metaheur.harness import storage as storages
    from metaheur.harness import study as tuning
    from metaheur.harness.progress import want_progress
    from metaheur.harness.report import DISCLAIMER
    from metaheur.harness.seeding import tune_sampler
    from metaheur.models.objectives import get_objective
    from metaheur.optuna import NO_POPULATION

    algo, source, root, device, n_jobs = plan.algo, plan.source, plan.root, plan.device, \
        plan.n_jobs
    out, storage_url, study_name = plan.out, plan.storage_url, plan.study_name

    def note(text: str) -> None:
        if not args.quiet:
            print(text, file=plan.info)

    storage = storages.open_storage(storage_url)  # StorageError (masked) -> exit 2
    stored = read_attrs(storage, study_name)
    stored_seed = read_seed(stored, study_name)  # checked even when --seed is given
    seed_inherited = args.seed is None and stored_seed is not None
    if seed_inherited:
        logger.info("study %r continues with its stored seed %d", study_name, stored_seed)
        args.seed = stored_seed
    elif args.seed is None:
        args.seed = DEFAULT_SEED
    pop_inherited = args.pop_size is None and stored.get("pop_size") is not None
    args.pop_size = resolve_pop_size(args, stored, study_name, algo)
    stored_profile = read_profile(stored, study_name)  # checked even when --profile is given
    if args.profile is None and stored_profile is not None:
        logger.info("study %r continues with its stored profile %s", study_name, stored_profile)
    profile = args.profile = (args.profile or stored_profile
                              or ("gpu" if device.type == "cuda" else "cpu"))
    split = read_split(stored, study_name)
    if split == "random" and "split" not in stored:
        logger.info("study %r was created before tune recorded its split: it continues with "
                    "the shuffled split its trials were scored on (new studies stratify)",
                    study_name)
    params = resolve_params(args, algo, read_algo_params(stored, study_name), study_name,
                            stored.get("pop_size"))
    command = plan.command = _command(args, plan.storage_shown)  # now with seed and profile
    objective_kwargs = tune_params.objective_kwargs(  # artifacts: validation predictions
        args, source, root, profile, split, str(out / "artifacts"))
    check_resume(stored, study_name, {"algo": algo, "model": args.model, "profile": profile,
                                      "data": source, "seed": args.seed, "data_path": root})
    objective = get_objective(args.model, **objective_kwargs)  # validates the options
    # data and the one-off feature stage once here, before the workers start (they read the
    # disk cache); a bad real dataset is bad input (exit 2)
    note(f"metaheur tune: preparing the {source} data for {args.model} (a first run also "
         "trains any feature stage the model caches)")
    objective.prepare()
    space = objective.search_space()
    config = {
        "algo": algo, "model": args.model, "profile": profile, "seed": args.seed,
        "pop_size": args.pop_size, "algo_params": params, "data": source, "data_path": root,
        "search_space": _space_json(space), "pruner": args.pruner, "split": split,
        "objective_label": objective.label,
        "storage": storages.mask_url(storage_url), "command": command,
    }
    try:
        study, created = tuning.open_study(storage, study_name, attrs=config, check=SAME,
                                           paths=("data_path",), strict=True)
    except tuning.StudyMismatchError as exc:  # another copy made the study meanwhile
        raise mismatch(exc) from None
    finished = tuning.count_finished(study)

    note(f"metaheur tune: {algo} tuning {args.model} on {source} data "
         f"({len(space)} hyper-parameters, profile {profile})")
    population = "" if algo in NO_POPULATION else (
        f"pop_size {args.pop_size}" + (" (the study's), " if pop_inherited else ", "))
    seed_note = f"seed {args.seed}" + (" (the study's)" if seed_inherited else "")
    note(f"  {seed_note}, device {device}, {n_jobs} worker(s), {population}"
         f"{args.trials} trials, pruner {args.pruner}")
    if params:
        note("  " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
    note(f"  study {study_name!r} in {storages.mask_url(storage_url)} "
         + ("(new)" if created else f"(resumed: {finished} trials already finished)"))
    note(f"  {DISCLAIMER}")
    hyper = {k: v for k, v in params.items() if k not in SAMPLER_OPTIONS}  # the algorithm's
    few = tuning.too_few_generations(algo, args.pop_size, args.trials, minimum=MIN_GENERATIONS,
                                     params=hyper)
    if few and finished < args.trials:  # advice for a run, not for "nothing to run"
        print(f"metaheur tune: warning: {few}", file=sys.stderr)

    if finished >= args.trials:
        note(f"the study already has {finished} finished trials (>= --trials {args.trials}); "
             f"nothing to run; raise --trials to continue it")
        outcome = runs.TuneOutcome(finished, False, 0.0)
    else:
        del objective  # workers build their own; free the data before forking work
        outcome = runs.run_trials(
            storage_url, study_name,
            sampler_factory=functools.partial(tune_sampler, algo, args.seed, args.pop_size,
                                              args.trials, space, params),
            objective_factory=functools.partial(get_objective, args.model, **objective_kwargs),
            n_trials=args.trials, timeout=args.timeout, n_jobs=n_jobs, pruner=args.pruner,
            progress=args.progress or want_progress(not args.quiet), desc=f"{algo} trials",
            worker_init=functools.partial(_quiet_libraries, args.verbose),
        )
        study = reload(storage, study_name)
        total = read_seconds(study.user_attrs, study_name) + outcome.seconds
        study.set_user_attr("wall_seconds", round(total, 1))  # over every run of the study
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        record_run(study, {"command": command, "pop_size": args.pop_size,
                           "pruner": args.pruner, "trials": args.trials, "device": str(device),
                           "n_jobs": n_jobs, "run_seconds": round(outcome.seconds, 1),
                           "finished": outcome.finished, "new": outcome.finished - finished,
                           "ended": ending(outcome, args, running)})

    study = reload(storage, study_name)
    return finish(args, study, outcome, out=out, storage_url=storage_url, command=command)
