"""Algorithm registry: built-ins and third-party plugins under one name space.

Third-party packages register optimizers through the entry-point group
``metaheur.optimizers``; each entry point names an :class:`~metaheur.Optimizer`
subclass (or a module that registers classes when imported)::

    [project.entry-points."metaheur.optimizers"]
    my-de = "my_package.de:DE"

Entry points are loaded once, on the first :func:`get` or :func:`available`; a broken
plugin is reported with a warning and never breaks the built-ins.

This module is the bottom layer of the package: it imports nothing from metaheur at run
time, so :mod:`metaheur._base` can dispatch ``Optimizer.from_state`` through it without an
import circle. A registered class is recognised by the ask/tell contract it implements.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from metaheur._base import Optimizer

__all__ = ["register", "get", "available", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "metaheur.optimizers"
_REGISTRY: dict[str, type[Optimizer]] = {}
#: What makes a class an optimizer here (every ``metaheur.Optimizer`` subclass has these).
_CONTRACT = ("ask", "tell", "get_state", "from_state", "_init_state", "_ask", "_tell")
_entry_points_loaded = False
logger = logging.getLogger(__name__)


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register(cls: type[Optimizer]) -> type[Optimizer]:
    """Class decorator adding an :class:`Optimizer` subclass under ``cls.name``.

    Raises ``ValueError`` when the name is empty or already taken by another class.
    """
    if not (inspect.isclass(cls) and all(callable(getattr(cls, m, None)) for m in _CONTRACT)):
        raise TypeError(f"register() takes an Optimizer subclass, got {cls!r}")
    if not isinstance(cls.name, str) or not cls.name.strip():
        raise ValueError(f"{cls.__name__}.name must be a non-empty string (the registry key)")
    key = _normalise(cls.name)
    if key != cls.name:
        raise ValueError(
            f"{cls.__name__}.name must be lower-case kebab-case (e.g. {key!r}), got {cls.name!r}"
        )
    existing = _REGISTRY.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"algorithm name {key!r} is already registered by "
            f"{existing.__module__}.{existing.__qualname__}"
        )
    _REGISTRY[key] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if inspect.isclass(obj):  # otherwise a module that registered its classes
                register(obj)
        except Exception as exc:  # a broken plugin must not break the built-ins
            warnings.warn(
                f"could not load metaheur optimizer plugin {ep.name!r} ({ep.value}): {exc}",
                RuntimeWarning,
                stacklevel=2,
            )


def available() -> list[str]:
    """Sorted names of all registered algorithms (built-ins and plugins)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get(name: str) -> type[Optimizer]:
    """Return the optimizer class registered as ``name`` (case and ``_``/``-`` ignored)."""
    if not isinstance(name, str):
        raise TypeError(f"algorithm name must be a string, got {type(name).__name__}")
    _load_entry_points()
    key = _normalise(name)
    if key not in _REGISTRY:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available())}")
    return _REGISTRY[key]
