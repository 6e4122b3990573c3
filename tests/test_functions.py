"""Tests of the benchmark suite ``metaheur.functions``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaheur import functions as F

NAMES = F.available()
VARIANTS = [(False, False), (True, False), (False, True), (True, True)]


def test_catalogue() -> None:
    required = {
        "sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "griewank",
        "schwefel", "levy", "zakharov", "styblinski-tang", "weierstrass",
    }
    assert required <= set(NAMES)
    assert NAMES == sorted(F.FUNCTIONS)
    assert all(isinstance(v, str) and v and "\n" not in v for v in F.FUNCTIONS.values())


# Hand-checked reference values of the *unshifted* functions (textbook formulas).
REFERENCE = [
    ("sphere", [1.0, 2.0, 3.0], 14.0),
    ("ellipsoid", [1.0, 1.0, 1.0], 1.0 + 1e3 + 1e6),
    ("rosenbrock", [0.0, 0.0], 1.0),
    ("rosenbrock", [-1.0, 1.0, 2.0], 4.0 + 100.0),
    ("rastrigin", [0.5, 1.0], 10 * 2 + 0.25 + 10 + 1 - 10),
    ("ackley", [1.0, 1.0], 20.0 - 20.0 * np.exp(-0.2)),
    ("griewank", [np.pi, 0.0], 1.0 + np.pi**2 / 4000 + 1.0),
    ("schwefel", [0.0, 0.0], 2 * F.SCHWEFEL_C),
    ("levy", [1.0, 5.0], 1.0),  # w = (1, 2): only the last term, (2 - 1)^2
    ("zakharov", [1.0, 1.0], 2.0 + 1.5**2 + 1.5**4),
    ("styblinski-tang", [0.0, 1.0], 0.5 * (1 - 16 + 5)),
    ("weierstrass", [0.0, 0.0, 0.0], 0.0),
]


@pytest.mark.parametrize("name, x, expected", REFERENCE)
def test_reference_values(name: str, x: list[float], expected: float) -> None:
    f = F.get(name, len(x), shift=False)
    assert f(np.array(x)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_published_optima() -> None:
    st_f = F.get("styblinski-tang", 4, shift=False)
    assert st_f.f_opt == pytest.approx(-39.16599 * 4, rel=1e-5)  # the usually quoted value
    np.testing.assert_allclose(st_f.x_opt, -2.903534, atol=1e-6)
    sch = F.get("schwefel", 3, shift=False)
    np.testing.assert_allclose(sch.x_opt, 420.9687, atol=1e-4)
    assert sch(sch.x_opt) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(F.get("rosenbrock", 5, shift=False).x_opt, np.ones(5))
    np.testing.assert_array_equal(F.get("levy", 5, shift=False).x_opt, np.ones(5))
    # the plain Schwefel formula would go below the optimum outside the box; ours does not
    far = np.array([[713.0], [-800.0], [1e4], [-1e4]])
    assert (F.schwefel(far) > 0).all()


@pytest.mark.parametrize("shift, rotate", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_optimum(name: str, shift: bool, rotate: bool) -> None:
    f = F.get(name, 6, shift=shift, rotate=rotate, seed=7)
    assert abs(f.error(f.x_opt)) < 1e-9
    assert f.shifted is shift and f.rotated is rotate
    assert (f.lower < f.x_opt).all() and (f.x_opt < f.upper).all()
    if shift:  # o ~ U(0.8 lb, 0.8 ub)
        assert (0.8 * f.lower <= f.x_opt).all() and (f.x_opt <= 0.8 * f.upper).all()
    # nothing in a random sample of the box is better than the optimum
    X = np.random.default_rng(0).uniform(f.lower, f.upper, (2000, 6))
    assert (f.error(X) > -1e-9).all()


@pytest.mark.parametrize("shift, rotate", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_vectorisation(name: str, shift: bool, rotate: bool) -> None:
    d = 5
    f = F.get(name, d, shift=shift, rotate=rotate, seed=3)
    X = np.random.default_rng(1).uniform(f.lower, f.upper, (9, d))
    v = f(X)
    assert isinstance(v, np.ndarray) and v.shape == (9,) and np.isfinite(v).all()
    rows = np.array([f(x) for x in X])
    assert all(isinstance(f(x), float) for x in X[:2])
    if rotate:
        # A batch and a single point go through different BLAS kernels (gemm, gemv), whose
        # summation order is not specified: the rotated coordinates agree only up to the
        # forward error bound of a dot product of length d, |dz| <= gamma_d |R| |x - o|
        # (Higham, Accuracy and Stability of Numerical Algorithms, eq. 3.5), plus one
        # rounding of the added z*. A steep function (Weierstrass: |f'| up to ~2e4) turns
        # that into a value difference far above a fixed rtol, so the test checks the
        # bound on z and then that the base function is evaluated identically on the
        # coordinates the call actually used.
        Z = f.transform(X)
        Z_rows = np.array([f.transform(x) for x in X])
        eps = np.finfo(float).eps
        gamma = d * eps / (1 - d * eps)
        bound = gamma * (np.abs(X - f.x_opt) @ np.abs(f.rotation).T) + eps * np.abs(Z)
        assert (np.abs(Z - Z_rows) <= 2 * bound).all()
        np.testing.assert_array_equal(v, f._fn(Z))
        np.testing.assert_array_equal(rows, [f._fn(z) for z in Z_rows])
    else:
        np.testing.assert_array_equal(v, rows)
    assert f(X.reshape(3, 3, d)).shape == (3, 3)
    assert f.error(X).shape == (9,)


@pytest.mark.parametrize("name", NAMES)
def test_seed_determinism(name: str) -> None:
    a = F.get(name, 8, rotate=True, seed=11)
    b = F.get(name, 8, rotate=True, seed=11)
    c = F.get(name, 8, rotate=True, seed=12)
    np.testing.assert_array_equal(a.x_opt, b.x_opt)
    np.testing.assert_array_equal(a.rotation, b.rotation)
    assert not np.array_equal(a.x_opt, c.x_opt)
    # the shift does not depend on whether the instance is rotated
    np.testing.assert_array_equal(a.x_opt, F.get(name, 8, rotate=False, seed=11).x_opt)
    R = a.rotation
    np.testing.assert_allclose(R @ R.T, np.eye(8), atol=1e-12)


def test_shift_is_default_and_unshifted_optimum() -> None:
    f = F.get("sphere", 4)
    assert f.shifted and not f.rotated
    assert not np.array_equal(f.x_opt, np.zeros(4))
    g = F.get("sphere", 4, shift=False)
    np.testing.assert_array_equal(g.x_opt, np.zeros(4))
    assert g.rotation is None
    np.testing.assert_array_equal(g.bounds, np.tile([-100.0, 100.0], (4, 1)))


def test_names_normalised() -> None:
    assert F.get("Styblinski_Tang", 2).name == "styblinski-tang"
    assert F.get(" SPHERE ", 2).name == "sphere"


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown test function 'nope'; available: .*sphere"):
        F.get("nope", 3)
    with pytest.raises(ValueError, match="dim must be an integer >= 2 for rosenbrock"):
        F.get("rosenbrock", 1)
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="dim"):
            F.get("sphere", bad)  # type: ignore[arg-type]
    f = F.get("sphere", 3)
    with pytest.raises(ValueError, match=r"d = 3"):
        f(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="scalar"):
        f(1.0)


def test_not_collected_by_pytest() -> None:
    assert F.TestFunction.__test__ is False


# ------------------------------------------------------------------ hypothesis
@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    d=st.integers(2, 12),
    seed=st.integers(0, 2**32 - 1),
    rotate=st.booleans(),
    data=st.data(),
)
def test_property_optimum_is_minimum(
    name: str, d: int, seed: int, rotate: bool, data: st.DataObject
) -> None:
    f = F.get(name, d, rotate=rotate, seed=seed)
    assert (f.lower < f.x_opt).all() and (f.x_opt < f.upper).all()
    assert abs(f.error(f.x_opt)) < 1e-8 * max(1.0, abs(f.f_opt))
    u = np.array(data.draw(st.lists(st.floats(0, 1), min_size=d, max_size=d)))
    x = f.lower + u * (f.upper - f.lower)
    e = f.error(x)
    assert np.isfinite(e) and e >= -1e-8 * max(1.0, abs(f.f_opt))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(NAMES), d=st.integers(2, 10), n=st.integers(1, 6),
       seed=st.integers(0, 1000))
def test_property_vectorised_equals_rowwise(name: str, d: int, n: int, seed: int) -> None:
    f = F.get(name, d, seed=seed)
    X = np.random.default_rng(seed).uniform(f.lower, f.upper, (n, d))
    np.testing.assert_array_equal(f(X), np.array([f(x) for x in X]))


# ------------------------------------------------------------ audit regressions
def test_base_functions_refuse_too_few_coordinates() -> None:
    """Regression: ``rosenbrock([5.0])`` summed over no pairs and returned 0.0, the global
    minimum, for any point; an empty last axis gave 0, NaN or an IndexError by function."""
    with pytest.raises(ValueError, match="rosenbrock needs d >= 2 coordinates; got d = 1"):
        F.rosenbrock(np.array([5.0]))
    with pytest.raises(ValueError, match=r"rosenbrock needs d >= 2 .* shape \(4, 1\)"):
        F.rosenbrock(np.ones((4, 1)))
    for name in ("sphere", "ackley", "levy", "weierstrass", "ellipsoid"):
        with pytest.raises(ValueError, match=rf"{name} needs d >= 1 coordinates; got d = 0"):
            getattr(F, name)(np.zeros((3, 0)))
    assert F.rosenbrock(np.array([0.0, 0.0])) == 1.0
    assert F.levy(np.array([1.0])) == pytest.approx(0.0, abs=1e-30)


def test_min_dim_of_a_non_string_is_a_clear_error() -> None:
    """Regression: ``min_dim(None)`` raised AttributeError ('NoneType' ... 'strip')."""
    with pytest.raises(ValueError, match="function name must be a string; available: .*sphere"):
        F.min_dim(None)  # type: ignore[arg-type]
    assert F.min_dim(" Rosenbrock ") == 2


def test_descriptions_name_the_unshifted_optimum() -> None:
    """Regression: ``metaheur list`` said "schwefel ... optimum near the box corner" and
    "levy ... optimum at 1", but ``get`` (and so ``minimize`` and ``bench``) shifts the
    optimum to ``o ~ U(0.8 lb, 0.8 ub)`` by default."""
    f = F.get("schwefel", 2)
    assert (np.abs(f.x_opt) <= 400).all()  # nowhere near the corner
    for name, text in F.FUNCTIONS.items():
        if "optimum" in text:
            assert "unshifted" in text, (name, text)


def test_styblinski_tang_of_a_huge_finite_point_is_not_nan() -> None:
    """Regression: x^4 and -16 x^2 both overflowed for |x| > 1.3e154, and inf - inf gave NaN
    (the function is +inf there, the x^4 term dominates)."""
    with np.errstate(over="ignore"):  # x^4 does overflow: +inf is the right value
        assert F.styblinski_tang(np.array([1e155, 0.0])) == np.inf
        assert F.styblinski_tang(np.array([-1e200])) == np.inf
    f = F.get("styblinski-tang", 3, shift=False)
    assert f.error(f.x_opt) == pytest.approx(0.0, abs=1e-12)
