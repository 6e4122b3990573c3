"""What ``minimize()`` reports when the budget ends inside an iteration (POA's first
phase): status, nit, history and callback follow docs/algorithms.md §0.2 — the last,
possibly truncated, iteration is iteration ``T``."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import metaheur
from metaheur._minimize import STATUS


def sphere(X: np.ndarray) -> np.ndarray:
    return (X**2).sum(axis=1)


B2 = [(-5.0, 5.0)] * 2
POA_KW: dict[str, Any] = dict(algo="poa", budget=53, pop_size=10, seed=1, vectorized=True)


def test_target_reached_in_a_truncated_iteration_is_a_success() -> None:
    """POA, N = 10, budget 53: the budget ends 3 points into phase 1 of iteration 3; the
    run's own best as target was reached there, so the run met its goal (status 0)."""
    ref = metaheur.minimize(sphere, B2, **POA_KW)
    assert ref.optimizer.round == 1 and ref.status == 1  # ended mid-iteration, no target
    res = metaheur.minimize(sphere, B2, target=ref.fun, **POA_KW)
    assert res.fun == ref.fun and res.nfev == 53
    assert (res.status, res.success) == (0, True), res.message
    assert res.message == f"target {ref.fun} reached"


def test_truncated_iteration_is_iteration_T_in_nit_history_and_callback() -> None:
    seen: list[tuple[int, int, float]] = []
    res = metaheur.minimize(sphere, B2, callback=lambda r: seen.append((r.nit, r.nfev, r.fun)),
                            **POA_KW)
    T = res.optimizer.max_iter
    assert T == 3  # ceil((53 - 10) / 20), docs/algorithms.md §0.2
    h = res.history
    assert h["nit"].tolist() == [0, 1, 2, 3] and h["nfev"].tolist() == [10, 30, 50, 53]
    assert res.nit == T and h["best_f"].iloc[-1] == res.fun
    # the callback sees every iteration, the truncated one too
    assert [s[:2] for s in seen] == [(0, 10), (1, 30), (2, 50), (3, 53)]
    assert seen[-1][2] == res.fun


def test_callback_stop_in_the_truncated_iteration() -> None:
    res = metaheur.minimize(sphere, B2, callback=lambda r: r.nfev == 53, **POA_KW)
    assert (res.status, res.nit, res.nfev) == (99, 3, 53)


ALGOS = ("aoa", "dlf-aoa", "pso", "aco", "gwo", "poa", "poa-ipop", "pso-ipop")


@example(algo="poa", pop=3, extra=1, seed=0, use_target=False)
@example(algo="poa", pop=10, extra=43, seed=1, use_target=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(algo=st.sampled_from(ALGOS), pop=st.integers(3, 9), extra=st.integers(0, 60),
       seed=st.integers(0, 2**16), use_target=st.booleans())
def test_result_agrees_with_its_history(algo: str, pop: int, extra: int, seed: int,
                                        use_target: bool) -> None:
    """One history row per iteration (nit 0, 1, 2, ..., the last at res.nfev and res.nit),
    the callback called for each, success iff status 0, target reached => status 0."""
    budget = pop + extra
    kw: dict[str, Any] = dict(budget=budget, pop_size=pop, seed=seed, vectorized=True)
    target = None
    if use_target:  # the run's own best: reached, at the latest, by its last evaluation
        target = metaheur.minimize(sphere, B2, algo, **kw).fun
    seen: list[tuple[int, int]] = []
    res = metaheur.minimize(sphere, B2, algo, target=target,
                            callback=lambda r: seen.append((r.nit, r.nfev)), **kw)
    h = res.history
    nit, nfev = h["nit"].to_numpy(), h["nfev"].to_numpy()
    assert nit[0] == 0 and (np.diff(nit) == 1).all(), nit
    assert nfev[-1] == res.nfev and res.nit == nit[-1] and h["best_f"].iloc[-1] == res.fun
    # the callback follows every iteration but one the target stopped
    rows = list(zip(nit.tolist(), nfev.tolist(), strict=True))
    assert seen == (rows[:-1] if res.status == 0 else rows)
    assert res.success == (res.status == 0) and res.status in STATUS
    if target is not None:
        assert res.fun <= target and res.status == 0
    elif res.nfev == budget:
        assert res.status == 1 and res.nit <= res.optimizer.max_iter
