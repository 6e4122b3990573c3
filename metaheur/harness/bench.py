"""Benchmarks: many algorithms × functions × dimensions × runs, and their written report.

Usable from Python and by ``metaheur bench``::

    from metaheur.harness import bench
    res = bench.run_benchmark(["dlf-aoa", "pso", "tpe"], ["rastrigin", "ackley"], [10],
                              runs=30, budget="10000d", seed=0, n_jobs=-1)
    bench.write_outputs(res, "bench-out", ref="dlf-aoa")

Every run of every algorithm gets its generator from ``np.random.SeedSequence(seed).spawn``
(run ``r`` uses child ``r`` for every algorithm and problem, so a result does not depend on
which other algorithms are in the list). The registry algorithms run through
:func:`metaheur.minimize` on the vectorised function; Optuna's ``tpe``, ``cmaes`` and ``random``
run as Optuna studies with one float parameter per coordinate of the function's box. The
suite ``functions`` is :mod:`metaheur.functions` (shifted by default, one fixed instance per
function: ``seed=0``); the suite ``bbob`` is COCO's BBOB through ``cocoex`` (run ``r`` is
instance ``r + 1``, as in COCO). The final error is ``best f - f_opt``. The statistics are
those of :mod:`metaheur.harness.stats`, the plots those of :mod:`metaheur.harness.plots`;
:mod:`metaheur.harness.bench_report` writes them.
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metaheur.harness.bbob import BBOB_DIMS, bbob_ids, bbob_problem, require_cocoex
from metaheur.harness.bench_report import write_outputs, write_raw
from metaheur.harness.progress import ProgressBar

__all__ = [
    "SUITES",
    "BBOB_DIMS",
    "BenchResult",
    "Interrupted",
    "RunFailed",
    "parse_budget",
    "parse_list",
    "check_functions",
    "check_dims",
    "require_cocoex",
    "run_benchmark",
    "write_outputs",
    "write_raw",
]

logger = logging.getLogger(__name__)

SUITES = ("functions", "bbob")


# ---------------------------------------------------------------------------- parsing
def parse_budget(budget: int | str, dim: int) -> int:
    """``10000`` or ``"10000"`` → 10000; ``"<k>d"`` → ``k * dim``. ``ValueError`` otherwise
    (a negative or zero budget too), saying what is allowed."""
    value = 0
    if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
        value = int(budget)
    elif (m := re.fullmatch(r"\s*(\d+)\s*(d?)\s*", str(budget))) is not None:
        value = int(m[1]) * (dim if m[2] else 1)
    if value < 1:
        raise ValueError(f"budget must be a positive integer or '<k>d' with k >= 1 "
                         f"(k × dimension, e.g. 10000d), got {budget!r}")
    return value


def parse_list(text: str | Sequence[Any], name: str, cast: Callable[[str], Any] = str) -> list:
    """Comma-separated ``text`` (or a sequence) as a list; ``ValueError`` naming ``name``."""
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        out = [cast(str(s).strip()) for s in items if str(s).strip()]
    except ValueError:
        raise ValueError(f"{name} must be a comma-separated list, got {text!r}") from None
    if not out:
        raise ValueError(f"{name} must not be empty")
    return out


def check_spec(spec: str) -> tuple[str, str, dict[str, Any]]:
    """``(label, name, params)`` of one ``--algos`` item: a registry name or Optuna's
    ``tpe``, ``cmaes``, ``random``, or a variant with hyper-parameters,
    ``dlf-aoa:boundary=reflect:levy_scale=1`` (:func:`metaheur.harness.algo_params.parse_spec`).
    ``label`` is its canonical spelling, which names it in every table. Names are checked
    here (``ValueError`` saying what is allowed); values by the algorithm's constraints
    when :func:`run_benchmark` starts."""
    from metaheur._registry import get
    from metaheur.harness.algo_params import (
        MINIMIZE_OWNED,
        check_algo_params,
        check_optuna_params,
        parse_spec,
        spec_label,
    )
    from metaheur.harness.study import OPTUNA_SAMPLERS, check_algo

    raw, given = parse_spec(spec)
    name = check_algo(raw)
    if not given:
        return name, name, {}
    if name in OPTUNA_SAMPLERS:  # the values too, now: a run would fail in a worker
        params = check_optuna_params(name, given.items(), owned=MINIMIZE_OWNED,
                                     what=repr(spec))
    else:
        params = check_algo_params(get(name), given.items(), owned=MINIMIZE_OWNED,
                                   what=f"{spec!r}: hyper-parameter")
    return spec_label(name, params), name, params


def check_functions(functions: Sequence[str], suite: str = "functions",
                    dims: Sequence[int] = ()) -> list[str]:
    """Validate names for ``suite`` and return their canonical forms: registry names (any
    case, ``_`` for ``-``), bbob ids as ``f1``..``f24``; every function must exist in every
    one of ``dims`` (rosenbrock needs d >= 2), checked before any run."""
    if suite == "bbob":
        return [f"f{i}" for i in bbob_ids(functions)]
    if suite != "functions":
        raise ValueError(f"unknown suite {suite!r}; allowed: {', '.join(SUITES)}")
    from metaheur import functions as fn

    known = fn.available()
    names = [f.strip().lower().replace("_", "-") for f in functions]
    bad = [f for f, name in zip(functions, names, strict=True) if name not in known]
    if bad:
        raise ValueError(f"unknown function(s) {', '.join(bad)}; allowed: {', '.join(known)}")
    for name in names:
        low = [int(d) for d in dims if int(d) < fn.min_dim(name)]
        if low:
            raise ValueError(f"{name} needs dimensions >= {fn.min_dim(name)}, got --dim "
                             f"{','.join(map(str, low))}")
    return names


def check_dims(dims: Sequence[int], suite: str = "functions") -> list[int]:
    """Dimensions as integers >= 1; the bbob suite's must be among :data:`BBOB_DIMS`."""
    dims = [int(d) for d in dims]
    if any(d < 1 for d in dims):
        raise ValueError(f"dimensions must be >= 1, got {dims}")
    bad = [d for d in dims if suite == "bbob" and d not in BBOB_DIMS]
    if bad:
        raise ValueError(f"the bbob suite has no dimension {', '.join(map(str, bad))}; "
                         f"allowed: {', '.join(map(str, BBOB_DIMS))}")
    return dims


