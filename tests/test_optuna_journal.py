"""JournalFlockLock: mutual exclusion across lock objects, threads and processes; a dead
holder's lock is free at once; a journal study run with it loses and repeats nothing."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from metaheur.optuna import JournalFlockLock, MetaheuristicSampler
from metaheur.optuna._audit import audit

pytest.importorskip("fcntl")
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize("shared", [False, True])
def test_holders_never_overlap(tmp_path: Path, shared: bool) -> None:
    """Threads with a lock object each (as processes would have) or one shared object."""
    path = str(tmp_path / "j.log")
    one = JournalFlockLock(path)
    inside, overlaps, entries = [0], [0], [0]

    def work() -> None:
        lock = one if shared else JournalFlockLock(path)
        for _ in range(30):
            assert lock.acquire() is True
            inside[0] += 1
            overlaps[0] += inside[0] > 1
            time.sleep(0.0005)
            entries[0] += 1
            inside[0] -= 1
            lock.release()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert (overlaps[0], entries[0]) == (0, 120)


def test_a_dead_holders_lock_is_free_at_once(tmp_path: Path) -> None:
    """A process killed while it holds the lock (SIGKILL): the kernel releases it, no
    grace period to wait out (Optuna's default lock waits 30 s)."""
    path = str(tmp_path / "j.log")
    code = ("import os, signal, sys; from metaheur.optuna import JournalFlockLock; "
            "JournalFlockLock(sys.argv[1]).acquire(); print('held', flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, path], capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "held" and proc.returncode == -9
    lock = JournalFlockLock(path)
    t0 = time.monotonic()
    lock.acquire()
    lock.release()
    assert time.monotonic() - t0 < 5.0  # immediate; the bound only guards a stalled machine


def test_release_without_acquire_and_pickling(tmp_path: Path) -> None:
    lock = JournalFlockLock(tmp_path / "j.log")
    with pytest.raises(RuntimeError, match="not held"):
        lock.release()
    lock.acquire()
    copy = pickle.loads(pickle.dumps(lock))  # a copy holds nothing (another process)
    with pytest.raises(RuntimeError, match="not held"):
        copy.release()
    lock.release()


def _free(path: str) -> bool:
    """Can another open file description take the lock at once?"""
    import fcntl
    import os

    fd = os.open(path + ".flock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _interrupt_at(code: Any, line: int) -> Any:
    """A tracer that raises KeyboardInterrupt (a Ctrl-C) once, at ``line`` of ``code``."""
    fired = [False]

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and frame.f_lineno == line and not fired[0]:
            fired[0] = True
            raise KeyboardInterrupt
        return local

    return lambda frame, event, arg: local if frame.f_code is code else None


@pytest.mark.parametrize("method", ["acquire", "release"])
def test_a_ctrl_c_anywhere_in_acquire_or_release_leaves_the_lock_free(tmp_path: Path,
                                                                      method: str) -> None:
    """Regression: a Ctrl-C after ``flock`` had locked but before the descriptor was
    recorded left the file locked, unrecorded, until the process exited (every other worker
    blocked). Interrupted at each line in turn, the lock ends free and the object usable."""
    import inspect

    path = str(tmp_path / "j.log")
    lock = JournalFlockLock(path)
    fn = getattr(JournalFlockLock, method)
    lines, first = inspect.getsourcelines(fn)
    for line in range(first + 1, first + len(lines)):
        if method == "release":
            lock.acquire()
        sys.settrace(_interrupt_at(fn.__code__, line))
        try:
            getattr(lock, method)()
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        if lock._fd is not None:  # not interrupted, or interrupted after the work was done
            lock.release()
        assert _free(path), line
        assert lock.acquire() is True, line  # usable again
        lock.release()


def test_a_journal_study_with_the_lock_loses_and_repeats_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "j.log")

    def storage() -> Any:
        return JournalStorage(JournalFileBackend(path, lock_obj=JournalFlockLock(path)))

    optuna.create_study(study_name="s", storage=storage())
    space = {f"x{i}": optuna.distributions.FloatDistribution(-5.0, 5.0) for i in range(3)}
    studies = [optuna.load_study(study_name="s", storage=storage(), sampler=MetaheuristicSampler(
        "pso", pop_size=4, seed=0, n_trials=36, search_space=space, speculative=True))
        for _ in range(3)]

    def objective(trial: optuna.Trial) -> float:
        x = [trial.suggest_float(n, -5.0, 5.0) for n in space]
        time.sleep(0.002 * (trial.number % 3))
        return sum((v - 1.0) ** 2 for v in x)

    threads = [threading.Thread(target=s.optimize, args=(objective,), kwargs={"n_trials": 12})
               for s in studies]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    a = audit(optuna.load_study(study_name="s", storage=storage()), "pso")
    assert a.complete == 36
    assert (a.repeated, a.never_told, a.unused_spares, a.reissued, a.running) == (0, 0, 0, 0, 0)
