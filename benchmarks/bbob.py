"""COCO BBOB calibration: fraction of the 51 targets reached, per algorithm and budget.

For each algorithm spec, BBOB function (1-24), dimension and instance, one run of
``budget·d`` evaluations drives the ask/tell optimizer directly on ``cocoex`` (no observer,
no files). The score of a run is the fraction of the 51 targets ``10^(2 − 0.2 k)``,
k = 0..50 (100 down to 1e-8), with ``best f − f_opt <= target``; a table cell is the mean
over functions, instances, seeds and the dimensions in its column. Every algorithm gets the
same generator seed per (function, dimension, instance, seed): common random numbers.

One seed is one sample of an algorithm's random stream; two algorithms whose figures differ
by .01 on one seed may swap on the next. ``--seeds K`` runs seeds ``SEED .. SEED+K-1`` (the
table adds the lowest and highest per-seed score), and ``--paired REF OTHER`` compares two
of the specs seed by seed: the seeds (and the single runs) on which OTHER is higher, lower
or equal, and two-sided Wilcoxon signed-rank p-values over both
(:func:`metaheur.harness.stats.signed_rank`, tie-aware, exact up to 200 pairs).

An algorithm spec is a registry key with optional hyper-parameters, ``:`` separated
(values are JSON, else strings)::

    nice -n 10 python benchmarks/bbob.py aoa dlf-aoa dlf-aoa:levy_scale=0.1 \\
        --budgets 100,1000 --dims 2,5,10,20 --instances 3 --jobs 2
    python benchmarks/bbob.py aoa dlf-aoa --budgets 100 --seeds 20 --paired aoa dlf-aoa

Needs ``pip install coco-experiment``. The measurements that chose the defaults of
DLF-AOA's ``levy_scale`` and of the restart layer (:mod:`metaheur.restarts`) are recorded
in docs/algorithms.md §2.4 and §12.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from metaheur.harness.bbob import BBOB_DIMS, bbob_ids  # noqa: E402

TARGETS = 10.0 ** (2.0 - 0.2 * np.arange(51))
COLUMNS = ["algo", "budget", "function", "dim", "instance", "seed", "fraction", "error",
           "seconds", "restarts"]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"dlf-aoa:levy_scale=0.1"`` → ``("dlf-aoa", {"levy_scale": 0.1})``, read as
    ``metaheur bench --algos`` reads it (metaheur.harness.algo_params.parse_spec)."""
    from metaheur.harness.algo_params import parse_spec as parse

    try:
        return parse(spec)
    except ValueError as exc:
        raise SystemExit(f"bad algorithm spec {exc}") from None


def _task(args: tuple[str, int, int, int, tuple[int, ...], int]) -> list[tuple]:
    """All instances of one (spec, function, dim, budget multiplier, seed): the rows of
    :data:`COLUMNS`."""
    spec, fid, dim, mult, instances, seed = args
    import metaheur
    from metaheur.harness.bench import bbob_problem

    name, params = parse_spec(spec)
    cls = metaheur.get(name)
    out = []
    for inst in instances:
        problem, f_opt = bbob_problem(fid, dim, inst)
        bounds = np.column_stack([problem.lower_bounds, problem.upper_bounds])
        rng = np.random.default_rng([seed, fid, dim, inst])
        opt = cls(bounds, budget=mult * dim, seed=rng, **params)
        t0 = time.perf_counter()
        while not opt.done:
            X = opt.ask()
            opt.tell(X, np.fromiter((problem(x) for x in X), float, X.shape[0]))
        err = max(opt.best_f - f_opt, 0.0)
        out.append((spec, mult, fid, dim, inst, seed, float(np.mean(err <= TARGETS)), err,
                    time.perf_counter() - t0, getattr(opt, "restarts", 0)))
    return out


