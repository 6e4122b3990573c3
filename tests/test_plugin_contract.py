"""The plug-in contract of :class:`metaheur.Optimizer`: what a third-party class must
declare (its state) and return (its batches), checked with clear errors naming it."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest

import metaheur
from metaheur import Field, Optimizer
from metaheur.optuna import MetaheuristicSampler

BOX = [(-1.0, 1.0)] * 2


class NoSF(Optimizer):
    """The README's random walk without ``state_fields``."""

    name = "test-nosf"
    defaults: ClassVar[dict[str, Any]] = {"sigma": 0.1}

    def _init_state(self, X: np.ndarray, f: np.ndarray) -> None:
        self._X, self._f = X.copy(), f.copy()

    def _ask(self, t: int, r: int) -> np.ndarray:
        step = self.sigma * (self.upper - self.lower)
        return self._X + step * self.rng.standard_normal(self._X.shape)

    def _tell(self, t: int, r: int, X: np.ndarray, f: np.ndarray) -> None:
        better = f < self._f
        self._X[better], self._f[better] = X[better], f[better]

    @property
    def population(self) -> tuple[np.ndarray, np.ndarray]:
        return self._X, self._f


class HalfDeclared(NoSF):
    """Declares ``_X`` and ``_f`` and a ``_v`` it never sets."""

    name = "test-half"
    state_fields: ClassVar[dict[str, Field]] = {
        "_X": Field(("N", "D"), "point"), "_f": Field(("N",), "value"),
        "_v": Field(("N", "D"))}


class Scratch(NoSF):
    """Declares its state; a scratch buffer with a class-level default is not state."""

    name = "test-scratch"
    state_fields: ClassVar[dict[str, Field]] = {
        "_X": Field(("N", "D"), "point"), "_f": Field(("N",), "value")}
    _buf: np.ndarray | None = None

    def _ask(self, t: int, r: int) -> np.ndarray:
        if self._buf is None:
            self._buf = np.empty(self._X.shape)
        return super()._ask(t, r)


def _run(opt: Optimizer, batches: int) -> Optimizer:
    for _ in range(batches):
        X = opt.ask()
        opt.tell(X, (X**2).sum(axis=1))
    return opt


def test_undeclared_state_is_refused_at_export_with_the_names() -> None:
    """Regression: ``get_state()`` exported no ``_X``/``_f``; ``from_state`` then gave an
    optimizer whose ``ask`` raised AttributeError (and the sampler crashed mid-study)."""
    opt = _run(NoSF(BOX, pop_size=5, budget=50, seed=0), 2)
    with pytest.raises(ValueError, match=r"NoSF.*\['_X', '_f'\].*state_fields"):
        opt.get_state()
    fresh = NoSF(BOX, pop_size=5, budget=50, seed=0)
    fresh.ask()
    json.dumps(fresh.get_state())  # nothing set by the hooks yet: exportable
    assert np.isfinite(metaheur.minimize(lambda x: float(x @ x), BOX, NoSF, budget=50,
                                         pop_size=5, seed=0).fun)  # minimize needs no state


def test_declared_field_never_set_is_refused_at_export() -> None:
    """Regression: a declared field never set was exported as None, and ``from_state``
    refused the state it had just produced (``state field '_v' must be present here``)."""
    opt = _run(HalfDeclared(BOX, pop_size=5, budget=50, seed=0), 2)
    with pytest.raises(ValueError, match=r"HalfDeclared.*'_v'.*never set"):
        opt.get_state()


class KeepsPending(Scratch):
    """Declares ``_trial`` present only while a batch is pending, but never clears it."""

    name = "test-keeps"
    state_fields: ClassVar[dict[str, Field]] = {
        **Scratch.state_fields, "_trial": Field(("N", "D"), "point", present="pending")}

    def _ask(self, t: int, r: int) -> np.ndarray:
        self._trial = super()._ask(t, r).clip(self.lower, self.upper)
        return self._trial.copy()


def test_field_set_against_its_presence_is_refused_at_export() -> None:
    opt = KeepsPending(BOX, pop_size=5, budget=50, seed=0)
    opt.tell(opt.ask(), np.zeros(5))
    KeepsPending.from_state(opt.get_state())  # not yet set, and nothing pending: fine
    X = opt.ask()
    KeepsPending.from_state(opt.get_state())  # set while pending: fine
    opt.tell(X, np.zeros(5))
    with pytest.raises(ValueError, match=r"KeepsPending.*'_trial' is set where its "
                                         r"Field\(present='pending'\) says it is None"):
        opt.get_state()  # from_state would refuse it ('must be null here')
    opt._trial = None
    KeepsPending.from_state(opt.get_state())


def test_scratch_attributes_with_class_defaults_are_not_state() -> None:
    opt = _run(Scratch(BOX, pop_size=5, budget=60, seed=0), 3)
    again = Scratch.from_state(json.loads(json.dumps(opt.get_state())))
    assert np.array_equal(again.ask(), opt.ask())


