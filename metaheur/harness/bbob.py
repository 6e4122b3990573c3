"""COCO's BBOB suite through ``cocoex`` (``pip install coco-experiment``): the problems of
``metaheur bench --suite bbob`` and ``benchmarks/bbob.py``.

A problem is asked for by function id (1..24), dimension (one of :data:`BBOB_DIMS`) and
instance *number* (any integer >= 1, as in COCO's ``instances:`` option). COCO silently
ignores a value outside its ranges and then yields its whole suite, so :func:`bbob_problem`
checks that the problem it got is the one asked for.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BBOB_DIMS", "bbob_ids", "bbob_problem", "require_cocoex"]

#: the dimensions of COCO's bbob suite
BBOB_DIMS = (2, 3, 5, 10, 20, 40)
_BBOB_INSTALL = (
    "the bbob suite needs the COCO package: pip install coco-experiment "
    "(or pip install 'metaheur[bbob]')"
)


def bbob_ids(functions: Sequence[str]) -> list[int]:
    """Function ids 1..24 from ``"1"``, ``"f1"`` or ranges ``"1-24"``."""
    ids: list[int] = []
    for f in functions:
        m = re.fullmatch(r"f?(\d+)(?:-f?(\d+))?", str(f).strip().lower())
        lo, hi = (int(m[1]), int(m[2] or m[1])) if m else (0, 0)
        if not m or not (1 <= lo <= hi <= 24):
            raise ValueError(
                f"unknown bbob function {f!r}; allowed: 1..24 (as 1, f1 or ranges like 1-24)"
            )
        ids.extend(range(lo, hi + 1))
    return ids


def require_cocoex() -> Any:
    """Import ``cocoex`` or raise ``ImportError`` saying what to install."""
    try:
        import cocoex
    except ImportError as exc:
        raise ImportError(_BBOB_INSTALL) from exc
    return cocoex


def bbob_problem(fid: int, dim: int, instance: int) -> tuple[Any, float]:
    """COCO's BBOB function ``fid`` in ``dim`` dimensions, instance number ``instance``
    (any integer >= 1; not an index into COCO's default instance list), and its optimal
    value ``f_opt`` (read through the optimum COCO writes to a file)."""
    cocoex = require_cocoex()
    if dim not in BBOB_DIMS:
        raise ValueError(f"the bbob suite has no dimension {dim}; "
                         f"allowed: {', '.join(map(str, BBOB_DIMS))}")
    if not 1 <= fid <= 24 or instance < 1:
        raise ValueError(f"bbob needs a function 1..24 and an instance >= 1; got f{fid}, "
                         f"instance {instance}")
    # COCO ignores an option outside its ranges and then yields its whole suite: check
    # that the problem is the one asked for
    suite = cocoex.Suite("bbob", f"instances:{instance}",
                         f"function_indices:{fid} dimensions:{dim}")
    problem = next(iter(suite))
    got = (problem.id_function, problem.dimension, problem.id_instance)
    if got != (fid, dim, instance):
        raise RuntimeError(f"COCO returned bbob f{got[0]}, d={got[1]}, instance {got[2]} "
                           f"for f{fid}, d={dim}, instance {instance}")
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # COCO writes x_opt to a file in the cwd (no other public access)
        try:
            problem._best_parameter("print")
            x_opt = np.loadtxt("._bbob_problem_best_parameter.txt").reshape(-1)
        finally:
            os.chdir(cwd)
    return problem, float(problem(x_opt))
