"""``metaheur minimize``: run one algorithm on one test function and print the result."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

EXAMPLES = """examples:
  metaheur minimize -f rastrigin -d 10 -a dlf-aoa --budget 20000
  metaheur minimize -f ackley -d 30 -a pso --pop-size 40 --rotate --json
  metaheur minimize -f rastrigin -d 10 -a dlf-aoa --algo-param levy_scale=unscaled
"""


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``minimize`` sub-parser."""
    from metaheur.cli import HelpFormatter, int_arg
    from metaheur.harness.algo_params import key_value

    p = subparsers.add_parser(
        "minimize",
        parents=[common],
        help="minimise a test function with one algorithm",
        description="Minimise a (by default shifted) test function from metaheur.functions "
        "with a registered algorithm; a progress bar goes to stderr when it is a terminal. "
        "The time printed is the optimisation's own (first to last evaluation), without "
        "start-up and imports.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--function", "-f", default="sphere",
                   help="test function (see `metaheur list`); default: sphere")
    p.add_argument("--dim", "-d", type=int_arg("--dim", 1), default=10,
                   help="dimension; default: 10")
    p.add_argument("--algo", "-a", default="dlf-aoa",
                   help="algorithm (see `metaheur list`); default: dlf-aoa")
    p.add_argument("--budget", "-b", type=_budget, default=None,
                   help="objective evaluations: an integer or <k>d (k × dimension, as in "
                   "`metaheur bench`); default: 10000d")
    p.add_argument("--pop-size", type=int_arg("--pop-size"), default=None,
                   help="population size; default: the algorithm's (30; pso-ipop: 20)")
    p.add_argument("--seed", "-s", type=int_arg("--seed", 0), default=0,
                   help="seed of the algorithm and of the function's shift/rotation; default: 0")
    p.add_argument("--algo-param", "-p", type=key_value, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="a hyper-parameter of the algorithm (`metaheur list --params`), e.g. "
                   "boundary=reflect; repeat for more; default: the published values")
    p.add_argument("--no-shift", action="store_true", help="use the unshifted function")
    p.add_argument("--rotate", action="store_true", help="use a randomly rotated function")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--progress", action="store_true",
                   help="draw the progress bar even when stderr is not a terminal")
    return p


def _budget(text: str) -> str:
    """``--budget``: checked here, resolved against ``--dim`` in :func:`run`."""
    from metaheur.harness.bench import parse_budget

    try:
        parse_budget(text, 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 1 or <k>d with k >= 1 (k × --dim, e.g. 1000d), got "
            f"{text!r}") from None
    return text


class _Timed:
    """The objective, recording when its first evaluation started and its last ended."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.first, self.last = fn, None, None

    def __call__(self, X: Any) -> Any:
        t = time.perf_counter()
        self.first = t if self.first is None else self.first
        try:
            return self.fn(X)
        finally:
            self.last = time.perf_counter()

    @property
    def seconds(self) -> float:
        return 0.0 if self.first is None or self.last is None else self.last - self.first


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def run(args: argparse.Namespace) -> int:
    """Run the optimisation; returns 0 (1 if every evaluation failed)."""
    import metaheur
    from metaheur import functions

    fn = functions.get(args.function, args.dim, shift=not args.no_shift, rotate=args.rotate,
                       seed=args.seed)
    from metaheur.harness.algo_params import MINIMIZE_OWNED, check_algo_params
    from metaheur.harness.bench import parse_budget
    from metaheur.harness.progress import want_progress

    algo = metaheur.get(args.algo)  # ValueError lists the valid names
    params = check_algo_params(algo, args.algo_param, owned=MINIMIZE_OWNED)  # values: minimize
    timed = _Timed(fn)
    pop = algo.default_pop_size if args.pop_size is None else args.pop_size
    latest: list[Any] = []  # the state after the last finished iteration

    def keep(res: Any) -> None:
        latest[:] = [res]

    stop: KeyboardInterrupt | None = None
    try:
        budget = None if args.budget is None else parse_budget(args.budget, args.dim)
        res = metaheur.minimize(timed, fn.bounds, algo, budget=budget, pop_size=pop,
                                seed=args.seed, vectorized=True, callback=keep,
                                progress=args.progress or want_progress(not args.quiet),
                                **params)
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: print what finished, then stop
        if not latest:
            raise
        from metaheur._minimize import INTERRUPTED, STATUS

        res, stop = latest[-1], exc  # the callback's interim result: status -1, "running"
        res["status"], res["success"], res["message"] = INTERRUPTED, False, STATUS[INTERRUPTED]
    elapsed = timed.seconds
    out = {
        "algo": algo.name,
        "function": fn.name,
        "dim": fn.dim,
        "shifted": fn.shifted,
        "rotated": fn.rotated,
        "seed": args.seed,
        "pop_size": pop,
        "params": params,
        "fun": _finite(float(res.fun)),
        "error": _finite(float(res.fun) - fn.f_opt),
        "f_opt": fn.f_opt,
        "x": [float(v) for v in res.x],
        "nfev": int(res.nfev),
        "nit": int(res.nit),
        "n_failed": int(res.n_failed),
        "success": bool(res.success),
        "status": int(res.status),
        "message": res.message,
        "time_s": elapsed,
    }
    if args.json:
        from metaheur.harness.jsondata import json_safe

        # a hyper-parameter without a constraint may be inf: "inf", as bench --json writes it
        print(json.dumps(json_safe(out), indent=2, allow_nan=False))
    else:
        head = f"{algo.name} on {fn.name} (d={fn.dim}"
        head += ", shifted" if fn.shifted else ""
        head += ", rotated" if fn.rotated else ""
        print(head + f", seed={args.seed})")
        if params:
            print("  params   " + " ".join(f"{k}={v!r}" for k, v in params.items()))
        print(f"  fun      {res.fun:.6g}   (error {res.fun - fn.f_opt:.6g}, f_opt {fn.f_opt:.6g})")
        print(f"  nfev     {res.nfev}   nit {res.nit}   n_failed {res.n_failed}")
        print(f"  success  {res.success}   status {res.status}   ({res.message})")
        print(f"  time     {elapsed:.3f} s (optimisation only)")
        print("  x        " + " ".join(f"{v:.6g}" for v in res.x))
    if stop is not None:
        raise stop
    # success follows SciPy (True only when --target was reached); the exit status says
    # whether the run produced a finite best value at all.
    return 0 if math.isfinite(res.fun) else 1
