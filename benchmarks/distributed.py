"""Distributed samplers: what several processes on one storage lose, repeat and wait for.

Issue 11's measurement: W processes x T trials each on one study (5 floats, 1 int, 1
categorical; each trial sleeps 50-150 ms, or 0.5-1.5 s with ``--duration 1``), per
algorithm, storage (SQLite with Optuna's heartbeat, ``sqlite-wal`` the same in SQLite's
write-ahead-log mode, JournalFileBackend without a heartbeat (``journal-flock`` the same
with ``metaheur.optuna.JournalFlockLock`` instead of Optuna's default lock), PostgreSQL when
METAHEUR_TEST_POSTGRES_URL is set), with ``seed=None`` and a fixed seed, with and without
one worker SIGKILLed mid-trial, in the waiting mode (default) and the speculative one (idle
workers evaluate predicted rows of the next generation, which take those rows' places).
Counts come from ``metaheur.optuna._audit`` (what the protocol stores): ``wait%`` is the
time trials spent waiting inside the sampler over the trials' total duration
(``barrier%``: the part spent waiting because every row of the generation was taken; the
rest is waiting for lower-numbered trials to decide, and the sampler's own reads and
writes); ``spares`` the trials evaluated while every row was taken, ``moved`` the rows
whose point a spare's replaced, ``unused`` the spares whose result no generation was told
(waste, with ``never_told``). The serial column is the range of the best value over serial
runs with as many trials as the parallel run completed; ``ok`` says whether the parallel
best is within or below it.

    python benchmarks/distributed.py --algos gwo,pso --storages sqlite,journal > out.txt
    python benchmarks/distributed.py --algos gwo,pso --quality 10   # best values per mode
"""

from __future__ import annotations

import argparse
import contextlib
import math
import multiprocessing as mp
import os
import signal
import sqlite3
import tempfile
import time
import uuid
import warnings
from typing import Any

import optuna

from metaheur import available

SPACE_FLOATS = 5


def objective(trial: optuna.Trial) -> float:
    x = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(SPACE_FLOATS)]
    k = trial.suggest_int("k", 0, 10)
    act = trial.suggest_categorical("act", ["relu", "tanh", "elu"])
    return sum((v - 1.0) ** 2 for v in x) + abs(k - 3) + (act != "elu")


def _storage(url: str) -> Any:
    if url.startswith(("journal:", "journal-flock:")):
        from optuna.storages.journal import JournalFileBackend

        from metaheur.optuna import JournalFlockLock

        kind, path = url.split(":", 1)
        lock = JournalFlockLock(path) if kind == "journal-flock" else None
        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=lock))
    kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=1,
                                      grace_period=3)


def _sampler(algo: str, seed: int | None, n_trials: int, speculative: bool) -> Any:
    from metaheur.optuna import MetaheuristicSampler

    return MetaheuristicSampler(algo, seed=seed, n_trials=n_trials, speculative=speculative)


def _worker(url: str, name: str, algo: str, seed: int | None, n_trials: int, per: int,
            kill: bool, speculative: bool, duration: float, worker: int) -> None:
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=name, storage=_storage(url),
                              sampler=_sampler(algo, seed, n_trials, speculative))
    count = 0

    def timed(trial: optuna.Trial) -> float:
        nonlocal count
        count += 1
        value = objective(trial)
        time.sleep(duration * (0.5 + ((trial.number * 7919) % 11) / 10))
        if kill and worker == 0 and count == 5:
            os.kill(os.getpid(), signal.SIGKILL)
        return value

    study.optimize(timed, n_trials=per)


def run(url: str, algo: str, seed: int | None, workers: int, per: int, kill: bool,
        speculative: bool, duration: float = 0.1) -> dict[str, Any]:
    from metaheur.optuna._audit import audit

    name = f"bench-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=_storage(url))
    ctx = mp.get_context("spawn")
    args = (url, name, algo, seed, workers * per, per, kill, speculative, duration)
    procs = [ctx.Process(target=_worker, args=(*args, w)) for w in range(workers)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=900)
    wall = time.perf_counter() - t0
    hung = [p for p in procs if p.is_alive()]
    for p in hung:
        p.kill()
    study = optuna.load_study(study_name=name, storage=_storage(url))
    a = audit(study, algo)
    return {
        "complete": a.complete, "repeated": a.repeated, "never_told": a.never_told,
        "spares": a.spares, "moved": a.moved, "unused": a.unused_spares,
        "reissued": a.reissued, "running": a.running,
        "withdrawn": a.withdrawn, "answered": a.answered, "wait%": 100 * a.wait_fraction,
        "barrier%": 100 * a.barrier_fraction,
        "best": study.best_value if a.complete else math.nan, "wall_s": wall,
        "hung": len(hung),
    }


_SPREADS: dict[tuple[str, int], tuple[float, float]] = {}


def serial_spread(algo: str, n: int, seeds: range) -> tuple[float, float]:
    """Range of the best value over serial runs of ``n`` trials (cached)."""
    if (algo, n) in _SPREADS:
        return _SPREADS[(algo, n)]
    best = []
    for s in seeds:
        study = optuna.create_study(sampler=_sampler(algo, s, n, False))
        study.optimize(objective, n_trials=n)
        best.append(study.best_value)
    _SPREADS[(algo, n)] = min(best), max(best)
    return _SPREADS[(algo, n)]


