"""Strict-JSON encoding of optimizer state (no pickle).

``encode`` turns NumPy arrays, NumPy scalars, non-finite floats and integers too large
for a JSON double into plain JSON values; ``decode`` inverts it exactly, so that a
restored optimizer is bit-identical. ``json.dumps(encode(x), allow_nan=False)`` always
succeeds: ``inf``/``nan`` are written as tagged strings, never as ``Infinity``.

State read back is untrusted input (the Optuna samplers share it through the study's
storage): :func:`decode` builds only numeric and boolean arrays of at most
``max_elements`` entries, and :class:`Field` declares what each piece of an algorithm's
state must be (shape in terms of N, D, M; domain), so that
:meth:`metaheur.Optimizer.from_state` can check a state as strictly as the constructor
checks its arguments. Every problem is a ``ValueError``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Version of the layout written by ``Optimizer.get_state``.
STATE_FORMAT = 1

_ARRAY = "__ndarray__"
_FLOAT = "__float__"
_BIGINT = "__int__"
_MAX_SAFE_INT = 2**53


def _encode_float(x: float) -> Any:
    return x if math.isfinite(x) else {_FLOAT: repr(float(x))}


def encode(obj: Any) -> Any:
    """Return a strict-JSON-serialisable copy of ``obj``."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            data: Any = obj.ravel().tolist()
            if not np.isfinite(obj).all():
                data = [_encode_float(v) for v in data]
        elif obj.dtype.kind in "iub":
            data = obj.ravel().tolist()
            if obj.dtype.kind != "b" and obj.size and (
                    obj.max() >= _MAX_SAFE_INT or obj.min() <= -_MAX_SAFE_INT):
                data = [encode(v) for v in data]  # as scalars are: encode(encode(x)) == encode(x)
        else:
            raise TypeError(f"cannot encode arrays of dtype {obj.dtype}")
        return {_ARRAY: data, "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        value = int(obj)
        return {_BIGINT: str(value)} if abs(value) >= _MAX_SAFE_INT else value
    if isinstance(obj, (float, np.floating)):
        return _encode_float(float(obj))
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"cannot encode {type(obj).__name__} into optimizer state")


#: The array dtypes a state may hold (what :func:`encode` writes for optimizer state).
_DTYPE_KINDS = "fiub"
_DEFAULT_MAX_ELEMENTS = 10**8
#: Deepest nesting of lists and dicts :func:`decode` reads (a state nests about 5 levels).
MAX_DEPTH = 32


def _decode_float(v: Any) -> float:
    if isinstance(v, dict) and len(v) == 1 and isinstance(v.get(_FLOAT), str):
        s = v[_FLOAT].strip().lower()
        if s in ("inf", "-inf", "nan"):
            return float(s)
    raise ValueError(f"bad float in optimizer state: {v!r}")


def _decode_int(v: dict[str, Any]) -> int:
    """An integer :func:`encode` wrote as ``{"__int__": "digits"}`` (beyond 2**53)."""
    try:
        if len(v) == 1 and isinstance(v[_BIGINT], str):
            return int(v[_BIGINT])
    except (KeyError, TypeError, ValueError):
        pass
    raise ValueError(f"bad integer in optimizer state: {v!r}")