# ---------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class _Problem:
    """A picklable problem description; :meth:`build` makes it in the worker."""

    suite: str
    function: str
    dim: int
    instance: int

    def build(self) -> tuple[Callable[[NDArray], NDArray], NDArray, float]:
        """``(vectorised f, bounds (d, 2), f_opt)``."""
        if self.suite == "functions":
            from metaheur import functions as fn

            tf = fn.get(self.function, self.dim, shift=True, rotate=False, seed=0)
            return tf, np.asarray(tf.bounds, dtype=float), float(tf.f_opt)
        problem, f_opt = bbob_problem(int(self.function[1:]), self.dim, self.instance)
        bounds = np.column_stack([problem.lower_bounds, problem.upper_bounds])

        def f(X: NDArray) -> NDArray:
            return np.array([problem(x) for x in np.atleast_2d(X)], dtype=float)

        return f, bounds, f_opt


def _problems(suite: str, functions: Sequence[str], dims: Sequence[int], runs: int
              ) -> list[tuple[_Problem, int]]:
    """(problem, run index) pairs; bbob run ``r`` is instance ``r + 1``."""
    return [
        (_Problem(suite, f, d, r + 1 if suite == "bbob" else 0), r)
        for f in functions for d in dims for r in range(runs)
    ]


# ------------------------------------------------------------------------------ runs
def _optuna_run(algo: str, f: Callable, bounds: NDArray, budget: int, pop_size: int,
                rng: np.random.Generator, params: dict[str, Any]) -> NDArray:
    """Best-so-far after each of ``budget`` Optuna trials on the box (``params``: options of
    Optuna's sampler); returns (budget,)."""
    import optuna

    from metaheur.harness.study import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    seed = int(rng.integers(2**31 - 1))
    from metaheur.optuna import NO_POPULATION

    sampler = make_sampler(algo, seed=seed,
                           pop_size=None if algo in NO_POPULATION else pop_size, **params)
    study = optuna.create_study(sampler=sampler)
    names = [f"x{i}" for i in range(bounds.shape[0])]
    values = np.empty(budget)

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(n, lo, hi) for n, (lo, hi) in zip(names, bounds,
                                                                            strict=True)])
        return float(f(x[None, :])[0])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental / independent-sampling notices
        for i in range(budget):
            trial = study.ask()
            try:
                v = objective(trial)
            except Exception:
                v = math.inf
            study.tell(trial, v if math.isfinite(v) else None,
                       state=None if math.isfinite(v) else optuna.trial.TrialState.FAIL)
            values[i] = v if math.isfinite(v) else math.inf
    return np.minimum.accumulate(values)


