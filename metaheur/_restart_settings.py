"""Hyper-parameters of the restart layer (:mod:`metaheur.restarts`): their defaults, what
each may be (the wrapped algorithm ``inner`` included), and the per-algorithm settings
measured on COCO BBOB (docs/algorithms.md §12.2).
"""

from __future__ import annotations

from typing import Any

from metaheur._params import Choice, Constraint, Flag, Integer, Real, resolve_pop_size
from metaheur._registry import available, get

#: Hyper-parameters of the restart layer (prefixed so they never clash with the inner ones).
RESTART_DEFAULTS: dict[str, Any] = {
    "restart_growth": 2.0,
    "restart_patience": 50,
    "restart_ftol": 1e-12,
    "restart_iters": None,
    "restart_keep_best": True,
    "restart_xtol": 1e-6,
    "restart_local": True,
    "restart_local_width": 0.5,
    "restart_local_shrink": 0.1,
    "restart_local_center": True,
}
#: What each restart hyper-parameter may be (checked by the base class).
RESTART_CONSTRAINTS: dict[str, Constraint] = {
    "restart_growth": Real(1.0),
    "restart_patience": Integer(low=1),
    "restart_ftol": Real(0.0),
    "restart_iters": Integer(low=1, none=True),
    "restart_keep_best": Flag(),
    "restart_xtol": Real(0.0, 1.0),
    "restart_local": Flag(),
    "restart_local_width": Real(0.0, 0.5, low_open=True),
    "restart_local_shrink": Real(0.0, 1.0, low_open=True),
    "restart_local_center": Flag(),
}
#: Settings of a registered ``"<algo>-ipop"`` variant that differ from
#: :data:`RESTART_DEFAULTS` or from the wrapped algorithm's published defaults, measured
#: per algorithm on COCO BBOB (docs/algorithms.md §12.2). GWO's steps become small only
#: as its ``a`` nears 0 (§6), so each of its global runs gets a short horizon of its own;
#: POA gains from global runs of 100 iterations. ACOR samples with the paper's rotation
#: (variable-correlation handling, docs/algorithms.md §5.1) and the less elitist q = 0.1,
#: whose runs converge slowly enough to keep one horizon for the budget left; ξ = 1.0 and
#: 10 ants per iteration (a steady-state archive of k = pop_size rows: each evaluation
#: sees a fresher one), the patience scaled to the same 1,500 evaluations (fraction of
#: the BBOB targets; §12.3, §12.4)::
#:
#:     1,000·d, seeds 0 / 1
#:     aco-ipop, restart_iters = 100 (former)                  .365 / .382
#:     aco-ipop, rotation, q = 0.1, restart_iters = 100        .464 / .465
#:     aco-ipop, rotation, q = 0.1                             .493 / .488
#:     seeds 0-9, 1,000·d: rotation, q = 0.1                   mean .485 (.467-.503)
#:       + ξ = 1.0, n_ants = 10, restart_patience = 150        mean .500 (.481-.516),
#:                                                             higher on 9 of 10
#:     seeds 0-9, 100·d: mean .1805 against .1791, higher on 7 (ξ = 1.0 alone: lower on
#:     seeds 0-3, by .015-.020)
#:
#: ``ipop`` with ``inner="aco"`` takes the inner values into its ``inner_params``.
RESTART_TUNED: dict[str, dict[str, Any]] = {
    "aco": {"rotation": True, "q": 0.1, "xi": 1.0, "n_ants": 10, "restart_patience": 150},
    "gwo": {"restart_iters": 30},
    "poa": {"restart_iters": 100},
}
#: First population (``pop_size``, IPOP's λ_0) of a registered ``"<algo>-ipop"`` variant
#: when none is given, where it differs from the wrapped class's ``default_pop_size`` (30;
#: ``ipop`` keeps 30 whatever its ``inner``, unless that needs more: its ``min_pop_size``,
#: :func:`first_pop_size`). PSO, fraction of the BBOB targets (benchmarks/bbob.py, 24 functions,
#: d = 2/5/10/20, instances 1-3; docs/algorithms.md §12.3)::
#:
#:     pso-ipop from    1,000·d, seeds 0-3          100·d, seeds 0-3
#:     30               .353  .365  .348  .339      .161  .162  .156  .162
#:     20               .369  .373  .368  .367      .165  .171  .172  .172
#:
#: A smaller first swarm converges sooner, so the restarts get evaluations to spend.
RESTART_POP_SIZE: dict[str, int] = {"pso": 20}
#: A local run's box is never narrower than this fraction of the whole box.
MIN_LOCAL_WIDTH = 1e-4


#: Tuned values that give way to a setting of the user's, as ``{inner: {tuned key: (other
#: key, value)}}``: ACOR's rotation needs one kernel per ant, so ``aco-ipop`` given
#: ``kernel_per_dim=True`` samples axis-aligned (the wrapped class's own default) rather
#: than refuse a rotation the user never asked for.
TUNED_YIELDS: dict[str, dict[str, tuple[str, Any]]] = {
    "aco": {"rotation": ("kernel_per_dim", True)},
}