@pytest.mark.parametrize("algo", metaheur.available())
def test_every_registered_algorithm_exports_mid_run(algo: str) -> None:
    opt = metaheur.get(algo)([(-1.0, 1.0)] * 3, pop_size=6, budget=300, seed=1)
    for _ in range(12):
        if opt.done:
            break
        X = opt.ask()
        opt.get_state()  # a batch pending
        opt.tell(X, (X**2).sum(axis=1))
        Optimizer.from_state(json.loads(json.dumps(opt.get_state())))


@pytest.mark.parametrize("algo", [a for a in metaheur.available() if a.endswith("-ipop")])
def test_every_restart_variant_exports_across_its_restarts(algo: str) -> None:
    opt = metaheur.get(algo)([(-1.0, 1.0)] * 3, budget=2000, seed=1, restart_patience=2)
    while opt.restarts < 2 and not opt.done:
        X = opt.ask()
        opt.get_state()
        opt.tell(X, np.ones(len(X)))  # flat: stagnates at once, so it restarts
        Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
    assert opt.restarts >= 2


def test_sampler_refuses_an_undeclared_state_at_construction() -> None:
    """Regression: ``MetaheuristicSampler`` with such a class crashed mid-study with
    ``AttributeError: 'NoSF' object has no attribute '_f'``."""
    with pytest.raises(ValueError, match=r"NoSF.*\['_X', '_f'\].*state_fields"):
        MetaheuristicSampler(NoSF, n_trials=30, pop_size=5)
    sampler = MetaheuristicSampler(Scratch, n_trials=30, pop_size=5, seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=30)
    assert len(study.trials) == 30


# ----------------------------------------------------------------- _ask's batches
class Returns(Scratch):
    """Its ``_ask`` returns what ``make`` turns the proper batch into."""

    name = "test-returns"
    make: ClassVar[Any] = staticmethod(lambda X: X)

    def _ask(self, t: int, r: int) -> Any:
        return type(self).make(super()._ask(t, r))


def _returning(make: Any) -> type[Returns]:
    return type("Returns", (Returns,), {"make": staticmethod(make)})


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda X: X[:, :1], ValueError, r"Returns._ask\(\) must return .*shape \(5, 2\).*"
                                     r"got shape \(5, 1\)"),
    (lambda X: X[:-1], ValueError, r"Returns._ask\(\).*\(5, 2\).*got shape \(4, 2\)"),
    (lambda X: X[0], ValueError, r"Returns._ask\(\).*\(5, 2\).*got shape \(2,\)"),
    (lambda X: X.astype(str), TypeError, r"Returns._ask\(\) must return real numbers.*<U"),
    (lambda X: X + 1j, TypeError, r"Returns._ask\(\) must return real numbers.*complex"),
    (lambda X: X > 0, TypeError, r"Returns._ask\(\) must return real numbers.*bool"),
    (lambda X: [dict(a=1)] * 5, TypeError, r"Returns._ask\(\) must return real numbers"),
    (lambda X: None, TypeError, r"Returns._ask\(\) must return real numbers"),
    (lambda X: np.where(X > 0, np.nan, X), RuntimeError, r"Returns._ask\(\).*NaN"),
])
def test_bad_batches_name_the_class(make: Any, error: type, match: str) -> None:
    """Regression: an (n, 1) batch on a 2-d problem was accepted (res.x of shape (1,)),
    fewer rows too; a list raised AttributeError ('clip'), an int array UFuncTypeError."""
    opt = _returning(make)(BOX, pop_size=5, budget=50, seed=0)
    opt.tell(opt.ask(), np.zeros(5))
    with pytest.raises(error, match=match):
        opt.ask()


def _read_only(X: np.ndarray) -> np.ndarray:
    X = X.copy()
    X.flags.writeable = False
    return X


@pytest.mark.parametrize("make", [lambda X: X.tolist(), lambda X: np.rint(X).astype(int),
                                  lambda X: X.astype(np.float32), _read_only])
def test_lists_and_integer_arrays_are_taken_as_floats(make: Any) -> None:
    res = metaheur.minimize(lambda x: float(x @ x), BOX, _returning(make), budget=40,
                            pop_size=5, seed=0)
    assert res.x.shape == (2,) and res.x.dtype == float and np.isfinite(res.fun)


def test_infinite_coordinates_are_clipped_to_the_box() -> None:
    """±inf (an overflowing step: ACOR in a box near the largest double) is a point beyond
    the box in that direction and is projected onto it like any other; NaN is a bug."""
    cls = _returning(lambda X: np.where(X > 0, np.inf, -np.inf))
    opt = cls(BOX, pop_size=5, budget=50, seed=0)
    opt.tell(opt.ask(), np.zeros(5))
    assert set(np.abs(opt.ask()).ravel()) == {1.0}


