"""Unit checks of ACOR (docs/algorithms.md §5, §10.2): weights, σ, kernel choice, archive."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from helpers import check_invariants

from metaheur.optimizers.aco import ACOR, abs_dev_sums, rank_probabilities


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def brute_force_sigma_sums(S: np.ndarray) -> np.ndarray:
    k, D = S.shape
    out = np.zeros((k, D))
    for l in range(k):
        for j in range(D):
            out[l, j] = sum(abs(S[e, j] - S[l, j]) for e in range(k))
    return out


def _started(k: int = 6, d: int = 3, **params: Any) -> ACOR:
    opt = ACOR([(-1.0, 1.0)] * d, pop_size=k, budget=10_000, seed=2, **params)
    X = opt.ask()
    opt.tell(X, sphere(X))
    return opt


@pytest.mark.parametrize("k, q", [(2, 1e-4), (30, 1e-4), (30, 0.1), (50, 0.5), (7, 10.0)])
def test_probabilities_sum_to_one_and_decrease_with_rank(k: int, q: float) -> None:
    p = rank_probabilities(k, q)
    assert p.shape == (k,) and np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(p) <= 0)
    pos = p[p > 0]
    assert np.all(np.diff(pos) < 0)  # strictly decreasing wherever it has not underflowed
    rank = np.arange(1, k + 1)
    omega = np.exp(-((rank - 1) ** 2) / (2 * q * q * k * k)) / (q * k * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(p, omega / omega.sum(), rtol=1e-12, atol=1e-300)


def test_tiny_q_is_one_hot_and_huge_q_does_not_overflow() -> None:
    p = rank_probabilities(30, 1e-4)
    assert p[0] == 1.0 and not p[1:].any()
    assert np.isfinite(rank_probabilities(30, 1e-300)).all()
    assert rank_probabilities(30, 1e300) == pytest.approx(np.full(30, 1 / 30))


@pytest.mark.parametrize("k, d", [(2, 1), (5, 3), (40, 7)])
def test_sigma_matches_a_brute_force_double_loop(k: int, d: int) -> None:
    rng = np.random.default_rng(k)
    S = rng.uniform(-5, 5, (k, d))
    S[k // 2] = S[0]  # ties
    if d > 1:
        S[:, 1] = 50.0 + rng.integers(-2, 3, k) * np.spacing(50.0)  # collapsed to a few ulps
    ref = brute_force_sigma_sums(S)
    scale = np.abs(ref).max(axis=0, keepdims=True)
    for rows in (1, 2, 4, 5, k):  # broadcasting (<= 4 rows) and sort + prefix sums
        rows = min(rows, k)
        got = abs_dev_sums(S, rows)
        assert got.shape == (rows, d)
        np.testing.assert_allclose(got, ref[:rows], rtol=1e-12, atol=0)
        assert np.all(np.abs(got - ref[:rows]) <= 1e-12 * scale)
    np.testing.assert_allclose(abs_dev_sums(S), ref, rtol=1e-12)


@pytest.mark.parametrize("kernel_per_dim", [False, True])
def test_tiny_q_every_ant_samples_around_row_zero(kernel_per_dim: bool) -> None:
    opt = _started(kernel_per_dim=kernel_per_dim)
    assert opt._rows == 1
    S = opt._S.copy()
    rng = copy.deepcopy(opt.rng)
    X = opt.ask()
    u = rng.random((6, 3) if kernel_per_dim else 6)
    assert (opt._cdf.searchsorted(u, side="right") == 0).all()
    sigma0 = 0.85 * brute_force_sigma_sums(S)[0] / (6 - 1)
    expected = S[0] + sigma0 * rng.standard_normal((6, 3))
    np.testing.assert_allclose(X, np.clip(expected, -1, 1), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kernel_per_dim", [False, True])
def test_kernel_choice_matches_generator_choice(kernel_per_dim: bool) -> None:
    """One archive row per ant (``choice(k, m, p=p)``), or one per ant and coordinate."""
    opt = _started(k=8, d=4, q=0.3, xi=0.5, kernel_per_dim=kernel_per_dim)
    assert opt._rows == 8
    S = opt._S.copy()
    rng = copy.deepcopy(opt.rng)
    X = opt.ask()
    ell = rng.choice(8, size=(8, 4) if kernel_per_dim else 8, p=rank_probabilities(8, 0.3))
    Z = rng.standard_normal((8, 4))
    sigma = 0.5 * brute_force_sigma_sums(S) / 7
    if kernel_per_dim:
        cols = np.arange(4)
        expected = S[ell, cols] + sigma[ell, cols] * Z
    else:
        expected = S[ell] + sigma[ell] * Z
        assert len(set(ell.tolist())) > 1  # the draw really spreads over several rows
    np.testing.assert_allclose(X, np.clip(expected, -1, 1), rtol=1e-12, atol=1e-14)


def test_archive_stays_sorted_with_size_k_and_archive_wins_ties() -> None:
    opt = _started(k=5, d=2, q=0.5)
    for it in range(30):
        S_old, fS_old = opt._S.copy(), opt._fS.copy()
        X = opt.ask()
        f = sphere(X)
        if it == 3:  # a newcomer tying an archive member must not evict it
            f[:] = fS_old[2]
        opt.tell(X, f)
        assert opt._S.shape == (5, 2) and opt._fS.shape == (5,)
        assert np.all(np.diff(opt._fS) >= 0)
        pool = np.concatenate([fS_old, f])
        np.testing.assert_array_equal(opt._fS, np.sort(pool, kind="stable")[:5])
        assert opt._fS[0] == opt.best_f
        if it == 3:
            np.testing.assert_array_equal(opt._S[:3], S_old[:3])
    S, fS = opt.population  # a copy of the archive
    np.testing.assert_array_equal(S, opt._S)
    np.testing.assert_array_equal(fS, opt._fS)
    assert not np.shares_memory(S, opt._S) and not np.shares_memory(fS, opt._fS)


def test_n_ants_sets_the_batch_size_and_horizon() -> None:
    opt = ACOR([(0.0, 1.0)] * 2, pop_size=10, budget=10 + 3 * 4 + 1, seed=0, n_ants=4)
    assert opt._rounds() == (4,) and opt.max_iter == 4
    sizes = []
    while not opt.done:
        X = opt.ask()
        sizes.append(X.shape[0])
        opt.tell(X, sphere(X))
        assert opt._S.shape == (10, 2)
    assert sizes == [10, 4, 4, 4, 1]


@pytest.mark.parametrize(
    "params, word",
    [
        ({"q": 0.0}, "q"),
        ({"xi": -1.0}, "xi"),
        ({"q": float("inf")}, "q"),
        ({"n_ants": 0}, "n_ants"),
        ({"n_ants": 2.5}, "n_ants"),
        ({"kernel_per_dim": 1}, "kernel"),
    ],
)
def test_bad_parameters(params: dict[str, Any], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        ACOR([(0.0, 1.0)], pop_size=3, budget=10, **params)


@pytest.mark.parametrize("params", [{}, {"kernel_per_dim": True}, {"q": 0.5, "n_ants": 3}])
def test_invariants(params: dict[str, Any]) -> None:
    check_invariants("aco", **params)


