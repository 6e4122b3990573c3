"""Optimizer state snapshots: :meth:`~metaheur.Optimizer.get_state` exports one as strict
JSON data; :meth:`~metaheur.Optimizer.from_state` restores it, as untrusted input.

The state may come from a file or from a study's shared storage, so nothing in it is
trusted: the configuration goes through the constructor's own validation, every array
is numeric and bounded by the optimizer's shapes (:func:`metaheur._state.decode`), the
random generator must be one of NumPy's bit generators, the counters must agree with the
budget arithmetic (docs/algorithms.md §0.2; checked once the whole state is set, through
:meth:`~metaheur.Optimizer._restored_progress`, which the restart layer overrides), the
pending batch with the box and the budget, and every algorithm field with its declared
:class:`~metaheur._state.Field` (a nested optimizer's state is left encoded for its own
``from_state``). Only declared fields are set. Anything wrong raises ``ValueError``.
"""

from __future__ import annotations

import inspect
import math
import reprlib
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from metaheur import _registry, _state
from metaheur._params import check_int, check_params
from metaheur._state import STATE_FORMAT, Field
from metaheur._version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from metaheur._base import Optimizer

__all__ = ["export_state", "from_state", "MAX_BATCH_VALUES"]

#: Largest population or batch (rows × dimension) a restored state may ask for. A few
#: bytes of JSON could otherwise make every worker allocate gigabytes at the first ask.
MAX_BATCH_VALUES = 2**24
#: Largest integer a double holds (an integer written for a float must convert).
_MAX_FLOAT_INT = int(np.finfo(float).max)


def export_state(opt: Optimizer) -> dict[str, Any]:
    """:meth:`metaheur.Optimizer.get_state`: the complete state as strict JSON data."""
    _check_declared(opt)
    core = {
        "nit": opt.nit,
        "nfev": opt.nfev,
        "n_failed": opt.n_failed,
        "best_f": opt.best_f,
        "best_x": opt.best_x,
        "history": opt._history,
        "initialized": opt._initialized,
        "round": opt._round,
        "budget": opt.budget,
        "max_iter": opt.max_iter,
        "x_init": opt._x_init,
        "f_init": opt._f_init,
        "pending": opt._pending,
        "pending_full": opt._pending_full,
    }
    algo = {k: getattr(opt, k, None) for k in opt._state_fields}  # None: before the first tell
    return _state.encode(
        {
            "format": STATE_FORMAT,
            "algo": opt.name,
            "version": __version__,
            "config": {
                "bounds": np.column_stack([opt.lower, opt.upper]).tolist(),
                "pop_size": opt.pop_size,
                "budget": opt._budget_arg,
                "max_iter": opt._max_iter_arg,
                "n_known": opt._n_known,
                "params": opt.params,
            },
            "rng": {
                "bit_generator": type(opt.rng.bit_generator).__name__,
                "state": opt.rng.bit_generator.state,
            },
            "core": core,
            "algo_state": algo,
        }
    )


def _check_declared(opt: Optimizer) -> None:
    """``ValueError`` unless the declared fields are the whole algorithm state: the hooks
    set no attribute that is neither declared nor a class-level default (scratch rebuilt
    when missing), set every declared one, and each is None exactly when its
    :class:`~metaheur._state.Field` says (what :func:`_restore_algo` requires)."""
    if not opt._initialized:
        return  # before the first tell every field is None (unset) by definition
    cls, names = type(opt), opt._state_fields
    config = getattr(opt, "_config_attrs", None)  # None: unpickled from before the check
    # the algorithm's state is private (a public attribute is the user's own)
    undeclared = [] if config is None else sorted(
        k for k in vars(opt) if k.startswith("_") and k not in config and k not in names
        and not hasattr(cls, k))
    if undeclared:
        raise ValueError(
            f"{cls.__name__}.get_state(): its hooks set {undeclared}, which "
            f"{cls.__name__}.state_fields does not declare, so a restored copy would lack "
            "them; declare each there as name -> metaheur.Field(shape, kind) (e.g. "
            "state_fields = {'_X': Field(('N', 'D'), 'point'), '_f': Field(('N',), "
            "'value')}), or give a scratch attribute rebuilt when missing a class-level "
            "default (_buf = None)")
    present, fields = _presence(opt), opt.state_fields
    # a field declared by name only may be unset (exported as None); not a property's
    # getter is run here (an -ipop's exports its inner run)
    unset = [k for k in fields if present[fields[k].present]
             and k not in vars(opt) and not hasattr(cls, k)]
    if unset:
        raise ValueError(
            f"{cls.__name__}.get_state(): the declared state field(s) {unset} were never "
            f"set; set each in the hooks (in _init_state unless its Field says when it is "
            f"present), or remove it from {cls.__name__}.state_fields")
    for name, spec in fields.items():  # a nested state: exported once, below
        if spec.kind != "state" and present[spec.present] != (
                getattr(opt, name, None) is not None):
            raise ValueError(
                f"{cls.__name__}.get_state(): state field {name!r} is "
                f"{'None' if present[spec.present] else 'set'} where its Field(present="
                f"{spec.present!r}) says it is {'set' if present[spec.present] else 'None'}")