def _decode_array(obj: dict[str, Any], max_elements: int) -> NDArray:
    data, dtype, shape = obj.get(_ARRAY), obj.get("dtype"), obj.get("shape")
    if set(obj) != {_ARRAY, "dtype", "shape"} or not isinstance(data, list):
        raise ValueError("bad array in optimizer state: expected {__ndarray__, dtype, shape}")
    try:
        dt = np.dtype(dtype) if isinstance(dtype, str) and len(dtype) <= 8 else None
    except TypeError:
        dt = None
    if dt is None or dt.kind not in _DTYPE_KINDS or dt.itemsize > 8:
        raise ValueError(
            f"bad array dtype {dtype!r} in optimizer state; allowed: float, int, uint or bool "
            "of at most 8 bytes"
        )
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape)
    ):
        raise ValueError(f"bad array shape {shape!r} in optimizer state")
    size = math.prod(shape)
    if size != len(data) or size > max_elements:
        raise ValueError(
            f"array of shape {shape} in optimizer state holds {len(data)} values; "
            f"expected {size} and at most {max_elements}"
        )
    if dt.kind == "b":
        ok = all(isinstance(v, bool) for v in data)
    elif dt.kind == "f":
        data = [v if type(v) in (int, float) else _decode_float(v) for v in data]
        ok = True
    else:
        data = [_decode_int(v) if isinstance(v, dict) else v for v in data]
        ok = all(type(v) is int for v in data)
    if not ok:
        raise ValueError(f"array of dtype {dt} in optimizer state holds values of another type")
    try:
        return np.array(data, dtype=dt).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise ValueError(f"bad array in optimizer state: {exc}") from None


