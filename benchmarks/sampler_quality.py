"""Best value reached through Optuna: metaheur's six samplers beside TPE, CMA-ES and random.

Shifted rastrigin, rosenbrock and ackley (``metaheur.functions``, d = 10, shift seeded per
run), 1,000 trials and 10 seeds by default; every sampler gets ``n_trials`` = the study's
trial count. Prints the median best value per (function, sampler), with the ratio to
random search, and the load average (the ``median_s`` column is a timing), and writes every
run to CSV. Runs in parallel over (sampler, function, seed) with joblib.

    python benchmarks/sampler_quality.py                           # full run (long: TPE)
    python benchmarks/sampler_quality.py --trials 300 --seeds 3    # reduced run
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np
import optuna
import pandas as pd
from joblib import Parallel, delayed

import metaheur.functions as F
from metaheur import available
from metaheur.optuna import MetaheuristicSampler

FUNCTIONS = ("rastrigin", "rosenbrock", "ackley")
METAHEUR = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
OPTUNA = ("tpe", "cmaes", "random")
DIM = 10


def make_sampler(name: str, seed: int, n_trials: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return MetaheuristicSampler(name, seed=seed, n_trials=n_trials)


def run(sampler: str, fn: str, seed: int, n_trials: int) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    func = F.get(fn, DIM, shift=True, seed=seed)
    lower, upper = np.asarray(func.lower), np.asarray(func.upper)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", lower[i], upper[i]) for i in range(DIM)])
        return float(func(x[None, :])[0])

    study = optuna.create_study(sampler=make_sampler(sampler, seed, n_trials))
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    return {"function": fn, "sampler": sampler, "seed": seed, "best": study.best_value,
            "seconds": time.perf_counter() - t0}


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in load)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--samplers", nargs="+", default=list(METAHEUR + OPTUNA),
                        help=", ".join(METAHEUR + OPTUNA) + " or any registered algorithm")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--out", default="results/sampler_quality/")
    args = parser.parse_args(argv)
    for option in ("trials", "seeds"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be >= 1, got {getattr(args, option)}")
    allowed = [*OPTUNA, *available()]
    if unknown := [s for s in args.samplers if s not in allowed]:
        parser.error(f"--samplers: unknown {unknown}; allowed: {', '.join(allowed)}")
    load_start = os.getloadavg()
    seeds = [int(s.generate_state(1)[0] % 2**31)
             for s in np.random.SeedSequence(20240601).spawn(args.seeds)]
    jobs = [(s, fn, seed) for s in args.samplers for fn in FUNCTIONS for seed in seeds]
    rows = Parallel(n_jobs=args.n_jobs)(delayed(run)(s, fn, seed, args.trials)
                                        for s, fn, seed in jobs)
    df = pd.DataFrame(rows)
    table = df.pivot_table(index="sampler", columns="function", values="best",
                           aggfunc="median").reindex(args.samplers)
    if "random" in table.index:
        ratio = table / table.loc["random"]
        table = table.join(ratio.add_suffix("/random"))
    secs = df.groupby("sampler")["seconds"].median().reindex(args.samplers)
    table["median_s"] = secs
    print(f"median best value over {args.seeds} seeds, shifted functions, d={DIM}, "
          f"{args.trials} trials (lower is better)")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"load average (1, 5, 15 min): start {_load(load_start)}, end "
          f"{_load(os.getloadavg())}; {os.cpu_count()} CPUs, --n-jobs {args.n_jobs}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "sampler_quality.csv")
    df.to_csv(path, index=False)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
