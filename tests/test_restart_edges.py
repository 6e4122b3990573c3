"""Regressions from session 27's audit of the restart layer (``metaheur/restarts.py``):
edge cases of its settings, of plug-ins and of failing objectives."""

from __future__ import annotations

import json
import warnings
from typing import Any, ClassVar

import numpy as np
import pytest
from helpers import GreedyAgents, run, shifted_sphere

import metaheur
from metaheur import Optimizer

BOUNDS = [(-2.0, 3.0), (-1.0, 1.0), (0.0, 10.0)]


def test_inner_params_may_not_hold_pop_size() -> None:
    """``inner_params={"pop_size": 5}`` raised TypeError ("got multiple values for keyword
    argument") from the constructor, ``minimize`` and an edited state file. (``budget``,
    ``seed``, ``x0`` ... were already refused as unknown hyper-parameters.)"""
    key = "pop_size"
    with pytest.raises(ValueError, match=f"inner_params may not hold '{key}'"):
        metaheur.get("ipop")(BOUNDS, budget=100, inner="pso", inner_params={key: 5})
    with pytest.raises(ValueError, match=f"inner_params may not hold '{key}'"):
        metaheur.minimize(lambda x: float((x ** 2).sum()), BOUNDS, algo="ipop", budget=100,
                          inner="pso", inner_params={key: 5})
    opt = metaheur.get("ipop")(BOUNDS, budget=100, seed=0, inner="pso")
    X = opt.ask()
    opt.tell(X, shifted_sphere(X))
    state = json.loads(json.dumps(opt.get_state()))
    state["config"]["params"]["inner_params"][key] = 5
    with pytest.raises(ValueError, match=f"inner_params may not hold '{key}'"):
        Optimizer.from_state(state)


class _OnePlusOne(GreedyAgents):
    """A plug-in defined for a single agent: a (1+1)-style walk."""

    name = "test-one-plus-one"
    min_pop_size = 1
    defaults: ClassVar[dict[str, Any]] = {"step": 0.1}

    def _ask(self, t: int, r: int) -> np.ndarray:
        span = self.step * (self.upper - self.lower)
        return self._X + self.rng.normal(0.0, 1.0, self._X.shape) * span


def plateau(X: np.ndarray) -> np.ndarray:
    return np.floor(shifted_sphere(X) * 2.0)


@pytest.mark.parametrize("kw", [
    {},  # local runs of one agent
    {"restart_local": False, "restart_growth": 1.4},  # round(1 * 1.4) = 1 agent again
])
def test_a_plug_in_of_one_agent_restarts(kw: dict[str, Any]) -> None:
    """A run of one agent holding the best point had nothing to evaluate: its first batch
    was empty and the first restart raised ValueError ("zero-size array")."""
    if _OnePlusOne.name not in metaheur.available():
        metaheur.register(_OnePlusOne)
    opt = metaheur.get(_OnePlusOne.name + "-ipop")(
        BOUNDS, pop_size=1, budget=200, seed=0, restart_patience=2, **kw)
    values = []
    while not opt.done:
        X = opt.ask()
        assert X.shape[0] >= 1
        f = plateau(X)
        values.extend(f)
        opt.tell(X, f)
        restored = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
        assert restored.nfev == opt.nfev
    assert opt.restarts >= 2 and opt.nfev == 200 and opt.best_f == min(values)


def test_a_restart_horizon_beyond_the_budget_runs_on_the_budget() -> None:
    """``restart_iters=2**62`` was accepted, then the first ``tell`` raised "max_iter is
    too large" (a name the user never passed), after counting the evaluations."""
    a = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=200, seed=0,
                                 restart_iters=2 ** 62)
    b = metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=200, seed=0,
                                 restart_iters=10 ** 6)  # also more than the budget
    xa, xb = run(a, shifted_sphere), run(b, shifted_sphere)
    assert a.nfev == 200
    assert all(np.array_equal(x, y) for x, y in zip(xa, xb, strict=True))


@pytest.mark.parametrize("algo", ["pso-ipop", "gwo-ipop"])
def test_a_run_that_finds_no_finite_value_restarts_after_its_patience(algo: str) -> None:
    """Every iteration counted as an improvement while the run's best was inf, so a run
    that never found a finite value never ended by ``restart_patience`` (199 iterations
    of an all-inf objective with patience 5)."""
    opt = metaheur.get(algo)(BOUNDS, pop_size=4, budget=400, seed=0, restart_patience=5)
    while not opt.done and opt.restarts == 0:
        X = opt.ask()
        opt.tell(X, np.full(X.shape[0], np.inf))
    assert opt.restarts == 1 and opt.nfev <= 4 + 6 * 4
    # once a finite value is found, the run improves on inf and goes on as before
    opt = metaheur.get(algo)(BOUNDS, pop_size=4, budget=400, seed=0, restart_patience=5)
    X = opt.ask()
    opt.tell(X, np.full(X.shape[0], np.inf))
    while not opt.done and opt.restarts == 0:
        X = opt.ask()
        opt.tell(X, shifted_sphere(X))
    assert opt.nfev > 4 + 6 * 4


def test_restart_xtol_is_a_fraction_of_the_box() -> None:
    """``restart_xtol=1e308`` passed the check and overflowed in every iteration; any value
    above 1 ends every run at once, like 1."""
    with pytest.raises(ValueError, match=r"restart_xtol must be .*\[0, 1\]"):
        metaheur.get("pso-ipop")(BOUNDS, budget=100, restart_xtol=1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(metaheur.get("pso-ipop")(BOUNDS, pop_size=4, budget=100, seed=0,
                                     restart_xtol=1.0), shifted_sphere)
