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


def test_a_repeat_of_a_failed_point_is_a_failure_not_a_reuse() -> None:
    """Regression: with an objective that always raises and three equal x0 rows, n_failed
    was 4 but failures summed to 2 and n_reused was 2, though nothing was answered from
    memory. A repeat of a failed row in the same batch is not called again: it fails with
    the first row's reason (one count per row) and is not a reuse."""
    calls = []

    def boom(x: np.ndarray) -> float:
        calls.append(x)
        raise RuntimeError("no")

    with pytest.warns(RuntimeWarning, match="RuntimeError: no"):  # the whole batch raised
        res = metaheur.minimize(boom, [(-1.0, 1.0)] * 2, "pso", pop_size=4, budget=4, seed=0,
                                x0=[[0.5, 0.5]] * 3)
    assert res.n_failed == 4 and res.failures == {"raised RuntimeError": 4}
    assert res.n_reused == 0 and len(calls) == 2


def test_failures_always_sum_to_n_failed() -> None:
    """Regression: the README's vectorised rastrigin called point-wise (every call raises)
    gave n_failed 2000, failures summing to 1981 and n_reused 19."""
    def rastrigin(X: np.ndarray) -> np.ndarray:
        return 10 * X.shape[1] + (X**2 - 10 * np.cos(2 * np.pi * X)).sum(axis=1)

    with pytest.warns(RuntimeWarning, match="IndexError"):
        res = metaheur.minimize(rastrigin, [(-5.12, 5.12)] * 5, budget=2000, seed=0)
    assert res.n_failed == sum(res.failures.values()) == 2000 and res.n_reused == 0
    flaky = Counting()
    half = lambda x: flaky(x) if x[0] > 0 else float("nan")  # noqa: E731
    for algo in ("aoa", "poa"):
        res = metaheur.minimize(half, [(-1.0, 1.0)] * 3, algo, budget=600, pop_size=10,
                                seed=0)
        assert res.n_failed == sum(res.failures.values()) > 0


# ------------------------------------------------------------ session 27's audit
def test_minus_zero_and_zero_are_one_point() -> None:
    """Regression: the key was the row's bytes, so -0.0 and 0.0 (equal values) were two
    points, each evaluated (and charged as a fresh call) at a box corner."""
    memo = EvaluationMemo()
    calls = []

    def fun(x: np.ndarray) -> float:
        calls.append(x.copy())
        return float(x.sum())

    memo.evaluate(fun, np.array([[0.0, 0.0]]))
    f = memo.evaluate(fun, np.array([[-0.0, 0.0], [0.0, -0.0], [-0.0, -0.0]]))
    assert len(calls) == 1 and memo.hits == 3 and f.tolist() == [0.0, 0.0, 0.0]
    memo2 = EvaluationMemo()
    memo2.evaluate(fun, np.array([[-0.0, 1.0], [0.0, 1.0]]))  # one batch: one call
    assert len(calls) == 2 and memo2.hits == 1


def test_the_memo_forgets_the_least_recently_used_points_past_its_size() -> None:
    """Regression: the memo kept every point (78 MB for 20,000 points at d = 500, about
    19 GB for the default budget there). It now holds at most ``max_bytes``, forgetting
    the points used least recently; a forgotten point is evaluated again."""
    d = 50
    per_point = EvaluationMemo.entry_bytes(d)
    memo = EvaluationMemo(max_bytes=10 * per_point)
    calls = []

    def fun(x: np.ndarray) -> float:
        calls.append(1)
        return float(x[0])

    X = np.arange(12 * d, dtype=float).reshape(12, d)
    memo.evaluate(fun, X[:10])
    memo.evaluate(fun, X[:1])  # point 0 is used again: now the most recent
    assert len(calls) == 10 and memo.hits == 1
    memo.evaluate(fun, X[10:12])  # two more: points 1 and 2 are forgotten
    assert len(memo) == 10 and memo.nbytes <= 10 * per_point
    memo.evaluate(fun, X[[0, 3]])
    assert len(calls) == 12 and memo.hits == 3  # still known
    memo.evaluate(fun, X[[1]])
    assert len(calls) == 13  # forgotten: evaluated again
    with pytest.raises(ValueError, match="max_bytes"):
        EvaluationMemo(max_bytes=-1)


def test_a_decimal_value_is_a_real_number() -> None:
    """Regression: ``decimal.Decimal`` is not a ``numbers.Real``, so every value counted as a
    failure ('returned a Decimal'), and with on_error='raise' a TypeError."""
    from decimal import Decimal

    res = metaheur.minimize(lambda x: Decimal(str(round(float(x @ x), 6))), [(-1, 1)] * 2,
                            algo="pso", budget=40, seed=0, pop_size=10)
    assert res.n_failed == 0 and np.isfinite(res.fun)
    res = metaheur.minimize(lambda x: Decimal("NaN"), [(-1, 1)] * 2, algo="pso", budget=20,
                            seed=0, pop_size=10)
    assert res.n_failed == 20 and res.failures == {"non-finite value": 20}
