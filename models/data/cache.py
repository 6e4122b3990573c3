"""On-disk cache of prepared arrays (docs/models.md §3.2): npz files keyed by a hash.

The directory is ``$METAHEUR_CACHE_DIR`` when set ("off", "0", "none" or "false" disables the
cache), else the platform's user cache directory for ``metaheur`` from ``platformdirs``
(``$XDG_CACHE_HOME/metaheur`` or ``~/.cache/metaheur`` on Linux, ``~/Library/Caches/metaheur``
on macOS, ``%LOCALAPPDATA%\\metaheur\\Cache`` on Windows); without ``platformdirs`` the Linux
rule is applied everywhere. Files are written atomically (a temporary file, then
``os.replace``: :func:`metaheur.harness.atomic.atomic_path`), so concurrent trial processes
never read half a file, and a cache file that cannot be read is ignored and rebuilt: the
cache is untrusted input.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from metaheur.harness.atomic import atomic_path
from metaheur.models.data.npz import npz_array, npz_keys

__all__ = ["cache_root", "cache_dir", "key_hash", "disk_load", "disk_save", "warn_once"]

logger = logging.getLogger(__name__)

_OFF = {"0", "off", "none", "false"}
_WARNED: set[str] = set()


def warn_once(msg: str) -> None:
    """Log ``msg`` as a warning the first time it is seen in this process."""
    if msg not in _WARNED:
        _WARNED.add(msg)
        logger.warning(msg)


def cache_root() -> Path | None:
    """The cache's base directory (see the module doc), or ``None`` when disabled."""
    env = os.environ.get("METAHEUR_CACHE_DIR")
    if env is not None and env.strip().lower() in _OFF:
        return None
    if env:
        return Path(env).expanduser()
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        xdg = os.environ.get("XDG_CACHE_HOME")
        return (Path(xdg) if xdg else Path.home() / ".cache") / "metaheur"
    return Path(user_cache_dir("metaheur", appauthor=False))


def cache_dir(sub: str) -> Path | None:
    """``cache_root() / sub`` or ``None`` when the cache is disabled."""
    root = cache_root()
    return None if root is None else root / sub


def key_hash(key: tuple[Any, ...]) -> str:
    """A stable file name for ``key`` (its ``repr`` must be deterministic: plain data only)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:24]


def disk_load(
    sub: str, key: tuple[Any, ...],
    check: Callable[[dict[str, np.ndarray]], str | None] | None = None,
) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or ``None`` (missing, disabled, unreadable, or
    refused by ``check``, which returns what is wrong with them or ``None``)."""
    d = cache_dir(sub)
    if d is None:
        return None
    f = d / f"{key_hash(key)}.npz"
    if not f.is_file():
        return None
    try:  # a header may declare terabytes: read through the checks of npz_array
        arrays = {k: npz_array(f, k) for k in npz_keys(f)}
    except ValueError as e:
        logger.warning("ignoring unreadable cache file %s (%s); rebuilding it", f, e)
        return None
    problem = None if check is None else check(arrays)
    if problem:
        logger.warning("ignoring cache file %s: %s; rebuilding it", f, problem)
        return None
    return arrays


def disk_save(sub: str, key: tuple[Any, ...], arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` under ``key`` atomically; a write failure warns once and is ignored."""
    d = cache_dir(sub)
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        # atomic: readers never see half a file
        with atomic_path(d / f"{key_hash(key)}.npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as e:
        warn_once(f"cannot write the data cache under {d}: {e}")
