"""AOA (docs/algorithms.md §1): building blocks (§10.2), variants' invariants (§10.1), quality."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import roundtrip, run
from hypothesis import given, settings
from hypothesis import strategies as st

import metaheur
from metaheur._ops import reflect_into_box
from metaheur.optimizers.aoa import (
    AOA,
    apply_flag,
    density_factor,
    normalize_acceleration,
    transfer_factor,
)

BOX10 = [(-100.0, 100.0)] * 10


def sphere(X: np.ndarray) -> np.ndarray:
    return (X**2).sum(axis=1)


# ---------------------------------------------------------------- schedules (Eqs. 8-9)
def test_transfer_factor_schedule():
    T = 1000
    assert transfer_factor(T, T) == 1.0
    assert transfer_factor(1, T) == pytest.approx(math.exp(-1 + 1 / T))
    assert transfer_factor(0, T) == pytest.approx(math.exp(-1))
    tf = [transfer_factor(t, T) for t in range(1, T + 1)]
    assert np.all(np.diff(tf) > 0)  # rises to 1


def test_density_factor_schedule():
    T = 1000
    assert density_factor(0, T) == pytest.approx(math.e)
    assert density_factor(T, T) == 0.0
    d = [density_factor(t, T) for t in range(T + 1)]
    assert np.all(np.diff(d) < 0)  # falls from e to 0


@pytest.mark.parametrize("threshold", [0.45, 0.40, 0.5])
def test_phase_switch_points(threshold):
    # TF(t) < threshold  <=>  t/T < 1 + ln(threshold): 0.2015, 0.0837 (paper 0.5: 0.3069)
    T = 10_000
    share = sum(transfer_factor(t, T) < threshold for t in range(1, T + 1)) / T
    assert share == pytest.approx(1 + math.log(threshold), abs=2 / T)
    assert {0.45: 0.2015, 0.40: 0.0837, 0.5: 0.3069}[threshold] == pytest.approx(
        1 + math.log(threshold), abs=1e-4
    )


class _CountingRNG:
    """Wraps a Generator and records the size of every ``random`` call."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng, self.sizes = rng, []

    def random(self, size=None):
        self.sizes.append(int(np.prod(size)))
        return self._rng.random(size)

    def __getattr__(self, name):
        return getattr(self._rng, name)


@pytest.mark.parametrize("paper", [False, True])
def test_class_switches_phases_at_the_tf_thresholds(paper):
    # the draw layout reveals the phase: [r | rho | mr (collision) | partners or P | R]
    N, D, T = 5, 3, 200
    kw = dict(tf_collision=0.5, tf_explore=0.5, partner_per_dim=False) if paper else {}
    opt = AOA([(-1.0, 1.0)] * D, pop_size=N, max_iter=T, seed=0, **kw)
    opt.tell(opt.ask(), np.zeros(N))
    opt.rng = _CountingRNG(opt.rng)
    run(opt)
    assert len(opt.rng.sizes) == T
    for t, size in enumerate(opt.rng.sizes, start=1):
        TF = transfer_factor(t, T)
        collide, explore = TF < opt.tf_collision, TF < opt.tf_explore
        partners = N * D if opt.partner_per_dim else N
        expected = 1 + N + (N if collide else 0) + (partners if explore else N * D) + N * D
        assert size == expected, t


# ------------------------------------------------------------- normalisation (Eq. 12)
def test_normalisation_range_and_extremes_attained():
    A = np.random.default_rng(1).lognormal(size=(30, 10)) * 1e3
    Ah = normalize_acceleration(A, 0.9, 0.1)
    assert Ah.min() == 0.1
    assert Ah.max() == pytest.approx(1.0, rel=1e-15, abs=0)
    assert Ah.argmin() == A.argmin() and Ah.argmax() == A.argmax()
    assert np.all((Ah >= 0.1) & (Ah <= 1.0 + 1e-15))
    # one global min and max, not per column
    two = normalize_acceleration(np.array([[0.0, 0.0], [1.0, 10.0]]), 0.9, 0.1)
    np.testing.assert_allclose(two, [[0.1, 0.1], [0.19, 1.0]], rtol=1e-15)
    out = A.copy()
    assert normalize_acceleration(out, 0.9, 0.1, out=out) is out
    np.testing.assert_array_equal(out, Ah)


@pytest.mark.parametrize("value", [0.0, 3.7, -2.0, 1e300])
def test_normalisation_zero_span_guard(value):
    Ah = normalize_acceleration(np.full((4, 3), value), 0.9, 0.1)
    np.testing.assert_array_equal(Ah, np.full((4, 3), 0.1 + 0.45))


