"""Add a metaheuristic to metaheur: write the maths, register it, use it everywhere.

The class below is a plain (mu, lambda) evolution strategy with a 1/5th-success step-size rule,
written against the ``Optimizer`` hooks: ``_init_state`` (after the initial population),
``_ask`` (candidates of iteration t) and ``_tell`` (commit them), plus the ``population``
property. ``metaheur.register`` makes it available by name, in this process, to
``metaheur.get``, ``minimize`` and the Optuna ``MetaheuristicSampler``, with its restart
variant ``"my-es-ipop"`` (made on first use). The same class defined again (a notebook cell
run twice, ``importlib.reload``) is registered in place of the old definition.

The ``metaheur`` command runs in a process of its own, which never imports this script: it
sees the algorithms that installed packages publish through an entry point in their
pyproject.toml (loaded on the first ``metaheur.get``/``available``, never by ``import
metaheur``, so the module may import metaheur itself; no ``register`` needed)::

    [project.entry-points."metaheur.optimizers"]
    my-es = "my_package.es:SimpleES"

after which ``metaheur bench --algos my-es,my-es-ipop`` runs it.

Run:  python examples/custom_algorithm.py       (METAHEUR_EXAMPLE_QUICK=1: tiny budget)
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import optuna
from numpy.typing import NDArray

import metaheur
from metaheur import functions
from metaheur.optuna import MetaheuristicSampler

QUICK = os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0")


@metaheur.register
class SimpleES(metaheur.Optimizer):
    """(mu, lambda)-ES: lambda = pop_size children around the mean of the mu best parents."""

    name = "my-es"
    summary = "toy (mu, lambda) evolution strategy with the 1/5th success rule"
    reference = "Rechenberg (1973); Beyer & Schwefel, Natural Computing 1 (2002) 3-52"
    defaults: ClassVar[dict] = {"sigma0": 0.3, "mu_ratio": 0.5}
    _state_fields = ("_mean", "_sigma", "_X", "_f", "_prev_best")  # exported by get_state()

    def _init_state(self, X: NDArray, f: NDArray) -> None:
        self._X, self._f = X.copy(), f.copy()
        self._mean = X[np.argmin(f)].copy()
        self._sigma = self.sigma0 * (self.upper - self.lower)
        self._prev_best = self.best_f

    def _ask(self, t: int, r: int) -> NDArray:
        Z = self.rng.standard_normal((self.pop_size, self.dim))  # one draw per generation
        return self._mean + self._sigma * Z  # the base class clips to the box

    def _tell(self, t: int, r: int, X: NDArray, f: NDArray) -> None:
        mu = max(1, int(self.mu_ratio * self.pop_size))
        success = np.mean(f < self._prev_best)  # share of children beating the previous best
        self._sigma = self._sigma * np.exp((success - 0.2) / 0.8)  # 1/5th rule
        order = np.argsort(f, kind="stable")[:mu]
        self._mean = X[order].mean(axis=0)
        self._X, self._f = X, f
        self._prev_best = self.best_f

    @property
    def population(self) -> tuple[NDArray, NDArray]:
        return self._X, self._f


print("registered:", ", ".join(metaheur.available()))
opt = SimpleES([(-1, 1)] * 3, pop_size=6, budget=60, seed=0)
opt.tell(X := opt.ask(), (X**2).sum(axis=1))
opt.tell(X := opt.ask(), (X**2).sum(axis=1))
restored = metaheur.Optimizer.from_state(opt.get_state())  # JSON state round trip
assert np.array_equal(restored.ask(), opt.ask())
f = functions.get("sphere", 5, shift=True, seed=0)
res = metaheur.minimize(f, f.bounds, algo="my-es", budget=300 if QUICK else 5_000, pop_size=12,
                        seed=0, vectorized=True)
print(f"my-es on shifted sphere: error {res.fun - f.f_opt:.3g} in {res.nfev} evaluations")

# The same class drives an Optuna study through the generic sampler.
optuna.logging.set_verbosity(optuna.logging.WARNING)
n_trials = 12 if QUICK else 60
study = optuna.create_study(sampler=MetaheuristicSampler("my-es", pop_size=6, seed=0,
                                                         n_trials=n_trials))
study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2
               + (t.suggest_float("y", -3, 3) + 0.5) ** 2, n_trials=n_trials)
print(f"my-es as an Optuna sampler: best {study.best_value:.3g} at {study.best_params}")
