"""What an optimizer class declares, checked when it is defined: :func:`check_declarations`,
and the names its hyper-parameters may not take (:func:`reserved_names`).

The base class sets every hyper-parameter as an attribute of the instance, so a name that
is already an attribute, a method or a constructor keyword of the optimizer would break it
or be silently overwritten (docs/algorithms.md §12).
"""

from __future__ import annotations

import dis
import functools
import inspect
from collections.abc import Mapping

from metaheur._params import Constraint
from metaheur._state import Field

__all__ = ["check_declarations", "reserved_names", "stored_attributes"]


#: What :class:`metaheur.Optimizer`'s constructor sets on every instance, besides the
#: hyper-parameters (tests/test_plugins.py checks that this list is complete).
_INSTANCE_ATTRIBUTES = ("lower", "upper", "dim", "pop_size", "params", "rng", "budget",
                        "max_iter", "nit", "nfev", "n_failed", "best_f", "best_x")


def _base_class(cls: type) -> type:
    """The most basic class of ``cls`` that defines the ask/tell contract itself
    (:class:`metaheur.Optimizer`; not a mixin such as ``typing.Generic``)."""
    return next((c for c in reversed(cls.__mro__) if {"ask", "tell"} <= vars(c).keys()), cls)


#: Descriptive class attributes (registry listings): an instance attribute of the same
#: name breaks nothing, and plug-ins used such names before the check.
_DESCRIPTIVE = frozenset({"reference", "summary"})


def reserved_names(cls: type) -> set[str]:
    """Names a hyper-parameter of ``cls`` may not have (the base class sets each one as an
    attribute): what the base class defines, what its constructor sets on every instance
    or takes as a keyword (a subclass's constructor may name its own hyper-parameters),
    and the methods and properties of ``cls``. Private names (leading ``_``: the
    algorithm's state) are reserved too."""
    base = _base_class(cls)
    names = set(dir(base)) | set(_INSTANCE_ATTRIBUTES)
    names |= {p.name for p in list(inspect.signature(base.__init__).parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    names |= {n for n in dir(cls) if hasattr(type(inspect.getattr_static(cls, n)), "__get__")}
    return names - _DESCRIPTIVE


def check_declarations(cls: type) -> None:
    """``TypeError`` unless an optimizer class's ``defaults``, ``constraints`` and
    ``state_fields`` are dicts, its constraints are
    :class:`~metaheur._params.Constraint` objects naming only hyper-parameters, its
    ``state_fields`` map names to
    :class:`~metaheur._state.Field`, no hyper-parameter shadows an attribute
    (:func:`reserved_names`), every default meets its constraint, ``default_pop_size`` is at
    least ``min_pop_size`` and no method assigns a private attribute the base class keeps
    its books in; sets ``cls._state_fields`` from ``state_fields``."""
    for attr in ("defaults", "constraints", "state_fields"):
        if not isinstance(getattr(cls, attr), Mapping):
            raise TypeError(f"{cls.__name__}.{attr} must be a dict, got "
                            f"{type(getattr(cls, attr)).__name__}")
    for key, spec in cls.constraints.items():
        if not isinstance(spec, Constraint):
            raise TypeError(f"{cls.__name__}.constraints[{key!r}] must be a metaheur "
                            f"constraint (Real, Integer, Flag, Choice, ...), got {spec!r}")
    if "state_fields" in cls.__dict__:
        bad = [k for k, v in cls.state_fields.items() if not isinstance(v, Field)]
        if bad:
            raise TypeError(f"{cls.__name__}.state_fields must map names to Field: {bad}")
        cls._state_fields = tuple(cls.state_fields)
    stray = sorted(set(cls.constraints) - set(cls.defaults))
    if stray:
        raise TypeError(f"{cls.__name__}.constraints names no hyper-parameter: {stray}")
    for key, spec in cls.constraints.items():
        if key in cls.defaults and getattr(spec, "static", True):
            try:
                spec.check(key, cls.defaults[key])
            except ValueError as exc:
                raise TypeError(f"{cls.__name__}.defaults[{key!r}] breaks its constraint: "
                                f"{exc}") from None
    low, default = getattr(cls, "min_pop_size", 1), getattr(cls, "default_pop_size", 1)
    if default < low:
        raise TypeError(f"{cls.__name__}.default_pop_size {default} is below its "
                        f"min_pop_size {low}")
    reserved = reserved_names(cls)
    clash = sorted(k for k in cls.defaults if k in reserved or str(k).startswith("_"))
    if clash:
        raise TypeError(
            f"{cls.__name__} hyper-parameter(s) {clash} are reserved (attributes of Optimizer "
            f"or of {cls.__name__}, constructor keywords, private names); rename them")
    base = _base_class(cls)
    if cls is not base and (books := sorted(stored_attributes(cls) & _books(base))):
        raise TypeError(
            f"{cls.__name__} sets self.{books[0]}, a private attribute of "
            f"{base.__name__}'s own books ({', '.join(sorted(_books(base)))}): the base "
            f"class would overwrite it, or it the base's; rename it")


def stored_attributes(cls: type) -> set[str]:
    """The attribute names the functions defined in ``cls`` (methods, properties, nested
    functions) assign with ``obj.name = ...``; names set through ``setattr`` are not seen."""
    out: set[str] = set()
    for member in vars(cls).values():
        funcs = [getattr(member, a, None) for a in ("fget", "fset", "fdel", "__func__")]
        for f in [member, *funcs]:
            stack = [code] if (code := getattr(f, "__code__", None)) is not None else []
            while stack:
                c = stack.pop()
                out |= {i.argval for i in dis.get_instructions(c) if i.opname == "STORE_ATTR"}
                stack += [k for k in c.co_consts if inspect.iscode(k)]
    return out


@functools.cache
def _books(base: type) -> frozenset[str]:
    """The private attributes the base class keeps its own books in (those it assigns)."""
    return frozenset(n for n in stored_attributes(base)
                     if n.startswith("_") and not n.startswith("__"))
