"""``metaheur minimize``: run one algorithm on one test function and print the result."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``minimize`` sub-parser."""
    p = subparsers.add_parser(
        "minimize",
        help="minimise a test function with one algorithm",
        description="Minimise a (by default shifted) test function from metaheur.functions "
        "with a registered algorithm; a progress bar goes to stderr.",
    )
    p.add_argument("--function", "-f", default="sphere",
                   help="test function (see `metaheur list`); default: sphere")
    p.add_argument("--dim", "-d", type=int, default=10, help="dimension; default: 10")
    p.add_argument("--algo", "-a", default="dlf-aoa",
                   help="algorithm (see `metaheur list`); default: dlf-aoa")
    p.add_argument("--budget", "-b", type=int, default=None,
                   help="objective evaluations; default: 10000 * dim")
    p.add_argument("--pop-size", "-n", type=int, default=30, help="population size; default: 30")
    p.add_argument("--seed", "-s", type=int, default=0,
                   help="seed of the algorithm and of the function's shift/rotation; default: 0")
    p.add_argument("--no-shift", action="store_true", help="use the unshifted function")
    p.add_argument("--rotate", action="store_true", help="use a randomly rotated function")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    return p


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    """Run the optimisation; returns 0 (1 if every evaluation failed)."""
    import metaheur
    from metaheur import functions

    fn = functions.get(args.function, args.dim, shift=not args.no_shift, rotate=args.rotate,
                       seed=args.seed)
    algo = metaheur.get(args.algo)  # ValueError lists the valid names
    start = time.perf_counter()
    res = metaheur.minimize(fn, fn.bounds, algo, budget=args.budget, pop_size=args.pop_size,
                            seed=args.seed, vectorized=True, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    out = {
        "algo": algo.name,
        "function": fn.name,
        "dim": fn.dim,
        "shifted": fn.shifted,
        "rotated": fn.rotated,
        "seed": args.seed,
        "pop_size": args.pop_size,
        "fun": _finite(float(res.fun)),
        "error": _finite(float(res.fun) - fn.f_opt),
        "f_opt": fn.f_opt,
        "x": [float(v) for v in res.x],
        "nfev": int(res.nfev),
        "nit": int(res.nit),
        "n_failed": int(res.n_failed),
        "success": bool(res.success),
        "message": res.message,
        "time_s": elapsed,
    }
    if args.json:
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        head = f"{algo.name} on {fn.name} (d={fn.dim}"
        head += ", shifted" if fn.shifted else ""
        head += ", rotated" if fn.rotated else ""
        print(head + f", seed={args.seed})")
        print(f"  fun      {res.fun:.6g}   (error {res.fun - fn.f_opt:.6g}, f_opt {fn.f_opt:.6g})")
        print(f"  nfev     {res.nfev}   nit {res.nit}   n_failed {res.n_failed}")
        print(f"  success  {res.success}   ({res.message})")
        print(f"  time     {elapsed:.3f} s")
        print("  x        " + " ".join(f"{v:.6g}" for v in res.x))
    return 0 if res.success else 1