def test_normalisation_negligible_or_nonfinite_span_gives_constant():
    A = np.full((4, 3), 5.0)
    A[0, 0] += 1e-14  # relative span below 1e-12
    np.testing.assert_array_equal(normalize_acceleration(A, 0.9, 0.1), 0.55)
    for bad in (np.inf, -np.inf, np.nan):
        A = np.ones((4, 3))
        A[1, 2] = bad
        with np.errstate(invalid="ignore"):
            Ah = normalize_acceleration(A, 0.9, 0.1)
        np.testing.assert_array_equal(Ah, 0.55)


# ------------------------------------------------------------------ flag (Eq. 15)
def test_flag_always_plus_one_with_c4_2():
    P = np.random.default_rng(2).random((200, 50))
    np.testing.assert_array_equal(apply_flag(np.ones_like(P), P, 2.0), 1.0)


def test_flag_share_with_c4_half_and_literal_formula():
    rng = np.random.default_rng(3)
    P, R = rng.random((2, 400, 250))
    FR = apply_flag(R, P, 0.5)
    share = (FR > 0).mean()
    assert abs(share - 0.5) < 0.01
    np.testing.assert_array_equal(np.abs(FR), R)
    for C4 in (0.5, 0.0, 0.9, 2.0, -0.7):
        F = np.where(2 * P - C4 <= 0.5, 1.0, -1.0)  # Eq. (15) as printed
        np.testing.assert_array_equal(apply_flag(R, P, C4), F * R)


# --------------------------------------------------------------- state & update rules
def test_init_state_and_acc_b_rules():
    opt = AOA(BOX10, pop_size=20, budget=2_000, seed=4)
    X = opt.ask()
    opt.tell(X, sphere(X))
    den, vol = opt._dv
    assert np.all((den > 0) & (den <= 1) & (vol > 0) & (vol <= 1))
    assert np.all((opt._acc >= -100) & (opt._acc <= 100))  # Eq. (6): raw, bound units
    b = int(np.argmin(opt._fX))
    np.testing.assert_array_equal(opt._acc_b, opt._acc[b])  # raw before any improvement
    np.testing.assert_array_equal(opt._x_b, opt._X[b])
    f_b = opt._f_b
    while opt._f_b == f_b:
        X = opt.ask()
        opt.tell(X, sphere(X))
    b = int(np.argmin(opt._fX))
    np.testing.assert_array_equal(opt._acc_b, opt._acc[b])  # normalised Â of the new best
    assert np.all((opt._acc_b >= 0.1) & (opt._acc_b <= 1.0 + 1e-15))
    np.testing.assert_array_equal(opt._dv_b[:, 0], opt._dv[:, b])
    assert opt._f_b == opt._fX.min() == opt.best_f


def test_rejected_moves_still_update_den_vol_acc_and_ties_are_rejected():
    opt = AOA(BOX10, pop_size=10, budget=1_000, seed=5)
    X = opt.ask()
    opt.tell(X, sphere(X))
    X0, f0, dv0 = opt._X.copy(), opt._fX.copy(), opt._dv.copy()
    Xc = opt.ask()
    assert "_dv_new" in opt._state_fields and opt._dv_new is not None
    pending_dv, pending_acc = opt._dv_new, opt._acc_new
    opt.tell(Xc, f0.copy())  # equal values: strict < rejects every move
    np.testing.assert_array_equal(opt._X, X0)
    np.testing.assert_array_equal(opt._fX, f0)
    assert opt._dv is pending_dv and opt._acc is pending_acc and not np.array_equal(opt._dv, dv0)
    assert opt._dv_new is None and opt._acc_new is None


def test_greedy_selection_accepts_strict_improvements_only():
    opt = AOA(BOX10, pop_size=6, budget=1_000, seed=6)
    X = opt.ask()
    opt.tell(X, sphere(X))
    f0 = opt._fX.copy()
    Xc = opt.ask()
    f = f0.copy()
    f[::2] -= 1.0
    opt.tell(Xc, f)
    np.testing.assert_array_equal(opt._X[::2], Xc[::2])
    np.testing.assert_array_equal(opt._X[1::2], X[1::2])


