"""``metaheur bench``: algorithms × test functions × dimensions × runs, with statistics.

Thin wrapper over :mod:`metaheur.harness.bench`: parses the lists, checks the output folder
before any run, runs in parallel with joblib, writes raw CSVs, markdown tables, rank-sum
(Holm) and Friedman statistics and PNG plots into ``--out``, and prints the markdown report
(or a JSON summary).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_ALGOS = "aoa,dlf-aoa,pso,aco,gwo,poa"
DEFAULT_FUNCTIONS = "sphere,rosenbrock,rastrigin,ackley,griewank,schwefel"
EXAMPLES = """examples:
  metaheur bench --algos dlf-aoa,pso,gwo --functions sphere,ackley --dim 10 --runs 10
  metaheur bench --suite bbob --functions 1-5 --dim 5 --budget 1000d --ref pso --json
  metaheur bench --algos pso,pso:w=0.5,pso:inertia=linear --ref pso --dim 10
"""


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``bench`` sub-parser."""
    from metaheur.cli import OUT_ARG, HelpFormatter, int_arg

    p = subparsers.add_parser(
        "bench",
        parents=[common],
        help="compare algorithms on test functions (tables, statistics, plots)",
        description="Run every algorithm --runs times on every function and dimension "
        "(seeds from np.random.SeedSequence(--seed).spawn), in parallel with joblib, and "
        "write raw results, markdown tables, rank-sum tests against --ref (Holm-corrected), "
        "Friedman average ranks, convergence and box plots into --out. A run that raises "
        "stops the benchmark with exit status 1, naming it; the finished runs' raw results "
        "are kept in --out/raw, as after Ctrl-C (in --out/raw-partial when --out holds an "
        "earlier benchmark's results, which a stopped rerun keeps).",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--algos", default=DEFAULT_ALGOS,
                   help="comma-separated algorithms: registry names (`metaheur list`) and "
                   "Optuna's tpe, cmaes, gp, random; a variant with hyper-parameters as "
                   "NAME:KEY=VALUE[:KEY=VALUE...], e.g. dlf-aoa:boundary=reflect (a comma "
                   "inside a JSON value or before KEY= stays in its variant: "
                   "'ipop:inner_params={\"w\": 0.5, \"c1\": 2}'); default: "
                   f"{DEFAULT_ALGOS}")
    p.add_argument("--suite", default="functions", choices=["functions", "bbob"],
                   help="functions: metaheur.functions (shifted); bbob: COCO's BBOB via "
                   "cocoex (pip install coco-experiment); default: functions")
    p.add_argument("--functions", default=None,
                   help=f"comma-separated functions; default: {DEFAULT_FUNCTIONS} "
                   "(bbob: ids 1..24, e.g. 1,15 or 1-24; default all)")
    p.add_argument("--dim", default=None, help="comma-separated dimensions; default: 10,30 "
                   "(bbob: 10,20; its dimensions are 2, 3, 5, 10, 20, 40)")
    p.add_argument("--runs", type=int_arg("--runs", 1), default=30,
                   help="runs per algorithm and problem; default: 30")
    p.add_argument("--budget", default="10000d",
                   help="evaluations per run: an integer or <k>d (k × dimension); default: 10000d")
    p.add_argument("--pop-size", type=int_arg("--pop-size", 1), default=None,
                   help="population size; default: each algorithm's (30; pso-ipop: 20)")
    p.add_argument("--seed", type=int_arg("--seed", 0), default=0, help="root seed; default: 0")
    p.add_argument("--ref", default="dlf-aoa",
                   help="reference algorithm of the rank-sum tests; default: dlf-aoa "
                   "(no tests, with a note, when it is not in --algos)")
    p.add_argument("--n-jobs", "-j", type=int_arg("--n-jobs", -1, 4 * (os.cpu_count() or 1)),
                   default=-1, help="joblib workers; -1: one per CPU core (the default)")
    p.add_argument("--out", type=OUT_ARG, default="metaheur-runs/bench", help="output folder; "
                   "default: metaheur-runs/bench")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary (settings, notes, summary, friedman, wilcoxon; "
                   "numbers exact, NaN as null, infinities as \"inf\"/\"-inf\")")
    p.add_argument("--progress", action="store_true",
                   help="draw the progress bar even when stderr is not a terminal")
    return p


def json_records(frame: Any) -> list[dict[str, Any]] | None:
    """The rows of a DataFrame (or ``None``) as :func:`~metaheur.harness.jsondata.json_safe`
    records, full precision (pandas' ``to_json`` rounds to 10 decimal places and writes inf
    as null)."""
    from metaheur.harness.jsondata import json_safe

    return None if frame is None else json_safe(frame.to_dict(orient="records"))


def _unique(names: list[Any], option: str) -> list[Any]:
    seen: dict[Any, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"{option} names {name} twice (items {seen[name] + 1} and {i + 1})")
        seen[name] = i
    return names


