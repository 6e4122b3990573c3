"""COCO BBOB calibration: fraction of the 51 targets reached, per algorithm and budget.

For each algorithm spec, BBOB function (1-24), dimension and instance, one run of
``budget·d`` evaluations drives the ask/tell optimizer directly on ``cocoex`` (no observer,
no files). The score of a run is the fraction of the 51 targets ``10^(2 − 0.2 k)``,
k = 0..50 (100 down to 1e-8), with ``best f − f_opt <= target``; a table cell is the mean
over functions, instances and the dimensions in its column. Every algorithm gets the same
generator seed per (function, dimension, instance): common random numbers.

An algorithm spec is a registry key with optional hyper-parameters, ``:`` separated
(values are JSON, else strings)::

    nice -n 10 python benchmarks/bbob.py aoa dlf-aoa dlf-aoa:levy_scale=0.1 \\
        --budgets 100,1000 --dims 2,5,10,20 --instances 3 --jobs 2

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
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from metaheur.harness.bbob import BBOB_DIMS, bbob_ids  # noqa: E402

TARGETS = 10.0 ** (2.0 - 0.2 * np.arange(51))


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"dlf-aoa:levy_scale=0.1"`` → ``("dlf-aoa", {"levy_scale": 0.1})``, read as
    ``metaheur bench --algos`` reads it (metaheur.harness.algo_params.parse_spec)."""
    from metaheur.harness.algo_params import parse_spec as parse

    try:
        return parse(spec)
    except ValueError as exc:
        raise SystemExit(f"bad algorithm spec {exc}") from None


def _task(args: tuple[str, int, int, int, tuple[int, ...], int]) -> list[tuple]:
    """All instances of one (spec, function, dim, budget multiplier): fractions reached."""
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
        out.append((spec, mult, fid, dim, inst, float(np.mean(err <= TARGETS)), err,
                    time.perf_counter() - t0, getattr(opt, "restarts", 0)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("algos", nargs="+", help="registry keys, optionally key:param=value:...")
    ap.add_argument("--budgets", default="1000", help="multipliers of d, comma-separated")
    ap.add_argument("--dims", default="2,5,10,20")
    ap.add_argument("--functions", default="1-24", help="e.g. 1-24 or 15,16,21")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
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
    if any(m < 1 for m in mults) or a.instances < 1:
        ap.error("--budgets and --instances must be >= 1")
    insts = tuple(range(1, a.instances + 1))
    for spec in a.algos:  # fail fast on a bad key or hyper-parameter
        import metaheur

        name, params = parse_spec(spec)
        metaheur.get(name)([(-5.0, 5.0)] * 2, max_iter=1, **params)
    tasks = [(s, f, d, m, insts, a.seed) for m in mults for s in a.algos for d in dims
             for f in fids]
    t0 = time.perf_counter()
    if a.jobs > 1:
        with mp.Pool(a.jobs) as pool:
            rows = [r for chunk in pool.imap_unordered(_task, tasks) for r in chunk]
    else:
        rows = [r for t in tasks for r in _task(t)]
    wall = time.perf_counter() - t0
    if a.csv:
        with open(a.csv, "w", newline="") as fh:  # quoted: a spec's JSON may hold commas
            out = csv.writer(fh)
            out.writerow(["algo", "budget", "function", "dim", "instance", "fraction", "error",
                          "seconds", "restarts"])
            out.writerows(rows)
    score: dict[tuple, list[float]] = defaultdict(list)
    secs: dict[str, float] = defaultdict(float)
    restarts: dict[tuple, list[int]] = defaultdict(list)
    for spec, mult, _fid, dim, _inst, frac, _err, sec, nres in rows:
        score[spec, mult, "all"].append(frac)
        score[spec, mult, dim].append(frac)
        secs[spec] += sec
        restarts[spec, mult].append(nres)
    cols = ["all", *dims]
    print(f"BBOB f{fids[0]}..f{fids[-1]} ({len(fids)} functions), instances 1..{len(insts)}, "
          f"seed {a.seed}; fraction of the 51 targets reached (higher is better)")
    print(f"load average {os.getloadavg()[0]:.2f}; wall {wall:.0f} s")
    for mult in mults:
        print(f"\n| {mult}·d | " + " | ".join(f"d={c}" if c != "all" else "all" for c in cols)
              + " | restarts |")
        print("|---" * (len(cols) + 2) + "|")
        for spec in a.algos:
            cells = " | ".join(f"{np.mean(score[spec, mult, c]):.3f}" for c in cols)
            print(f"| {spec} | {cells} | {np.mean(restarts[spec, mult]):.1f} |")
    if len(a.algos) > 1:
        # what a perfect per-problem choice among these specs would reach: an upper bound
        # for any portfolio or selection rule built from them
        best: dict[tuple, float] = defaultdict(float)
        for _spec, mult, fid, dim, inst, frac, *_ in rows:
            best[mult, fid, dim, inst] = max(best[mult, fid, dim, inst], frac)
        for mult in mults:
            cells = {c: [v for (m, _f, d, _i), v in best.items() if m == mult
                         and (c == "all" or d == c)] for c in cols}
            print(f"\nbest of these {len(a.algos)} per (function, d, instance) at {mult}·d: "
                  + ", ".join(f"{c if c == 'all' else f'd={c}'} {np.mean(v):.3f}"
                              for c, v in cells.items()))
    print("\nCPU seconds per algorithm (optimiser + evaluations): "
          + ", ".join(f"{s} {secs[s]:.0f}" for s in a.algos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
