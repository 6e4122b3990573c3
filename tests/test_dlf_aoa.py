"""DLF-AOA (docs/algorithms.md §2): DCS, Mantegna Lévy steps, reduction to AOA, invariants."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import roundtrip, run

import metaheur
from metaheur import Optimizer
from metaheur._ops import LEVY_CAP, levy_step, mantegna_sigma
from metaheur.optimizers.aoa import AOA, transfer_factor
from metaheur.optimizers.dlf_aoa import DLFAOA, dcs

BOX10 = [(-100.0, 100.0)] * 10
PAPER = dict(tf_collision=0.5, tf_explore=0.5, acc_rand_divisor=False, partner_per_dim=False)


class AOADrawingLevy(AOA):
    """AOA that draws DLF-AOA's Lévy normals at the same point of the stream and discards
    them: L2 only in the collision phase, L1 and L2 otherwise (not registered)."""

    def _levy_terms(self, t: int, collide: bool) -> None:
        levy_step(self.rng, 1.5, (1 if collide else 2, self.pop_size, self.dim))
        return None


class DLFOnlyL1(DLFAOA):
    """DLF-AOA whose L2 term is zero, to see where L1 acts (not registered)."""

    def _levy_terms(self, t: int, collide: bool) -> tuple:
        L1, L2 = super()._levy_terms(t, collide)
        L2[...] = 0.0
        return L1, L2


# ------------------------------------------------------------------ DCS (Eqs. 32-33)
def test_dcs_schedule():
    assert dcs(1) == 1.0
    for t in (2, 3, 50, 101, 400):
        assert dcs(t) == 0.99 ** (t - 1)
    assert dcs(51) == pytest.approx(0.605, abs=1e-3)  # "0.61 after 50 iterations"
    assert dcs(7, dcs0=2.0, decay=0.5) == 2.0 * 0.5**6


# ------------------------------------------------------------- Mantegna (§0.4)
def test_mantegna_sigma():
    # libm gamma/sin: a few ulp
    assert mantegna_sigma(1.5) == pytest.approx(0.6965745025576967, rel=1e-13)
    assert mantegna_sigma(1.0) == pytest.approx(1.0, rel=1e-15)


def test_levy_sample_is_symmetric():
    L = levy_step(np.random.default_rng(0), 1.5, (200_000,))
    assert abs(np.median(L)) < 0.01
    assert abs((L > 0).mean() - 0.5) < 0.005


def test_levy_step_into_a_buffer_and_against_the_pow_form():
    """``out=`` gives the same steps; ``exp(−log|v|/β)`` is the power up to 4 ulp."""
    buf = np.empty((2, 3, 40, 7))
    L = levy_step(np.random.default_rng(3), 1.5, (3, 40, 7), out=buf)
    assert L.base is buf or np.shares_memory(L, buf)
    np.testing.assert_array_equal(L, levy_step(np.random.default_rng(3), 1.5, (3, 40, 7)))
    uv = np.random.default_rng(3).standard_normal((2, 3, 40, 7))
    ref = uv[0] * mantegna_sigma(1.5) / np.abs(uv[1]) ** (1 / 1.5)  # Mantegna, as printed
    np.testing.assert_allclose(L, ref, rtol=4 * np.finfo(float).eps, atol=0)
    with pytest.raises(ValueError, match="shape"):
        levy_step(np.random.default_rng(3), 1.5, (3, 40, 7), out=np.empty((3, 40, 7)))


class _ZeroVRNG:
    """Generator stub: every 7th ``v`` of a Lévy normal draw (the second half) is 0."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def standard_normal(self, size=None, out=None):
        Z = self._rng.standard_normal(size, out=out)
        Z[1].reshape(-1)[::7] = 0.0
        return Z

    def __getattr__(self, name):
        return getattr(self._rng, name)


@pytest.mark.parametrize("beta", [1.5, 1.0, 0.5])
def test_forced_zero_v_gives_finite_steps_and_points(beta):
    if beta == 1.5:
        L = levy_step(_ZeroVRNG(0), beta, (4, 5))
        assert np.isfinite(L).all() and np.abs(L).max() > 1e100
    box = [(-100.0, 100.0)] * 5
    opt = DLFAOA(box, pop_size=6, budget=6 * 60, seed=1, levy_beta=beta)
    opt.rng = _ZeroVRNG(1)
    for X in run(opt):
        assert np.isfinite(X).all() and (np.abs(X) <= 100).all()
    assert np.all(np.diff(opt.history["best_f"]) <= 0)


@pytest.mark.parametrize("beta", [1e-3, 0.3, 1.0, 2.0])
def test_levy_factor_is_capped_so_no_beta_gives_inf_or_nan(beta):
    """``|v|`` is floored at ``max(tiny, 1e150^(−β))``: ``|v|^(−1/β) <= 1e150`` for any β,
    so an exact ``v = 0`` gives a finite step, also for β < 1 (``tiny^(−1/β)`` overflows)."""
    buf = np.empty((2, 4, 5))
    with np.errstate(all="raise"):
        L = levy_step(_ZeroVRNG(0), beta, (4, 5), out=buf)
    factor = L / (mantegna_sigma(beta) * np.random.default_rng(0).standard_normal((2, 4, 5))[0])
    assert np.isfinite(L).all()
    assert factor.max() == pytest.approx(LEVY_CAP, rel=1e-12)  # the forced zeros
    assert (factor > 0).all()


