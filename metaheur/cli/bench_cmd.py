"""``metaheur bench``: algorithms × test functions × dimensions × runs, with statistics.

Thin wrapper over :mod:`metaheur.bench`: parses the lists, runs in parallel with joblib,
writes raw CSVs, markdown tables, Wilcoxon/Holm and Friedman statistics and PNG plots into
``--out``, and prints the markdown report.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

DEFAULT_ALGOS = "aoa,dlf-aoa,pso,aco,gwo,poa"
DEFAULT_FUNCTIONS = "sphere,rosenbrock,rastrigin,ackley,griewank,schwefel"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-parser."""
    p = subparsers.add_parser(
        "bench",
        help="compare algorithms on test functions (tables, statistics, plots)",
        description="Run every algorithm --runs times on every function and dimension "
        "(seeds from np.random.SeedSequence(--seed).spawn), in parallel with joblib, and "
        "write raw results, markdown tables, rank-sum tests against --ref (Holm-corrected), "
        "Friedman average ranks, convergence and box plots into --out.",
    )
    p.add_argument("--algos", default=DEFAULT_ALGOS,
                   help="comma-separated algorithms: registry names (`metaheur list`) and "
                   f"Optuna's tpe, cmaes, random; default: {DEFAULT_ALGOS}")
    p.add_argument("--suite", default="functions", choices=["functions", "bbob"],
                   help="functions: metaheur.functions (shifted); bbob: COCO's BBOB via "
                   "cocoex (pip install coco-experiment); default: functions")
    p.add_argument("--functions", default=None,
                   help=f"comma-separated functions; default: {DEFAULT_FUNCTIONS} "
                   "(bbob: ids 1..24, e.g. 1,15 or 1-24; default all)")
    p.add_argument("--dim", default="10,30", help="comma-separated dimensions; default: 10,30")
    p.add_argument("--runs", type=int, default=30, help="runs per algorithm and problem; "
                   "default: 30")
    p.add_argument("--budget", default="10000d",
                   help="evaluations per run: an integer or <k>d (k × dimension); default: 10000d")
    p.add_argument("--pop-size", type=int, default=30, help="population size; default: 30")
    p.add_argument("--seed", type=int, default=0, help="root seed; default: 0")
    p.add_argument("--ref", default="dlf-aoa",
                   help="reference algorithm of the rank-sum tests; default: dlf-aoa "
                   "(skipped when not in --algos)")
    p.add_argument("--n-jobs", type=int, default=-1, help="joblib workers; default: -1 (all)")
    p.add_argument("--out", default="metaheur-runs/bench", help="output folder; "
                   "default: metaheur-runs/bench")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its markdown report."""
    from metaheur.harness import bench
    from metaheur.harness.study import check_algo

    algos = [check_algo(a) for a in bench.parse_list(args.algos, "--algos")]
    dims = bench.parse_list(args.dim, "--dim", int)
    if any(d < 1 for d in dims):
        raise ValueError(f"--dim values must be >= 1, got {args.dim}")
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    for d in dims:
        bench.parse_budget(args.budget, d)
    if args.suite == "bbob":
        try:
            bench.require_cocoex()
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    default_functions = "1-24" if args.suite == "bbob" else DEFAULT_FUNCTIONS
    functions = bench.check_functions(
        bench.parse_list(args.functions or default_functions, "--functions"), args.suite)
    ref = check_algo(args.ref) if args.ref else None
    if ref is not None and ref not in algos:
        ref = None
    start = time.perf_counter()
    result = bench.run_benchmark(algos, functions, dims, runs=args.runs, budget=args.budget,
                                 pop_size=args.pop_size, seed=args.seed, n_jobs=args.n_jobs,
                                 suite=args.suite, progress=not args.quiet)
    written = bench.write_outputs(result, args.out, ref=ref)
    print(written["markdown"])
    print(f"{len(result.runs)} runs in {time.perf_counter() - start:.1f} s; results in "
          f"{args.out}/ (report.md, raw/runs.csv, raw/convergence.csv, tables/, plots/)")
    return 0
