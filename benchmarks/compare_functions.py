"""The classic comparison: the six metaheuristics on shifted test functions, d = 10 and 30.

A thin driver of :mod:`metaheur.bench` (the harness behind ``metaheur bench``): every algorithm
runs ``--runs`` times per function and dimension at an equal budget of evaluations, with seeds
from ``np.random.SeedSequence(--seed).spawn``. Prints one table (mean final error per algorithm,
rank-sum result against DLF-AOA with Holm correction, and the ratio of each algorithm's mean
error to DLF-AOA's, all measured in this run) and the Friedman average ranks, and writes the
full results (raw CSVs, markdown tables, plots) into ``--out``.

    python benchmarks/compare_functions.py                           # 30 runs, 10000 d (long)
    python benchmarks/compare_functions.py --runs 5 --budget 2000d   # about a minute
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from metaheur.harness import bench
from metaheur.harness.algo_params import split_specs
from metaheur.harness.progress import want_progress
from metaheur.harness.stats import markdown_table

ALGOS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa")
FUNCTIONS = ("sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "griewank",
             "schwefel", "levy")
REF = "dlf-aoa"


def comparison_table(runs: pd.DataFrame, wilcoxon: pd.DataFrame | None, ref: str) -> pd.DataFrame:
    """One row per (function, dim): ``mean (+/=/-)`` per algorithm and ``ratio`` vs ``ref``."""
    means = runs.groupby(["function", "dim", "algo"], sort=False)["final_error"].mean()
    rows = []
    for (fun, dim), m in means.groupby(level=[0, 1], sort=False):
        m = m.droplevel([0, 1])
        row: dict[str, object] = {"function": fun, "d": dim}
        for algo, value in m.items():
            mark = ""
            if wilcoxon is not None and algo != ref:
                hit = wilcoxon[(wilcoxon["function"] == fun) & (wilcoxon["dim"] == dim)
                               & (wilcoxon["algo"] == algo)]
                mark = f" ({hit['result'].iloc[0]})" if len(hit) else ""
            ratio = value / m[ref] if ref in m and m[ref] > 0 else float("nan")
            row[algo] = f"{value:.3g}{mark}" + ("" if algo == ref else f" ×{ratio:.2g}")
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", default=",".join(ALGOS))
    p.add_argument("--functions", default=",".join(FUNCTIONS))
    p.add_argument("--dim", default="10,30")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--budget", default="10000d", help="int or <k>d (k × dimension)")
    p.add_argument("--pop-size", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=-1)
    p.add_argument("--out", default="results/compare_functions")
    args = p.parse_args()
    if os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0"):
        args.runs, args.budget, args.dim = 2, "50d", "2"

    algos = bench.parse_list(split_specs(args.algos), "--algos")
    start = time.perf_counter()
    result = bench.run_benchmark(
        algos, bench.parse_list(args.functions, "--functions"),
        bench.parse_list(args.dim, "--dim", int), runs=args.runs, budget=args.budget,
        pop_size=args.pop_size, seed=args.seed, n_jobs=args.n_jobs,
        progress=want_progress(True),  # a bar on a terminal only, not into a log file
    )
    ref = REF if REF in algos else None
    written = bench.write_outputs(result, args.out, ref=ref)
    table = comparison_table(result.runs, written["wilcoxon"], REF)
    print(f"Mean final error over {args.runs} runs, budget {args.budget}, pop_size "
          f"{args.pop_size}, shifted functions; (+/=/-): {REF} significantly better / no "
          f"difference / worse (rank-sum, Holm, 0.05); ×r: mean error relative to {REF}.")
    print(markdown_table(table))
    print()
    print(markdown_table(written["friedman"][["dim", "algo", "mean_rank"]], ".3g"))
    print(f"\n{len(result.runs)} runs in {time.perf_counter() - start:.0f} s; full results in "
          f"{args.out}/")


if __name__ == "__main__":
    main()
