"""Algorithm registry: built-ins and third-party plugins under one name space.

Third-party packages register optimizers through the entry-point group
``metaheur.optimizers``; each entry point names an :class:`~metaheur.Optimizer`
subclass (or a module that registers classes when imported)::

    [project.entry-points."metaheur.optimizers"]
    my-de = "my_package.de:DE"

Entry points are loaded once, on the first :func:`get` or :func:`available` (never while
``import metaheur`` runs: a plugin module may itself ``import metaheur``); a broken plugin
is reported with a warning and never breaks the built-ins.

Variants are made on demand: the restart layer adds the suffix ``"-ipop"``, so
``get("<name>-ipop")`` makes and registers the restart variant of any registered algorithm
without restarts (a plugin's too, in a process that never asked for it before: a saved
state restores), and :func:`available` lists them.

This module is the bottom layer of the package: it imports nothing from metaheur at run
time, so :mod:`metaheur._base` can dispatch ``Optimizer.from_state`` through it without an
import circle. A registered class is recognised by the ask/tell contract it implements.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from metaheur._base import Optimizer

__all__ = ["register", "get", "available", "add_variant_maker", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "metaheur.optimizers"
_REGISTRY: dict[str, type[Optimizer]] = {}
#: What makes a class an optimizer here (every ``metaheur.Optimizer`` subclass has these).
_CONTRACT = ("ask", "tell", "get_state", "from_state", "_init_state", "_ask", "_tell")
_entry_points_loaded = False
#: Guards the lazy load and the making of variants: a thread asking while another loads
#: waits for it (re-entrant: a plug-in module may call get() while it is imported).
_LOCK = threading.RLock()
_loading = False
#: Variants made on demand: name suffix -> maker, which returns the registered variant of
#: a registered class (made and registered on first use) or raises ``ValueError`` where
#: that class has none. A variant's class attribute ``_variant_of`` is the class it was
#: made from; it is remade once another class holds that name (a redefinition).
_VARIANTS: dict[str, Callable[[type[Optimizer]], type[Optimizer]]] = {}
#: Variant name -> the class it could not be made of (tried again only for another class).
_NO_VARIANT: dict[str, type[Optimizer]] = {}
logger = logging.getLogger(__name__)


_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def register(cls: type[Optimizer]) -> type[Optimizer]:
    """Class decorator adding an :class:`Optimizer` subclass under ``cls.name``.

    Raises ``ValueError`` when the name is empty or already taken by another class. A class
    of the same module and qualified name as the registered one is a redefinition (a
    notebook cell run again, ``importlib.reload``) and replaces it.
    """
    if not (inspect.isclass(cls) and all(callable(getattr(cls, m, None)) for m in _CONTRACT)):
        raise TypeError(f"register() takes an Optimizer subclass, got {cls!r}")
    if not isinstance(cls.name, str) or not cls.name.strip():
        raise ValueError(f"{cls.__name__}.name must be a non-empty string (the registry key)")
    key = _normalise(cls.name)
    if key != cls.name or not _KEBAB.fullmatch(key):
        example = "-".join(re.findall(r"[a-z0-9]+", key)) or "my-algo"
        raise ValueError(f"{cls.__name__}.name must be lower-case kebab-case: ASCII letters "
                         f"and digits in words joined by '-' (e.g. {example!r}), got "
                         f"{cls.name!r}")
    existing = _REGISTRY.get(key)
    if _made_on_demand(existing) and "_variant_of" not in vars(cls):
        existing = None  # a plug-in's variant made on demand gives way to a class
    if existing is not None and existing is not cls and not _same_definition(existing, cls):
        raise ValueError(
            f"algorithm name {key!r} is already registered by "
            f"{existing.__module__}.{existing.__qualname__}"
        )
    with _LOCK:
        _REGISTRY[key] = cls
    return cls


def add_variant_maker(suffix: str, make: Callable[[type[Optimizer]], type[Optimizer]]) -> None:
    """Make ``"<name><suffix>"`` on demand with ``make(get(name))`` (see :data:`_VARIANTS`)."""
    _VARIANTS[suffix] = make


def _stale(cls: type[Optimizer]) -> bool:
    """Whether ``cls`` is a variant of a class that another has since replaced."""
    base = vars(cls).get("_variant_of")
    return base is not None and _REGISTRY.get(base.name, base) is not base


def _derived(key: str) -> type[Optimizer] | None:
    """The variant ``key`` of a registered class, made if need be; None where no variant
    suffix names a registered class. ``ValueError`` where that class has no such variant."""
    for suffix, make in _VARIANTS.items():
        base = _REGISTRY.get(key[: -len(suffix)]) if key.endswith(suffix) else None
        if base is not None:
            return _make(make, base, key, strict=True)
    return None


def _made_on_demand(cls: type | None) -> bool:
    """Whether ``cls`` is a variant of a plug-in (a built-in's variants are built-ins)."""
    base = vars(cls).get("_variant_of") if cls is not None else None
    return base is not None and not base.__module__.startswith("metaheur.")


def _same_definition(a: type, b: type) -> bool:
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def _load_entry_points() -> None:
    global _entry_points_loaded, _loading
    if _entry_points_loaded:
        return
    with _LOCK:
        if _entry_points_loaded or _loading:  # done meanwhile, or a plug-in's own import
            return
        _loading = True
        broken = []
        try:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    obj = ep.load()
                    if inspect.isclass(obj):
                        register(obj)
                        if _normalise(ep.name) != obj.name:
                            broken.append(f"metaheur optimizer plugin {ep.name!r} ({ep.value}) "
                                          f"registered under its class's name {obj.name!r}: "
                                          "name the entry point as the class")
                    elif not inspect.ismodule(obj):  # a module registers its own classes
                        broken.append(f"metaheur optimizer plugin {ep.name!r} ({ep.value}) is "
                                      f"a {type(obj).__name__}: an entry point must name an "
                                      "Optimizer subclass or a module")
                except Exception as exc:  # a broken plugin must not break the built-ins
                    broken.append(f"could not load metaheur optimizer plugin {ep.name!r} "
                                  f"({ep.value}): {exc}")
        finally:
            _entry_points_loaded, _loading = True, False
    for message in broken:  # after loading: a warning raised as an error stops no plug-in
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def available() -> list[str]:
    """Sorted names of all registered algorithms (built-ins and plugins), and of the
    variants :func:`get` makes on demand (``"<name>-ipop"``), which this makes."""
    _load_entry_points()
    with _LOCK:
        for suffix, make in _VARIANTS.items():
            for key, cls in list(_REGISTRY.items()):
                made = _REGISTRY.get(key + suffix)
                if (made is None or _stale(made)) and _NO_VARIANT.get(key + suffix) is not cls:
                    if _make(make, cls, key + suffix, strict=False) is None:
                        _NO_VARIANT[key + suffix] = cls  # "aoa-ipop-ipop": said once
        return sorted(_REGISTRY)


def _make(make: Callable[[type[Optimizer]], type[Optimizer]], base: type[Optimizer],
          key: str, *, strict: bool) -> type[Optimizer] | None:
    """``make(base)``, or None where ``base`` has no such variant (``strict``: its
    ``ValueError`` is raised); then a stale variant of a former ``base`` is dropped, so
    that :func:`available` and :func:`get` agree."""
    try:
        return make(base)
    except Exception as exc:  # no such variant, or a class registered by contract only
        logger.debug("no variant %r: %s", key, exc)
        stale = _REGISTRY.get(key)
        if stale is not None and _stale(stale):
            del _REGISTRY[key]
        if strict and isinstance(exc, ValueError):
            raise
        return None


def get(name: str) -> type[Optimizer]:
    """Return the optimizer class registered as ``name`` (case and ``_``/``-`` ignored),
    making the variant ``"<algo>-ipop"`` of a registered ``algo`` on first use."""
    if not isinstance(name, str):
        raise TypeError(f"algorithm name must be a string, got {type(name).__name__}")
    _load_entry_points()
    key = _normalise(name)
    with _LOCK:
        cls = _REGISTRY.get(key)
        if cls is None or _stale(cls):
            cls = _derived(key) or _REGISTRY.get(key)
    if cls is None:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available())}")
    return cls