# ----------------------------------------------------------------- invariants (§10.1)
VARIANTS = {
    "reference": {},
    "paper": dict(tf_collision=0.5, tf_explore=0.5, acc_rand_divisor=False, partner_per_dim=False),
    "standard-functions": dict(C3=1.0, C4=2.0),
    "mixed": dict(tf_collision=1.0, tf_explore=0.9, acc_rand_divisor=False),
}


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_invariants(params):
    box = [(-5.0, 10.0), (0.0, 1e-3), (-1e6, -1e6 + 1.0)]
    lo, hi = np.array(box).T
    budget = 7 * 17 + 5  # not a multiple of N
    fun = lambda X: -X.sum(axis=1)  # noqa: E731  pushes agents to the walls
    opt = AOA(box, pop_size=7, budget=budget, seed=11, **params)
    asked = run(opt, fun)
    assert opt.nfev == budget == sum(len(X) for X in asked)
    assert all(np.isfinite(X).all() and (X >= lo).all() and (X <= hi).all() for X in asked)
    best = opt.history["best_f"]
    assert np.all(np.diff(best) <= 0)
    again = run(AOA(box, pop_size=7, budget=budget, seed=11, **params), fun)
    assert all(np.array_equal(a, b) for a, b in zip(asked, again, strict=True))


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_restore_mid_run_is_bit_identical(params):
    ref = AOA(BOX10, pop_size=8, budget=8 * 40 + 3, seed=12, **params)
    asked = run(ref)
    for k in (0, 1, 5, 17, 39):  # between iterations and with a batch pending
        for pending in (False, True):
            opt = AOA(BOX10, pop_size=8, budget=8 * 40 + 3, seed=12, **params)
            head = run(opt, stop_nit=k)
            if pending:
                head.append(opt.ask())
            opt = roundtrip(opt)
            if pending:
                X = opt.ask()
                np.testing.assert_array_equal(X, head[-1])
                opt.tell(X, sphere(X))
            tail = run(opt)
            assert all(np.array_equal(a, b) for a, b in zip(head + tail, asked, strict=True))
            assert opt.best_f == ref.best_f


@pytest.mark.parametrize(
    "fun",
    [
        lambda X: np.full(len(X), np.nan),
        lambda X: np.full(len(X), np.inf),
        lambda X: np.where(X[:, 0] > 0, np.nan, (X**2).sum(1)),
    ],
    ids=["all-nan", "all-inf", "half-nan"],
)
def test_failing_objective_keeps_points_finite(fun):
    opt = AOA(BOX10, pop_size=9, budget=9 * 30, seed=13)
    for X in run(opt, fun):
        assert np.isfinite(X).all() and (np.abs(X) <= 100).all()


@pytest.mark.parametrize("box", [[(-1e300, 1e300)] * 3, [(1e-12, 2e-12)] * 3, [(-1e250, 5.0)]])
def test_extreme_boxes(box):
    lo, hi = np.array(box).T
    opt = AOA(box, pop_size=6, budget=6 * 40, seed=14)
    for X in run(opt, lambda X: np.abs(X - X.mean()).sum(axis=1)):
        assert np.isfinite(X).all() and (X >= lo).all() and (X <= hi).all()


def test_vectorised_equals_pointwise_minimize():
    kw = dict(budget=333, pop_size=10, seed=15)
    a = metaheur.minimize(sphere, BOX10, "aoa", vectorized=True, **kw)
    b = metaheur.minimize(lambda x: float((x**2).sum()), BOX10, "aoa", **kw)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.fun == b.fun and a.nfev == b.nfev == 333


# ------------------------------------------------------------------------ params
@pytest.mark.parametrize(
    "key, value",
    [
        ("C1", 0.0),
        ("C2", -1.0),
        ("C3", np.nan),
        ("C4", np.inf),
        ("u", 0.0),
        ("l", -0.1),
        ("tf_collision", 0.0),
        ("tf_explore", 1.5),
        ("acc_rand_divisor", 1),
        ("partner_per_dim", "yes"),
        ("C1", True),
        ("u", "0.9"),
        ("boundary", "bounce"),
    ],
)
def test_bad_parameters_raise_naming_them(key, value):
    with pytest.raises(ValueError, match=key):
        AOA(BOX10, budget=100, **{key: value})


def test_registered_with_published_defaults():
    assert metaheur.get("aoa") is AOA
    assert AOA.defaults == dict(
        C1=2.0, C2=6.0, C3=2.0, C4=0.5, u=0.9, l=0.1, tf_collision=0.45, tf_explore=0.40,
        acc_rand_divisor=True, partner_per_dim=True, boundary="clip",
    )  # fmt: skip
    assert AOA.min_pop_size == 2 and AOA.summary and "10.1007/s10489-020-01893-z" in AOA.reference


# ----------------------------------------------------------------------- quality


