"""Unit checks of PSO (docs/algorithms.md §4, §10.2): confinement, velocity, pbest/gbest."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from helpers import check_invariants

from metaheur.optimizers.pso import PSO


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def _started(**params: Any) -> PSO:
    """A PSO on [0, 1]^3 with its initial population told."""
    opt = PSO([(0.0, 1.0)] * 3, pop_size=4, budget=1000, seed=0, **params)
    X = opt.ask()
    opt.tell(X, sphere(X))
    return opt


def test_defaults_are_clerc_kennedy_constriction() -> None:
    opt = _started()
    phi = 4.1
    chi = 2.0 / abs(2.0 - phi - np.sqrt(phi * phi - 4.0 * phi))
    assert opt.w == pytest.approx(chi, abs=1e-6) and opt.w == 0.729844
    assert opt.c1 == opt.c2 == pytest.approx(chi * 2.05, abs=1e-6)
    assert np.array_equal(opt._v_max, opt.upper - opt.lower)
    lin = _started(inertia="linear")
    assert lin.c1 == lin.c2 == 2.0
    assert lin._inertia(1) == 0.9 and lin._inertia(lin.max_iter) == pytest.approx(0.4)
    assert _started(inertia="linear", c1=1.0).c1 == 1.0


@pytest.mark.parametrize(
    "params, word",
    [
        ({"inertia": "exp"}, "inertia"),
        ({"c1": -1.0}, "c1"),
        ({"c2": "2"}, "c2"),
        ({"w": float("nan")}, "w"),
        ({"v_max_frac": 0.0}, "v_max_frac"),
        ({"v_max_frac": float("inf")}, "v_max_frac"),
        ({"w_min": None}, "w_min"),
    ],
)
def test_bad_parameters(params: dict[str, Any], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        PSO([(0.0, 1.0)], pop_size=2, budget=10, **params)
    with pytest.raises(ValueError, match="pop_size"):
        PSO([(0.0, 1.0)], pop_size=1, budget=10)


def test_velocity_update_matches_the_equations() -> None:
    opt = _started()
    for _ in range(3):
        X = opt.ask()
        opt.tell(X, sphere(X) * np.array([1.0, 0.5, 2.0, 1.0]))
    X0, V0, P, g = opt._X.copy(), opt._V.copy(), opt._P.copy(), opt._g
    rng = copy.deepcopy(opt.rng)
    Xc = opt.ask()
    R1, R2 = rng.random((2, *X0.shape))
    V = opt.w * V0 + opt.c1 * R1 * (P - X0) + opt.c2 * R2 * (P[g] - X0)
    V = np.clip(V, -1.0, 1.0)
    Xn = X0 + V
    out = (Xn < 0.0) | (Xn > 1.0)
    V[out] = 0.0
    np.testing.assert_allclose(Xc, np.clip(Xn, 0.0, 1.0), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(opt._V_new, V, rtol=1e-14, atol=1e-15)


def test_particle_outside_the_box_is_clipped_and_its_velocity_zeroed() -> None:
    opt = _started(w=1.0, c1=0.0, c2=0.0)  # V_new = V: a pure drift
    opt._X = np.full((4, 3), 0.5)
    opt._V = np.array([[0.8, 0.1, -0.9]] * 4)
    X = opt.ask()
    np.testing.assert_array_equal(X, [[1.0, 0.6, 0.0]] * 4)
    np.testing.assert_array_equal(opt._V_new, [[0.0, 0.1, 0.0]] * 4)
    opt.tell(X, sphere(X))
    np.testing.assert_array_equal(opt._V, [[0.0, 0.1, 0.0]] * 4)  # committed by tell
    # the velocity clamp: |v| <= v_max_frac (ub - lb)
    opt = _started(w=1.0, c1=0.0, c2=0.0, v_max_frac=0.25)
    opt._X = np.full((4, 3), 0.5)
    opt._V = np.array([[0.8, 0.1, -0.9]] * 4)
    np.testing.assert_array_equal(opt.ask(), [[0.75, 0.6, 0.25]] * 4)


def test_nothing_moves_when_w_c1_c2_are_zero() -> None:
    opt = PSO([(-3.0, 1.0)] * 4, pop_size=6, budget=6 * 8, seed=1, w=0.0, c1=0.0, c2=0.0)
    X0 = opt.ask()
    opt.tell(X0, sphere(X0))
    while not opt.done:
        X = opt.ask()
        np.testing.assert_array_equal(X, X0)
        opt.tell(X, sphere(X))


def test_pbest_is_greedy_strict_and_position_always_moves() -> None:
    opt = _started()
    X = opt.ask()
    opt.tell(X, np.array([4.0, 3.0, 2.0, 1.0]))
    P0, fP0 = opt._P.copy(), opt._fP.copy()
    X = opt.ask()
    f = np.array([fP0[0] - 1.0, fP0[1], fP0[2] + 1.0, np.nan])  # better, tie, worse, failed
    opt.tell(X, f)
    np.testing.assert_array_equal(opt._X, X)  # every particle moved, even the worse ones
    np.testing.assert_array_equal(opt._P[0], X[0])
    np.testing.assert_array_equal(opt._P[1:], P0[1:])  # a tie does not replace the pbest
    np.testing.assert_array_equal(opt._fP, [fP0[0] - 1.0, *fP0[1:]])
    assert opt._g == int(np.argmin(opt._fP))
    np.testing.assert_array_equal(opt.population[1], opt._fP)
    assert not np.shares_memory(opt.population[1], opt._fP)  # a copy


def test_gbest_is_synchronous() -> None:
    """All particles of one iteration are attracted by the same gbest ``P[g]``."""
    opt = _started(w=0.0, c1=0.0, c2=1.0)
    g = opt._g
    rng = copy.deepcopy(opt.rng)
    X0 = opt._X.copy()
    X = opt.ask()
    R2 = rng.random((2, *X0.shape))[1]
    np.testing.assert_allclose(X, np.clip(X0 + R2 * (opt._P[g] - X0), 0, 1), rtol=1e-15)


@pytest.mark.parametrize("params", [{}, {"inertia": "linear"}])
def test_invariants(params: dict[str, Any]) -> None:
    check_invariants("pso", **params)




def test_huge_velocity_clamp_means_no_clamp() -> None:
    """Regression (found by the mutated-state property test): v_max_frac * box width
    overflowed with a RuntimeWarning; an infinite clamp is simply no clamp."""
    with np.errstate(over="raise"):
        opt = PSO([(-1e300, 1e300)] * 2, pop_size=4, budget=40, seed=0, v_max_frac=1e300)
    assert np.isinf(opt._v_max).all()
    while not opt.done:
        X = opt.ask()
        assert np.isfinite(X).all()
        opt.tell(X, np.abs(X).sum(axis=1))