def _one_run(label: str, problem: _Problem, run: int, budget: int, pop_size: int,
             seed: np.random.SeedSequence, checkpoints: NDArray) -> dict[str, Any]:
    """One run of the algorithm ``label`` (a :func:`check_spec` label) on ``problem``."""
    from metaheur._minimize import minimize
    from metaheur.harness.algo_params import parse_spec
    from metaheur.harness.study import OPTUNA_SAMPLERS

    algo, params = parse_spec(label)

    f, bounds, f_opt = problem.build()
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if algo in OPTUNA_SAMPLERS:
        best = _optuna_run(algo, f, bounds, budget, pop_size, rng, params)
        nfev = np.arange(1, budget + 1)
        final = float(best[-1])
    else:
        res = minimize(f, bounds, algo, budget=budget, pop_size=pop_size, seed=rng,
                       vectorized=True, **params)
        nfev, best, final = res.history["nfev"].to_numpy(), res.history["best_f"].to_numpy(), \
            float(res.fun)
    seconds = time.perf_counter() - t0
    # best-so-far error at each checkpoint: the last record at or before it; NaN (an empty
    # field in convergence.csv, a gap in the plots) while no finite value is known: before
    # the first population is evaluated, or while every value so far was inf or NaN
    idx = np.searchsorted(nfev, checkpoints, side="right") - 1
    with np.errstate(invalid="ignore"):  # inf - inf
        conv = np.where(idx >= 0, best[np.maximum(idx, 0)] - f_opt, np.nan)
    conv[~np.isfinite(conv)] = np.nan
    return {
        "algo": label, "function": problem.function, "dim": problem.dim, "run": run,
        "instance": problem.instance, "final_error": max(final - f_opt, 0.0),
        "nfev": int(nfev[-1]) if len(nfev) else 0, "seconds": seconds,
        "convergence": np.maximum(conv, 0.0),
    }


def _guarded_run(label: str, problem: _Problem, run: int, *args: Any) -> dict[str, Any]:
    """:func:`_one_run`, whose exception becomes a :class:`_RunError` naming the run."""
    try:
        return _one_run(label, problem, run, *args)
    except Exception as exc:
        raise _RunError(f"run {run} of {label} on {problem.function} d={problem.dim} failed: "
                        f"{type(exc).__name__}: {exc}") from exc


class _RunError(RuntimeError):
    """One run's exception, named (one string argument: it crosses joblib's processes)."""


@dataclass
class BenchResult:
    """Raw results: ``runs`` (one row per run) and ``convergence`` (long format: algo,
    function, dim, run, nfev, error: the best-so-far error after ``nfev`` evaluations, NaN
    while no finite value is known yet), plus the settings used."""

    runs: pd.DataFrame
    convergence: pd.DataFrame
    settings: dict[str, Any]


