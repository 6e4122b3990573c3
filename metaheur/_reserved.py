"""Names a plug-in's hyper-parameters may not take (:func:`reserved_names`).

The base class sets every hyper-parameter as an attribute of the instance, so a name that
is already an attribute, a method or a constructor keyword of the optimizer would break it
or be silently overwritten (docs/algorithms.md §12).
"""

from __future__ import annotations

import inspect

__all__ = ["reserved_names"]


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