def test_levy_floor_leaves_real_draws_unchanged_for_beta_from_one_half():
    beta = 0.5
    L = levy_step(np.random.default_rng(4), beta, (100_000,))
    uv = np.random.default_rng(4).standard_normal((2, 100_000))
    ref = uv[0] * mantegna_sigma(beta) / np.abs(uv[1]) ** (1 / beta)
    np.testing.assert_allclose(L, ref, rtol=64 * np.finfo(float).eps, atol=0)


def test_levy_scale_folds_into_sigma():
    a = levy_step(np.random.default_rng(5), 1.5, (3, 7), scale=0.37)
    b = levy_step(np.random.default_rng(5), 1.5, (3, 7))
    np.testing.assert_allclose(a, 0.37 * b, rtol=2 * np.finfo(float).eps, atol=0)
    assert not np.signbit(levy_step(np.random.default_rng(5), 1.5, (3, 7), scale=0.0)).all()


@pytest.mark.slow
def test_levy_tail_index_close_to_beta():
    # P(|L| > x) ~ x^-beta: slope of the log-log survival function over two decades
    L = np.abs(levy_step(np.random.default_rng(1), 1.5, (4_000_000,)))
    x = np.logspace(1.0, 3.0, 9)
    surv = np.array([(L > v).mean() for v in x])
    slope = np.polyfit(np.log(x), np.log(surv), 1)[0]
    assert slope == pytest.approx(-1.5, abs=0.1)


# ------------------------------------------------------ reduction to AOA (levy_scale=0)
@pytest.mark.parametrize("params", [{}, PAPER, dict(C3=1.0, C4=2.0)], ids=["ref", "paper", "std"])
def test_levy_scale_zero_reproduces_aoa_bit_for_bit(params):
    kw = dict(pop_size=9, budget=9 * 80 + 4, seed=21, **params)
    dlf = DLFAOA(BOX10, levy_scale=0.0, **kw)
    aoa = AOADrawingLevy(BOX10, **kw)
    a, b = run(dlf), run(aoa)
    assert len(a) == len(b) == dlf.max_iter + 1
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    np.testing.assert_array_equal(dlf._acc, aoa._acc)
    assert dlf.best_f == aoa.best_f
    # and with the default scale the run differs
    c = run(DLFAOA(BOX10, **kw))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_l1_acts_only_outside_the_collision_phase():
    # with L2 = 0, DLF-AOA equals AOA while TF < tf_collision (eq. 24 is not replaced)
    kw = dict(pop_size=8, max_iter=50, seed=22)
    dlf, aoa = DLFOnlyL1(BOX10, **kw), AOADrawingLevy(BOX10, **kw)
    a, b = run(dlf), run(aoa)
    same = [np.array_equal(x, y) for x, y in zip(a[1:], b[1:], strict=True)]
    n_collide = sum(transfer_factor(t, 50) < 0.45 for t in range(1, 51))
    assert all(same[:n_collide]) and not same[n_collide]


@pytest.mark.parametrize("collide", [True, False])
def test_levy_terms_draw_l1_only_where_eq30_uses_it(collide):
    """Collision phase: only L2 is drawn (2·N·D normals); otherwise L1 and L2 (4·N·D).
    Both are α·DCS_t times Mantegna steps of that draw."""
    opt = DLFAOA(BOX10, pop_size=6, max_iter=20, seed=24, levy_scale=0.3, dcs_decay=0.9)
    ref_rng = np.random.default_rng()
    ref_rng.bit_generator.state = opt.rng.bit_generator.state
    L1, L2 = opt._levy_terms(7, collide)
    k = 1 if collide else 2
    ref = levy_step(ref_rng, 1.5, (k, 6, 10)) * (0.3 * dcs(7, 1.0, 0.9))
    assert opt.rng.bit_generator.state == ref_rng.bit_generator.state  # same stream length
    assert (L1 is None) == collide
    got = np.stack([L2] if collide else [L1, L2])
    np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(float).eps, atol=0)


def test_acceleration_leaves_the_normalised_range():
    opt = DLFAOA(BOX10, pop_size=10, max_iter=20, seed=23)
    run(opt, stop_nit=3)
    opt.ask()
    assert (opt._acc_new < 0.1).any() or (opt._acc_new > 1.0).any()  # Eq. (31)
    assert np.isfinite(opt._acc_new).all()


