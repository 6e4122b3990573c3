"""COCO's BBOB suite through ``cocoex`` (``pip install coco-experiment``): the problems of
``metaheur bench --suite bbob`` and ``benchmarks/bbob.py``.

A problem is asked for by function id (1..24), dimension (one of :data:`BBOB_DIMS`) and
instance *number* (an integer in 1..:data:`MAX_INSTANCE`, as in COCO's ``instances:``
option). COCO silently ignores a value outside its ranges and then yields its whole suite
(and takes instance ``2**31 + k`` for instance ``k + 1``), so :func:`bbob_problem` checks
its arguments and that the problem it got is the one asked for.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BBOB_DIMS", "MAX_INSTANCE", "bbob_ids", "bbob_problem", "require_cocoex"]

#: the dimensions of COCO's bbob suite
BBOB_DIMS = (2, 3, 5, 10, 20, 40)
#: the largest instance number COCO keeps apart (it reads 2**31 as instance 1)
MAX_INSTANCE = 2**31 - 1
# bbob_problem changes the process's working directory for a moment: one call at a time
_CWD_LOCK = threading.Lock()
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


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _suite_problem(cocoex: Any, fid: int, dim: int, instance: int) -> Any:
    """A fresh, unevaluated problem, checked to be the one asked for."""
    suite = cocoex.Suite("bbob", f"instances:{instance}",
                         f"function_indices:{fid} dimensions:{dim}")
    problem = next(iter(suite))
    got = (problem.id_function, problem.dimension, problem.id_instance)
    if got != (fid, dim, instance):
        raise RuntimeError(f"COCO returned bbob f{got[0]}, d={got[1]}, instance {got[2]} "
                           f"for f{fid}, d={dim}, instance {instance}")
    return problem


def bbob_problem(fid: int, dim: int, instance: int) -> tuple[Any, float]:
    """COCO's BBOB function ``fid`` in ``dim`` dimensions, instance number ``instance``
    (an integer in 1..:data:`MAX_INSTANCE`; not an index into COCO's default instance list),
    and its optimal value ``f_opt``.

    The problem is returned unevaluated (``evaluations == 0``, ``final_target_hit`` False):
    ``f_opt`` is the value of a second copy at the optimum, which COCO gives only as a file
    it writes to the working directory. So this call changes the process's working directory
    to a temporary folder for a moment, one call at a time (a lock): other threads of the
    process should not open relative paths meanwhile.
    """
    cocoex = require_cocoex()
    if not _is_int(dim) or dim not in BBOB_DIMS:
        raise ValueError(f"the bbob suite has no dimension {dim!r}; "
                         f"allowed: {', '.join(map(str, BBOB_DIMS))}")
    if not _is_int(fid) or not 1 <= fid <= 24:
        raise ValueError(f"bbob function must be an integer in 1..24; got {fid!r}")
    if not _is_int(instance) or not 1 <= instance <= MAX_INSTANCE:
        raise ValueError(f"bbob instance must be an integer in 1..{MAX_INSTANCE}; "
                         f"got {instance!r}")
    fid, dim, instance = int(fid), int(dim), int(instance)
    problem = _suite_problem(cocoex, fid, dim, instance)
    probe = _suite_problem(cocoex, fid, dim, instance)  # evaluated at x_opt instead
    with _CWD_LOCK, tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # COCO writes x_opt to a file in the cwd (no other public access)
        try:
            probe._best_parameter("print")
            x_opt = np.loadtxt("._bbob_problem_best_parameter.txt").reshape(-1)
        finally:
            os.chdir(cwd)
    return problem, float(probe(x_opt))
