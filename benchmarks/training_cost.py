"""Samplers on a task with a pruner, compared at equal training cost (epochs), not trials.

``hpo_tasks.py`` compares samplers after the same number of trials. With a pruner, trials
differ in cost: a pruned trial trained only the epochs it reached, a complete one all of
them, and samplers whose trials are pruned less often (ours, against TPE and random search
on ``sgd-digits-pruned``) spend more epochs on the same number of trials. This script reads
the runs ``hpo_tasks.py`` wrote (``runs.csv`` with its ``steps`` column: the epochs each
trial reported) and compares the samplers after the same number of **epochs**: a run's best
value at a budget of ``B`` epochs is the best of its trials that had ended when its epochs
added up to at most ``B`` (a trial that would have run past ``B`` is not counted).

A run that ended (its study length reached) before spending ``B`` epochs says nothing about
``B``: by default the largest budget is the fewest epochs any run spent, so no run is cut
short, with a quarter and a half of it beside it. Budgets are printed as epochs and as
*full trials* (a complete trial's epochs, the most any trial reported). The statistics are
``hpo_tasks.py``'s (regret, mean rank, Mann-Whitney against random search and TPE with Holm,
``--paired`` seed by seed). Writes ``cost_summary.csv``, ``cost_paired.csv`` (with
``--paired``) and ``best_by_cost.png`` (median regret and quartiles against epochs).

Our samplers' schedules run over the study's trials (``n_trials``), so at a budget read from
the middle of a run they are mid-schedule, as at a 50-trial reading of a 100-trial run.
``--matched REF OTHER`` reads each of OTHER's runs whole instead: seed by seed, REF is given
the epochs OTHER's run spent, and its best within them is compared with OTHER's final best
(``cost_matched.csv``). REF's runs must be long enough to reach those epochs: Optuna's
samplers ignore the study length, so their longer runs (``--matched-runs``, another
``runs.csv`` of the task) are their shorter ones continued.

    python benchmarks/hpo_tasks.py --tasks sgd-digits-pruned --trials 100 --seeds 60 \
        --out results/hpo_pruned                      # the runs, with the epochs per trial
    python benchmarks/training_cost.py --out results/hpo_pruned --paired random dlf-aoa
    python benchmarks/hpo_tasks.py --tasks sgd-digits-pruned --samplers tpe random \
        --trials 300 --seeds 60 --out results/hpo_pruned_long    # long runs of the peers
    python benchmarks/training_cost.py --out results/hpo_pruned --matched tpe gwo \
        --matched-runs results/hpo_pruned_long/runs.csv
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hpo_tasks as hpo  # noqa: E402

logger = logging.getLogger("training_cost")


def run_costs(row: pd.Series) -> NDArray:
    """Cumulative epochs after each trial of one run (``steps`` column)."""
    return np.cumsum(np.asarray(json.loads(row["steps"]), dtype=np.int64))


def best_at_costs(row: pd.Series, budgets: Sequence[int]) -> tuple[NDArray, NDArray]:
    """The run's best value after at most each of ``budgets`` epochs (NaN: no trial had
    ended, or none had a value; +inf is not used here) and how many trials had ended;
    a budget the run did not reach gives NaN trials (the run says nothing there)."""
    cum = run_costs(row)
    trace = np.array([np.nan if v is None else hpo._sig(v) for v in json.loads(row["trace"])])
    ended = np.searchsorted(cum, np.asarray(budgets), side="right")
    best = np.where(ended > 0, trace[np.maximum(ended - 1, 0)], np.nan)
    reached = cum[-1] >= np.asarray(budgets) if cum.size else np.zeros(len(budgets), bool)
    return best, np.where(reached, ended, np.nan)


def at_costs(runs: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """``hpo_tasks.Points`` for budgets of epochs: one row per run and budget it reached
    (a run that ended sooner is left out there, and :func:`hpo_tasks.complete_seeds` drops
    that seed with a warning); ``trials`` is how many of its trials had ended."""
    rows = []
    for r in runs.itertuples(index=False):
        best, ended = best_at_costs(pd.Series(r._asdict()), budgets)
        for b, v, n in zip(budgets, best, ended, strict=True):
            if not math.isnan(n):
                rows.append({"task": r.task, "sampler": r.sampler, "seed": int(r.seed),
                             "budget": int(b), "best": float(v), "source": "epochs",
                             "trials": int(n)})
    return pd.DataFrame(rows, columns=["task", "sampler", "seed", "budget", "best", "source",
                                       "trials"])


def with_steps(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that recorded their epochs; the others are left out with a warning (rows of
    a ``runs.csv`` written before the ``steps`` column)."""
    have = runs["steps"] != ""
    if not have.all():
        logger.warning("%d run(s) without the epochs of their trials (written before the "
                       "steps column) are left out", int((~have).sum()))
    return runs[have]


def full_trial(runs: pd.DataFrame) -> int:
    """Epochs of a complete trial: the most any trial of ``runs`` reported."""
    return max((max(json.loads(s), default=0) for s in runs["steps"]), default=0)


