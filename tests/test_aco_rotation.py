"""ACOR's optional variable-correlation handling, ``rotation=True`` (docs/algorithms.md §5.1):
the basis, the choice of direction, the rotated sampler against a loop, the property that
motivates it, degenerate archives and the state."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from helpers import check_invariants
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import metaheur
from metaheur import Optimizer
from metaheur.optimizers import _aco_rotation
from metaheur.optimizers._aco_rotation import direction_basis, pick_directions, rotated_samples
from metaheur.optimizers.aco import ACOR
from metaheur.restarts import IPOP, RESTART_DEFAULTS, RESTART_TUNED

BOUNDS3 = [(-2.0, 3.0), (-1.0, 1.0), (0.0, 10.0)]
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _orthonormal(B: np.ndarray) -> None:
    D = B.shape[-1]
    eye = np.broadcast_to(np.eye(D), B.shape)
    np.testing.assert_allclose(np.swapaxes(B, -1, -2) @ B, eye, rtol=0, atol=1e-13 * D)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7).flatmap(lambda D: arrays(float, (3, D), elements=finite)))
def test_basis_is_orthonormal_and_starts_with_the_direction(d: np.ndarray) -> None:
    B = direction_basis(d)
    assert B.shape == (3, d.shape[1], d.shape[1])
    _orthonormal(B)
    top = np.abs(d).max(axis=1, keepdims=True)
    unit = d / np.where(top > 0, top, 1.0)  # scaled first: |d|² may underflow
    unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-300)
    for i in np.flatnonzero(top[:, 0] > 0):
        np.testing.assert_allclose(B[i, :, 0], unit[i], rtol=0, atol=1e-13)


@pytest.mark.parametrize("D", [1, 2, 5])
def test_basis_of_axis_directions_and_of_a_zero_direction(D: int) -> None:
    """A d along an axis makes Gram–Schmidt skip that axis; a zero d (an archive row equal
    to the kernel) gives the standard basis."""
    d = np.vstack([-3.0 * np.eye(D), np.eye(D)[::-1], np.zeros(D)])
    B = direction_basis(d)
    _orthonormal(B)
    np.testing.assert_allclose(B[:-1, :, 0], d[:-1] / np.abs(d[:-1]).sum(1, keepdims=True),
                               atol=1e-15)
    np.testing.assert_array_equal(B[-1], np.eye(D))


def _explicit_gram_schmidt(d: np.ndarray) -> np.ndarray:
    vecs = [d / np.linalg.norm(d)]
    for e in np.eye(d.size)[::-1]:  # last axis first
        w = e - sum((e @ v) * v for v in vecs)
        if np.linalg.norm(w) > 1e-9:  # the one standard axis that depends on the others
            vecs.append(w / np.linalg.norm(w))
    return np.column_stack([vecs[0], *vecs[:0:-1]])  # d̂, then by axis: e_1's first


def test_basis_completion_is_gram_schmidt_of_the_standard_axes() -> None:
    """The paper's Gram–Schmidt, in our closed form: [d̂, e_D, .., e_1] orthogonalised in
    that order (the axis that depends on the others skipped)."""
    rng = np.random.default_rng(0)
    for d in (rng.standard_normal(5), -rng.random(5), np.array([0.0, 3.0, -1.0, 0.0, 0.0]),
              np.array([0.0, 0.0, 0.0, 0.0, -2.0]), np.array([1.0, 0.0, 0.0, 0.0, 0.0])):
        B = direction_basis(d[None])[0]
        np.testing.assert_allclose(B, _explicit_gram_schmidt(d), atol=1e-14)


def test_direction_probabilities_are_the_fourth_power_of_the_distance() -> None:
    Y = np.array([[[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    w = np.array([0.0, 1.0, 16.0, 0.0, 81.0])
    n = 9800
    r = (np.arange(n) + 0.5) / n  # a stratified grid: counts are n p ± 1
    u = pick_directions(np.broadcast_to(Y, (n, 5, 2)).copy(), r)
    counts = np.bincount(u, minlength=5)
    assert counts[0] == counts[3] == 0  # the kernel itself and its duplicate: never
    np.testing.assert_allclose(counts, n * w / w.sum(), atol=1.0)
    # the largest uniform draw still picks a row of positive weight
    edge = pick_directions(Y.copy(), np.array([np.nextafter(1.0, 0.0)]))
    assert w[edge[0]] > 0
    # huge and tiny scales: no overflow or underflow in |Y|^4, the same draws
    for factor in (1e200, 1e-200):
        scaled = pick_directions(np.broadcast_to(Y * factor, (n, 5, 2)).copy(), r)
        np.testing.assert_array_equal(scaled, u)


def test_a_collapsed_archive_gives_a_zero_direction_and_no_step() -> None:
    S = np.full((6, 3), 0.25)
    X = rotated_samples(S, np.zeros(4, int), np.ones((4, 3)), np.full(4, 0.5), 0.17)
    np.testing.assert_array_equal(X, S[:4])


def _loop_reference(S, ell, Z, r, scale):
    """Per ant, as the docstring's loop (direction from an explicit inverse-cdf draw)."""
    X = np.empty_like(Z)
    for i, l in enumerate(ell):
        Y = S - S[l]
        w = np.sum(Y * Y, axis=1) ** 2
        cdf = np.cumsum(w)
        u = int(np.searchsorted(cdf, r[i] * cdf[-1], side="right"))
        B = direction_basis(Y[u][None])[0]
        sigma = scale * np.abs(Y @ B).sum(axis=0)
        X[i] = S[l] + B @ (sigma * Z[i])
    return X


