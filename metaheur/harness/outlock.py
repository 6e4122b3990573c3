"""One writer per output folder.

``metaheur bench`` holds a lock on ``<out>/.metaheur-lock`` while it runs, so that a second
command started into the same folder is refused at once instead of overwriting the first
one's results as they are written. The operating system drops the lock when the process
ends, however it ends (``flock`` on POSIX, ``msvcrt.locking`` on Windows); the file is
removed on the way out, and a lock taken on a file that another process removed meanwhile
is taken again on the new file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["LOCK_NAME", "FolderBusy", "exclusive"]

LOCK_NAME = ".metaheur-lock"


class FolderBusy(ValueError):
    """Another process writes to the folder."""


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError: held by another process
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)


@contextlib.contextmanager
def exclusive(out: Path, command: str) -> Iterator[None]:
    """Hold ``out``'s lock for the block; :class:`FolderBusy` (a ``ValueError``, so bad
    input to the CLI) when another process holds it."""
    path = Path(out) / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            try:
                holder = path.read_text(encoding="utf-8", errors="replace").strip()[:80]
            except OSError:
                holder = ""
            raise FolderBusy(f"another {command} is writing to {out}"
                             f"{f' ({holder})' if holder else ''}; wait for it to end or "
                             "give another --out")
        if _same_file(fd, path):
            break
        os.close(fd)  # locked a file its holder removed on the way out: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{command}, process {os.getpid()}".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the lock goes: a newcomer then makes a file of its own
        os.close(fd)