def _keep_finished(result: Any, planned: int, out: Any) -> None:
    """Write the raw results of a stopped benchmark's finished runs, and say so on stderr."""
    from metaheur.harness import bench

    done = len(result.runs)
    where = ""
    if done:
        raw = bench.write_raw(result, out, partial=True)[0].parent
        where = f"; their raw results are in {raw}/ (runs.csv, convergence.csv; no " \
                "tables or statistics of incomplete runs)"
        if raw.name != "raw":
            where += f"; the earlier benchmark's results in {out}/ are kept"
    print(f"metaheur bench: {done} of {planned} runs finished{where}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its markdown report; returns 0, or 1 when a run
    failed (its error on stderr, the finished runs' raw results kept)."""
    from metaheur.harness import bench
    from metaheur.harness.algo_params import split_specs
    from metaheur.harness.outlock import exclusive
    from metaheur.harness.storage import check_output_dir

    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be -1 (all cores) or >= 1, got 0")
    specs = bench.parse_list(split_specs(args.algos), "--algos")
    checked = [bench.check_spec(a) for a in specs]
    algos = _unique([label for label, _, _ in checked], "--algos")
    for i, (label, name, params) in enumerate(checked):  # one variant, spelled two ways
        twin = next((j for j in range(i) if checked[j][1:] == (name, params)), None)
        if twin is not None:
            raise ValueError(f"--algos names {label} twice (items {twin + 1} and {i + 1}: "
                             f"{checked[twin][0]} and {label})")
    dim_text = args.dim if args.dim is not None else ("10,20" if args.suite == "bbob"
                                                      else "10,30")
    dims = _unique(bench.parse_list(dim_text, "--dim", int), "--dim")
    if any(d < 1 for d in dims):
        raise ValueError(f"--dim values must be >= 1, got {dim_text}")
    bench.check_dims(dims, args.suite)
    for d in dims:
        bench.parse_budget(args.budget, d)
    if args.suite == "bbob":
        try:
            bench.require_cocoex()
        except ImportError as exc:
            raise ValueError(str(exc)) from None
    default_functions = "1-24" if args.suite == "bbob" else DEFAULT_FUNCTIONS
    function_text = default_functions if args.functions is None else args.functions
    functions = _unique(bench.check_functions(
        bench.parse_list(function_text, "--functions"), args.suite, dims), "--functions")
    ref = None
    if args.ref:  # the --algos item of the same variant, however the two are spelled
        ref_label, ref_name, ref_params = bench.check_spec(args.ref)
        ref = next((label for label, name, params in checked
                    if (name, params) == (ref_name, ref_params)), ref_label)
    out = check_output_dir(args.out)  # before the work, not after it
    importlib.import_module("matplotlib")  # the plots come last: a missing extra fails first
    with exclusive(out, "metaheur bench"):  # a second bench into --out is refused, not mixed
        return _bench(args, algos, functions, dims, ref, out)


def _bench(args: argparse.Namespace, algos: list[str], functions: list[str], dims: list[int],
           ref: str | None, out: Path) -> int:
    """The benchmark itself, with ``out`` held (:func:`run`)."""
    from metaheur.harness import bench
    from metaheur.harness.progress import want_progress

    start = time.perf_counter()
    try:
        result = bench.run_benchmark(algos, functions, dims, runs=args.runs,
                                     budget=args.budget, pop_size=args.pop_size,
                                     seed=args.seed, n_jobs=args.n_jobs, suite=args.suite,
                                     progress=args.progress or want_progress(not args.quiet))
    except bench.Interrupted as stop:  # keep what finished, then stop as interrupted
        _keep_finished(stop.result, stop.planned, out)
        raise stop.cause from None
    except bench.RunFailed as failed:  # keep what finished, say which run failed
        _keep_finished(failed.result, failed.planned, out)
        logger.debug("the run's traceback", exc_info=failed)
        print(f"metaheur bench: error: {failed}", file=sys.stderr)
        return 1
    from metaheur.harness.bench_report import PlottingStopped

    try:
        written = bench.write_outputs(result, out, ref=ref)
    except PlottingStopped as stop:
        n = len(result.runs)
        print(f"metaheur bench: {n} of {n} runs finished; stopped while drawing the plots: "
              f"{out}/ holds report.md, the tables and statistics and raw/, not every plot",
              file=sys.stderr)
        raise stop.cause from None
    for note in written["notes"] if not args.quiet else ():
        print(f"note: {note}", file=sys.stderr)
    seconds = time.perf_counter() - start
    if args.json:
        from metaheur.harness.jsondata import json_safe

        print(json.dumps(json_safe(
            {"settings": result.settings, "out": str(out), "seconds": seconds,
             "notes": written["notes"], "summary": json_records(written["summary"]),
             "friedman": json_records(written["friedman"]),
             "wilcoxon": json_records(written["wilcoxon"])}), indent=2, allow_nan=False))
        return 0
    print(written["markdown"])
    print(f"{len(result.runs)} runs in {seconds:.1f} s; results in "
          f"{out}/ (report.md, raw/runs.csv, raw/convergence.csv, tables/, plots/)")
    return 0