@pytest.mark.parametrize("chunk", [1 << 21, 50])  # one block; one ant per block
def test_rotated_samples_match_a_loop_over_ants(chunk: int, monkeypatch) -> None:
    monkeypatch.setattr(_aco_rotation, "CHUNK_ELEMENTS", chunk)
    rng = np.random.default_rng(3)
    k, D, m = 9, 4, 7
    S = rng.uniform(-2, 2, (k, D))
    ell, Z, r = rng.integers(0, k, m), rng.standard_normal((m, D)), rng.random(m)
    got = rotated_samples(S, ell, Z, r, 0.85 / (k - 1))
    np.testing.assert_allclose(got, _loop_reference(S, ell, Z, r, 0.85 / (k - 1)),
                               rtol=1e-12, atol=1e-12)


def _archive_on_a_line(opt: ACOR, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Put the archive on a line that is not along any axis; return its point and unit."""
    rng = np.random.default_rng(11)
    k, D = opt.pop_size, opt.dim
    v = np.ones(D) / np.sqrt(D)
    c = np.full(D, 0.1)
    t = np.sort(np.abs(rng.standard_normal(k)))
    opt._S = c + t[:, None] * v + noise * rng.standard_normal((k, D))
    opt._fS = t.copy()
    return c, v


@pytest.mark.parametrize("q", [1e-4, 0.5])
def test_an_archive_on_a_rotated_line_samples_along_it(q: float) -> None:
    """The property that motivates the rotation: the axis-aligned kernels spread evenly
    around a diagonal line; the rotated ones stay on it."""
    spread = {}
    for rotation in (False, True):
        opt = ACOR([(-5.0, 5.0)] * 6, pop_size=20, budget=10_000, seed=1, q=q,
                   rotation=rotation)
        X = opt.ask()
        opt.tell(X, np.zeros(len(X)))
        c, v = _archive_on_a_line(opt, noise=1e-6)
        X = opt.ask()
        along = (X - c) @ v
        off = np.linalg.norm(X - c - along[:, None] * v, axis=1)
        spread[rotation] = np.median(off) / np.std(along)
    assert spread[True] < 1e-3 < 0.3 < spread[False]


def test_one_dimension_is_the_axis_aligned_sampler_up_to_the_step_sign() -> None:
    """D = 1: the basis is ±1, so each step has the unrotated length (same draws)."""
    steps = {}
    for rotation in (False, True):
        opt = ACOR([(-1e3, 1e3)], pop_size=8, budget=10_000, seed=4, q=0.5,
                   rotation=rotation)
        X = opt.ask()
        opt.tell(X, np.abs(X[:, 0]))
        opt._S = np.linspace(-1.0, 1.0, 8)[:, None] ** 3  # steps of ~1: never clipped
        rng = copy.deepcopy(opt.rng)
        ell = opt._cdf.searchsorted(rng.random(8), side="right")
        S = opt._S.copy()
        steps[rotation] = np.abs(opt.ask()[:, 0] - S[ell, 0])
    np.testing.assert_allclose(steps[True], steps[False], rtol=1e-12)


def test_rotation_with_a_kernel_per_dimension_is_refused() -> None:
    with pytest.raises(ValueError, match="kernel_per_dim"):
        ACOR([(0.0, 1.0)] * 2, pop_size=4, budget=20, rotation=True, kernel_per_dim=True)
    with pytest.raises(ValueError, match="rotation"):
        ACOR([(0.0, 1.0)] * 2, pop_size=4, budget=20, rotation=1)


def test_state_round_trip_with_rotation_and_older_states_without_it() -> None:
    def run(opt: Optimizer, n: int) -> list[np.ndarray]:
        out = []
        for _ in range(n):
            X = opt.ask()
            opt.tell(X, np.sum((X - 0.2) ** 2, axis=1))
            out.append(X)
        return out

    opt = ACOR([(-1.0, 1.0)] * 3, pop_size=6, budget=200, seed=5, q=0.3, rotation=True)
    run(opt, 3)
    clone = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
    assert clone.params["rotation"] is True
    for a, b in zip(run(opt, 4), run(clone, 4), strict=True):
        np.testing.assert_array_equal(a, b)

    plain = ACOR([(-1.0, 1.0)] * 3, pop_size=6, budget=200, seed=5, q=0.3)
    run(plain, 2)
    state = json.loads(json.dumps(plain.get_state()))
    del state["config"]["params"]["rotation"]  # written before the option existed
    old = Optimizer.from_state(state)
    assert old.params["rotation"] is False
    for a, b in zip(run(plain, 3), run(old, 3), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("params", [{"rotation": True}, {"rotation": True, "q": 0.5}])
def test_invariants_with_rotation(params: dict) -> None:
    check_invariants("aco", **params)


# ------------------------------------------------------- aco-ipop's tuned inner values
TUNED_INNER = {k: v for k, v in RESTART_TUNED["aco"].items() if k not in RESTART_DEFAULTS}


def _steps(opt: Optimizer, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        X = opt.ask()
        opt.tell(X, np.sum((X - 0.3) ** 2, axis=1) + np.abs(X).sum(axis=1))
        out.append(X)
    return out


def test_aco_ipop_and_ipop_with_inner_aco_take_the_tuned_inner_values() -> None:
    """RESTART_TUNED (docs/algorithms.md §12.3): aco-ipop samples with rotation and q = 0.1;
    ``ipop`` with inner="aco" puts the same values into ``inner_params`` (not among its
    own), unless given; the plain ``aco`` stays the published algorithm."""
    assert TUNED_INNER == {"rotation": True, "q": 0.1, "xi": 1.0, "n_ants": 10}
    variant = metaheur.get("aco-ipop")
    assert {k: variant.defaults[k] for k in TUNED_INNER} == TUNED_INNER
    assert ACOR.defaults["rotation"] is False and ACOR.defaults["q"] == 1e-4
    checked = IPOP.validate_params(inner="aco")
    assert checked["inner_params"] == TUNED_INNER and "rotation" not in checked
    given_ = IPOP.validate_params(inner="aco", inner_params={"rotation": False})
    assert given_["inner_params"] == {**TUNED_INNER, "rotation": False}
    opt = IPOP(BOUNDS3, inner="aco", pop_size=5, budget=200, seed=0)
    _steps(opt, 3)
    assert opt.current_run.rotation is True and opt.current_run.q == 0.1
    clone = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
    for a, b in zip(_steps(opt, 3), _steps(clone, 3), strict=True):
        np.testing.assert_array_equal(a, b)


def test_aco_ipop_samples_ten_ants_per_iteration_with_a_patience_of_150() -> None:
    """RESTART_TUNED (docs/algorithms.md §12.4): aco-ipop asks 10 ants per iteration
    whatever its archive (pop_size), with ξ = 1.0, and a run ends after 150 iterations
    without improvement (the 1,500 evaluations of 50 iterations of 30 ants); ``ipop`` with
    inner="aco" takes the same patience; the plain ``aco`` keeps m = pop_size and ξ = 0.85."""
    variant = metaheur.get("aco-ipop")
    assert variant.defaults["restart_patience"] == 150
    assert RESTART_DEFAULTS["restart_patience"] == 50
    assert IPOP.validate_params(inner="aco")["restart_patience"] == 150
    assert IPOP.validate_params(inner="aco", restart_patience=50)["restart_patience"] == 50
    assert ACOR.defaults["n_ants"] is None and ACOR.defaults["xi"] == 0.85
    opt = variant(BOUNDS3, pop_size=30, budget=400, seed=0)
    _steps(opt, 3)
    run = opt.current_run
    assert (run.pop_size, run.n_ants, run.xi) == (30, 10, 1.0)
    assert opt.ask().shape == (10, 3)


@pytest.mark.parametrize("wrapper", ["aco-ipop", "ipop"])
def test_states_written_before_the_tuning_continue_as_they_were(wrapper: str) -> None:
    """A state without the tuned keys (written before they existed) continues with ACOR's
    own defaults, the behaviour it had, bit for bit."""
    if wrapper == "ipop":
        kw: dict = {"inner": "aco", "inner_params": {"rotation": False, "q": 1e-4, "xi": 0.85,
                                                     "n_ants": None}}
    else:
        kw = {"rotation": False}
    old_kw = {**kw} if wrapper == "ipop" else {**kw, "q": 1e-4, "xi": 0.85, "n_ants": None}
    opt = metaheur.get(wrapper)(BOUNDS3, pop_size=5, budget=400, seed=3, **old_kw)
    _steps(opt, 4)
    state = json.loads(json.dumps(opt.get_state()))
    params = state["config"]["params"]
    if wrapper == "ipop":
        params["inner_params"] = {}  # as written before the tuning
    else:
        del params["rotation"]
    old = Optimizer.from_state(state)
    assert old.current_run.rotation is False and old.current_run.q == 1e-4
    for a, b in zip(_steps(opt, 6), _steps(old, 6), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_kernel_per_dimension_turns_the_tuned_rotation_off() -> None:
    """``aco-ipop`` and ``ipop(inner="aco")`` given ``kernel_per_dim=True`` (which worked
    before the rotation was tuned in) sample axis-aligned instead of refusing a rotation the
    user never asked for; q keeps its tuned 0.1. Both asked for is refused, as for ``aco``,
    and already by ``validate_params`` (the check callers make before building; review)."""
    box = [(-1.0, 1.0)] * 3
    opt = metaheur.get("aco-ipop")(box, budget=200, seed=0, kernel_per_dim=True)
    assert (opt.params["rotation"], opt.params["kernel_per_dim"], opt.params["q"]) == (
        False, True, 0.1)
    wrapped = IPOP(box, budget=200, seed=0, inner="aco", inner_params={"kernel_per_dim": True})
    assert wrapped.params["inner_params"] == {**TUNED_INNER, "rotation": False,
                                              "kernel_per_dim": True}
    metaheur.minimize(lambda x: float(x @ x), box, algo="aco-ipop", budget=100, seed=0,
                      kernel_per_dim=True)
    for cls in (ACOR, metaheur.get("aco-ipop")):
        with pytest.raises(ValueError, match="rotation=True needs one kernel per ant"):
            cls.validate_params(rotation=True, kernel_per_dim=True)
    with pytest.raises(ValueError, match="rotation=True needs one kernel per ant"):
        IPOP.validate_params(inner="aco", inner_params={"kernel_per_dim": True,
                                                        "rotation": True})


@pytest.mark.parametrize(("box", "params"), [
    (1e306, {"q": 0.1}),               # differences near the largest double
    (1.0, {"xi": 1e308, "q": 0.3}),    # a step scale that overflows
    (1e10, {"xi": 1e300, "q": 0.1}),
])
def test_huge_boxes_and_step_scales_give_points_not_nan(box: float, params: dict) -> None:
    """Sums of overflowing terms gave ``inf − inf = NaN`` and ask() raised "produced
    non-finite points" where the axis-aligned sampler works (its ±inf is clipped to the
    box); in units of the spread, an overflowing step is ±inf, clipped alike (review)."""
    D = 30 if box > 1e300 else 4
    opt = ACOR([(-box, box)] * D, pop_size=10, budget=600, seed=0, rotation=True, **params)
    while not opt.done:
        X = opt.ask()
        assert np.isfinite(X).all() and (np.abs(X) <= box).all()
        opt.tell(X, np.sum((X / box) ** 2, axis=1))


def test_states_written_before_the_rotation_continue_bit_for_bit() -> None:
    """tests/data/aco_ipop_states_pre_rotation.json: an ``aco-ipop`` and an
    ``ipop(inner="aco")`` state written by the code before ACOR's rotation was tuned in
    (after a restart, mid-run), with the next 12 batches that code asked; restored here they
    ask the same points: the missing tuned keys mean ACOR's own defaults (review)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "aco_ipop_states_pre_rotation.json"
    cases = json.loads(path.read_text())
    assert [c["algo"] for c in cases] == ["aco-ipop", "ipop"]

    def f(X: np.ndarray) -> np.ndarray:  # the objective the fixtures were written with
        return ((X - 0.3) ** 2).sum(axis=1) + np.abs(X).sum(axis=1)

    for case in cases:
        assert "rotation" not in json.dumps(case["state"]["config"])  # a pre-rotation state
        opt = Optimizer.from_state(case["state"])
        inner = opt.params if case["algo"] == "aco-ipop" else opt.params["inner_params"]
        assert (inner["rotation"], inner["q"]) == (False, 1e-4)
        for X_old in case["next"]:
            X = opt.ask()
            np.testing.assert_array_equal(X, np.array(X_old))
            opt.tell(X, f(X))
        assert opt.best_f == case["best_f"] and opt.restarts == case["restarts"]