class Interrupted(KeyboardInterrupt):
    """:func:`run_benchmark` stopped by Ctrl-C or SIGTERM (``cause``, re-raise it):
    ``result`` holds the runs that finished, of ``planned``."""

    def __init__(self, result: BenchResult, planned: int, cause: KeyboardInterrupt) -> None:
        super().__init__()
        self.result, self.planned, self.cause = result, planned, cause


class RunFailed(RuntimeError):
    """:func:`run_benchmark` stopped by a run that raised (``str``: which run, and its
    exception, also the ``__cause__``): ``result`` holds the runs that finished, of
    ``planned``."""

    def __init__(self, message: str, result: BenchResult, planned: int) -> None:
        super().__init__(message)
        self.result, self.planned = result, planned


class _CostModel:
    """Seconds per evaluation of each algorithm, learnt from its finished runs, to weigh the
    runs left (their costs differ by orders of magnitude: TPE vs PSO) in the ETA."""

    #: an algorithm this many times slower per evaluation than the fastest one gets a note
    SLOW_FACTOR = 1000.0

    def __init__(self, tasks: Sequence[tuple[str, int]]) -> None:
        self.left: dict[tuple[str, int], int] = {}
        for key in tasks:
            self.left[key] = self.left.get(key, 0) + 1
        self.seconds: dict[str, float] = {}
        self.evals: dict[str, int] = {}
        self.done = 0.0
        self.noted = False

    def add(self, algo: str, budget: int, seconds: float) -> str | None:
        """Record a finished run; returns a note the first time one algorithm is
        :data:`SLOW_FACTOR` times slower per evaluation than another."""
        self.left[(algo, budget)] -= 1
        self.seconds[algo] = self.seconds.get(algo, 0.0) + seconds
        self.evals[algo] = self.evals.get(algo, 0) + budget
        self.done += seconds
        rate = {a: self.seconds[a] / self.evals[a] for a in self.seconds}
        slow, fast = max(rate, key=rate.get), min(rate, key=rate.get)
        if not self.noted and rate[fast] > 0 and rate[slow] >= self.SLOW_FACTOR * rate[fast]:
            self.noted = True
            return (f"{slow} costs {rate[slow] / rate[fast]:,.0f} times more per evaluation "
                    f"than {fast} ({rate[slow]:.2g} s vs {rate[fast]:.2g} s); it dominates the "
                    f"benchmark's time")
        return None

    def work(self) -> tuple[float, float]:
        """(seconds of work done, estimated seconds of work left)."""
        rate = {a: self.seconds[a] / self.evals[a] for a in self.seconds}
        unknown = max(rate.values(), default=0.0)  # an algorithm not seen yet: the slowest
        left = sum(n * b * rate.get(a, unknown) for (a, b), n in self.left.items())
        return self.done, left


def _checkpoints(budget: int, n: int = 60) -> NDArray:
    return np.unique(np.geomspace(1, budget, n).round().astype(int))


