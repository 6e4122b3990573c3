"""Where workers on a journal file wait: the lock, ``fsync``, reads, or the sampler.

W processes x T trials (benchmarks/distributed.py's study and objective, trials sleeping
50-150 ms) on one ``JournalFileBackend``, with Optuna's default lock
(``JournalFileSymlinkLock``) and/or ``metaheur.optuna.JournalFlockLock``. Each worker
wraps the backend's lock, ``os.fsync`` and ``read_logs`` and counts its appends. Per run
the table shows ``wait%``/``barrier%`` (as benchmarks/distributed.py); ``claim%``, the time
the claims' own writes took (not in ``wait%``, which ends when the claim is made); the
seconds all workers spent acquiring the lock (``lock_s``; ``lock_max`` the longest single
acquisition, ``>50ms`` how many took longer), in ``fsync`` and reading; the worker time
(``worker_s``); and the appends per trial (``appends``; ``waits`` the sampler's wait
tickets). ``--runs`` repeats the lock variants alternately. To compare two versions of the
code in one period, run two copies at once, one with ``PYTHONPATH`` pointing at a checkout
of the other version.

    nice -n 10 python benchmarks/journal_lock.py --algos gwo,pso --runs 3 > out.txt
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import optuna

sys.path.insert(0, str(Path(__file__).parent))
import distributed as bench  # noqa: E402  (the study, objective and worker of issue 11)


def _storage(path: str, lock: str) -> Any:
    from optuna.storages.journal import JournalFileBackend

    from metaheur.optuna import JournalFlockLock

    lock_obj = JournalFlockLock(path) if lock == "flock" else None
    return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=lock_obj))


def _instrument(stats: collections.Counter[str], lock: str) -> None:
    """Time the journal backend's lock, fsync and reads in this process."""
    from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

    from metaheur.optuna import JournalFlockLock

    lock_cls: Any = JournalFlockLock if lock == "flock" else JournalFileSymlinkLock
    acquire, append, read, fsync = (lock_cls.acquire, JournalFileBackend.append_logs,
                                    JournalFileBackend.read_logs, os.fsync)

    def timed_acquire(self: Any) -> bool:
        t = time.perf_counter()
        got = acquire(self)
        d = time.perf_counter() - t
        stats["lock_s"] += d
        stats["lock_max"] = max(stats["lock_max"], d)
        stats[">50ms"] += d > 0.05
        return got

    def timed_fsync(fd: int) -> None:
        t = time.perf_counter()
        fsync(fd)
        stats["fsync_s"] += time.perf_counter() - t

    def counted_append(self: Any, logs: list[dict[str, Any]]) -> None:
        append(self, logs)
        for log in logs:
            stats["appends"] += 1
            for key, value in (log.get("system_attr") or {}).items():
                stats["waits"] += key.startswith("metaheur:") and isinstance(value, dict) \
                    and "wait" in value

    def timed_read(self: Any, n: int) -> Any:
        t = time.perf_counter()
        yield from read(self, n)
        stats["read_s"] += time.perf_counter() - t

    set_attr = optuna.storages.JournalStorage.set_trial_system_attr

    def timed_set_attr(self: Any, trial_id: int, key: str, value: Any) -> None:
        t = time.perf_counter()
        set_attr(self, trial_id, key, value)
        if key.startswith("metaheur:") and isinstance(value, dict) and "run" in value:
            stats["claim_s"] += time.perf_counter() - t

    optuna.storages.JournalStorage.set_trial_system_attr = timed_set_attr  # type: ignore[method-assign]
    lock_cls.acquire = timed_acquire
    JournalFileBackend.append_logs = counted_append
    JournalFileBackend.read_logs = timed_read
    os.fsync = timed_fsync


def _worker(path: str, lock: str, name: str, algo: str, per: int, workers: int,
            speculative: bool, w: int, out: str) -> None:
    stats: collections.Counter[str] = collections.Counter()
    _instrument(stats, lock)
    bench._storage = lambda url: _storage(path, lock)  # type: ignore[assignment]
    t0 = time.perf_counter()
    bench._worker("journal:" + path, name, algo, None, workers * per, per, False, speculative,
                  0.1, w)
    stats["worker_s"] = time.perf_counter() - t0
    Path(out).write_text(json.dumps(stats))


def run(algo: str, lock: str, workers: int, per: int, speculative: bool) -> dict[str, Any]:
    from metaheur.optuna._audit import audit

    tmp = tempfile.mkdtemp(prefix="metaheur-journal-")
    path = f"{tmp}/journal.log"
    name = f"bench-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=_storage(path, lock))
    outs = [f"{tmp}/w{w}.json" for w in range(workers)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(path, lock, name, algo, per, workers,
                                               speculative, w, outs[w]))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=900)
    a = audit(optuna.load_study(study_name=name, storage=_storage(path, lock)), algo)
    total: collections.Counter[str] = collections.Counter()
    for o in outs:
        stats = json.loads(Path(o).read_text())
        total["lock_max"] = max(total["lock_max"], stats.pop("lock_max", 0.0))
        total.update(stats)
    return {"a": a, "stats": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--algos", default="gwo,pso")
    ap.add_argument("--locks", default="default,flock")
    ap.add_argument("--mode", default="speculative", choices=["speculative", "wait"])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--trials", type=int, default=40, help="trials per worker")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    import metaheur

    print(f"# metaheur from {Path(metaheur.__file__).parent}; {args.workers} processes x "
          f"{args.trials} trials, trials sleeping 0.05-0.15 s, {args.mode} mode")
    cols = ["algo", "lock", "load", "complete", "repeated", "never_told", "wait%", "barrier%",
            "claim%", "lock_s", "lock_max", ">50ms", "fsync_s", "read_s", "worker_s", "appends",
            "waits"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for _ in range(args.runs):
        for algo in args.algos.split(","):
            for lock in args.locks.split(","):
                r = run(algo, lock, args.workers, args.trials, args.mode == "speculative")
                a, s = r["a"], r["stats"]
                n = max(a.trials, 1)
                row = [algo, lock, f"{os.getloadavg()[0]:.2f}", a.complete, a.repeated,
                       a.never_told, f"{100 * a.wait_fraction:.1f}",
                       f"{100 * a.barrier_fraction:.1f}",
                       f"{100 * s['claim_s'] / max(a.trial_seconds, 1e-9):.1f}",
                       f"{s['lock_s']:.2f}",
                       f"{s['lock_max']:.2f}", s[">50ms"], f"{s['fsync_s']:.2f}",
                       f"{s['read_s']:.2f}", f"{s['worker_s']:.0f}",
                       f"{s['appends'] / n:.1f}", s["waits"]]
                print("| " + " | ".join(map(str, row)) + " |", flush=True)


if __name__ == "__main__":
    main()
