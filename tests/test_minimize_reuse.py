"""minimize(reuse_evaluated=...): points asked again are answered from memory (issue 8)."""

from __future__ import annotations

import numpy as np
import pytest

import metaheur
from metaheur._evaluate import EvaluationMemo


class Counting:
    """A point-wise sphere that records every point it is called with."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, x: np.ndarray) -> float:
        self.calls.append(np.ascontiguousarray(x, dtype=float).tobytes())
        return float(np.sum((x - 0.3) ** 2))


@pytest.mark.parametrize("algo", ["aoa", "dlf-aoa", "poa"])
def test_no_point_is_evaluated_twice(algo: str) -> None:
    fun = Counting()
    res = metaheur.minimize(fun, [(-1.0, 1.0)] * 3, algo, budget=600, pop_size=10, seed=0)
    assert len(fun.calls) == len(set(fun.calls))  # every call is a new point
    assert res.n_reused > 0  # these algorithms do ask points again (the cause)
    assert len(fun.calls) + res.n_reused == res.nfev == 600


@pytest.mark.parametrize("algo", ["aoa", "poa", "pso"])
def test_reuse_changes_no_result(algo: str) -> None:
    """A deterministic objective gives the same run with and without the memory."""
    kw = dict(budget=400, pop_size=8, seed=3)
    on = metaheur.minimize(Counting(), [(-2.0, 2.0)] * 4, algo, **kw)
    off_fun = Counting()
    off = metaheur.minimize(off_fun, [(-2.0, 2.0)] * 4, algo, reuse_evaluated=False, **kw)
    assert on.fun == off.fun and np.array_equal(on.x, off.x)
    assert off.n_reused == 0 and len(off_fun.calls) == off.nfev


def test_failures_are_tried_again_and_vectorised_objectives_are_left_alone() -> None:
    memo = EvaluationMemo()
    X = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0]])
    f, todo, first = memo.plan(X)
    assert todo.tolist() == [0, 2] and first.tolist() == [0, 0, 2] and np.isnan(f).all()
    memo.store(X[todo], np.array([5.0, np.nan]))  # the second point failed
    f, todo, _ = memo.plan(X)
    assert f[:2].tolist() == [5.0, 5.0] and todo.tolist() == [2] and len(memo) == 1
    res = metaheur.minimize(lambda X: (X**2).sum(axis=1), [(-1.0, 1.0)] * 2, "aoa",
                            budget=200, pop_size=10, seed=0, vectorized=True)
    assert res.n_reused == 0
