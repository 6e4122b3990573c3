"""Strict JSON data from what the harness writes (results, summaries, study attributes):
every number exact, no NaN or infinity tokens."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_safe"]


def json_safe(obj: Any, *, inf_as_text: bool = True) -> Any:
    """``obj`` as strict JSON data: mappings, lists and tuples recursively, NumPy scalars and
    arrays as Python's, NaN and pandas' missing values ``null``; +inf and -inf the strings
    ``"inf"`` and ``"-inf"`` (as the CSV tables write them: a value never found finite is
    not an unknown one), or ``null`` with ``inf_as_text=False``; anything else its ``str``."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v, inf_as_text=inf_as_text) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v, inf_as_text=inf_as_text) for v in obj]
    if hasattr(obj, "tolist"):  # a NumPy array or scalar
        return json_safe(obj.tolist(), inf_as_text=inf_as_text)
    if isinstance(obj, float):
        if math.isnan(obj) or (not math.isfinite(obj) and not inf_as_text):
            return None
        return obj if math.isfinite(obj) else ("inf" if obj > 0 else "-inf")
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    if type(obj).__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    return str(obj)
