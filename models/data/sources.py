"""Where real datasets are looked for; the in-memory memo of loaded datasets (docs/models.md §1.0).

Root resolution, in order: the ``root`` argument, ``$METAHEUR_DATA_DIR/<name>``, then
``<data cache>/data/<name>`` (:func:`metaheur.models.data.cache.cache_root`; NoduleMNIST3D also
``~/.medmnist``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metaheur.models.data.cache import cache_root, warn_once
from metaheur.models.data.types import LAYOUTS, Slices2D, Volumes3D

__all__ = ["MEMO", "clear_cache", "candidates", "first_real", "env_key"]

MEMO: dict[tuple[Any, ...], Slices2D | Volumes3D] = {}


def clear_cache() -> None:
    """Forget the in-memory cache (the on-disk cache is left alone)."""
    MEMO.clear()



def candidates(name: str, root: str | os.PathLike[str] | None) -> list[Path]:
    """Folders (or files) where dataset ``name`` may lie, in the order they are tried."""
    out = [Path(root).expanduser()] if root is not None else []
    env = os.environ.get("METAHEUR_DATA_DIR")
    if env:
        out.append(Path(env).expanduser() / name)
    base = cache_root()
    out.append((base if base is not None else Path.home() / ".cache" / "metaheur") / "data" / name)
    return out


def first_real(
    source: str,
    names: tuple[str, ...],
    root: str | os.PathLike | None,
    probe: Callable[[str, Path], Callable[[], Any] | None],
    what: str,
    fallback: str,
) -> Any | None:
    """Load the first real dataset found: ``names`` in order (``source="auto"``) or just
    ``source``, under each name's candidate roots; ``probe(name, base)`` returns a loader or
    ``None``. An explicitly named source that is missing raises ``FileNotFoundError``
    listing the paths tried and the layout expected; ``"auto"`` warns once and returns
    ``None`` (the caller falls back to synthetic data)."""
    tried: list[str] = []
    for name in names if source == "auto" else (source,):
        bases = candidates(name, root)
        if name == "nodulemnist3d":
            bases.append(Path.home() / ".medmnist")
        for base in bases:
            tried.append(str(base))
            load = probe(name, base)
            if load is not None:
                return load()
    if source != "auto":
        raise FileNotFoundError(
            f"{source} data not found; tried {tried}; expected {LAYOUTS[source]}"
        )
    warn_once(f"no real {what} found in {tried}; using {fallback}")
    return None



def env_key() -> tuple[str | None, str, str | None]:
    """What root resolution and the disk cache depend on besides the arguments."""
    return (os.environ.get("METAHEUR_DATA_DIR"), str(Path.home()),
            os.environ.get("METAHEUR_CACHE_DIR"))

