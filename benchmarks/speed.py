"""Wall time of every algorithm against the bare cost of the objective.

Work: sphere, d = 30, pop_size = 50, exactly 25,000 evaluations (1 initial population +
499 iterations of 50; POA: 249.5 iterations of two phases). For each algorithm:

* ``run_s``: the ask/tell loop with a vectorised objective (algorithm + bookkeeping);
* ``minimize_s``: the same work through ``metaheur.minimize(vectorized=True)``;
* ``bare_s``: evaluating 25,000 points as 500 calls on (50, 30) arrays;
* ``ratio = run_s / bare_s`` (target <= 20).

Reference rows for one algorithm, GWO, on the same work: a per-agent Python loop as
in Mirjalili's ``GWO.m`` (loops over agents and dimensions, one objective call per
agent), a per-agent loop with vector operations per agent, and, if ``mealpy``
happens to be importable (never a dependency), mealpy's ``OriginalGWO``. Their
``vs_vectorised`` column is their time over metaheur's GWO time. If ``pyswarms`` is
importable (the fastest peer), its ``GlobalBestPSO`` on the same work, against our PSO.
With DLF-AOA, the floor it cannot go below: NumPy drawing just the standard normals of its
Mantegna Lévy steps (``rng.standard_normal(out=...)``, the same count per iteration) on
the same work; its ``vs_vectorised`` is its share of DLF-AOA's run time.

Every timing is the median of ``--repeats`` runs (seeds from
``SeedSequence(seed).spawn``). Prints one table and the load average at the start and the
end; writes ``speed.csv`` and ``speed.json`` (with the environment and those load averages)
to ``--out``::

    python benchmarks/speed.py [--repeats 5] [--loop-repeats 3] [--algos gwo pso] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import metaheur  # noqa: E402
from metaheur.harness.jsondata import json_safe  # noqa: E402

DIM, POP, BUDGET = 30, 50, 25_000
LB, UB = -100.0, 100.0


def sphere(X: np.ndarray) -> np.ndarray:
    """Vectorised sphere on the last axis."""
    return np.sum(X * X, axis=-1)


def sphere_point(x: np.ndarray) -> float:
    """Sphere of one point (for the loop references)."""
    return float(np.dot(x, x))


def _median_time(fn: Callable[[np.random.SeedSequence], Any], seeds: list) -> float:
    times = []
    for ss in seeds:
        t0 = time.perf_counter()
        fn(ss)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---------------------------------------------------------------- vectorised core
def run_ask_tell(algo: str, ss: np.random.SeedSequence) -> int:
    """One run through the raw ask/tell loop; returns nfev."""
    opt = metaheur.get(algo)([(LB, UB)] * DIM, pop_size=POP, budget=BUDGET,
                             seed=np.random.default_rng(ss))
    while not opt.done:
        X = opt.ask()
        opt.tell(X, sphere(X))
    return opt.nfev


def run_minimize(algo: str, ss: np.random.SeedSequence) -> int:
    """One run through ``minimize(vectorized=True)``; returns nfev."""
    res = metaheur.minimize(sphere, [(LB, UB)] * DIM, algo, budget=BUDGET, pop_size=POP,
                            seed=np.random.default_rng(ss), vectorized=True)
    return res.nfev


def bare_evaluation(ss: np.random.SeedSequence) -> None:
    """25,000 points as 500 calls on (50, 30) arrays (the floor any optimiser pays)."""
    X = np.random.default_rng(ss).uniform(LB, UB, (POP, DIM))
    for _ in range(BUDGET // POP):
        sphere(X)


# ---------------------------------------------------------------- loop references
def gwo_loop_matlab_style(ss: np.random.SeedSequence) -> int:
    """GWO as a literal NumPy port of ``GWO.m``: loops over agents and dimensions.

    Same maths as ``metaheur.optimizers.gwo`` (cascading best-so-far leaders, clipping),
    different random stream; element-wise indexing of NumPy arrays and one scalar draw
    per random number, as Python translations of the MATLAB reference are written.
    """
    rng = np.random.default_rng(ss)
    lb, ub = np.full(DIM, LB), np.full(DIM, UB)
    T = (BUDGET - POP) // POP
    X = np.zeros((POP, DIM))
    for i in range(POP):
        for j in range(DIM):
            X[i, j] = lb[j] + rng.random() * (ub[j] - lb[j])
    fX = np.array([sphere_point(X[i]) for i in range(POP)])
    nfev = POP
    L, fL = np.zeros((3, DIM)), np.full(3, np.inf)
    for t in range(0, T + 1):
        for i in range(POP):  # leaders: best three so far, cascading alpha -> beta -> delta
            f = fX[i]
            if f < fL[0]:
                L[2], fL[2] = L[1], fL[1]
                L[1], fL[1] = L[0], fL[0]
                L[0], fL[0] = X[i], f
            elif f < fL[1]:
                L[2], fL[2] = L[1], fL[1]
                L[1], fL[1] = X[i], f
            elif f < fL[2]:
                L[2], fL[2] = X[i], f
        if t == T:
            break
        a = 2.0 - 2.0 * t / T
        for i in range(POP):
            for j in range(DIM):
                s = 0.0
                for k in range(3):
                    A = 2.0 * a * rng.random() - a
                    C = 2.0 * rng.random()
                    s += L[k, j] - A * abs(C * L[k, j] - X[i, j])
                X[i, j] = s / 3.0
            for j in range(DIM):
                X[i, j] = min(max(X[i, j], lb[j]), ub[j])
            fX[i] = sphere_point(X[i])
            nfev += 1
    return nfev


def gwo_loop_per_agent(ss: np.random.SeedSequence) -> int:
    """GWO with a Python loop over agents and NumPy vectors per agent (mealpy style)."""
    rng = np.random.default_rng(ss)
    lb, ub = np.full(DIM, LB), np.full(DIM, UB)
    T = (BUDGET - POP) // POP
    X = lb + rng.random((POP, DIM)) * (ub - lb)
    fX = np.array([sphere_point(x) for x in X])
    nfev = POP
    top = np.argsort(fX, kind="stable")[:3]
    L, fL = X[top].copy(), fX[top].copy()
    for t in range(1, T + 1):
        a = 2.0 - 2.0 * (t - 1) / T
        for i in range(POP):
            A = 2.0 * a * rng.random((3, DIM)) - a
            C = 2.0 * rng.random((3, DIM))
            x = np.clip(np.mean(L - A * np.abs(C * L - X[i]), axis=0), lb, ub)
            X[i], fX[i] = x, sphere_point(x)
            nfev += 1
        pool_X, pool_f = np.vstack([L, X]), np.concatenate([fL, fX])
        top = np.argsort(pool_f, kind="stable")[:3]
        L, fL = pool_X[top].copy(), pool_f[top].copy()
    return nfev


def mealpy_gwo(ss: np.random.SeedSequence) -> int:  # pragma: no cover - optional
    """mealpy's OriginalGWO on the same work (only if mealpy is importable)."""
    from mealpy import GWO, FloatVar

    problem = {
        "obj_func": sphere_point,
        "bounds": FloatVar(lb=[LB] * DIM, ub=[UB] * DIM),
        "minmax": "min",
        "log_to": None,
    }
    model = GWO.OriginalGWO(epoch=(BUDGET - POP) // POP, pop_size=POP)
    model.solve(problem, seed=int(ss.generate_state(1)[0] % 2**31))
    return BUDGET


def pyswarms_pso(ss: np.random.SeedSequence) -> int:  # pragma: no cover - optional
    """pyswarms' GlobalBestPSO on the same work: 500 iterations of 50 particles (its first
    iteration evaluates the initial swarm), constriction coefficients as our PSO."""
    import logging

    import pyswarms as ps

    logging.getLogger("pyswarms").setLevel(logging.ERROR)
    np.random.seed(int(ss.generate_state(1)[0] % 2**31))  # noqa: NPY002 - pyswarms' global state
    opt = ps.single.GlobalBestPSO(
        n_particles=POP, dimensions=DIM, bounds=(np.full(DIM, LB), np.full(DIM, UB)),
        options={"c1": 1.496180, "c2": 1.496180, "w": 0.729844},
    )
    opt.optimize(sphere, iters=BUDGET // POP, verbose=False)
    return BUDGET


def dlf_aoa_normals_only(ss: np.random.SeedSequence) -> int:
    """The standard normals DLF-AOA draws in one run of this work, and nothing else: 2·N·D
    per iteration in the collision phase (L2), 4·N·D otherwise (L1, L2)."""
    from metaheur.optimizers.aoa import transfer_factor

    opt = metaheur.get("dlf-aoa")([(LB, UB)] * DIM, pop_size=POP, budget=BUDGET, seed=0)
    rng = np.random.default_rng(ss)
    buf = np.empty(4 * POP * DIM)
    n = 0
    for t in range(1, opt.max_iter + 1):
        k = 1 if transfer_factor(t, opt.max_iter) < opt.tf_collision else 2
        rng.standard_normal(out=buf[: 2 * k * POP * DIM])
        n += 2 * k * POP * DIM
    return n


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except Exception:
        return False
    return True


def _mealpy_available() -> bool:
    try:
        import mealpy  # noqa: F401
    except Exception:
        return False
    return True


# ---------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--loop-repeats", type=int, default=3,
                        help="runs per timing of the slow loop references")
    parser.add_argument("--algos", nargs="*", default=None,
                        help=f"algorithms (default: all: {', '.join(metaheur.available())})")
    parser.add_argument("--no-loops", action="store_true", help="skip the loop references")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/speed"))
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.loop_repeats < 1:
        parser.error("--repeats and --loop-repeats must be >= 1")
    algos = args.algos or metaheur.available()
    for a in algos:
        metaheur.get(a)  # fail early with the list of valid names

    load_start = os.getloadavg()
    seeds = np.random.SeedSequence(args.seed).spawn(args.repeats)
    loop_seeds = np.random.SeedSequence(args.seed).spawn(args.loop_repeats)
    bare = _median_time(bare_evaluation, seeds)
    rows: list[dict[str, Any]] = []
    for algo in algos:
        assert run_ask_tell(algo, seeds[0]) == BUDGET  # warm-up, and the budget is exact
        # bare and run timings interleaved, so that a change of machine load hits both
        bare_t, run_t = [], []
        for ss in seeds:
            bare_t.append(_median_time(bare_evaluation, [ss]))
            run_t.append(_median_time(lambda s, a=algo: run_ask_tell(a, s), [ss]))
        bare_a, run_s = statistics.median(bare_t), statistics.median(run_t)
        min_s = _median_time(lambda ss, a=algo: run_minimize(a, ss), seeds)
        rows.append({"algo": algo, "impl": "metaheur (vectorised)", "run_s": run_s,
                     "minimize_s": min_s, "bare_s": bare_a, "ratio": run_s / bare_a,
                     "target_ok": run_s / bare_a <= 20.0, "repeats": args.repeats})
        print(f"{algo:>8}: {run_s * 1e3:8.1f} ms  ({run_s / bare_a:5.1f}x bare)", file=sys.stderr)

    def ref_row(algo: str, impl: str, t: float, repeats: int, vectorised_s: float) -> None:
        """A reference timing (no ``minimize``), beside our vectorised run of ``algo``."""
        rows.append({"algo": algo, "impl": impl, "run_s": t, "minimize_s": float("nan"),
                     "bare_s": bare, "ratio": t / bare, "target_ok": t / bare <= 20.0,
                     "repeats": repeats, "vs_vectorised": t / vectorised_s})

    refs: list[tuple[str, Callable[[np.random.SeedSequence], Any]]] = []
    if not args.no_loops:
        refs += [("python loop over agents and dims (GWO.m style)", gwo_loop_matlab_style),
                 ("python loop over agents, numpy per agent", gwo_loop_per_agent)]
    if _mealpy_available():
        refs.append(("mealpy OriginalGWO", mealpy_gwo))
    else:
        print("mealpy not importable: no mealpy row", file=sys.stderr)
    gwo_s = next((r["run_s"] for r in rows if r["algo"] == "gwo"), None)
    if gwo_s is None and refs:
        gwo_s = _median_time(lambda ss: run_ask_tell("gwo", ss), seeds)
    for impl, fn in refs:
        t = _median_time(fn, loop_seeds)
        ref_row("gwo", impl, t, args.loop_repeats, gwo_s)
        print(f"{impl}: {t:.2f} s ({t / bare:.0f}x bare)", file=sys.stderr)

    if "dlf-aoa" in algos:
        dlf_s = next(r["run_s"] for r in rows if r["algo"] == "dlf-aoa")
        t = _median_time(dlf_aoa_normals_only, seeds)
        ref_row("dlf-aoa", "its Levy normals alone (numpy)", t, args.repeats, dlf_s)
        print(f"DLF-AOA's normals alone: {t * 1e3:.1f} ms ({t / bare:.1f}x bare)", file=sys.stderr)

    if _importable("pyswarms"):
        pso_s = next((r["run_s"] for r in rows if r["algo"] == "pso"), None)
        if pso_s is None:
            pso_s = _median_time(lambda ss: run_ask_tell("pso", ss), seeds)
        t = _median_time(pyswarms_pso, seeds)
        ref_row("pso", "pyswarms GlobalBestPSO", t, args.repeats, pso_s)
        print(f"pyswarms GlobalBestPSO: {t * 1e3:.1f} ms ({t / bare:.1f}x bare)", file=sys.stderr)
    else:
        print("pyswarms not importable: no pyswarms row", file=sys.stderr)

    df = pd.DataFrame(rows)
    if "vs_vectorised" not in df:
        df["vs_vectorised"] = float("nan")
    vec = df["impl"] == "metaheur (vectorised)"
    df.loc[vec & df["algo"].isin(["gwo", "pso", "dlf-aoa"]), "vs_vectorised"] = 1.0
    with pd.option_context("display.width", 160, "display.max_columns", 20,
                           "display.float_format", "{:.4g}".format):
        print(f"sphere d={DIM}, pop {POP}, {BUDGET} evaluations; bare = 500 calls on "
              f"({POP}, {DIM}) = {bare * 1e3:.2f} ms")
        print(df.to_string(index=False))
    load_end = os.getloadavg()
    print("load average (1, 5, 15 min): start "
          + ", ".join(f"{v:.2f}" for v in load_start) + "; end "
          + ", ".join(f"{v:.2f}" for v in load_end) + f"; {os.cpu_count()} CPUs")
    args.out.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out / "speed.csv", index=False)
    meta = {
        "work": {"function": "sphere", "dim": DIM, "pop_size": POP, "budget": BUDGET},
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "metaheur": metaheur.__version__, "platform": platform.platform(),
                        "processor": platform.processor(), "cpu_count": os.cpu_count(),
                        "loadavg_start": [round(v, 2) for v in load_start],
                        "loadavg_end": [round(v, 2) for v in load_end]},
        "rows": json_safe(df.to_dict(orient="records"), inf_as_text=False),  # full precision
    }
    (args.out / "speed.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {args.out / 'speed.csv'} and {args.out / 'speed.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