def run_epochs(runs: pd.DataFrame) -> pd.Series:
    """The epochs each run spent (all its trials); the fewest is the largest budget that no
    run ended before."""
    return pd.Series([int(run_costs(r)[-1]) for _, r in runs.iterrows()], index=runs.index,
                     dtype="int64")


def default_budgets(least: int) -> list[int]:
    """A quarter, a half and all of ``least``, the fewest epochs any run spent (no run cut
    short)."""
    return sorted({max(1, least // 4), max(1, least // 2), least})


MATCHED_COLUMNS = ["task", "ref", "other", "n_seeds", "n_short", "median_epochs",
                   "median_ref_trials", "median_ref", "median_other", "better", "worse",
                   "equal", "p_wilcoxon"]


def matched(runs: pd.DataFrame, peers: pd.DataFrame, ref: str, other: str) -> pd.DataFrame:
    """``other``'s whole runs against ``ref`` given the same epochs, seed by seed: for each
    seed, the epochs ``other``'s run (in ``runs``) spent, and ``ref``'s best within them,
    read off its longest run of that seed in ``peers``. A ``ref`` run that ended sooner
    says nothing there: that seed is left out with a warning (``n_short``). Counts and test
    as in :func:`hpo_tasks.paired` (``better``: seeds on which ``other`` is lower; a run
    with no value counts as +inf, the worst)."""
    longest = peers[peers["sampler"] == ref].sort_values("trials").groupby(
        ["task", "seed"]).tail(1).set_index(["task", "seed"])
    rows, short = [], []
    for _, r in runs[runs["sampler"] == other].iterrows():
        key = (r["task"], int(r["seed"]))
        if key not in longest.index:
            continue
        epochs = int(run_costs(r)[-1])
        best, ended = best_at_costs(longest.loc[key], [epochs])
        if math.isnan(ended[0]):
            short.append(key[1])
            continue
        trace = json.loads(r["trace"])
        last = trace[-1] if trace else None
        rows.append({"task": key[0], "seed": key[1], "epochs": epochs,
                     "ref_trials": int(ended[0]),
                     "ref": best[0], "other": math.nan if last is None else hpo._sig(last)})
    if short:
        logger.warning("%s: the runs of %s on seeds %s ended before the epochs of %s's run "
                       "of the same seed; left out (run %s longer)", other, ref, short,
                       other, ref)
    per_seed = pd.DataFrame(rows, columns=["task", "seed", "epochs", "ref_trials", "ref",
                                           "other"]).fillna({"ref": np.inf, "other": np.inf})
    out = []
    for task, g in per_seed.groupby("task"):
        x, y = g["other"].to_numpy(), g["ref"].to_numpy()
        out.append({"task": task, "ref": ref, "other": other, "n_seeds": len(g),
                    "n_short": len(short), "median_epochs": float(g["epochs"].median()),
                    "median_ref_trials": float(g["ref_trials"].median()),
                    "median_ref": float(np.median(y)), "median_other": float(np.median(x)),
                    "better": int((x < y).sum()), "worse": int((x > y).sum()),
                    "equal": int((x == y).sum()), "p_wilcoxon": hpo.wilcoxon_p(x, y)})
    return pd.DataFrame(out, columns=MATCHED_COLUMNS)


def plot(runs: pd.DataFrame, budget: int, path: Path, order: Sequence[str]) -> None:
    """Median regret and quartiles of the best so far against epochs, up to ``budget``
    (at most the fewest epochs any run spent: past a run's end its curve would be made up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in hpo.TASKS if t in set(runs["task"])]
    fig, axes = plt.subplots(1, len(tasks), figsize=(7.5 * len(tasks), 4.6), squeeze=False)
    colours = plt.get_cmap("tab10" if len(order) <= 10 else "tab20")
    ref = hpo._reference(runs)
    grid = np.arange(1, budget + 1)
    for ax, task in zip(axes.flat, tasks, strict=True):
        sub = runs[runs["task"] == task]
        for i, smp in enumerate(order):
            g = sub[sub["sampler"] == smp]
            if g.empty:
                continue
            traces = np.array([best_at_costs(r, grid)[0] for _, r in g.iterrows()]) - ref[task]
            q25, med, q75 = hpo.trace_quartiles(traces)
            style = "-" if smp.partition(":")[0] in hpo.OURS else "--"
            ax.plot(grid, med, style, color=colours(i % colours.N), lw=1.4, label=smp)
            ax.fill_between(grid, q25, q75, color=colours(i % colours.N), alpha=0.12, lw=0)
        ax.set_yscale("symlog", linthresh=hpo.symlog_threshold(sub, ref[task]))
        ax.set_title(f"{task}: regret against training cost", fontsize=10)
        ax.set_xlabel("epochs trained (all trials of the run)")
        ax.set_ylabel("regret of best so far")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="a folder with hpo_tasks.py's runs.csv")
    p.add_argument("--budgets", type=hpo._positive, nargs="+",
                   help="budgets in epochs (default: a quarter, a half and all of the fewest "
                   "epochs any run spent)")
    p.add_argument("--paired", nargs=2, action="append", default=[], metavar=("REF", "OTHER"),
                   help="also compare OTHER with REF seed by seed (Wilcoxon signed-rank)")
    p.add_argument("--matched", nargs=2, action="append", default=[], metavar=("REF", "OTHER"),
                   help="also give REF, seed by seed, the epochs OTHER's whole run spent "
                   "(cost_matched.csv)")
    p.add_argument("--matched-runs", metavar="CSV",
                   help="a runs.csv of the same task with REF's longer runs (default: "
                   "--out's runs.csv)")
    p.add_argument("--no-plot", action="store_true")
    args = p.parse_args(argv)
    if args.matched_runs and not args.matched:
        p.error("--matched-runs is read only for --matched")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    out = Path(args.out)
    runs = hpo._recorded_runs(out / "runs.csv")
    if runs is None:
        return 2
    runs = with_steps(runs)
    if runs.empty:
        print(f"error: no run in {out / 'runs.csv'} recorded the epochs of its trials (run "
              "hpo_tasks.py again into a new --out)", file=sys.stderr)
        return 2
    if len(set(runs["task"])) > 1 or len(set(runs["trials"])) > 1:
        print("error: expected the runs of one task and one study length, found "
              f"{sorted(set(runs['task']))} at {sorted(set(runs['trials']))} trials",
              file=sys.stderr)
        return 2
    samplers = list(dict.fromkeys(runs["sampler"]))
    for pair in args.paired:
        if missing := [s for s in pair if s not in samplers]:
            p.error(f"--paired {' '.join(pair)}: no run of {', '.join(missing)}")
    peers = runs
    if args.matched_runs:
        peers = hpo._recorded_runs(Path(args.matched_runs))
        if peers is None:
            return 2
        peers = with_steps(peers)
        if set(peers["task"]) - set(runs["task"]):
            print(f"error: {args.matched_runs} holds runs of {sorted(set(peers['task']))}, "
                  f"not only of {runs['task'].iloc[0]}", file=sys.stderr)
            return 2
    for ref, other in args.matched:
        if ref not in set(peers["sampler"]) or other not in samplers:
            p.error(f"--matched {ref} {other}: needs runs of {ref} in "
                    f"{args.matched_runs or out / 'runs.csv'} and of {other} in "
                    f"{out / 'runs.csv'}")
    full = full_trial(runs)
    if full == 0:
        print(f"error: the trials in {out / 'runs.csv'} reported no intermediate values, so "
              "every trial cost the same: compare them per trial (hpo_tasks.py)",
              file=sys.stderr)
        return 2
    epochs = run_epochs(runs)
    least = int(epochs.min())
    budgets = sorted(set(args.budgets or default_budgets(least)))
    summary = hpo.summarise(runs, budgets, samplers, points=at_costs, unit="epochs")
    if summary.empty:
        logger.warning("no seed was run by every sampler to these budgets; nothing to compare")
        return 0
    summary.to_csv(out / "cost_summary.csv", index=False)
    order = [s for s in hpo.SAMPLERS if s in samplers] + [
        s for s in samplers if s not in hpo.SAMPLERS]
    spent = at_costs(runs, budgets).groupby(["budget", "sampler"])["trials"].median()
    for b in budgets:
        print(f"\n## {b} epochs (= {b / full:.3g} complete trials of {full} epochs); median "
              "regret (mean rank); +R/-R, +T/-T: significantly better/worse than random / "
              "TPE (two-sided Mann-Whitney U, Holm, alpha 0.05)\n")
        if (summary["budget"] != b).all():
            print(f"(no seed on which every sampler's run reached {b} epochs; the fewest "
                  f"any run spent: {least})")
            continue
        print(hpo.markdown_table(summary, b, order))
        if b in spent.index.get_level_values(0):
            trials = spent.loc[b].reindex(order).dropna()
            print("\ntrials ended within the budget (median over seeds): " + ", ".join(
                f"{s} {n:g}" for s, n in trials.items()))
    total = runs.assign(epochs=epochs)
    print(f"\nepochs per run of {int(runs['trials'].iloc[0])} trials (median, min, max):")
    print(total.groupby("sampler")["epochs"].agg(["median", "min", "max"]).reindex(order)
          .to_string())
    if args.paired:
        pairs = pd.concat([hpo.paired(runs, budgets, ref, other, points=at_costs)
                           for ref, other in args.paired])
        pairs.to_csv(out / "cost_paired.csv", index=False)
        print("\npaired by seed at equal epochs (better/worse/equal: seeds on which OTHER is "
              "below/above/equal to REF; two-sided Wilcoxon signed-rank, uncorrected):")
        print(pairs.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.matched:
        both = pd.concat([matched(runs, peers, ref, other) for ref, other in args.matched])
        both.to_csv(out / "cost_matched.csv", index=False)
        print("\nREF given, seed by seed, the epochs OTHER's whole run spent (better/worse/"
              "equal: seeds on which OTHER's final best is below/above/equal to REF's best "
              "within those epochs; two-sided Wilcoxon signed-rank, uncorrected):")
        print(both.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not args.no_plot:
        plot(runs, min(max(budgets), least), out / "best_by_cost.png", order)
        print(f"\nwrote {out / 'cost_summary.csv'}, {out / 'best_by_cost.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