# ----------------------------------------------------------------- invariants (§10.1)
VARIANTS = {
    "default": {},
    "paper": PAPER,
    "alpha0.1": dict(levy_scale=0.1),
    "alpha0": dict(levy_scale=0.0),
    "alpha100-beta1": dict(levy_scale=100.0, levy_beta=1.0, dcs_decay=1.0),
    "std": dict(C3=1.0, C4=2.0, dcs0=0.5, dcs_decay=0.9),
}


@pytest.mark.parametrize("params", VARIANTS.values(), ids=VARIANTS.keys())
def test_invariants_and_restore(params):
    box = [(-5.0, 10.0), (0.0, 1e-3), (-1e6, -1e6 + 1.0)]
    lo, hi = np.array(box).T
    budget = 7 * 30 + 3  # not a multiple of N
    fun = lambda X: -X.sum(axis=1)  # noqa: E731  pushes agents to the walls
    opt = DLFAOA(box, pop_size=7, budget=budget, seed=24, **params)
    asked = run(opt, fun)
    assert opt.nfev == budget == sum(len(X) for X in asked)
    assert all(np.isfinite(X).all() and (X >= lo).all() and (X <= hi).all() for X in asked)
    assert np.all(np.diff(opt.history["best_f"]) <= 0)
    again = run(DLFAOA(box, pop_size=7, budget=budget, seed=24, **params), fun)
    assert all(np.array_equal(a, b) for a, b in zip(asked, again, strict=True))
    for k, pending in ((2, True), (9, False), (25, True)):
        opt = DLFAOA(box, pop_size=7, budget=budget, seed=24, **params)
        head = run(opt, fun, stop_nit=k)
        if pending:
            head.append(opt.ask())
        state = json.loads(json.dumps(opt.get_state(), allow_nan=False))
        opt = Optimizer.from_state(state)
        if pending:
            X = opt.ask()
            opt.tell(X, fun(X))
        tail = run(opt, fun)
        assert all(np.array_equal(a, b) for a, b in zip(head + tail, asked, strict=True))


@pytest.mark.parametrize(
    "fun",
    [lambda X: np.full(len(X), np.nan), lambda X: np.full(len(X), np.inf)],
    ids=["all-nan", "all-inf"],
)
def test_failing_objective_keeps_points_finite(fun):
    opt = DLFAOA(BOX10, pop_size=9, budget=9 * 30, seed=25)
    for X in run(opt, fun):
        assert np.isfinite(X).all() and (np.abs(X) <= 100).all()


@pytest.mark.parametrize("box", [[(-1e300, 1e300)] * 3, [(1e-12, 2e-12)] * 3])
def test_extreme_boxes(box):
    lo, hi = np.array(box).T
    opt = DLFAOA(box, pop_size=6, budget=6 * 40, seed=26)
    for X in run(opt, lambda X: np.abs(X - X.mean()).sum(axis=1)):
        assert np.isfinite(X).all() and (X >= lo).all() and (X <= hi).all()


# ------------------------------------------------------------------------ params
@pytest.mark.parametrize(
    "key, value",
    [
        ("levy_scale", -1.0),
        ("levy_scale", np.inf),
        ("levy_beta", 0.0),
        ("levy_beta", 2.5),
        ("dcs_decay", 0.0),
        ("dcs_decay", 1.01),
        ("dcs0", -1.0),
        ("C1", 0.0),
        ("tf_explore", -0.4),
    ],
)
def test_bad_parameters_raise_naming_them(key, value):
    with pytest.raises(ValueError, match=key):
        DLFAOA(BOX10, budget=100, **{key: value})


def test_registered_with_published_defaults():
    assert metaheur.get("dlf-aoa") is DLFAOA
    assert DLFAOA.defaults == {
        **AOA.defaults, "levy_scale": 0.1, "levy_beta": 1.5, "dcs0": 1.0, "dcs_decay": 0.99
    }  # fmt: skip


def test_levy_scale_named_settings():
    """0.1 is calibrated on BBOB (module docstring); the previous unscaled α = 1 is named.

    A name is an alias resolved by the declared constraint: the parameters and the state's
    configuration hold the number (plain JSON), so the state equals that of α = 1.0."""
    box = [(-5.0, 5.0)] * 3
    old = DLFAOA(box, budget=300, seed=2, levy_scale="unscaled")
    assert old.levy_scale == 1.0 and old.params["levy_scale"] == 1.0
    assert DLFAOA(box, budget=300, seed=2, levy_scale="calibrated").levy_scale == 0.1
    ref = DLFAOA(box, budget=300, seed=2, levy_scale=1.0)
    assert old.get_state() == ref.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(run(old), run(ref), strict=True))
    assert roundtrip(old).levy_scale == 1.0
    with pytest.raises(ValueError, match=r"levy_scale must be a finite real number in \[0, 1000\], "
                                         r"or one of \['calibrated', 'unscaled'\], got 'paper'"):
        DLFAOA(box, budget=300, levy_scale="paper")
    assert DLFAOA.min_pop_size == 2 and "ijai.v15.i2" in DLFAOA.reference


# ----------------------------------------------------------------------- quality
