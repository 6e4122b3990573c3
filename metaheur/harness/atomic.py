"""Files written whole or not at all: a temporary file in the target's folder, then
``os.replace``. A reader (another worker's report, a dashboard, a trial process reading
the data cache) sees the old file or the new one, never part of one; a write that fails
or is stopped (an exception, Ctrl-C, a full disk) leaves the old file as it was. A process
killed outright (SIGKILL, a power cut) can leave a hidden ``.<name>.<random>.tmp`` file.
Standard library only (the data cache of :mod:`metaheur.models` uses it too)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield the path of a new, empty temporary file beside ``path`` to write in full; when
    the block ends without an exception it replaces ``path``, else it is removed and the
    exception goes on. The file has the permissions ``open(path, "w")`` would give a new
    file (``0o666`` less the umask; ``tempfile.mkstemp`` makes it private). Its name ends
    in ``.tmp``: a writer that picks the format from the suffix must be told it."""
    path = Path(path)
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:  # pragma: no cover - 32 random bits taken
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