# ----------------------------------------------------------------- review (rev10b)
class Momentum(NoSF):
    """Declares its state by name only (examples/custom_algorithm.py's way); ``_prev``
    exists from the first tell on."""

    name = "test-momentum"
    _state_fields = ("_X", "_f", "_prev")

    def _ask(self, t: int, r: int) -> np.ndarray:
        prev = getattr(self, "_prev", None)
        return super()._ask(t, r) + (0.0 if prev is None else 0.5 * prev)

    def _tell(self, t: int, r: int, X: np.ndarray, f: np.ndarray) -> None:
        self._prev = X - self._X
        super()._tell(t, r, X, f)


def test_a_field_declared_by_name_only_may_be_unset() -> None:
    """It is exported as None and restored so (the former behaviour); only a Field says
    when a field must be present."""
    opt = Momentum(BOX, pop_size=4, budget=40, seed=0)
    X = opt.ask()
    opt.tell(X, (X ** 2).sum(axis=1))
    X = opt.ask()
    copy = Momentum.from_state(json.loads(json.dumps(opt.get_state())))
    f = (X ** 2).sum(axis=1)
    opt.tell(X, f)
    copy.tell(X, f)
    assert np.array_equal(opt.ask(), copy.ask())
    MetaheuristicSampler(Momentum, seed=0, n_trials=40)


class TwoCoordinates(NoSF):
    """Swaps two distinct coordinates: needs a box of 2 dimensions or more."""

    name = "test-two-coords"
    state_fields = Scratch.state_fields

    def _ask(self, t: int, r: int) -> np.ndarray:
        X = super()._ask(t, r)
        i, j = self.rng.choice(self.dim, 2, replace=False)
        X[:, [i, j]] = X[:, [j, i]]
        return X


class Normalised(NoSF):
    """Normalises its values by their range (NaN when every value is the same)."""

    name = "test-normalised"
    state_fields = Scratch.state_fields

    def _ask(self, t: int, r: int) -> np.ndarray:
        m = (self._f.max() - self._f) / (self._f.max() - self._f.min())
        return self._X + m[:, None] * (self._X.mean(axis=0) - self._X)


@pytest.mark.parametrize("cls", [TwoCoordinates, Normalised])
def test_the_samplers_probe_refuses_only_undeclared_state(cls: type) -> None:
    """The probe ran the hooks on a 1-d box with equal values: a plug-in that needs two
    dimensions or distinct values failed at the sampler's construction, not a state
    problem and not what any study would give it."""
    MetaheuristicSampler(cls, seed=0, n_trials=50)


def test_a_users_own_attribute_is_no_state() -> None:
    """A public attribute a user puts on an optimizer is no undeclared state of its
    hooks (get_state blamed PSO's state_fields for a user's ``label``)."""
    res = metaheur.minimize(lambda x: float((x ** 2).sum()), BOX, "pso", budget=40, seed=0)
    res.optimizer.label = "run-3"
    assert res.optimizer.get_state()["algo"] == "pso"


def test_an_optimizer_unpickled_from_the_previous_release_exports() -> None:
    """Optimizers pickled before the declaration check lack ``_config_attrs``."""
    import pickle

    opt = metaheur.get("gwo")(BOX, pop_size=5, budget=40, seed=0)
    X = opt.ask()
    opt.tell(X, (X ** 2).sum(axis=1))
    old = pickle.loads(pickle.dumps(opt))
    del old.__dict__["_config_attrs"]
    assert old.get_state() == opt.get_state()


def test_an_ipop_export_exports_its_inner_run_once(monkeypatch: pytest.MonkeyPatch) -> None:
    opt = metaheur.get("pso-ipop")(BOX, budget=200, seed=0)
    X = opt.ask()
    opt.tell(X, (X ** 2).sum(axis=1))
    inner = type(opt._inner)
    calls = []
    real = inner.get_state
    monkeypatch.setattr(inner, "get_state", lambda self: calls.append(1) or real(self))
    opt.get_state()
    assert len(calls) == 1


class WrongKind(Scratch):
    """Declares its trial points as ``point`` (inside the box), which they are not: a
    mutant of differential evolution may leave the box."""

    name = "test-wrong-kind"
    state_fields: ClassVar[dict[str, Field]] = {
        **Scratch.state_fields, "_trial": Field(("N", "D"), "point", present="pending")}

    def _ask(self, t: int, r: int) -> np.ndarray:
        self._trial = self._X + 3.0 * (self.upper - self.lower)  # outside the box
        return super()._ask(t, r)


def test_a_state_that_cannot_be_restored_is_refused_at_construction() -> None:
    """Regression (session 27's audit): the sampler's probe only exported the state, so a
    wrong declaration surfaced mid-study, in a worker restoring it, after 13 trials, with
    an error that named neither the class nor what to change."""
    with pytest.raises(ValueError, match=r"WrongKind's state does not restore.*_trial"):
        MetaheuristicSampler(WrongKind, n_trials=30, pop_size=5)
