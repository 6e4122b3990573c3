"""Unit checks of POA (docs/algorithms.md §7, §10.2): frozen prey, Eq. 4 with I = 1 or 2,
phase 2, two rounds (2N evaluations) per iteration, restore between the phases."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from metaheur import Optimizer
from metaheur.optimizers.poa import POA


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def _started(N: int = 8, d: int = 3, **kw: object) -> POA:
    kw.setdefault("budget", 10_000)
    opt = POA([(-2.0, 2.0)] * d, pop_size=N, seed=5, **kw)
    X = opt.ask()
    opt.tell(X, sphere(X))
    return opt


def test_phase1_prey_is_frozen_and_eq4_holds_for_I_1_and_2() -> None:
    opt = _started(N=40)
    X0, f0 = opt._X.copy(), opt._fX.copy()
    rng = copy.deepcopy(opt.rng)
    Xc = opt.ask()
    k = int(rng.integers(40))
    p, fp = X0[k], f0[k]
    assert opt._prey == k and np.array_equal(opt._prey_x, p) and opt._prey_f == fp
    I, r = opt._I, opt._r
    assert I.shape == r.shape == (40, 1)
    assert set(np.unique(I)) == {1.0, 2.0}  # both occur among 40 agents
    better = f0 < fp  # agents better than the prey move away from it
    assert better.any() and (~better).any()
    for i in range(40):  # the per-agent loop of POA.m, with the one frozen prey
        if fp < f0[i]:
            expected = X0[i] + r[i] * (p - I[i] * X0[i])
        else:
            expected = X0[i] + r[i] * (X0[i] - p)
        np.testing.assert_array_equal(Xc[i], np.clip(expected, -2.0, 2.0))
    np.testing.assert_array_equal(Xc[k], X0[k])  # the prey itself does not move
    # The prey does not change during the iteration even when agent k improves.
    f = sphere(Xc)
    f[k] = -1.0
    opt.tell(Xc, f)
    assert np.array_equal(opt._prey_x, p) and opt._fX[k] == -1.0


def test_I_is_uniform_over_1_and_2() -> None:
    opt = _started(N=2000, d=1)
    opt.ask()
    share = float(np.mean(opt._I == 2.0))
    assert set(np.unique(opt._I)) == {1.0, 2.0} and 0.45 < share < 0.55


def test_phase2_formula_and_zero_move_at_t_equal_T() -> None:
    T = 3
    opt = _started(max_iter=T, budget=None)
    for t in range(1, T + 1):
        X = opt.ask()
        opt.tell(X, sphere(X))  # phase 1
        X0 = opt._X.copy()
        rng = copy.deepcopy(opt.rng)
        Xc = opt.ask()  # phase 2
        U = rng.random(X0.shape)
        expected = X0 + 0.2 * (1 - t / T) * (2 * U - 1) * X0  # Eq. (6)
        np.testing.assert_allclose(Xc, np.clip(expected, -2, 2), rtol=1e-14, atol=1e-15)
        if t == T:
            np.testing.assert_array_equal(Xc, X0)
        opt.tell(Xc, sphere(Xc))
    assert opt.done and opt.nit == T


def test_acceptance_is_greedy_with_ties_accepted() -> None:
    opt = _started(N=4)
    X0, f0 = opt._X.copy(), opt._fX.copy()
    Xc = opt.ask()
    opt.tell(Xc, np.array([f0[0], f0[1] + 1.0, f0[2] - 1.0, np.nan]))  # tie, worse, better, fail
    np.testing.assert_array_equal(opt._X, np.stack([Xc[0], X0[1], Xc[2], X0[3]]))
    np.testing.assert_array_equal(opt._fX, [f0[0], f0[1], f0[2] - 1.0, f0[3]])


@pytest.mark.parametrize("leftover", [0, 1, 5, 6, 7, 11])
def test_two_rounds_of_N_per_iteration_and_exact_budget(leftover: int) -> None:
    N = 6
    budget = N + 2 * N * 3 + leftover  # 3 full iterations, then an odd remainder
    opt = POA([(-1.0, 1.0)] * 2, pop_size=N, budget=budget, seed=0)
    assert opt._rounds() == (N, N)
    assert opt.max_iter == -(-(budget - N) // (2 * N))  # T = ceil((B − N) / 2N)
    sizes = []
    while not opt.done:
        X = opt.ask()
        sizes.append(X.shape[0])
        opt.tell(X, sphere(X))
    assert opt.nfev == budget == sum(sizes)
    assert sizes[:7] == [N] * 7
    assert sizes[7:] == [s for s in (min(leftover, N), leftover - N) if s > 0]
    h = opt.history  # one row per completed iteration (both phases told)
    assert h["nfev"][:4].tolist() == [N, 3 * N, 5 * N, 7 * N]
    assert opt.nit == (3 if leftover <= N else 4)  # an iteration counts once both phases ran


def _drive(restore: str | None) -> list[np.ndarray]:
    opt = POA([(-2.0, 3.0)] * 3, pop_size=5, budget=5 + 10 * 6 + 3, seed=9)
    asked = []

    def roundtrip(o: Optimizer) -> Optimizer:
        return Optimizer.from_state(json.loads(json.dumps(o.get_state(), allow_nan=False)))

    while not opt.done:
        phase = opt._round
        if restore == "between_iterations" and len(asked) == 5:
            opt = roundtrip(opt)
        if restore == "between_phases" and len(asked) in (4, 8) and phase == 1:
            opt = roundtrip(opt)
        X = opt.ask()
        if restore == "pending_phase1" and len(asked) in (3, 5) and phase == 0:
            opt = roundtrip(opt)
        if restore == "pending_phase2" and len(asked) == 6 and phase == 1:
            opt = roundtrip(opt)
        asked.append(X)
        opt.tell(X, sphere(X))
    return asked


@pytest.mark.parametrize(
    "restore", ["between_iterations", "between_phases", "pending_phase1", "pending_phase2"]
)
def test_restore_is_bit_identical(restore: str) -> None:
    ref, got = _drive(None), _drive(restore)
    assert len(ref) == len(got) == 1 + 2 * 6 + 1
    assert all(np.array_equal(a, b) for a, b in zip(ref, got, strict=True))
    assert _drive(None)[-1].tobytes() == ref[-1].tobytes()  # same seed, same run


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="R must"):
        POA([(0.0, 1.0)], pop_size=2, budget=10, R=-0.1)
    # regression (session 25's audit): R = 1e308 was accepted, then 2 R c overflowed, a
    # coordinate at 0 gave inf * 0 = NaN and the run stopped with "bug in the algorithm"
    with pytest.raises(ValueError, match=r"R must .*1000"):
        POA([(0.0, 1.0)], pop_size=2, budget=10, R=1e308)
    assert POA([(0.0, 1.0)], pop_size=2, budget=10, R=1e3).R == 1e3
    with pytest.raises(ValueError, match="pop_size"):
        POA([(0.0, 1.0)], pop_size=1, budget=10)




def test_truncated_last_batch_never_enters_a_failed_population() -> None:
    """Issue 8: with every value +inf, ``inf <= inf`` accepted the rows of a truncated
    last batch that were never evaluated (pop_size=4, budget=14, NaN objective)."""
    opt = POA([(-2.0, 2.0)] * 3, pop_size=4, budget=14, seed=0)
    evaluated: list[np.ndarray] = []
    while not opt.done:
        X = opt.ask()
        evaluated.extend(X)
        opt.tell(X, np.full(len(X), np.nan))
    assert opt.nfev == 14 and len(evaluated) == 14
    X, fX = opt.population
    assert np.isinf(fX).all()
    for row in X:  # every pelican is a point that was asked and told
        assert any(np.array_equal(row, e) for e in evaluated)


def test_failed_evaluations_still_drift_with_le() -> None:
    """``<=`` keeps accepting evaluated failures (inf <= inf): POA.m's plateau drift."""
    opt = POA([(-2.0, 2.0)] * 3, pop_size=4, budget=8, seed=0)  # init + phase 1
    X0 = opt.ask()
    opt.tell(X0, np.full(4, np.nan))
    X1 = opt.ask()
    opt.tell(X1, np.full(4, np.nan))
    assert opt.done and not np.array_equal(X1, X0)
    np.testing.assert_array_equal(opt.population[0], X1)
