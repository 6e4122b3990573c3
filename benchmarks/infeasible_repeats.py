"""Trials spent again on infeasible or pruned points: our samplers on a half-bad integer space.

The objective (``x``, ``y`` integers in [0, 12]) returns ``inf`` where ``x > 6``, the usual
way to say "infeasible", and ``(x - 3)**2 + (y - 5)**2`` elsewhere. With ``--pruned`` it
reports that bad half's first intermediate value as 1,000 instead, and Optuna's
``ThresholdPruner(upper=100)`` prunes it (an early-stopped training run). An algorithm keeps
proposing points in the bad half, and in a discrete space it often proposes one already
evaluated. Per sampler, over ``--seeds`` in-memory studies of ``--trials`` trials
(``pop_size`` ``--pop-size``): the trials that repeated a configuration of an earlier trial
(``repeats``), those of them whose earlier trial claimed no row (``unclaimed``: the first,
independently sampled trial, enqueued ones; they answer rows since 7 Dec 2026, and before
left the only repeats, 2 in 3,000 trials with and without ``--pruned``), the infeasible
(returned ``inf``) and pruned trials, and the runs that found the optimum (value 0). Prints
one table with the load average; writes ``infeasible_repeats.csv`` (``pruned_repeats.csv``
with ``--pruned``)::

    python benchmarks/infeasible_repeats.py [--samplers aoa pso] [--seeds 5] [--trials 100]
        [--pruned]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import optuna
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from metaheur.optuna import MetaheuristicSampler  # noqa: E402

OURS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")


def infeasible_half(trial: optuna.Trial) -> float:
    x, y = trial.suggest_int("x", 0, 12), trial.suggest_int("y", 0, 12)
    return math.inf if x > 6 else float((x - 3) ** 2 + (y - 5) ** 2)


def pruned_half(trial: optuna.Trial) -> float:
    """``infeasible_half`` with the bad half pruned after its first step, not returned as
    ``inf`` (run with ``PRUNER``)."""
    x, y = trial.suggest_int("x", 0, 12), trial.suggest_int("y", 0, 12)
    trial.report(1000.0 if x > 6 else 0.0, step=0)
    if trial.should_prune():
        raise optuna.TrialPruned()
    return float((x - 3) ** 2 + (y - 5) ** 2)


#: The pruner of ``pruned_half``'s studies: it prunes exactly the bad half.
PRUNER = optuna.pruners.ThresholdPruner(upper=100.0)


def count(study: optuna.Study, algo: str) -> dict[str, int]:
    """Repeated configurations (and of them, repeats of a trial without a claim)."""
    first: dict[str, optuna.trial.FrozenTrial] = {}
    repeats = unclaimed = 0
    for t in study.trials:
        key = json.dumps(t.params, sort_keys=True)
        if key in first:
            repeats += 1
            ticket = first[key].system_attrs.get(f"metaheur:{algo}")
            unclaimed += not (isinstance(ticket, dict) and "row" in ticket)
        first.setdefault(key, t)
    infeasible = sum(t.value is not None and math.isinf(t.value) for t in study.trials)
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return {"repeats": repeats, "unclaimed": unclaimed, "infeasible": infeasible,
            "pruned": pruned, "optimum": int(study.best_value == 0.0)}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samplers", nargs="+", default=list(OURS), choices=OURS)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--pop-size", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("."))
    ap.add_argument("--pruned", action="store_true",
                    help="prune the bad half (ThresholdPruner) instead of returning inf")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.trials < 1 or args.pop_size < 1:
        ap.error("--seeds, --trials and --pop-size must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective, pruner = (pruned_half, PRUNER) if args.pruned else (infeasible_half, None)
    rows = []
    for algo in args.samplers:
        for seed in range(args.seeds):
            study = optuna.create_study(pruner=pruner, sampler=MetaheuristicSampler(
                algo, seed=seed, n_trials=args.trials, pop_size=args.pop_size))
            study.optimize(objective, n_trials=args.trials)
            rows.append({"sampler": algo, "seed": seed, "trials": args.trials,
                         **count(study, algo)})
    runs = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "pruned_repeats.csv" if args.pruned else "infeasible_repeats.csv"
    runs.to_csv(args.out / name, index=False)
    table = runs.groupby("sampler", sort=False)[
        ["trials", "repeats", "unclaimed", "infeasible", "pruned", "optimum"]].sum()
    print(f"load average {os.getloadavg()[0]:.2f}; {args.seeds} seeds x {args.trials} "
          f"trials, pop_size {args.pop_size}")
    print(table.to_string())
    total = table.sum()
    print(f"all: {total['repeats']} repeated configurations in {total['trials']} trials "
          f"({total['unclaimed']} of a trial without a claim)")
    return runs


if __name__ == "__main__":
    main()