def run_benchmark(
    algos: Sequence[str],
    functions: Sequence[str],
    dims: Sequence[int],
    *,
    runs: int = 30,
    budget: int | str = "10000d",
    pop_size: int | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    suite: str = "functions",
    progress: bool = False,
) -> BenchResult:
    """Run every algorithm on every problem ``runs`` times, in parallel with joblib.
    ``pop_size=None``: each algorithm's ``default_pop_size`` (30 for Optuna's samplers).
    A run that raises stops the others: :class:`RunFailed` names it and holds the finished
    runs (:class:`Interrupted` after Ctrl-C or SIGTERM)."""
    from joblib import Parallel, delayed

    from metaheur._base import Optimizer
    from metaheur._registry import get
    from metaheur.harness.study import OPTUNA_SAMPLERS
    from metaheur.optuna import NO_POPULATION

    specs = {label: (name, params) for label, name, params in map(check_spec, algos)}
    algos = list(specs)
    if suite == "bbob":
        require_cocoex()
    dims = check_dims(dims, suite)
    functions = check_functions(functions, suite, dims)
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    budgets = {d: parse_budget(budget, d) for d in dims}
    pops = {a: pop_size if pop_size is not None else (Optimizer.default_pop_size
            if name in OPTUNA_SAMPLERS else get(name).default_pop_size)
            for a, (name, _) in specs.items()}
    for a, (name, params) in specs.items():
        if name not in OPTUNA_SAMPLERS:  # the values and the population size, by the
            # algorithm's constraints, before any run (Optuna's samplers': by check_spec);
            # a refused --pop-size would otherwise fail every run in a worker
            for d in dims:
                try:
                    get(name)([(0.0, 1.0)] * d, pop_size=pops[a], max_iter=1, **params)
                except ValueError as exc:
                    raise ValueError(f"{a} (d={d}): {exc}") from None
    sized = {a: pops[a] for a, (name, _) in specs.items() if name not in NO_POPULATION}
    if sized and min(budgets.values()) < max(sized.values()):
        big = max(sized, key=sized.__getitem__)
        raise ValueError(f"budget must be at least one population ({big}: pop_size="
                         f"{sized[big]}); got {min(budgets.values())} evaluations")
    slow = [a for a in algos if specs[a][0] in OPTUNA_SAMPLERS]
    if slow and max(budgets.values()) > 2000:
        logger.warning("%s run(s) as Optuna studies with one trial per evaluation: %d trials per "
                       "run will take long (TPE's cost per trial grows with the trial count, "
                       "GP's faster still); consider a smaller budget", ", ".join(slow),
                       max(budgets.values()))
    seeds = np.random.SeedSequence(seed).spawn(runs)
    checkpoints = {d: _checkpoints(b) for d, b in budgets.items()}
    tasks = [(a, p, r) for (p, r) in _problems(suite, functions, dims, runs) for a in algos]
    jobs = (delayed(_guarded_run)(a, p, r, budgets[p.dim], pops[a], seeds[r],
                                  checkpoints[p.dim]) for a, p, r in tasks)
    cost = _CostModel([(a, budgets[p.dim]) for a, p, _ in tasks])
    bar = ProgressBar(len(tasks), desc="bench", unit="run", enabled=progress)
    rows: list[dict[str, Any]] = []
    stop: KeyboardInterrupt | None = None
    failed: _RunError | None = None
    try:
        for row in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
            rows.append(row)
            note = cost.add(row["algo"], budgets[row["dim"]], row["seconds"])
            if note:
                logger.warning(note)
            bar.set_work(*cost.work())
            bar.update(len(rows))
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: keep what finished
        stop = exc
    except _RunError as exc:  # one run raised: keep what finished, say which run
        failed = exc
    finally:
        bar.close()
    key = ["algo", "function", "dim", "run"]
    order = {a: i for i, a in enumerate(algos)}
    rows.sort(key=lambda r: (functions.index(r["function"]), r["dim"], order[r["algo"]], r["run"]))
    conv = pd.DataFrame(
        [{**{k: r[k] for k in key}, "nfev": int(n), "error": float(e)}
         for r in rows for n, e in zip(checkpoints[r["dim"]], r["convergence"], strict=True)]
    )
    runs_df = pd.DataFrame([{k: v for k, v in r.items() if k != "convergence"} for r in rows])
    settings = {"algos": algos, "functions": functions, "dims": dims, "runs": runs,
                "budget": str(budget), "budgets": budgets, "pop_size": pop_size,
                "pop_sizes": sized, "seed": seed,
                "suite": suite}
    if stop is not None:
        raise Interrupted(BenchResult(runs_df, conv, settings), len(tasks), stop)
    if failed is not None:
        raise RunFailed(str(failed), BenchResult(runs_df, conv, settings),
                        len(tasks)) from failed.__cause__
    return BenchResult(runs_df, conv, settings)