def quality(algo: str, runs: int, n: int, workers: int) -> dict[str, list[float]]:
    """Best values of ``runs`` seeded studies of ``n`` trials per mode: serial, and
    ``workers`` threads on an in-memory storage in the wait and speculative modes (trials
    sleeping 5-15 ms, so the last rows of a generation straggle as in the process runs)."""
    from metaheur.optuna._audit import audit

    def timed(trial: optuna.Trial) -> float:
        value = objective(trial)
        time.sleep(0.005 + 0.01 * ((trial.number * 7919) % 11) / 10)
        return value

    out: dict[str, list[float]] = {"serial": [], "wait": [], "speculative": [], "spares": []}
    for seed in range(runs):
        for mode in ("serial", "wait", "speculative"):
            study = optuna.create_study(sampler=_sampler(algo, seed, n, mode == "speculative"))
            study.optimize(timed, n_trials=n, n_jobs=1 if mode == "serial" else workers)
            out[mode].append(study.best_value)
            if mode == "speculative":
                out["spares"].append(audit(study, algo).spares / n)
    return out


def _quality_table(args: argparse.Namespace) -> None:
    import numpy as np

    n = args.workers * args.trials
    print(f"# quality: {args.quality} seeds x {n} trials, {args.workers} threads, in memory")
    print("| algo | serial median (min-max) | wait median (min-max) "
          "| speculative median (min-max) | spares | speculative < serial median |")
    print("|---|---|---|---|---|---|")
    for algo in args.algos.split(","):
        q = quality(algo, args.quality, n, args.workers)
        cells = [f"{np.median(q[m]):.3g} ({min(q[m]):.3g}-{max(q[m]):.3g})"
                 for m in ("serial", "wait", "speculative")]
        below = sum(v < np.median(q["serial"]) for v in q["speculative"])
        print(f"| {algo} | " + " | ".join(cells)
              + f" | {100 * np.mean(q['spares']):.0f} % | {below} of {args.quality} |",
              flush=True)


STORAGES = ("sqlite", "sqlite-wal", "journal", "journal-flock", "postgres")


def _check(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every comma-separated value of the list options is one this script knows (a typo
    used to be skipped, or run as the default, under its own label)."""
    allowed = {"storages": STORAGES, "modes": ("wait", "speculative"), "kill": ("no", "yes"),
               "algos": tuple(available())}
    for option, names in allowed.items():
        values = getattr(args, option).split(",")
        if bad := [v for v in values if v not in names]:
            ap.error(f"--{option}: unknown {bad}; allowed: {', '.join(names)}")
    for seed in args.seeds.split(","):
        if seed != "none" and not (seed.isdigit() and int(seed) < 2**32):
            ap.error(f"--seeds: {seed!r} is neither none nor an integer in [0, 2**32)")
    if ("postgres" in args.storages.split(",")
            and not os.environ.get("METAHEUR_TEST_POSTGRES_URL")):
        ap.error("--storages postgres needs METAHEUR_TEST_POSTGRES_URL (the database's URL)")
    if args.workers < 1 or args.trials < 1 or args.serial_seeds < 1:
        ap.error("--workers, --trials and --serial-seeds must be >= 1")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--algos", default=",".join(available()))
    ap.add_argument("--storages", default="sqlite,journal", help=",".join(STORAGES))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=40, help="trials per worker")
    ap.add_argument("--modes", default="wait,speculative")
    ap.add_argument("--seeds", default="none,0", help="none and/or an integer")
    ap.add_argument("--kill", default="no,yes")
    ap.add_argument("--duration", type=float, default=0.1,
                    help="mean seconds a trial sleeps (uniform over 0.5-1.5 times it)")
    ap.add_argument("--serial-seeds", type=int, default=10)
    ap.add_argument("--quality", type=int, default=0, metavar="RUNS",
                    help="instead: compare the best values of RUNS seeds per mode (threads)")
    args = ap.parse_args(argv)
    _check(ap, args)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    if args.quality:
        _quality_table(args)
        return
    tmp = tempfile.mkdtemp(prefix="metaheur-dist-")
    urls = {"sqlite": f"sqlite:///{tmp}/study.db", "journal": f"journal:{tmp}/journal.log",
            "journal-flock": f"journal-flock:{tmp}/flock.log",
            "sqlite-wal": f"sqlite:///{tmp}/wal.db"}
    with contextlib.closing(sqlite3.connect(f"{tmp}/wal.db")) as db:  # persists in the file
        db.execute("PRAGMA journal_mode=WAL")
    if os.environ.get("METAHEUR_TEST_POSTGRES_URL"):
        urls["postgres"] = os.environ["METAHEUR_TEST_POSTGRES_URL"]
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average {load}; {args.workers} processes x {args.trials} trials, "
          f"trials sleeping {0.5 * args.duration:g}-{1.5 * args.duration:g} s")
    cols = ["algo", "storage", "seed", "kill", "mode", "complete", "repeated", "never_told",
            "reissued", "running", "withdrawn", "spares", "moved", "unused", "answered",
            "wait%", "barrier%", "best", "serial", "ok", "wall_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for algo in args.algos.split(","):
        for storage in args.storages.split(","):
            for seed_s in args.seeds.split(","):
                seed = None if seed_s == "none" else int(seed_s)
                for kill in args.kill.split(","):
                    for mode in args.modes.split(","):
                        r = run(urls[storage], algo, seed, args.workers, args.trials,
                                kill == "yes", mode == "speculative", args.duration)
                        # serial runs as long as the parallel one's completed trials
                        lo, hi = serial_spread(algo, r["complete"], range(args.serial_seeds))
                        ok = "yes" if r["best"] <= hi else "NO"
                        row = [algo, storage, seed_s, kill, mode] + [
                            r[c] for c in cols[5:17]] + [
                            f"{r['best']:.3g}", f"{lo:.3g}-{hi:.3g}", ok, f"{r['wall_s']:.0f}"]
                        row = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in row]
                        print("| " + " | ".join(row) + " |"
                              + (f" HUNG {r['hung']}" if r["hung"] else ""), flush=True)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"# load average at the end {load}")


if __name__ == "__main__":
    main()
