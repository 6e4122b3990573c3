"""Strict-JSON encoding of optimizer state (no pickle).

``encode`` turns NumPy arrays, NumPy scalars, non-finite floats and integers too large
for a JSON double into plain JSON values; ``decode`` inverts it exactly, so that a
restored optimizer is bit-identical. ``json.dumps(encode(x), allow_nan=False)`` always
succeeds: ``inf``/``nan`` are written as tagged strings, never as ``Infinity``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


def decode(obj: Any) -> Any:
    """Invert :func:`encode` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if _ARRAY in obj:
            data = [float(v[_FLOAT]) if isinstance(v, dict) else v for v in obj[_ARRAY]]
            return np.array(data, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
        if _FLOAT in obj and len(obj) == 1:
            return float(obj[_FLOAT])
        if _BIGINT in obj and len(obj) == 1:
            return int(obj[_BIGINT])
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj
