"""SearchSpaceEncoder: box, centring, discrete bins and the decode(encode(p)) round trip."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaheur.optuna import SearchSpaceEncoder

# hypothesis draws stepped float ranges that Optuna itself rounds (and warns about)
pytestmark = pytest.mark.filterwarnings("ignore:The distribution is specified by:UserWarning")

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def float_dist_and_value(draw: st.DrawFn) -> tuple[FloatDistribution, float]:
    kind = draw(st.sampled_from(["linear", "log", "step"]))
    if kind == "log":
        low = draw(st.floats(1e-8, 1e3))
        high = low * draw(st.floats(1.0 + 1e-6, 1e6))
        dist = FloatDistribution(low, high, log=True)
    elif kind == "linear":
        low = draw(finite)
        high = low + draw(st.floats(1e-6, 1e6))
        dist = FloatDistribution(low, high)
    else:
        low = draw(st.integers(-1000, 1000)) / draw(st.sampled_from([1, 4, 10, 100]))
        step = draw(st.sampled_from([0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 3.0]))
        dist = FloatDistribution(low, low + step * draw(st.integers(1, 500)), step=step)
    if kind == "step":
        k = draw(st.integers(0, int(round((dist.high - dist.low) / dist.step))))
        # decode's canonical grid value (decimal arithmetic on low and step)
        n = int(round((dist.high - dist.low) / dist.step)) + 1
        value = SearchSpaceEncoder({"p": dist}).decode(np.array([-1.0 + (2 * k + 1) / n]))["p"]
    else:
        value = draw(st.floats(dist.low, dist.high))
    return dist, value


@st.composite
def int_dist_and_value(draw: st.DrawFn) -> tuple[IntDistribution, int]:
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        dist = IntDistribution(low, low + draw(st.integers(0, 10**6)), log=True)
        value = draw(st.integers(dist.low, dist.high))
    else:
        low = draw(st.integers(-(10**6), 10**6))
        step = draw(st.integers(1, 7))
        dist = IntDistribution(low, low + step * draw(st.integers(0, 1000)), step=step)
        value = dist.low + step * draw(st.integers(0, (dist.high - dist.low) // step))
    return dist, value


@st.composite
def categorical_dist_and_value(draw: st.DrawFn) -> tuple[CategoricalDistribution, object]:
    atoms = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3), finite)
    # unique by ==: Optuna itself cannot tell 0 from False or 1 from 1.0 among choices
    choices = draw(st.lists(atoms, min_size=1, max_size=12, unique=True))
    dist = CategoricalDistribution(choices)
    return dist, draw(st.sampled_from(choices))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(int_dist_and_value(), categorical_dist_and_value()), min_size=1,
                max_size=6))
def test_discrete_round_trip_is_exact(items: list) -> None:
    space = {f"p{i}": d for i, (d, _) in enumerate(items)}
    params = {f"p{i}": v for i, (_, v) in enumerate(items)}
    enc = SearchSpaceEncoder(space)
    x = enc.encode(params)
    assert x.shape == (enc.dim,) and np.all(np.abs(x) <= 1.0)
    out = enc.decode(x)
    assert out == params
    assert [type(v) for v in out.values()] == [type(v) for v in params.values()]


@settings(max_examples=300, deadline=None)
@given(float_dist_and_value())
def test_float_round_trip(item: tuple[FloatDistribution, float]) -> None:
    dist, value = item
    enc = SearchSpaceEncoder({"p": dist})
    x = enc.encode({"p": value})
    assert -1.0 <= x[0] <= 1.0
    out = enc.decode(x)["p"]
    assert isinstance(out, float)
    assert dist.low <= out <= dist.high
    if dist.step is not None:
        assert out == value
        assert dist._contains(out)
    elif dist.log:  # exp() of a log-space point: relative error ~ |log v| * eps
        assert out == value or math.isclose(out, value, rel_tol=1e-13)
    else:  # exact where the affine map has a pre-image, else within a few ulps of the range
        scale = max(abs(dist.low), abs(dist.high))
        assert out == value or abs(out - value) <= 8 * np.spacing(scale)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(float_dist_and_value().map(lambda t: t[0]),
                          int_dist_and_value().map(lambda t: t[0]),
                          categorical_dist_and_value().map(lambda t: t[0])),
                min_size=1, max_size=5),
       st.data())
def test_decode_any_point_is_valid_and_stable(dists: list, data: st.DataObject) -> None:
    space = {f"p{i}": d for i, d in enumerate(dists)}
    enc = SearchSpaceEncoder(space)
    x = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=enc.dim, max_size=enc.dim)))
    params = enc.decode(x)
    for name, dist in space.items():
        assert dist._contains(dist.to_internal_repr(params[name]))
    # a decoded point re-encodes to a point that decodes to the same params
    assert enc.decode(enc.encode(params)) == params


@pytest.mark.parametrize("dist", [FloatDistribution(315.0, 600.46875, log=True),
                                  FloatDistribution(1e-7, 0.3, log=True),
                                  FloatDistribution(-3.3, 1e9)])
def test_the_ends_of_a_range_encode_to_the_faces_of_the_box(dist: FloatDistribution) -> None:
    """Regression (found by hypothesis in test_decode_any_point_is_valid_and_stable): the
    upper end of log [315, 600.46875] encoded to 13 ulps below 1.0, past the 8-ulp search
    for an exact pre-image, so it decoded to 600.4687499999998, another parameter set than
    the evaluated one (a repeat that skip_evaluated could not see)."""
    enc = SearchSpaceEncoder({"p": dist})
    assert enc.encode({"p": dist.high})[0] == 1.0 and enc.encode({"p": dist.low})[0] == -1.0
    for v in (dist.low, dist.high):
        assert enc.decode(enc.encode({"p": v})) == {"p": v}


def test_bounds_centre_and_bins() -> None:
    space = {
        "lin": FloatDistribution(-3.0, 7.0),
        "log": FloatDistribution(1e-4, 1.0, log=True),
        "int": IntDistribution(0, 3),
        "cat": CategoricalDistribution(["a", "b", "c", "d"]),
        "step": FloatDistribution(0.0, 1.0, step=0.5),
    }
    enc = SearchSpaceEncoder(space)
    assert enc.dim == 5 and enc.names == list(space)
    np.testing.assert_array_equal(enc.bounds, np.tile([-1.0, 1.0], (5, 1)))
    centre = enc.decode(np.zeros(5))
    assert centre["lin"] == 2.0
    assert math.isclose(centre["log"], 1e-2)  # centre of the range in log space
    assert enc.decode(-np.ones(5)) == {"lin": -3.0, "log": 1e-4, "int": 0, "cat": "a",
                                       "step": 0.0}
    assert enc.decode(np.ones(5)) == {"lin": 7.0, "log": 1.0, "int": 3, "cat": "d", "step": 1.0}
    # equal-width bins: four choices own [-1,-.5), [-.5,0), [0,.5), [.5,1]
    for x, want in [(-0.76, "a"), (-0.26, "b"), (0.24, "c"), (0.74, "d")]:
        assert enc.decode(np.array([0, 0, 0, x, 0]))["cat"] == want
    np.testing.assert_allclose(enc.encode({**centre, "cat": "b"})[3], -0.25)


def test_decimal_grid_values_are_the_typed_numbers() -> None:
    enc = SearchSpaceEncoder({"lr": FloatDistribution(0.0, 1.0, step=0.1)})
    assert enc.decode(enc.encode({"lr": 0.3}))["lr"] == 0.3
    assert enc.decode(enc.encode({"lr": 0.1 * 3}))["lr"] == 0.3  # off-grid noise snaps


def test_single_value_distributions() -> None:
    space = {
        "a": CategoricalDistribution([1]),
        "b": IntDistribution(1, 1),
        "c": IntDistribution(1, 1, log=True),
        "d": FloatDistribution(1.0, 1.0),
        "e": FloatDistribution(1.0, 1.0, log=True),
        "f": FloatDistribution(1.0, 1.0, step=1.0),
    }
    enc = SearchSpaceEncoder(space)
    for x in (-np.ones(6), np.zeros(6), np.ones(6)):
        assert enc.decode(x) == {k: 1 for k in space}


def test_errors() -> None:
    with pytest.raises(ValueError, match="space must be a dict"):
        SearchSpaceEncoder([FloatDistribution(0, 1)])  # type: ignore[arg-type]
    enc = SearchSpaceEncoder({"x": FloatDistribution(0, 1), "y": IntDistribution(0, 3)})
    with pytest.raises(ValueError, match=r"lack .*'y'"):
        enc.encode({"x": 0.5})
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        enc.decode(np.zeros(3))


@pytest.mark.parametrize("x", [1e6, -1e6, 1e300])
def test_decode_of_a_point_far_outside_the_box_is_its_nearest_end(x: float) -> None:
    """Regression (rev11c): a claim's point comes from the storage (untrusted); an int-log
    dimension decoded x = 1e6 with ``math.exp`` and raised OverflowError."""
    enc = SearchSpaceEncoder({"n": IntDistribution(1, 1000, log=True),
                              "lr": FloatDistribution(1e-5, 1e-1, log=True)})
    params = enc.decode(np.array([x, x]))
    assert params == ({"n": 1000, "lr": 1e-1} if x > 0 else {"n": 1, "lr": 1e-5})


@pytest.mark.parametrize(("low", "high", "step"), [
    (1, 2**60, 1), (0, 2**54 + 2, 2), (3, 2**55 + 3, 4), (-(2**62), 2**62, 1), (0, 2**53 + 1, 1),
])
def test_int_ranges_wider_than_a_double_reach_both_ends(low: int, high: int, step: int) -> None:
    """Regression (session 25's audit): the number of grid values was computed in floats, so
    above 2**53 the top value could not be reached (decode(1) < high) nor round-trip. The
    ends are exact now (interior values to within a double's resolution, as Optuna, which
    stores parameters as floats)."""
    enc = SearchSpaceEncoder({"n": IntDistribution(low, high, step=step)})
    assert enc.decode(np.array([1.0]))["n"] == high
    assert enc.decode(np.array([-1.0]))["n"] == low
    for v in (low, high):
        assert enc.decode(enc.encode({"n": v}))["n"] == v
    mid = enc.decode(np.array([0.0]))["n"]
    assert low <= mid <= high and (mid - low) % step == 0
