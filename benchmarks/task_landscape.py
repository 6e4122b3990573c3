"""How a tuning task's score varies: its spread over the space, and how rough it is near the top.

For each task of ``benchmarks/_tasks.py`` (default ``mlp-wine``): ``--samples`` configurations
drawn by Optuna's ``RandomSampler(seed=--seed)``, their quantiles (what random search meets),
then, at each of the ``--top`` best of them, the score again

* after ``--perturb`` small moves of every continuous parameter together (log-normal with
  sigma 0.01 on a log range, normal with sigma 1 % of the range otherwise): how smooth the
  score is in those directions, as the median and largest relative change;
* after one step up and one step down of each integer parameter, alone: the relative
  change of each.

A score that moves far more under one step of an integer than under the continuous moves is
rough in that integer, so a sampler that models the space learns little there and random
search keeps up (docs/benchmarks.md has the ``mlp-wine`` case). Prints the tables with the
load average; writes ``landscape_samples.csv`` and ``landscape_moves.csv`` to ``--out``::

    python benchmarks/task_landscape.py [--tasks mlp-wine svc-digits] [--samples 400] [--top 3]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import FloatDistribution, IntDistribution

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tasks import TASKS, get_task  # noqa: E402

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5)


def evaluate(objective: Any, params: dict[str, Any]) -> float:
    """The objective's value at ``params`` (a one-trial study with them enqueued); NaN where
    the trial failed (the objective returned NaN, e.g. a diverged network)."""
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    study.enqueue_trial(params)
    study.optimize(objective, n_trials=1)
    value = study.trials[0].value
    return math.nan if value is None else float(value)


def continuous_move(trial: optuna.trial.FrozenTrial, rng: np.random.Generator
                    ) -> dict[str, Any]:
    """``trial``'s parameters with every continuous one moved a little, inside its range."""
    out = dict(trial.params)
    for name, dist in trial.distributions.items():
        if isinstance(dist, FloatDistribution) and dist.step is None:
            v = out[name]
            v = v * float(np.exp(rng.normal(0.0, 0.01))) if dist.log else \
                v + float(rng.normal(0.0, 0.01 * (dist.high - dist.low)))
            out[name] = min(max(v, dist.low), dist.high)
    return out


def integer_steps(trial: optuna.trial.FrozenTrial) -> list[tuple[str, dict[str, Any]]]:
    """(label, parameters) one step up or down of each integer parameter, inside its range."""
    out = []
    for name, dist in trial.distributions.items():
        if isinstance(dist, IntDistribution):
            for step in (-dist.step, dist.step):
                v = trial.params[name] + step
                if dist.low <= v <= dist.high:
                    out.append((f"{name} {v}", {**trial.params, name: v}))
    return out


def landscape(task: str, samples: int, top: int, perturb: int, seed: int
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    objective = get_task(task).make()
    # no pruner: Optuna's default would stop trials that report progress (LSTM-ELU, SGD) and
    # store their last intermediate value as if it were the objective's
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=optuna.pruners.NopPruner())
    study.optimize(objective, n_trials=samples)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    sampled = pd.DataFrame([{"task": task, "number": t.number, "value": t.value, **t.params}
                            for t in done])
    rng = np.random.default_rng(seed)
    moves = []
    for t in sorted(done, key=lambda t: t.value)[:top]:
        base = {"task": task, "trial": t.number, "value": t.value}
        for k in range(perturb):
            v = evaluate(objective, continuous_move(t, rng))
            moves.append({**base, "move": f"continuous {k}", "moved_value": v})
        for label, params in integer_steps(t):
            moves.append({**base, "move": label, "moved_value": evaluate(objective, params)})
    moved = pd.DataFrame(moves, columns=["task", "trial", "value", "move", "moved_value"])
    moved["relative_change"] = (moved["moved_value"] - moved["value"]).abs() / moved["value"]
    return sampled, moved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", nargs="+", default=["mlp-wine"], choices=sorted(TASKS))
    ap.add_argument("--samples", type=int, default=400)
    ap.add_argument("--top", type=int, default=3)
    ap.add_argument("--perturb", type=int, default=12)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--out", type=Path, default=Path("."))
    args = ap.parse_args(argv)
    if min(args.samples, args.top, args.perturb) < 1 or args.seed < 0:
        ap.error("--samples, --top and --perturb must be >= 1, --seed >= 0")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", module="sklearn")  # convergence warnings of short fits
    print(f"load average {os.getloadavg()[0]:.2f}")
    parts = [landscape(t, args.samples, args.top, args.perturb, args.seed) for t in args.tasks]
    sampled = pd.concat([p[0] for p in parts], ignore_index=True)
    moved = pd.concat([p[1] for p in parts], ignore_index=True)
    args.out.mkdir(parents=True, exist_ok=True)
    sampled.to_csv(args.out / "landscape_samples.csv", index=False)
    moved.to_csv(args.out / "landscape_moves.csv", index=False)
    quant = sampled.groupby("task")["value"].quantile(list(QUANTILES)).unstack()
    quant.columns = [f"q{q:g}" for q in QUANTILES]
    print(f"{args.samples} random configurations (seed {args.seed}): quantiles of the value")
    print(quant.round(4).to_string())
    kind = np.where(moved["move"].str.startswith("continuous"), "continuous moves", moved["move"])
    table = moved.assign(kind=kind).groupby(["task", "trial", "value", "kind"], sort=False)[
        "relative_change"].agg(["median", "max"])
    print(f"relative change of the value at the {args.top} best (continuous: {args.perturb} "
          "moves of about 1 %; integers: one step)")
    print(table.round(3).to_string())
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
