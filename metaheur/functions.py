"""Vectorised benchmark functions with seeded shift and rotation.

Every base function works on the last axis: ``(d,) -> ()`` and ``(n, d) -> (n,)``
(any leading shape is accepted). :func:`get` wraps one in a :class:`TestFunction`
carrying its standard box, its known optimum and an optional seeded transformation::

    f = get("rastrigin", 10, shift=True, rotate=True, seed=3)
    f(X)            # (n, 10) -> (n,)
    f.error(X)      # f(X) - f.f_opt, >= 0 up to rounding
    f.x_opt, f.f_opt, f.bounds

Transformation (CEC style). Let ``z*`` be the base function's own minimiser (0 for
most functions, 1 for Rosenbrock and Levy, 420.9687... for Schwefel 2.26, -2.9035...
for Styblinski-Tang). The transformed function evaluates the base function at::

    z = z* + R (x - o)

* **shift** (default on): ``o ~ U(0.8 lb, 0.8 ub)`` drawn from ``default_rng(seed)``, so the
  optimum moves to ``x_opt = o``, strictly inside the box (every standard box contains
  the origin). For functions whose optimum is not at the origin the shift is therefore
  *relative to their own minimiser*: the optimum is moved from ``z*`` to ``o``.
  Without shift, ``o = z*`` and the optimum stays where the textbook puts it.
* **rotation** (off by default): ``R`` is a Haar-random orthogonal matrix, the Q factor
  of the QR decomposition of a standard normal ``(d, d)`` matrix with the signs of
  ``diag(R)`` fixed (drawn from the same generator, after ``o``, so a rotated and an
  unrotated instance of one seed share the same ``o``).

The value at the optimum, ``f_opt``, is unchanged by both transformations because the
base functions below have their global minimum over all of R^d (not just inside the
box) at ``z*``; for Schwefel 2.26 this needs the CEC 2014 boundary handling (see
:func:`schwefel`), and Weierstrass is 1-periodic, so a rotated instance can have further
minimisers of the same value (``x_opt`` is then one of them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FUNCTIONS",
    "TestFunction",
    "available",
    "get",
    "min_dim",
    "sphere",
    "ellipsoid",
    "rosenbrock",
    "rastrigin",
    "ackley",
    "griewank",
    "schwefel",
    "levy",
    "zakharov",
    "styblinski_tang",
    "weierstrass",
]

# Schwefel 2.26: minimiser and per-dimension offset as in the CEC 2014 code.
SCHWEFEL_X = 420.9687462275036
SCHWEFEL_C = 418.9828872724338
# Styblinski-Tang: smallest root of 4x^3 - 32x + 5 and the value there (per dimension).
# The frequently quoted "-39.16599 d at x = -2.903534" is this optimum, rounded.
STYBLINSKI_X = -2.9035340277711783
STYBLINSKI_F = -39.16616570377141
_WEIERSTRASS_A, _WEIERSTRASS_B, _WEIERSTRASS_KMAX = 0.5, 3.0, 20


def _as_points(X: ArrayLike, name: str = "", min_d: int = 1) -> NDArray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 0:
        raise ValueError("X must have at least one axis (the dimension d); got a scalar")
    if X.shape[-1] < min_d:
        raise ValueError(f"{name} needs d >= {min_d} coordinates; got d = {X.shape[-1]} "
                         f"(X of shape {X.shape})")
    return X


# ----------------------------------------------------------------- base functions
def sphere(X: ArrayLike) -> NDArray:
    """Sphere ``sum x_i^2``. Minimum 0 at 0."""
    X = _as_points(X, "sphere")
    return np.sum(X * X, axis=-1)


def ellipsoid(X: ArrayLike) -> NDArray:
    """High-conditioned ellipsoid ``sum 10^(6 (i-1)/(d-1)) x_i^2`` (BBOB f2). Minimum 0 at 0."""
    X = _as_points(X, "ellipsoid")
    d = X.shape[-1]
    w = 10.0 ** (6.0 * np.arange(d) / (d - 1)) if d > 1 else np.ones(1)
    return np.sum(w * X * X, axis=-1)


def rosenbrock(X: ArrayLike) -> NDArray:
    """Rosenbrock ``sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`` (d >= 2). Minimum 0 at 1."""
    X = _as_points(X, "rosenbrock", min_d=2)
    a, b = X[..., :-1], X[..., 1:]
    return np.sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2, axis=-1)


def rastrigin(X: ArrayLike) -> NDArray:
    """Rastrigin ``10 d + sum x_i^2 - 10 cos(2 pi x_i)``. Minimum 0 at 0."""
    X = _as_points(X, "rastrigin")
    return 10.0 * X.shape[-1] + np.sum(X * X - 10.0 * np.cos(2.0 * np.pi * X), axis=-1)


def ackley(X: ArrayLike) -> NDArray:
    """Ackley with a = 20, b = 0.2, c = 2 pi. Minimum 0 at 0."""
    X = _as_points(X, "ackley")
    d = X.shape[-1]
    s1 = np.sqrt(np.sum(X * X, axis=-1) / d)
    s2 = np.sum(np.cos(2.0 * np.pi * X), axis=-1) / d
    return -20.0 * np.exp(-0.2 * s1) - np.exp(s2) + 20.0 + math.e


def griewank(X: ArrayLike) -> NDArray:
    """Griewank ``1 + sum x_i^2 / 4000 - prod cos(x_i / sqrt(i))``. Minimum 0 at 0."""
    X = _as_points(X, "griewank")
    i = np.arange(1, X.shape[-1] + 1)
    return 1.0 + np.sum(X * X, axis=-1) / 4000.0 - np.prod(np.cos(X / np.sqrt(i)), axis=-1)


def schwefel(X: ArrayLike) -> NDArray:
    """Schwefel 2.26 ``418.9829 d - sum x_i sin(sqrt|x_i|)``. Minimum ~0 at 420.9687.

    Inside ``[-500, 500]`` this is the textbook function. Outside it, components are
    folded back into the box and penalised quadratically (CEC 2014, "modified
    Schwefel"), so that 420.9687 stays the global minimiser over all of R^d -- the
    plain formula decreases without bound for large |x|, which a shift or rotation
    would otherwise expose inside the search box.
    """
    X = _as_points(X, "schwefel")
    d = X.shape[-1]
    A = np.abs(X)
    inside = A <= 500.0
    m = np.fmod(A, 500.0)
    w = 500.0 - m  # folded magnitude in (0, 500]
    term = np.where(
        inside,
        X * np.sin(np.sqrt(A)),
        np.where(X > 0, w, -w) * np.sin(np.sqrt(w)) - ((A - 500.0) / 100.0) ** 2 / d,
    )
    return SCHWEFEL_C * d - np.sum(term, axis=-1)


def levy(X: ArrayLike) -> NDArray:
    """Levy with ``w = 1 + (x - 1) / 4``. Minimum 0 at 1."""
    X = _as_points(X, "levy")
    W = 1.0 + (X - 1.0) / 4.0
    w1, wd, Wi = W[..., 0], W[..., -1], W[..., :-1]
    head = np.sin(np.pi * w1) ** 2
    mid = np.sum((Wi - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * Wi + 1.0) ** 2), axis=-1)
    tail = (wd - 1.0) ** 2 * (1.0 + np.sin(2.0 * np.pi * wd) ** 2)
    return head + mid + tail


def zakharov(X: ArrayLike) -> NDArray:
    """Zakharov ``sum x_i^2 + s^2 + s^4`` with ``s = sum 0.5 i x_i``. Minimum 0 at 0."""
    X = _as_points(X, "zakharov")
    i = np.arange(1, X.shape[-1] + 1)
    s = np.sum(0.5 * i * X, axis=-1)
    s2 = s * s
    return np.sum(X * X, axis=-1) + s2 + s2 * s2


def styblinski_tang(X: ArrayLike) -> NDArray:
    """Styblinski-Tang ``0.5 sum x_i^4 - 16 x_i^2 + 5 x_i``. Minimum -39.16617 d at -2.903534."""
    X = _as_points(X, "styblinski_tang")
    X2 = X * X
    return 0.5 * np.sum(X2 * (X2 - 16.0) + 5.0 * X, axis=-1)  # no inf - inf for huge |x|


_WK = np.arange(_WEIERSTRASS_KMAX + 1)
_WA = _WEIERSTRASS_A**_WK
_WB = _WEIERSTRASS_B**_WK
_W0 = float(np.sum(_WA * np.cos(np.pi * _WB)))


def weierstrass(X: ArrayLike) -> NDArray:
    """Weierstrass with a = 0.5, b = 3, k_max = 20 (CEC 2005 F11). Minimum 0 at 0 (1-periodic)."""
    X = _as_points(X, "weierstrass")
    C = np.cos((2.0 * np.pi) * (X[..., None] + 0.5) * _WB)  # (..., d, k)
    return np.sum(np.sum(C * _WA, axis=-1), axis=-1) - X.shape[-1] * _W0


# ----------------------------------------------------------------------- registry
@dataclass(frozen=True)
class _Spec:
    fn: Callable[[ArrayLike], NDArray]
    low: float
    high: float
    z_opt: float  # per-dimension minimiser of the base function
    f_opt_per_dim: float  # f_opt = f_opt_per_dim * d
    min_dim: int
    description: str


_SPECS: dict[str, _Spec] = {
    "sphere": _Spec(sphere, -100.0, 100.0, 0.0, 0.0, 1,
                    "unimodal, separable: sum x_i^2"),
    "ellipsoid": _Spec(ellipsoid, -100.0, 100.0, 0.0, 0.0, 1,
                       "unimodal, ill-conditioned (1e6) separable quadratic"),
    "rosenbrock": _Spec(rosenbrock, -30.0, 30.0, 1.0, 0.0, 2,
                        "unimodal (d <= 3) curved valley, non-separable; unshifted optimum at 1"),
    "rastrigin": _Spec(rastrigin, -5.12, 5.12, 0.0, 0.0, 1,
                       "multimodal, separable: cosine-modulated sphere, ~10^d local minima"),
    "ackley": _Spec(ackley, -32.768, 32.768, 0.0, 0.0, 1,
                    "multimodal: nearly flat outer region, deep central funnel"),
    "griewank": _Spec(griewank, -600.0, 600.0, 0.0, 0.0, 1,
                      "multimodal, non-separable product of cosines on a wide box"),
    "schwefel": _Spec(schwefel, -500.0, 500.0, SCHWEFEL_X, 0.0, 1,
                      "Schwefel 2.26: multimodal, deceptive; unshifted optimum near a corner"),
    "levy": _Spec(levy, -10.0, 10.0, 1.0, 0.0, 1,
                  "multimodal Levy function; unshifted optimum at 1"),
    "zakharov": _Spec(zakharov, -5.0, 10.0, 0.0, 0.0, 1,
                      "unimodal, non-separable plate-shaped quartic on an asymmetric box"),
    "styblinski-tang": _Spec(styblinski_tang, -5.0, 5.0, STYBLINSKI_X, STYBLINSKI_F, 1,
                             "multimodal separable quartic; optimum -39.16617 d, "
                             "unshifted at -2.903534"),
    "weierstrass": _Spec(weierstrass, -0.5, 0.5, 0.0, 0.0, 1,
                         "multimodal, continuous but nowhere differentiable"),
}

#: Name -> one-line description of every function :func:`get` knows.
FUNCTIONS: dict[str, str] = {name: spec.description for name, spec in _SPECS.items()}


def min_dim(name: str) -> int:
    """The smallest dimension :func:`get` accepts for ``name`` (rosenbrock: 2, else 1)."""
    return _SPECS[_key(name)].min_dim


def available() -> list[str]:
    """Sorted names of the test functions accepted by :func:`get`."""
    return sorted(_SPECS)


def _key(name: str) -> str:
    """The registry key of ``name`` (any case, ``_`` for ``-``), or a ValueError."""
    if not isinstance(name, str):
        raise ValueError(f"function name must be a string; available: {', '.join(available())}")
    key = name.strip().lower().replace("_", "-")
    if key not in _SPECS:
        raise ValueError(f"unknown test function {name!r}; available: {', '.join(available())}")
    return key


@dataclass(frozen=True, eq=False)
class TestFunction:
    """A benchmark function instance: box, optimum and seeded shift/rotation.

    Call it on ``(d,)`` (returns a float) or ``(n, d)`` arrays (returns ``(n,)``);
    :meth:`error` is ``f(X) - f_opt``. Build instances with :func:`get`.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    dim: int
    bounds: NDArray  # (d, 2)
    f_opt: float
    x_opt: NDArray  # (d,)
    shifted: bool
    rotated: bool
    seed: Any
    description: str
    _fn: Callable[[ArrayLike], NDArray] = field(repr=False)
    _z_opt: NDArray = field(repr=False)  # base function's own minimiser
    _rotation: NDArray | None = field(repr=False)

    @property
    def lower(self) -> NDArray:
        """Lower bounds, shape (d,)."""
        return self.bounds[:, 0]

    @property
    def upper(self) -> NDArray:
        """Upper bounds, shape (d,)."""
        return self.bounds[:, 1]

    @property
    def rotation(self) -> NDArray | None:
        """The orthogonal matrix ``R`` (``None`` when not rotated)."""
        return None if self._rotation is None else self._rotation.copy()

    def transform(self, X: ArrayLike) -> NDArray:
        """Map points to the base function's coordinates: ``z = z* + R (x - o)``."""
        X = _as_points(X, self.name, min_d=0)  # d is checked against self.dim below
        if X.shape[-1] != self.dim:
            raise ValueError(
                f"X must have shape (d,) or (n, d) with d = {self.dim} for {self.name}; "
                f"got shape {X.shape}"
            )
        if not (self.shifted or self.rotated):
            return X
        Y = X - self.x_opt
        if self._rotation is not None:
            Y = Y @ self._rotation.T
        return Y + self._z_opt

    def __call__(self, X: ArrayLike) -> Any:
        """Values at ``X``: ``(d,) -> float``, ``(..., d) -> (...)``."""
        out = self._fn(self.transform(X))
        return float(out) if np.ndim(out) == 0 else out

    def error(self, X: ArrayLike) -> Any:
        """``f(X) - f_opt`` (0 at the optimum, up to rounding)."""
        return self(X) - self.f_opt


def get(
    name: str,
    dim: int,
    *,
    shift: bool = True,
    rotate: bool = False,
    seed: int | np.random.SeedSequence | np.random.Generator | None = 0,
) -> TestFunction:
    """Return the test function ``name`` in ``dim`` dimensions (see :data:`FUNCTIONS`).

    ``shift`` moves the optimum to ``o ~ U(0.8 lb, 0.8 ub)`` and ``rotate`` applies a
    random orthogonal matrix, both drawn from ``np.random.default_rng(seed)`` (module
    docstring). Shifted variants are the default, as in the benchmarks and tests.
    """
    key = _key(name)
    spec = _SPECS[key]
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < spec.min_dim:
        raise ValueError(f"dim must be an integer >= {spec.min_dim} for {key}, got {dim!r}")
    d = int(dim)
    lower, upper = np.full(d, spec.low), np.full(d, spec.high)
    z_opt = np.full(d, spec.z_opt)
    rng = np.random.default_rng(seed) if (shift or rotate) else None
    x_opt = rng.uniform(0.8 * lower, 0.8 * upper) if shift else z_opt.copy()
    rotation = None
    if rotate:
        Q, Rr = np.linalg.qr(rng.standard_normal((d, d)))
        rotation = Q * np.where(np.diag(Rr) < 0, -1.0, 1.0)  # Haar measure on O(d)
    bounds = np.column_stack([lower, upper])
    for arr in (bounds, x_opt, z_opt):
        arr.setflags(write=False)
    if rotation is not None:
        rotation.setflags(write=False)
    return TestFunction(
        name=key,
        dim=d,
        bounds=bounds,
        f_opt=spec.f_opt_per_dim * d,
        x_opt=x_opt,
        shifted=bool(shift),
        rotated=bool(rotate),
        seed=seed if (shift or rotate) else None,
        description=spec.description,
        _fn=spec.fn,
        _z_opt=z_opt,
        _rotation=rotation,
    )