def yielded(inner: str, params: dict[str, Any]) -> dict[str, Any]:
    """The tuned hyper-parameters of ``inner`` that give way to ``params`` (the user's, for
    ``inner``), with ``inner``'s own defaults (:data:`TUNED_YIELDS`)."""
    return {key: get(inner).defaults[key]
            for key, (other, value) in TUNED_YIELDS.get(inner, {}).items()
            if key not in params and other in params and params[other] == value}


def tuned_for_ipop(inner: str, given: dict[str, Any], inner_params: dict[str, Any]
                   ) -> dict[str, Any]:
    """:data:`RESTART_TUNED`'s values for ``ipop`` wrapping ``inner``: the restart
    hyper-parameters not in ``given``, and ``inner_params`` with the tuned hyper-parameters
    of ``inner`` where it does not set them (and they do not give way to it)."""
    tuned = RESTART_TUNED.get(inner, {})
    out = {k: v for k, v in tuned.items() if k in RESTART_DEFAULTS and k not in given}
    out["inner_params"] = {**{k: v for k, v in tuned.items() if k not in RESTART_DEFAULTS},
                           **yielded(inner, inner_params), **inner_params}
    return out


def _restarts(cls: type) -> bool:
    """Whether ``cls`` is the restart layer or one of its variants."""
    from metaheur.restarts import IPOP  # the layer imports this module

    return issubclass(cls, IPOP)


class InnerAlgorithm(Choice):
    """``inner``: the key of a registered algorithm without restarts (plug-ins included:
    the choices are the registry's at the time of the check)."""

    static = False

    def __init__(self) -> None:
        self.none = False

    @property
    def options(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(k for k in available() if not _restarts(get(k)))

    def describe(self) -> str:
        return f"the name of a registered algorithm without restarts ({', '.join(self.options)})"

    def _convert(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        try:
            cls = get(value)
        except ValueError:  # not registered
            return None
        return None if _restarts(cls) else cls.name


def variant_attributes(cls: Any, module: str, layer: type) -> dict[str, Any]:
    """The class attributes of the restart variant ``"<name>-ipop"`` of ``cls`` (defined in
    ``module``, a subclass of ``layer``): ``cls``'s hyper-parameters, :data:`RESTART_DEFAULTS`
    with :data:`RESTART_TUNED`'s values, ``cls``'s population limits. ``ValueError`` where
    a hyper-parameter of ``cls`` is named like one of the layer or an attribute of it."""
    clash = sorted(set(cls.defaults) & (set(RESTART_DEFAULTS) | set(vars(layer))))
    if clash:
        raise ValueError(
            f"{cls.name!r} has hyper-parameters {clash} that the restart layer uses")
    return {
        "name": f"{cls.name}-ipop",
        "summary": (f"{cls.name} with restarts (growing global runs, local runs around the "
                    "best point, best point kept)"),
        "reference": cls.reference,
        "defaults": {**cls.defaults, **RESTART_DEFAULTS, **RESTART_TUNED.get(cls.name, {})},
        "constraints": {**cls.constraints, **RESTART_CONSTRAINTS},
        "inner_algo": cls.name,
        "min_pop_size": cls.min_pop_size,
        "default_pop_size": RESTART_POP_SIZE.get(cls.name, cls.default_pop_size),
        "_variant_of": cls,
        "__module__": module,
    }


def check_misplaced(name: str, defaults: dict[str, Any], params: dict[str, Any]) -> None:
    """``ValueError`` pointing to ``inner_params`` where the unknown hyper-parameters given
    to ``ipop`` (``name``, with ``defaults``) are all the wrapped algorithm's."""
    unknown = sorted(set(params) - set(defaults))
    try:
        inner = get(params.get("inner", defaults["inner"])) if unknown else None
    except (TypeError, ValueError):  # the base check names the bad ``inner``
        return
    if inner is not None and set(unknown) <= set(inner.defaults):
        keys = ", ".join(f"{k!r}: ..." for k in unknown)
        raise ValueError(
            f"unknown hyper-parameter(s) {unknown} for {name!r} (hyper-parameters of "
            f"{inner.name!r}: pass them as inner_params={{{keys}}}); allowed: "
            f"{', '.join(defaults)}")


def first_pop_size(defaults: dict[str, Any], default: int, kwargs: dict[str, Any]
                   ) -> int | None:
    """``ipop``'s first population when none is given: ``default`` (None), or the wrapped
    algorithm's ``min_pop_size`` where that is larger (or the ``x0`` rows, if more)."""
    try:
        low = get(kwargs.get("inner", defaults["inner"])).min_pop_size
    except (TypeError, ValueError):  # validate_params names the bad ``inner``
        return None
    return resolve_pop_size(None, low, kwargs.get("x0"), low) if low > default else None