def seed_scores(rows: list[tuple], spec: str, mult: int) -> dict[int, float]:
    """Per seed, the mean fraction of ``spec``'s runs at budget ``mult``·d (the table's
    "all" figure of that seed alone)."""
    by_seed: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        if r[0] == spec and r[1] == mult:
            by_seed[r[5]].append(r[6])
    return {s: float(np.mean(v)) for s, v in sorted(by_seed.items())}


def paired_table(rows: list[tuple], mults: list[int], ref: str, other: str) -> str:
    """``other`` against ``ref``, per budget: seed by seed (the per-seed scores of
    :func:`seed_scores`) and run by run (one run: a function, dimension, instance and
    seed), how often ``other`` reached more targets, fewer or as many, with the two-sided
    Wilcoxon signed-rank p-value of each set of pairs."""
    from metaheur.harness.stats import signed_rank

    def counts(x: NDArray, y: NDArray) -> str:
        return f"{int((x > y).sum())} / {int((x < y).sum())} / {int((x == y).sum())}"

    out = [f"| {other} against {ref} | mean, {ref} | mean, {other} | seeds higher / lower "
           "/ equal | p, seeds | runs higher / lower / equal | p, runs |", "|---" * 7 + "|"]
    for mult in mults:
        a, b = seed_scores(rows, ref, mult), seed_scores(rows, other, mult)
        ys, xs = np.array([a[s] for s in a if s in b]), np.array([b[s] for s in a if s in b])
        runs = {r[1:6]: r[6] for r in rows if r[0] == ref and r[1] == mult}
        pairs = [(r[6], runs[r[1:6]]) for r in rows
                 if r[0] == other and r[1] == mult and r[1:6] in runs]
        xr, yr = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
        out.append(f"| {mult}·d | {ys.mean():.4f} | {xs.mean():.4f} | {counts(xs, ys)} | "
                   f"{signed_rank(xs, ys)[1]:.3g} | {counts(xr, yr)} | "
                   f"{signed_rank(xr, yr)[1]:.3g} |")
    return "\n".join(out)


