"""Minimise a shifted 10-d Rastrigin function with DLF-AOA and compare it with PSO and GWO.

Run:  python examples/minimize_quickstart.py        (METAHEUR_EXAMPLE_QUICK=1: tiny budget)
"""

from __future__ import annotations

import os

import numpy as np

import metaheur
from metaheur import functions

QUICK = os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0")
DIM = 10
BUDGET = 500 if QUICK else 20_000

f = functions.get("rastrigin", DIM, shift=True, seed=0)  # optimum moved away from the origin
print(f"shifted rastrigin, d={DIM}, f_opt={f.f_opt}, budget={BUDGET} evaluations")

for algo in ("dlf-aoa", "pso", "gwo"):
    res = metaheur.minimize(f, f.bounds, algo=algo, budget=BUDGET, pop_size=30, seed=0,
                            vectorized=True)  # f maps (n, d) -> (n,)
    print(f"{algo:8s} error {res.fun - f.f_opt:10.4g}  nfev {res.nfev}  nit {res.nit}  "
          f"({res.message})")

# The same algorithm as an ask/tell object, e.g. for an objective you evaluate yourself:
opt = metaheur.get("dlf-aoa")(f.bounds, pop_size=20, budget=BUDGET, seed=1)
while not opt.done:
    X = opt.ask()                       # (n, d), inside the box
    opt.tell(X, f(X))
state = opt.get_state()                 # strict JSON: save it, restore with Optimizer.from_state
print(f"ask/tell: best error {opt.best_f - f.f_opt:.4g} after {opt.nfev} evaluations; "
      f"best x within {np.abs(opt.best_x - f.x_opt).max():.3g} of the optimum")