def decode(obj: Any, *, max_elements: int = _DEFAULT_MAX_ELEMENTS, _depth: int = 0) -> Any:
    """Invert :func:`encode` (tuples come back as lists).

    Untrusted input is safe: arrays are numeric or boolean with at most ``max_elements``
    entries (no dtype from the input can allocate more than the input's own size), lists
    and dicts nest at most :data:`MAX_DEPTH` levels (a few bytes of ``[[[[...]]]]`` would
    otherwise exhaust the recursion limit); anything malformed raises ``ValueError``.
    """
    if isinstance(obj, (dict, list)) and _depth >= MAX_DEPTH:
        raise ValueError(f"optimizer state is nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, dict):
        if _ARRAY in obj:
            return _decode_array(obj, max_elements)
        if _FLOAT in obj and len(obj) == 1:
            return _decode_float(obj)
        if _BIGINT in obj and len(obj) == 1:
            return _decode_int(obj)
        return {k: decode(v, max_elements=max_elements, _depth=_depth + 1)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v, max_elements=max_elements, _depth=_depth + 1) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ValueError(f"optimizer state holds a {type(obj).__name__}; expected JSON data")


# ------------------------------------------------------------ declared state fields
#: Domains of a state field: ``point`` (finite, inside the box, last axis D), ``value``
#: (objective values: finite or +inf, never NaN), ``real`` (finite, within [low, high]),
#: ``index`` (an integer in [0, N)), ``count`` (an integer in [0, N]), ``integer`` (an
#: integer within [low, high]), ``state`` (the complete JSON state of a nested optimizer,
#: left encoded: its owner restores it with that optimizer's own ``from_state``, which
#: checks it with the nested optimizer's own shapes and limits; shape ``()``).
_KINDS = ("point", "value", "real", "index", "count", "integer", "state")
_INTEGRAL = ("index", "count", "integer")
#: When an optional field is present: ``pending`` while a batch is asked and not yet
#: told; ``iteration`` while an iteration is under way (a batch pending or round > 0).
_PRESENCE = (None, "pending", "iteration")
#: Shape symbols: pop_size, dimension, largest batch of an iteration.
_SYMBOLS = ("N", "D", "M")


@dataclass(frozen=True)
class Field:
    """What one attribute of an algorithm's state must be.

    ``shape`` uses ``"N"`` (pop_size), ``"D"`` (dimension), ``"M"`` (largest batch) or
    integers; ``()`` is a scalar. ``present`` says when the field is not ``None``
    (``None``: always, once the optimizer is initialised).
    """

    shape: tuple[int | str, ...]
    kind: str = "real"
    low: float = -math.inf
    high: float = math.inf
    present: str | None = None

    def __post_init__(self) -> None:
        allowed = "allowed: 'N' (pop_size), 'D' (dimension), 'M' (largest batch), integers >= 0"
        if isinstance(self.shape, list):
            object.__setattr__(self, "shape", tuple(self.shape))
        if not isinstance(self.shape, tuple):
            raise ValueError(f"bad state Field shape {self.shape!r}: give a tuple ((): a "
                             f"scalar); {allowed}")
        for s in self.shape:
            if not (s in _SYMBOLS if isinstance(s, str) else isinstance(s, (int, np.integer))
                    and not isinstance(s, bool) and s >= 0):
                raise ValueError(f"bad state Field shape {self.shape!r}: {s!r} is no size; "
                                 f"{allowed}")
        for what, value, values in (("kind", self.kind, _KINDS),
                                    ("present", self.present, _PRESENCE)):
            if value not in values:
                raise ValueError(f"bad state Field {what} {value!r}; allowed: "
                                 f"{', '.join(map(repr, values))}")
        if not self.low <= self.high:
            raise ValueError(f"bad state Field bounds: low {self.low:g} > high {self.high:g}")

    def check(self, name: str, value: Any, dims: dict[str, int], lower: NDArray,
              upper: NDArray) -> Any:
        """Return ``value`` as the optimizer holds it; raise ``ValueError`` otherwise."""
        if self.kind == "state":
            if not (isinstance(value, dict) and "algo" in value):
                raise ValueError(f"state field {name!r} must be an optimizer state, got "
                                 f"{_describe(value)}")
            return value
        shape = tuple(dims[s] if isinstance(s, str) else s for s in self.shape)
        if shape == ():
            integral = self.kind in _INTEGRAL
            types = (int, np.integer) if integral else (int, float, np.integer, np.floating)
            if not isinstance(value, types) or isinstance(value, (bool, np.bool_)):
                raise ValueError(f"state field {name!r} must be a number, got {value!r}")
            try:
                arr = np.asarray(value, dtype=np.int64 if integral else float)
            except OverflowError:
                raise ValueError(f"state field {name!r} is out of range: {value!r}") from None
        else:
            want = "i" if self.kind in _INTEGRAL else "f"
            if not (isinstance(value, np.ndarray) and value.dtype.kind == want
                    and value.dtype.itemsize == 8):
                raise ValueError(
                    f"state field {name!r} must be an array of "
                    f"{'int64' if want == 'i' else 'float64'}, got {_describe(value)}"
                )
            if value.shape != shape:
                raise ValueError(
                    f"state field {name!r} must have shape {shape}, got {value.shape}"
                )
            arr = value
        self._check_domain(name, arr, dims["N"], lower, upper)
        return arr.item() if shape == () else arr

    def _check_domain(self, name: str, a: NDArray, n: int, lower: NDArray,
                      upper: NDArray) -> None:
        if self.kind == "index":
            ok = bool(((a >= 0) & (a < n)).all())
            allowed = f"integers in [0, {n})"
        elif self.kind == "count":
            ok = bool(((a >= 0) & (a <= n)).all())
            allowed = f"integers in [0, {n}]"
        elif self.kind == "integer":
            ok = bool(((a >= self.low) & (a <= self.high)).all())
            allowed = f"integers in [{self.low:g}, {self.high:g}]"
        elif self.kind == "value":
            ok = not bool((np.isnan(a) | (a == -np.inf)).any())
            allowed = "objective values (finite or +inf)"
        elif self.kind == "point":
            ok = bool((np.isfinite(a) & (a >= lower) & (a <= upper)).all())
            allowed = "finite points inside the bounds"
        else:
            ok = bool((np.isfinite(a) & (a >= self.low) & (a <= self.high)).all())
            allowed = f"finite numbers in [{self.low:g}, {self.high:g}]"
        if not ok:
            raise ValueError(f"state field {name!r} must hold {allowed}")


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    return repr(value) if value is None or isinstance(value, (bool, int, float)) else (
        f"a {type(value).__name__}")


def check_undeclared(name: str, value: Any, max_elements: int) -> Any:
    """Fallback for state fields without a :class:`Field` (plug-ins naming only fields).

    JSON-like data is accepted (numbers, strings, None, arrays, lists and dicts of them)
    up to ``max_elements`` values in all; the algorithm itself must cope with its values.
    """
    count = 0

    def walk(v: Any) -> None:
        nonlocal count
        if isinstance(v, np.ndarray):
            count += v.size
        elif isinstance(v, (list, dict)):
            count += 1
            for item in v.values() if isinstance(v, dict) else v:
                walk(item)
        elif v is None or isinstance(v, (bool, int, float, str)):
            count += 1
        else:  # pragma: no cover - decode() yields nothing else
            raise ValueError(f"state field {name!r} holds a {type(v).__name__}")
        if count > max_elements:
            raise ValueError(f"state field {name!r} holds more than {max_elements} values")

    walk(value)
    return value


# ------------------------------------------------------------------ random state
#: The bit generators a state may name (NumPy's own; nothing else in numpy.random).
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


def restore_rng(data: Any) -> np.random.Generator:
    """The ``np.random.Generator`` described by ``{"bit_generator": name, "state": ...}``."""
    name = data.get("bit_generator") if isinstance(data, dict) else None
    if not isinstance(name, str) or name not in BIT_GENERATORS:
        raise ValueError(
            f"optimizer state names bit generator {name!r}; allowed: "
            f"{', '.join(BIT_GENERATORS)}"
        )
    if set(data) != {"bit_generator", "state"}:
        raise ValueError("optimizer state rng section must hold exactly ['bit_generator', "
                         f"'state'], got {sorted(map(str, data))}")
    bitgen = getattr(np.random, name)()
    try:
        with warnings.catch_warnings():  # older NumPy warns (and wraps -1) where 2.x raises
            warnings.simplefilter("error")
            bitgen.state = data["state"]
    except (KeyError, IndexError, TypeError, ValueError, OverflowError, Warning) as exc:
        raise ValueError(f"bad {name} state in optimizer state: {exc!r}") from None
    extra = _extra_keys(data["state"], bitgen.state)
    if extra:  # NumPy's setters ignore keys they do not read
        raise ValueError(f"bad {name} state in optimizer state: unknown key(s) "
                         f"{', '.join(map(repr, extra))}")
    problem = _unusable(name, bitgen.state)
    if problem:
        raise ValueError(f"bad {name} state in optimizer state: {problem}")
    return np.random.Generator(bitgen)


def _extra_keys(given: dict[str, Any], read: dict[str, Any], at: str = "") -> list[str]:
    """The keys of ``given`` (nested dicts included, dotted) that ``read``, the state NumPy
    holds after setting ``given``, lacks."""
    extra = []
    for key, value in given.items():
        if key not in read:
            extra.append(f"{at}{key}")
        elif isinstance(value, dict) and isinstance(read[key], dict):
            extra += _extra_keys(value, read[key], f"{at}{key}.")
    return extra


def _unusable(name: str, state: dict[str, Any]) -> str | None:
    """What makes a state NumPy accepted unusable, or ``None``. NumPy's setters do not
    range-check the buffer positions, which its C code then indexes with (reading outside
    the buffer, or crashing), nor refuse states whose every draw is 0 (a PCG increment
    must be odd; an all-zero Mersenne Twister key stays zero), where drawing an integer
    in a range that excludes 0 never ends."""
    if name == "Philox" and not 0 <= state["buffer_pos"] <= 4:
        return f"buffer_pos {state['buffer_pos']} is outside 0..4"
    if name == "MT19937":
        pos, key = state["state"]["pos"], state["state"]["key"]
        if not 0 <= pos <= key.size:
            return f"pos {pos} is outside 0..{key.size}"
        if not key.any():
            return "key is all zeros (every draw would be 0)"
    if name in ("PCG64", "PCG64DXSM") and state["state"]["inc"] % 2 == 0:
        return f"inc {state['state']['inc']} is even (NumPy's increments are odd)"
    return None