def _collect(chunks: Iterable[list[tuple]], tasks: list[tuple]) -> list[tuple]:
    """The rows of ``tasks``' result ``chunks``, with a progress bar on a terminal
    (stderr) whose estimate weighs each task by its evaluations (budget·d per instance)."""
    from metaheur.harness.progress import ProgressBar, want_progress

    total = sum(mult * dim * len(insts) for _s, _f, dim, mult, insts, _seed in tasks)
    bar = ProgressBar(len(tasks), desc="bbob", unit="problem", enabled=want_progress(True))
    rows: list[tuple] = []
    try:
        for i, chunk in enumerate(chunks, 1):
            rows.extend(chunk)
            done = sum(r[1] * r[3] for r in rows)  # budget multiplier · d, per instance
            bar.set_work(done, total - done)
            bar.update(i)
    finally:
        bar.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("algos", nargs="+", help="registry keys, optionally key:param=value:...")
    ap.add_argument("--budgets", default="1000", help="multipliers of d, comma-separated")
    ap.add_argument("--dims", default="2,5,10,20")
    ap.add_argument("--functions", default="1-24", help="e.g. 1-24 or 15,16,21")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="the first seed")
    ap.add_argument("--seeds", type=int, default=1, help="seeds per problem: SEED, SEED+1, ...")
    ap.add_argument("--paired", nargs=2, action="append", default=[], metavar=("REF", "OTHER"),
                    help="compare two of the specs seed by seed (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (at most 2 here)")
    ap.add_argument("--csv", help="write one row per run to this file")
    a = ap.parse_args(argv)
    try:  # bad values stop here, with one line, not inside a worker
        fids = bbob_ids(a.functions.split(","))
        dims = [int(d) for d in a.dims.split(",")]
        mults = [int(b) for b in a.budgets.split(",")]
    except ValueError as exc:
        ap.error(str(exc))
    if bad := [d for d in dims if d not in BBOB_DIMS]:
        ap.error(f"--dims {bad} not in the bbob suite; allowed: {BBOB_DIMS}")
    if any(m < 1 for m in mults) or a.instances < 1 or a.seeds < 1:
        ap.error("--budgets, --instances and --seeds must be >= 1")
    if bad := [s for pair in a.paired for s in pair if s not in a.algos]:
        ap.error(f"--paired names {bad}, not among the specs run: {a.algos}")
    insts = tuple(range(1, a.instances + 1))
    for spec in a.algos:  # fail fast on a bad key or hyper-parameter
        import metaheur

        name, params = parse_spec(spec)
        metaheur.get(name)([(-5.0, 5.0)] * 2, max_iter=1, **params)
    seeds = range(a.seed, a.seed + a.seeds)
    tasks = [(s, f, d, m, insts, seed) for m in mults for s in a.algos for d in dims
             for f in fids for seed in seeds]
    t0 = time.perf_counter()
    if a.jobs > 1:
        with mp.Pool(a.jobs) as pool:
            rows = _collect(pool.imap_unordered(_task, tasks), tasks)
    else:
        rows = _collect(map(_task, tasks), tasks)
    wall = time.perf_counter() - t0
    if a.csv:
        with open(a.csv, "w", newline="") as fh:  # quoted: a spec's JSON may hold commas
            out = csv.writer(fh)
            out.writerow(COLUMNS)
            out.writerows(rows)
    score: dict[tuple, list[float]] = defaultdict(list)
    secs: dict[str, float] = defaultdict(float)
    restarts: dict[tuple, list[int]] = defaultdict(list)
    for spec, mult, _fid, dim, _inst, _seed, frac, _err, sec, nres in rows:
        score[spec, mult, "all"].append(frac)
        score[spec, mult, dim].append(frac)
        secs[spec] += sec
        restarts[spec, mult].append(nres)
    cols = ["all", *dims]
    print(f"BBOB f{fids[0]}..f{fids[-1]} ({len(fids)} functions), instances 1..{len(insts)}, "
          f"seed{f's {seeds[0]}..{seeds[-1]}' if len(seeds) > 1 else f' {a.seed}'}; "
          "fraction of the 51 targets reached (higher is better)")
    spread = len(seeds) > 1  # the lowest and highest per-seed score
    print(f"load average {os.getloadavg()[0]:.2f}; wall {wall:.0f} s")
    for mult in mults:
        print(f"\n| {mult}·d | " + " | ".join(f"d={c}" if c != "all" else "all" for c in cols)
              + " | restarts |" + (" seeds, lowest..highest |" if spread else ""))
        print("|---" * (len(cols) + 2 + spread) + "|")
        for spec in a.algos:
            cells = " | ".join(f"{np.mean(score[spec, mult, c]):.3f}" for c in cols)
            per = list(seed_scores(rows, spec, mult).values())
            print(f"| {spec} | {cells} | {np.mean(restarts[spec, mult]):.1f} |"
                  + (f" {min(per):.3f}..{max(per):.3f} |" if spread else ""))
    if len(a.algos) > 1:
        # what a perfect per-problem choice among these specs would reach: an upper bound
        # for any portfolio or selection rule built from them
        best: dict[tuple, float] = defaultdict(float)
        for _spec, mult, fid, dim, inst, seed, frac, *_ in rows:
            best[mult, fid, dim, inst, seed] = max(best[mult, fid, dim, inst, seed], frac)
        for mult in mults:
            cells = {c: [v for (m, _f, d, _i, _s), v in best.items() if m == mult
                         and (c == "all" or d == c)] for c in cols}
            print(f"\nbest of these {len(a.algos)} per (function, d, instance"
                  f"{', seed' if spread else ''}) at {mult}·d: "
                  + ", ".join(f"{c if c == 'all' else f'd={c}'} {np.mean(v):.3f}"
                              for c, v in cells.items()))
    for ref, other in a.paired:
        print("\n" + paired_table(rows, mults, ref, other))
    print("\nCPU seconds per algorithm (optimiser + evaluations): "
          + ", ".join(f"{s} {secs[s]:.0f}" for s in a.algos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
