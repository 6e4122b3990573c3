"""A lock for Optuna's ``JournalFileBackend`` that hands over at once (docs/distributed.md,
"Storages").

``JournalFileBackend`` takes its lock for every write (an append and an ``fsync``). Its
default, ``JournalFileSymlinkLock``, polls: a worker that finds the lock taken sleeps 1 ms,
then twice as long after each miss, up to 1 s, and a lock whose holder died is broken only
after a 30 s grace period. With several workers appending about ten times per trial (each
``suggest_*`` is one append) on a loaded machine, waiters sleep past the lock's release and
the lock goes to whoever happens to poll: with 50-150 ms trials single acquisitions took up
to 2.9 s (benchmarks/journal_lock.py). An ``flock(2)`` lock is granted by the kernel the
moment it is released, and released by the kernel when its holder dies.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# The lock type JournalFileBackend's ``lock_obj`` is annotated with (not exported by Optuna;
# subclassing it keeps type checkers content, and the backend only calls the two methods).
from optuna.storages.journal._file import BaseJournalFileLock

__all__ = ["JournalFlockLock"]


class JournalFlockLock(BaseJournalFileLock):
    """``flock(2)`` lock for ``optuna.storages.journal.JournalFileBackend`` (POSIX, local
    file systems)::

        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        from metaheur.optuna import JournalFlockLock

        path = "journal.log"
        storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFlockLock(path)))

    Every worker on one journal file must use this lock: it locks ``<path>.flock``, which
    Optuna's own locks (``<path>.lock``) do not see. A blocked ``acquire`` sleeps in the
    kernel until the holder releases or dies; there is no grace period to wait out. Each
    thread locks through a descriptor of its own (``flock`` excludes open file
    descriptions, so threads sharing one object exclude each other too); a thread must not
    acquire twice. **Not on NFS**: there ``flock`` is emulated with byte-range locks or, with
    ``local_lock=flock`` or ``nolock``, local to one machine (no exclusion across machines);
    keep Optuna's ``JournalFileOpenLock`` there.
    """

    def __init__(self, filepath: str | os.PathLike[str]) -> None:
        try:
            import fcntl  # noqa: F401  (POSIX only)
        except ImportError as exc:
            raise OSError("JournalFlockLock needs fcntl.flock (POSIX); on this system use "
                          "optuna.storages.journal.JournalFileOpenLock") from exc
        self._lock_file = os.fspath(filepath) + ".flock"
        self._held = threading.local()  # the calling thread's locked descriptor

    @property
    def _fd(self) -> int | None:
        """The calling thread's locked descriptor, or ``None``."""
        return getattr(self._held, "fd", None)

    def acquire(self) -> bool:
        """Block until this thread holds the lock; ``True``. An exception (a Ctrl-C) at any
        point leaves the lock free: the descriptor, once open, is closed on the way out."""
        import fcntl

        fd = -1
        try:
            fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o666)  # umask applies
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held.fd = fd
        except BaseException:
            self._held.fd = None
            if fd >= 0:
                os.close(fd)  # closing the descriptor releases its flock
            raise
        return True

    def release(self) -> None:
        """Release the lock (``RuntimeError`` if this thread does not hold it); interrupted
        at any point after it starts unlocking, the descriptor is closed all the same."""
        import fcntl

        fd = self._fd
        if fd is None:
            raise RuntimeError(f"the lock {self._lock_file} is not held by this thread")
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._held.fd = None
            os.close(fd)

    def __getstate__(self) -> dict[str, Any]:
        return {"_lock_file": self._lock_file}  # a copy (another process) holds nothing

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock_file, self._held = state["_lock_file"], threading.local()