# ------------------------------------------------------- random numbers (§1.6, issue 9)
@pytest.mark.parametrize("per_dim", [True, False])
@pytest.mark.parametrize("rho", [True, False])
@pytest.mark.parametrize("tf", [0.3, 0.42, 0.8])  # collision+explore, explore, exploit
def test_draw_layout_names_every_part_of_the_one_draw(per_dim, rho, tf):
    N, D = 5, 3
    opt = AOA([(0.0, 1.0)] * D, pop_size=N, max_iter=3, partner_per_dim=per_dim,
              acc_rand_divisor=rho)
    collide, explore = tf < 0.45, tf < 0.40
    layout = opt._layout(collide, explore)
    sizes = dict(zip(["R", "M", "r", "rho", "mr", "partner"], layout.sizes(), strict=True))
    assert sizes["R"] == N * D and sizes["r"] == 1
    assert sizes["M"] == (N * D if (not explore or per_dim) else 0)
    assert sizes["rho"] == (N if rho else 0)
    assert sizes["mr"] == (N if collide else 0)
    assert sizes["partner"] == (N if explore and not per_dim else 0)
    U = np.random.default_rng(7).random(sum(sizes.values()))
    got = layout.draw(np.random.default_rng(7))
    k = 0
    for name, n in sizes.items():  # one draw, parts in the documented order
        part = getattr(got, name)
        if n == 0:
            assert part is None
        else:
            np.testing.assert_array_equal(np.ravel(part), U[k : k + n])
        k += n
    assert got.R.shape == (N, D) and (got.M is None or got.M.shape == (N, D))


@pytest.mark.parametrize("algo", ["aoa", "dlf-aoa"])
def test_huge_constants_are_refused_and_the_largest_allowed_run(algo: str) -> None:
    """Regression: C1 = 1e308 (and the like) was accepted, then every ask produced NaN
    points and the base raised 'this is a bug in the algorithm'."""
    cls = metaheur.get(algo)
    big = {k: 1e308 for k in ("C1", "C2", "C3", "C4", "u", "l")}
    for key, value in big.items():
        with pytest.raises(ValueError, match=key):
            cls([(-5.0, 5.0)] * 3, budget=100, **{key: value})
    top = {k: 1e3 for k in big}
    if algo == "dlf-aoa":
        top |= {"levy_scale": 1e3, "dcs0": 1e3}
    for seed in range(3):
        res = metaheur.minimize(lambda X: (X**2).sum(axis=1), [(-5.0, 5.0)] * 5, algo,
                                budget=1000, pop_size=10, seed=seed, vectorized=True, **top)
        assert np.isfinite(res.fun)


# ------------------------------------------------------------- boundary="reflect"
def test_reflect_folds_a_step_back_by_its_overshoot():
    lo, hi = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 10.0, 3.0])
    X = np.array([[1.5, -2.0, 2.5],          # 0.5 over, 2 under, inside
                  [3.5, 25.0, np.inf],       # past the far bound too: folded twice
                  [-np.inf, np.nan, 1.0]])   # ±inf to its bound, NaN left to the caller
    got = reflect_into_box(X, lo, hi)
    assert got is X
    np.testing.assert_array_equal(X[:2], [[0.5, 2.0, 2.5], [-0.5, 5.0, 3.0]])
    assert X[2, 0] == -1.0 and math.isnan(X[2, 1]) and X[2, 2] == 3.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20),
       st.floats(-50.0, 50.0), st.floats(1e-3, 100.0))
def test_reflect_lands_inside_and_leaves_inside_points_alone(values, low, width):
    X = np.array(values)[:, None]
    inside = (X >= low) & (X <= low + width)
    got = reflect_into_box(X.copy(), np.array([low]), np.array([low + width]))
    assert ((got >= low) & (got <= low + width)).all()
    np.testing.assert_array_equal(got[inside], X[inside])


def _at_bounds(name: str, boundary: str) -> float:
    """Share of asked coordinates exactly on a bound, minimising a linear function whose
    optimum is the lower corner: a tuning study's parameter whose best value is its
    range's end."""
    opt = metaheur.get(name)([(-1.0, 1.0)] * 6, pop_size=10, budget=400, seed=2,
                             boundary=boundary)
    asked = np.vstack(run(opt, lambda X: X.sum(axis=1))[1:])  # past the uniform start
    return float(((asked == -1.0) | (asked == 1.0)).mean())


@pytest.mark.parametrize("name", ["aoa", "dlf-aoa"])
def test_reflect_keeps_the_population_off_the_bounds(name):
    """Clipping piles the candidates on the bounds (most of them here); folding them back
    evaluates points inside, near the bound the search pushes against."""
    assert _at_bounds(name, "clip") > 0.3
    assert _at_bounds(name, "reflect") == 0.0


def test_reflect_is_exported_and_restored():
    opt = AOA([(-1.0, 1.0)] * 4, pop_size=6, budget=120, seed=5, boundary="reflect")
    run(opt, lambda X: X.sum(axis=1), stop_nit=3)
    copy = roundtrip(opt)
    assert copy.boundary == "reflect"
    np.testing.assert_array_equal(copy.ask(), opt.ask())
