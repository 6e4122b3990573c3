"""Configurations evaluated twice by parallel workers in a conditional search space.

The objective chooses ``model`` among three branches: ``a`` (an int in [1, 4] and a
choice of two: 8 configurations), ``b`` (an int in [1, 3]: 3 configurations) and ``c``
(a float); each trial sleeps 1-3 times ``--trial-seconds`` (0.05), as a short training
run would take. Two rows of a generation may differ only in the parameters their branch
does not use: one configuration. ``--space subset`` instead nests one branch in the
other: ``use_y`` chooses whether an int ``y`` in [0, 40] is used beside an int ``x`` in
[0, 2] (3 configurations without ``y``, 123 with it), and the study's first trial is an
enqueued one that uses ``y``, so the first generation is made while every completed
trial has every parameter. ``--partial-fixed`` adds to either space an int ``folds`` in
[2, 10], suggested first and fixed to 5 by Optuna's ``PartialFixedSampler`` around our
sampler (which then leaves it out of the run's space). Per sampler and seed, an in-memory
study of ``--trials`` trials (``pop_size`` ``--pop-size``) run two ways:

* ``threads``: ``study.optimize(n_jobs=--workers)``;
* ``batch``: ``--workers`` trials asked one after another, each suggesting its parameters at
  once (its objective has begun), then told together;
* ``late``: ``--workers`` trials asked one after another, then each suggests and is told
  in turn (no trial suggests before every one has claimed: a worker's widest window).

Counts the trials that repeat the configuration of an earlier trial (``repeats``) and
sorts them by the earlier trial: ``unclaimed`` (no row of a run: the first trials, sampled
independently before the run can start), ``other_run`` (a row of a run over a smaller
union space, from before a branch's parameters were first seen) and ``same_run``. Prints
one table with the wall time and the load average; writes ``parallel_repeats.csv``
(``parallel_repeats_subset.csv`` for the subset space, ``..._fixed.csv`` with
``--partial-fixed``)::

    python benchmarks/parallel_repeats.py [--samplers pso gwo] [--seeds 5] [--trials 60]
        [--space subset] [--partial-fixed]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from metaheur.optuna import MetaheuristicSampler  # noqa: E402

OURS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")


TRIAL_SECONDS = 0.05


def three_models(trial: optuna.Trial) -> float:
    model = trial.suggest_categorical("model", ["a", "b", "c"])
    if model == "a":
        value = trial.suggest_int("a_n", 1, 4) + 0.1 * trial.suggest_categorical("a_k", [0, 1])
    elif model == "b":
        value = 2.0 + trial.suggest_int("b_n", 1, 3)
    else:
        value = 5.0 + trial.suggest_float("c_x", -1.0, 1.0) ** 2
    time.sleep(TRIAL_SECONDS * (1 + trial.number % 3))
    return value


def subset(trial: optuna.Trial) -> float:
    use_y = trial.suggest_categorical("use_y", [0, 1])
    x = trial.suggest_int("x", 0, 2)
    time.sleep(TRIAL_SECONDS * (1 + trial.number % 3))
    return x + (trial.suggest_int("y", 0, 40) / 10 if use_y else 0.5)


SPACES = {"three": (three_models, None), "subset": (subset, {"use_y": 1, "x": 1, "y": 5})}
FIXED = {"folds": 5}  # --partial-fixed


def with_folds(objective: Any) -> Any:
    """``objective`` that first suggests ``folds`` (fixed by ``PartialFixedSampler``)."""
    def wrapped(trial: optuna.Trial) -> float:
        trial.suggest_int("folds", 2, 10)  # FIXED["folds"] in every trial
        return objective(trial)
    return wrapped


def count(study: optuna.Study, algo: str) -> dict[str, int]:
    """Repeated configurations, by what the earlier trial of the configuration was."""
    first: dict[str, optuna.trial.FrozenTrial] = {}
    out = {"repeats": 0, "unclaimed": 0, "other_run": 0, "same_run": 0}
    for t in study.trials:
        key = json.dumps(t.params, sort_keys=True)
        if key in first:
            out["repeats"] += 1
            a, b = (s.system_attrs.get(f"metaheur:{algo}") for s in (first[key], t))
            if not (isinstance(a, dict) and "row" in a):
                out["unclaimed"] += 1
            else:
                out["same_run" if isinstance(b, dict) and b.get("run") == a["run"]
                    else "other_run"] += 1
        first.setdefault(key, t)
    return out


def run(algo: str, seed: int, mode: str, trials: int, workers: int, pop: int,
        space: str = "three", fixed: bool = False) -> dict:
    objective, first = SPACES[space]
    sampler: optuna.samplers.BaseSampler = MetaheuristicSampler(
        algo, seed=seed, n_trials=trials, pop_size=pop, warn_independent_sampling=False)
    if fixed:
        sampler = optuna.samplers.PartialFixedSampler(FIXED, sampler)
        objective, first = with_folds(objective), first and {**FIXED, **first}
    study = optuna.create_study(sampler=sampler)
    if first is not None:
        study.enqueue_trial(first)
    t0 = time.perf_counter()
    if mode == "threads":
        study.optimize(objective, n_trials=trials, n_jobs=workers)
    else:
        while len(study.trials) < trials:
            asked = []
            for _ in range(min(workers, trials - len(study.trials))):
                trial = study.ask()
                asked.append((trial, objective(trial) if mode == "batch" else None))
            for trial, value in asked:
                study.tell(trial, objective(trial) if value is None else value)
    return {"mode": mode, "sampler": algo, "seed": seed, "trials": len(study.trials),
            **count(study, algo), "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    global TRIAL_SECONDS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samplers", nargs="+", default=list(OURS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--pop-size", type=int, default=10)
    ap.add_argument("--modes", nargs="+", choices=("threads", "batch", "late"),
                    default=["threads", "batch"])
    ap.add_argument("--trial-seconds", type=float, default=TRIAL_SECONDS)
    ap.add_argument("--space", choices=sorted(SPACES), default="three")
    ap.add_argument("--partial-fixed", action="store_true",
                    help="add a parameter that PartialFixedSampler fixes")
    ap.add_argument("--out", type=Path, default=Path("."))
    args = ap.parse_args(argv)
    if min(args.seeds, args.trials, args.workers, args.pop_size) < 1 or args.trial_seconds < 0:
        ap.error("--seeds, --trials, --workers and --pop-size must be >= 1, "
                 "--trial-seconds >= 0")
    TRIAL_SECONDS = args.trial_seconds
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    load0 = os.getloadavg()
    rows = [run(a, s, m, args.trials, args.workers, args.pop_size, args.space, args.partial_fixed)
            for m in args.modes for a in args.samplers for s in range(args.seeds)]
    df = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = ("" if args.space == "three" else f"_{args.space}") + (
        "_fixed" if args.partial_fixed else "")
    df.to_csv(args.out / f"parallel_repeats{suffix}.csv", index=False)
    table = df.groupby(["mode", "sampler"], sort=False)[
        ["trials", "repeats", "unclaimed", "other_run", "same_run", "seconds"]].sum()
    fixed = " + a parameter fixed by PartialFixedSampler" if args.partial_fixed else ""
    print(f"{args.space} space{fixed}: {args.seeds} seeds x {args.trials} trials, {args.workers} "
          f"workers, pop_size {args.pop_size}")
    print(table.to_string())
    print(f"\ntotal repeats per mode: {df.groupby('mode', sort=False)['repeats'].sum().to_dict()}")
    print(f"load average: {load0[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
          f"({os.cpu_count()} CPUs)")
    return df


if __name__ == "__main__":
    main()
