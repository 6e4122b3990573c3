"""How our samplers move between the branches of a conditional search space.

On a conditional task (``benchmarks/_tasks.py``, a task with a ``branch`` parameter, e.g.
``select-breast_cancer``: SVC | logistic regression | k-NN, each with its own parameters)
every parameter of every branch is a dimension of the sampler's union space, and a trial
ignores the dimensions its branch does not use. A population row that moves into another
branch therefore brings values for that branch's parameters that none of its own trials
evaluated (they drifted with the population's moves while inactive). This script measures
what such *switch* trials are worth against *stay* trials, which keep the branch of the
same row's trial in the previous generation.

Every (sampler, seed) is one in-memory study of ``--trials`` trials. Each trial's claim
(trial system attribute ``metaheur:<algo>``: run, generation and row, docs/distributed.md)
pairs it with the previous generation's trial of the same row and run. Per sampler,
branch and kind (``stay``/``switch``): the number of trials, their median value, the share
in the best quarter of their study's trials (``top_quarter_share``, scale-free) and the
share that improved on that previous trial of their row. Spares (no row) and the first
generation of a run are not paired. Prints one table; writes ``branch_switches.csv``::

    python benchmarks/branch_switches.py [--samplers dlf-aoa pso] [--seeds 10] [--trials 200]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tasks import TASKS, get_task  # noqa: E402
from hpo_tasks import OURS, _quiet_worker, make_sampler  # noqa: E402

logger = logging.getLogger("branch_switches")

CONDITIONAL = [name for name, task in TASKS.items() if task.conditional]
COLUMNS = ["sampler", "branch", "kind", "n", "median_value", "top_quarter_share",
           "improved_share"]


def trial_rows(study: optuna.Study, algo: str, branch: str) -> pd.DataFrame:
    """One row per completed trial with a claimed population row: run, gen, row, the
    trial's branch and value."""
    key = f"metaheur:{algo}"
    rows = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        claim = t.system_attrs.get(key)
        if not isinstance(claim, dict) or claim.get("row") is None or branch not in t.params:
            continue
        rows.append({"run": claim["run"], "gen": claim["gen"], "row": claim["row"],
                     "branch": t.params[branch], "value": t.value})
    return pd.DataFrame(rows, columns=["run", "gen", "row", "branch", "value"])


def pair_with_previous(trials: pd.DataFrame) -> pd.DataFrame:
    """Each trial beside its row's trial of the previous generation (same run): ``kind`` is
    ``stay`` when the branch is the same, ``switch`` otherwise."""
    prev = trials.assign(gen=trials["gen"] + 1).rename(
        columns={"branch": "prev_branch", "value": "prev_value"})
    paired = trials.merge(prev, on=["run", "gen", "row"], how="inner")
    paired["kind"] = (paired["branch"] == paired["prev_branch"]).map(
        {True: "stay", False: "switch"})
    paired["improved"] = paired["value"] < paired["prev_value"]
    return paired


def run_one(task: str, algo: str, seed: int, trials: int) -> pd.DataFrame:
    """The paired trials of one study (columns of :func:`pair_with_previous`, and
    ``top_quarter``: the value is at most the 25th percentile of the study's values)."""
    _quiet_worker()  # as hpo_tasks' runs: one thread, no per-trial warnings
    study = optuna.create_study(direction="minimize", pruner=optuna.pruners.NopPruner(),
                                sampler=make_sampler(algo, seed, trials))
    study.optimize(get_task(task).make(), n_trials=trials, catch=(Exception,))
    trials_df = trial_rows(study, algo, TASKS[task].branch)
    paired = pair_with_previous(trials_df)
    return paired.assign(seed=seed,
                         top_quarter=paired["value"] <= trials_df["value"].quantile(0.25))


def summarise(paired: pd.DataFrame) -> pd.DataFrame:
    """Per (sampler, branch, kind): count, median value, share in the best quarter of
    their study, share improved on the row's previous trial."""
    g = paired.groupby(["sampler", "branch", "kind"])
    out = pd.DataFrame({"n": g.size(), "median_value": g["value"].median(),
                        "top_quarter_share": g["top_quarter"].mean(),
                        "improved_share": g["improved"].mean()}).reset_index()
    return out[COLUMNS]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default=CONDITIONAL[0], choices=CONDITIONAL)
    p.add_argument("--samplers", nargs="+", default=list(OURS), choices=list(OURS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--out", default="results/branch_switches")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.trials < 1:
        p.error("--seeds and --trials must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    parts: list[Any] = []
    for algo in args.samplers:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            logger.info("%s %s seed %d", args.task, algo, seed)
            parts.append(run_one(args.task, algo, seed, args.trials).assign(sampler=algo))
    table = summarise(pd.concat(parts, ignore_index=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "branch_switches.csv", index=False)
    last = args.first_seed + args.seeds - 1
    seeds = f"seed {last}" if args.seeds == 1 else f"seeds {args.first_seed}-{last}"
    print(f"{args.task}, {args.trials} trials, {seeds}: trials paired with their row's trial "
          "of the previous generation")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nwrote {out / 'branch_switches.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