def _presence(opt: Optimizer) -> dict[str | None, bool]:
    """Whether a :class:`~metaheur._state.Field` with each ``present`` must be set now."""
    pending = opt._pending is not None
    return {None: opt._initialized, "pending": opt._initialized and pending,
            "iteration": opt._initialized and (pending or opt._round > 0)}


#: Quotes a value read from an untrusted state in an error message: a few levels and
#: characters of it (``repr`` of a deeply nested list would raise ``RecursionError``).
_BRIEF = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_BRIEF.maxlevel, _BRIEF.maxstring, _BRIEF.maxother = 3, 60, 60
_brief = _BRIEF.repr


#: The keys of :func:`export_state`'s dict; a state with any other is refused.
_TOP_LEVEL = frozenset({"format", "algo", "version", "config", "rng", "core", "algo_state"})


def from_state(cls: type[Optimizer], state: Any, *, check_version: bool = True) -> Optimizer:
    """``cls.from_state(state)``: see :meth:`metaheur.Optimizer.from_state`."""
    if not isinstance(state, dict) or "format" not in state or "algo" not in state:
        missing = [k for k in ("format", "algo") if isinstance(state, dict) and k not in state]
        got = (f"a dict without {', '.join(map(repr, missing))}" if isinstance(state, dict)
               else f"a {type(state).__name__}")
        raise ValueError("not a metaheur optimizer state: expected the dict of get_state(), "
                         f"with 'format' and 'algo'; got {got}")
    if type(state["format"]) is not int or state["format"] != STATE_FORMAT:
        raise ValueError(
            f"optimizer state has format {_brief(state['format'])}; this metaheur reads "
            f"format {STATE_FORMAT}"
        )
    if not isinstance(state["algo"], str):
        raise ValueError(f"optimizer state names algorithm {_brief(state['algo'])}")
    target = _registry.get(state["algo"]) if inspect.isabstract(cls) else cls
    if state["algo"] != target.name:
        raise ValueError(
            f"state is for algorithm {state['algo']!r}, cannot restore it into "
            f"{target.__name__} ({target.name!r})"
        )
    # a class whose state layout changed reads the earlier ones with ``_upgrade_state``
    # (a new copy in the current layout; every check below follows)
    upgrade = getattr(target, "_upgrade_state", None)
    if upgrade is not None:
        state = upgrade(state)
    if check_version and state.get("version") != __version__:
        raise ValueError(
            f"state was written by metaheur {_brief(state.get('version'))}, this is "
            f"{__version__!r}; pass check_version=False to restore it anyway "
            "(bit-identical continuation is then not guaranteed)"
        )
    unknown = sorted(map(str, set(state) - _TOP_LEVEL))
    if unknown:
        raise ValueError(f"optimizer state has unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"get_state writes only {sorted(_TOP_LEVEL)}")
    parts = {k: state.get(k) for k in ("config", "rng", "core", "algo_state")}
    bad = [k for k, v in parts.items() if not isinstance(v, dict)]
    if bad:
        raise ValueError(f"optimizer state lacks its {', '.join(bad)} section(s)")
    cfg = _section(parts, "config", 0)
    obj = _from_config(target, cfg, parts["core"])
    # Every array of the state is bounded by the optimizer's own shapes, a pending batch
    # by what the budget allows (the restart layer's runs grow; the exact shape of every
    # array is checked below).
    limit = 16 * (max(obj.pop_size, *obj._rounds_) + 3) * obj.dim
    core = _section(parts, "core", max(limit, min(obj.budget, MAX_BATCH_VALUES // obj.dim)
                                       * obj.dim))
    # A nested optimizer's state stays encoded: its own from_state checks it, with the
    # nested optimizer's own shapes.
    raw = parts["algo_state"]
    nested = {k for k, spec in target.state_fields.items() if spec.kind == "state"} & set(raw)
    algo = _section({"algo_state": {k: v for k, v in raw.items() if k not in nested}},
                    "algo_state", limit)
    algo.update({k: raw[k] for k in nested})
    obj.rng = _state.restore_rng(_section(parts, "rng", 1024))
    _restore_core(obj, core, n_known=obj._n_known)
    _restore_algo(obj, algo, limit)
    _check_progress(obj)
    obj._config_attrs = frozenset(vars(obj))
    return obj


def _from_config(cls: type[Optimizer], cfg: dict[str, Any], core: dict[str, Any]) -> Optimizer:
    """A fresh optimizer with the state's configuration (validated by the constructor)."""
    known = {"bounds", "pop_size", "budget", "max_iter", "params", "n_known"}
    missing = {"bounds", "pop_size", "budget", "max_iter", "params"} - set(cfg)
    if missing or set(cfg) - known or not isinstance(cfg["params"], dict):
        raise ValueError(
            f"optimizer state config must hold {sorted(known)} (n_known optional), "
            f"got {sorted(cfg)}"
        )
    check_params(cls.name, cls.defaults, {}, cfg["params"])  # names first: no ** clash
    # the constructor's default population (None) is for callers, never for a state
    pop_size, bounds = check_int("pop_size", cfg["pop_size"], cls.min_pop_size), cfg["bounds"]
    dim = len(bounds) if isinstance(bounds, list) else 1
    if isinstance(pop_size, int) and pop_size * max(dim, 1) > MAX_BATCH_VALUES:
        raise ValueError(
            f"optimizer state asks for pop_size={pop_size} in {dim} dimensions; a restored "
            f"state may hold at most {MAX_BATCH_VALUES} values per population"
        )
    obj = cls(bounds, pop_size=pop_size, max_iter=1, **cfg["params"])
    if max(obj.rounds) * obj.dim > MAX_BATCH_VALUES:
        raise ValueError(
            f"optimizer state asks for batches of {max(obj.rounds)} points in {obj.dim} "
            f"dimensions; a restored state may hold at most {MAX_BATCH_VALUES} values per batch"
        )
    n_known = cfg["n_known"] if "n_known" in cfg else _infer_n_known(obj, core)
    if isinstance(n_known, bool) or not isinstance(n_known, int) or not (
        0 <= n_known <= obj.pop_size
    ):
        raise ValueError(f"n_known must be an integer in [0, pop_size], got {n_known!r}")
    obj._set_horizon(cfg["budget"], cfg["max_iter"], n_known)
    return obj


def _infer_n_known(opt: Optimizer, core: dict[str, Any]) -> int:
    """Warm-start values known at the start, for states written before it was recorded.

    Before the first ask it is the length of ``f_init``; afterwards the counters give it
    (``nfev = N − n_known + evaluations of the finished rounds``). Stored states never
    have an exhausted budget, so no batch was truncated. The result is checked later.
    """
    try:
        if not core["initialized"]:
            return len(core["f_init"]["__ndarray__"])
        rounds = opt._rounds_
        done = core["nit"] * sum(rounds) + sum(rounds[: core["round"]])
        n_known = opt.pop_size - (core["nfev"] - done)
    except (KeyError, TypeError, IndexError):
        return 0
    return n_known if isinstance(n_known, int) and 0 <= n_known <= opt.pop_size else 0


def _restore_core(opt: Optimizer, core: dict[str, Any], *, n_known: int) -> None:
    """Set the bookkeeping from ``core`` after checking that it is consistent."""
    keys = ("nit", "nfev", "n_failed", "best_f", "best_x", "history", "initialized",
            "round", "budget", "max_iter", "x_init", "f_init", "pending", "pending_full")
    if set(core) != set(keys):
        raise ValueError(f"optimizer state core must hold exactly {sorted(keys)}")
    initialized = core["initialized"]
    if not isinstance(initialized, bool):
        raise ValueError(f"state core 'initialized' must be true or false, got {initialized!r}")
    nit, rnd, nfev, n_failed = _counters(opt, core, initialized, n_known)
    best_f, best_x = _best(opt, core)
    history = _check_history(core["history"], nit, nfev, best_f)
    x_init, f_init, pending, full = _batches(opt, core, initialized, n_known, rnd, nfev)

    opt.nit, opt.nfev, opt.n_failed, opt._round = nit, nfev, n_failed, rnd
    opt.best_f, opt.best_x, opt._history = best_f, best_x, history
    opt._initialized, opt._x_init, opt._f_init = initialized, x_init, f_init
    opt._pending, opt._pending_full = pending, full


def _counters(opt: Optimizer, core: dict[str, Any], initialized: bool,
              n_known: int) -> tuple[int, int, int, int]:
    """``nit, round, nfev, n_failed``, which must agree with the budget arithmetic."""
    for key in ("budget", "max_iter"):
        if core[key] != getattr(opt, key) or isinstance(core[key], bool):
            raise ValueError(
                f"state core {key!r} is {core[key]!r} but its configuration gives "
                f"{getattr(opt, key)}"
            )
    nit = check_int("state core 'nit'", core["nit"], 0)
    rnd = check_int("state core 'round'", core["round"], 0)
    nfev = check_int("state core 'nfev'", core["nfev"], 0)
    n_failed = check_int("state core 'n_failed'", core["n_failed"], 0)
    # Here what holds for every optimizer; once the whole state is set, _check_progress
    # checks nit, round and nfev against the optimizer's own arithmetic.
    if rnd >= len(opt._rounds_) or nfev > opt.budget or (
        not initialized and (nit or rnd or nfev)
    ):
        _inconsistent(opt, nit, rnd, nfev)
    if n_failed > nfev:
        raise ValueError(f"state core 'n_failed' ({n_failed}) exceeds nfev ({nfev})")
    return nit, rnd, nfev, n_failed


def _inconsistent(opt: Optimizer, nit: int, rnd: int, nfev: int) -> NoReturn:
    raise ValueError(
        f"state core counters are inconsistent: nit={nit}, round={rnd}, nfev={nfev} "
        f"(budget {opt.budget}, max_iter {opt.max_iter}, rounds {opt._rounds_})"
    )


def _check_progress(opt: Optimizer) -> None:
    """The restored counters and pending batch against :meth:`Optimizer._restored_progress`
    (the initial population evaluates N − n_known rows, then every round its batch)."""
    if not opt._initialized:
        return  # _counters: nothing evaluated yet; _batches: the pending rows
    progress = opt._restored_progress(opt.nit, opt._round)
    if progress is None or opt.nfev != min(opt.budget, progress[0]):
        _inconsistent(opt, opt.nit, opt._round, opt.nfev)
    full = opt._pending_full
    if full is not None and full.shape[0] != progress[1]:
        raise ValueError(
            f"state field 'pending_full' must have shape {(progress[1], opt.dim)}, "
            f"got {full.shape}"
        )


def _best(opt: Optimizer, core: dict[str, Any]) -> tuple[float, NDArray]:
    """``best_f`` (never NaN) and ``best_x`` (in the box, or all NaN while nothing is known)."""
    dims, lo, up = _dims(opt), opt.lower, opt.upper
    best_f = Field((), "value").check("best_f", core["best_f"], dims, lo, up)
    if best_f < math.inf:
        return best_f, Field(("D",), "point").check("best_x", core["best_x"], dims, lo, up)
    x = core["best_x"]
    if not (isinstance(x, np.ndarray) and x.dtype == float and x.shape == (opt.dim,)
            and np.isnan(x).all()):
        raise ValueError("state core 'best_x' must be all NaN while best_f is inf")
    return best_f, x


def _batches(opt: Optimizer, core: dict[str, Any], initialized: bool, n_known: int, rnd: int,
             nfev: int) -> tuple[NDArray, NDArray, NDArray | None, NDArray | None]:
    """``x_init, f_init`` (the warm start until the first tell) and the pending batch."""
    N, dims, lo, up = opt.pop_size, _dims(opt), opt.lower, opt.upper
    pending, full = core["pending"], core["pending_full"]
    if (pending is None) != (full is None) or (pending is not None and nfev >= opt.budget):
        raise ValueError("state core 'pending' and 'pending_full' do not match the budget")
    if initialized:
        rows = 0
    elif full is not None:
        rows = N  # the first ask completed the population
    else:
        x = core["x_init"]
        rows = x.shape[0] if isinstance(x, np.ndarray) and x.ndim == 2 else -1
        if not n_known <= rows <= N:
            raise ValueError(f"state core 'x_init' must have {n_known}..{N} rows")
    x_init = Field((rows, "D"), "point").check("x_init", core["x_init"], dims, lo, up)
    f_init = Field((0 if initialized else n_known,), "value").check(
        "f_init", core["f_init"], dims, lo, up)
    if full is None:
        return x_init, f_init, None, None
    if not initialized:
        n_full = N - n_known
    else:  # the number of rows is checked by _check_progress
        ok = isinstance(full, np.ndarray) and full.ndim == 2
        n_full = full.shape[0] if ok else opt._rounds_[rnd]
    full = Field((n_full, "D"), "point").check("pending_full", full, dims, lo, up)
    if not initialized and not np.array_equal(full, x_init[n_known:]):
        raise ValueError("state core 'pending_full' must be the unevaluated x_init rows")
    if not (isinstance(pending, np.ndarray)
            and np.array_equal(pending, full[: opt.budget - nfev])):
        raise ValueError("state core 'pending' must be pending_full cut to the budget")
    return x_init, f_init, full[: opt.budget - nfev], full


def _dims(opt: Optimizer) -> dict[str, int]:
    """Values of the shape symbols of :class:`~metaheur._state.Field`."""
    return {"N": opt.pop_size, "D": opt.dim, "M": max(opt._rounds_)}


def _restore_algo(opt: Optimizer, algo: dict[str, Any], limit: int) -> None:
    """Set the declared algorithm state from ``algo`` after checking every field."""
    names = opt._state_fields
    if set(algo) != set(names):
        raise ValueError(
            f"{opt.name} state must hold exactly the fields {sorted(names)}, "
            f"got {sorted(algo)}"
        )
    dims, present = _dims(opt), _presence(opt)
    values = {}
    for name in names:
        value, spec = algo[name], opt.state_fields.get(name)
        if spec is None:
            values[name] = _state.check_undeclared(name, value, limit)
            continue
        if present[spec.present] != (value is not None):
            raise ValueError(
                f"state field {name!r} must be "
                f"{'present' if present[spec.present] else 'null'} here"
            )
        if value is not None:
            value = spec.check(name, value, dims, opt.lower, opt.upper)
        values[name] = value
    for name, value in values.items():
        setattr(opt, name, value)


def _check_history(rows: Any, nit: int, nfev: int, best_f: float) -> list[list[float]]:
    """The per-iteration record ``[nit, nfev, best_f]`` of a state, checked."""
    if not isinstance(rows, list) or len(rows) > nit + 2:
        raise ValueError(f"state core 'history' must be a list of at most {nit + 2} rows")
    out = []
    for row in rows:
        ok = isinstance(row, list) and len(row) == 3
        if ok:
            i, n, f = row
            ok = (all(isinstance(v, int) and not isinstance(v, bool) for v in (i, n))
                  and 0 <= i <= nit and 0 <= n <= nfev
                  and isinstance(f, (int, float)) and not isinstance(f, bool)
                  and (isinstance(f, float) or abs(f) <= _MAX_FLOAT_INT))
            ok = ok and not math.isnan(f) and f >= best_f
        if not ok:
            raise ValueError(f"state core 'history' has a bad row {row!r}")
        out.append([i, n, float(f)])
    return out


def _section(parts: dict[str, Any], key: str, max_elements: int) -> dict[str, Any]:
    value = _state.decode(parts[key], max_elements=max_elements)
    if not isinstance(value, dict):
        raise ValueError(f"optimizer state {key!r} must be a JSON object")
    return value
