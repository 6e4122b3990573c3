"""Drivers shared by the per-algorithm tests (not collected: no ``test_`` prefix)."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import metaheur
from metaheur import Optimizer


class GreedyAgents(Optimizer):
    """Test plug-ins' shared books: each agent keeps the better of its point and its new one
    (subclasses write ``_ask``)."""

    _state_fields = ("_X", "_fX")

    def _init_state(self, X: np.ndarray, f: np.ndarray) -> None:
        self._X, self._fX = X.copy(), f.copy()

    def _tell(self, t: int, r: int, X: np.ndarray, f: np.ndarray) -> None:
        keep = f < self._fX
        self._X[keep], self._fX[keep] = X[keep], f[keep]

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self._X, self._fX


def sphere(X: np.ndarray) -> np.ndarray:
    return (X**2).sum(axis=-1)


def shifted_sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def roundtrip(opt: Optimizer) -> Optimizer:
    """Export to strict JSON and restore."""
    return Optimizer.from_state(json.loads(json.dumps(opt.get_state(), allow_nan=False)))


def run(opt: Optimizer, fun: Callable[[np.ndarray], np.ndarray] = sphere,
        stop_nit: int | None = None) -> list[np.ndarray]:
    """ask/tell until done (or until ``nit == stop_nit``); returns every asked batch."""
    asked = []
    while not opt.done and (stop_nit is None or opt.nit < stop_nit):
        X = opt.ask()
        asked.append(X)
        opt.tell(X, fun(X))
    return asked


def run_with_restore(
    name: str,
    budget: int,
    *,
    restore_at: int | None = None,
    pending: bool = False,
    seed: int = 4,
    **params: Any,
) -> tuple[list[np.ndarray], Optimizer]:
    """Drive ``name`` on a small asymmetric box; optionally export/restore (strict JSON)
    before ask number ``restore_at``, or right after it with the batch pending."""
    bounds = [(-2.0, 3.0), (-1.0, 1.0), (0.0, 10.0)]
    opt = metaheur.get(name)(bounds, pop_size=5, budget=budget, seed=seed, **params)
    asked = []
    while not opt.done:
        if restore_at == len(asked) and not pending:
            opt = roundtrip(opt)
        X = opt.ask()
        if restore_at == len(asked) and pending:
            opt = roundtrip(opt)
        asked.append(X)
        opt.tell(X, shifted_sphere(X))
    return asked, opt


def check_invariants(name: str, **params: Any) -> None:
    """In the box, finite, monotone best-so-far, exact nfev, determinism, restore."""
    for budget in (5, 6, 23, 104):  # not multiples of pop_size = 5 (truncated last batch)
        asked, opt = run_with_restore(name, budget, **params)
        assert opt.nfev == budget == sum(X.shape[0] for X in asked)
        for X in asked:
            assert np.isfinite(X).all()
            assert (X >= opt.lower).all() and (X <= opt.upper).all()
        best = opt.history["best_f"]
        assert (best[1:] <= best[:-1]).all()
        again, _ = run_with_restore(name, budget, **params)
        assert all(np.array_equal(a, b) for a, b in zip(asked, again, strict=True))
        for at in (1, 3):
            for pending in (False, True):
                restored, _ = run_with_restore(name, budget, restore_at=at, pending=pending,
                                               **params)
                assert all(np.array_equal(a, b) for a, b in zip(asked, restored, strict=True))


def json_paths(obj: Any, max_items: int = 6, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON state a mutation can go: dict keys and the first
    ``max_items`` elements of each list (array elements and headers too)."""
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += json_paths(v, max_items, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:max_items]):
            out += json_paths(v, max_items, (*path, i))
    return out


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """Import the script ``benchmarks/<name>.py`` (not a package) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its worker functions must pickle by module name
    spec.loader.exec_module(module)
    return module


@contextmanager
def restored_process_state() -> Iterator[None]:
    """Run a benchmark script in the test process, then restore what scripts quiet for their
    runs: the ``metaheur`` log level, Optuna's verbosity, warning filters and, when torch is
    loaded, its thread count (later tests read log records and warnings)."""
    import optuna

    level, verbosity = logging.getLogger("metaheur").level, optuna.logging.get_verbosity()
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    with warnings.catch_warnings():
        yield
    logging.getLogger("metaheur").setLevel(level)
    optuna.logging.set_verbosity(verbosity)
    if threads is not None:
        torch.set_num_threads(threads)
