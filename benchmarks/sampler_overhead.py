"""Sampler time per trial: metaheur's six samplers beside Optuna's Random, TPE and CMA-ES.

Wraps each sampler's ``before_trial``, ``infer_relative_search_space``,
``sample_relative``, ``sample_independent`` and ``after_trial`` with timers, sums them per
trial, and reports the median over trials 1-100 and over the last 100 trials of a study
(default 1,000 trials) on a 10-d float space with a constant objective, in memory and on a
temporary SQLite file. Ratios are against CmaEsSampler on the same storage and window.
The load average at the start and the end is printed beside the table.

    python benchmarks/sampler_overhead.py                  # full run (a few minutes)
    python benchmarks/sampler_overhead.py --trials 200     # smoke run
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import optuna
import pandas as pd

from metaheur.optuna import (
    ACOSampler,
    AOASampler,
    DLFAOASampler,
    GWOSampler,
    POASampler,
    PSOSampler,
)

METHODS = ("before_trial", "infer_relative_search_space", "sample_relative",
           "sample_independent", "after_trial")
DIM = 10


def samplers(n_trials: int) -> dict[str, Callable[[], optuna.samplers.BaseSampler]]:
    out: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {}
    for cls in (AOASampler, DLFAOASampler, PSOSampler, ACOSampler, GWOSampler, POASampler):
        out[cls.__name__] = functools.partial(cls, seed=0, n_trials=n_trials)
    out["RandomSampler"] = functools.partial(optuna.samplers.RandomSampler, seed=0)
    out["TPESampler"] = functools.partial(optuna.samplers.TPESampler, seed=0)
    out["CmaEsSampler"] = functools.partial(optuna.samplers.CmaEsSampler, seed=0)
    return out


def instrument(sampler: optuna.samplers.BaseSampler, acc: dict[int, float]) -> None:
    """Replace the sampler's methods by timed wrappers adding to ``acc[trial.number]``."""
    for name in METHODS:
        method = getattr(sampler, name)

        def timed(study: Any, trial: Any, *args: Any, _m: Any = method) -> Any:
            t0 = time.perf_counter()
            try:
                return _m(study, trial, *args)
            finally:
                acc[trial.number] += time.perf_counter() - t0

        setattr(sampler, name, timed)


def run_one(name: str, make: Callable[[], Any], storage: str, n_trials: int) -> dict[str, Any]:
    acc: dict[int, float] = defaultdict(float)
    sampler = make()
    instrument(sampler, acc)
    with tempfile.TemporaryDirectory() as tmp:
        url = None if storage == "memory" else f"sqlite:///{os.path.join(tmp, 'b.db')}"
        study = optuna.create_study(sampler=sampler, storage=url)

        def objective(trial: optuna.Trial) -> float:
            for i in range(DIM):
                trial.suggest_float(f"x{i}", -5.0, 5.0)
            return 1.0

        t0 = time.perf_counter()
        study.optimize(objective, n_trials=n_trials)
        wall = time.perf_counter() - t0
    per = [acc[i] * 1e3 for i in range(n_trials)]
    w = min(100, n_trials)
    return {
        "sampler": name,
        "storage": storage,
        "first_ms": statistics.median(per[:w]),
        "last_ms": statistics.median(per[-w:]),
        "wall_ms_per_trial": wall * 1e3 / n_trials,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--storages", nargs="+", default=["memory", "sqlite"],
                        choices=["memory", "sqlite"])
    parser.add_argument("--out", default="results/sampler_overhead/")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error(f"--trials must be >= 1, got {args.trials}")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    load_start = os.getloadavg()
    rows = []
    for storage in args.storages:
        for name, make in samplers(args.trials).items():
            rows.append(run_one(name, make, storage, args.trials))
            print(f"  {storage:6s} {name:14s} done", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    for col in ("first_ms", "last_ms"):
        ref = df[df.sampler == "CmaEsSampler"].set_index("storage")[col]
        df[col.replace("_ms", "_vs_cmaes")] = df[col] / df.storage.map(ref)
    w = min(100, args.trials)
    print(f"sampler time per trial (ms, median), {DIM}-d float space, {args.trials} trials; "
          f"first = trials 1-{w}, last = trials {args.trials - w + 1}-{args.trials}")
    print(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    load = [", ".join(f"{v:.2f}" for v in x) for x in (load_start, os.getloadavg())]
    print(f"load average (1, 5, 15 min): start {load[0]}, end {load[1]}; "
          f"{os.cpu_count()} CPUs")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "sampler_overhead.csv")
    df.to_csv(path, index=False)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
