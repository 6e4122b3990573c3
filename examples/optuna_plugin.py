"""A metaheur sampler in an ordinary Optuna project: tune an SVM on scikit-learn's digits.

The sampler is a drop-in ``optuna.samplers.BaseSampler``: studies, storages, pruners and
visualisation work as usual. Its population lives in the study's storage, so several
processes run one swarm when each opens the same study (``storage="sqlite:///svm.db"`` or
PostgreSQL, ``study_name="svm", load_if_exists=True``) with the same sampler settings, and
``n_trials`` the total over all of them (docs/distributed.md).

Run:  python examples/optuna_plugin.py         (METAHEUR_EXAMPLE_QUICK=1: 8 trials)
"""

from __future__ import annotations

import os

import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

from metaheur.optuna import GWOSampler

QUICK = os.environ.get("METAHEUR_EXAMPLE_QUICK", "") not in ("", "0")
N_TRIALS = 8 if QUICK else 60

X, y = load_digits(return_X_y=True)
if QUICK:
    X, y = X[:300], y[:300]


def objective(trial: optuna.Trial) -> float:
    C = trial.suggest_float("C", 1e-3, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-5, 1e-1, log=True)
    kernel = trial.suggest_categorical("kernel", ["rbf", "sigmoid"])
    return cross_val_score(SVC(C=C, gamma=gamma, kernel=kernel), X, y, cv=3).mean()


optuna.logging.set_verbosity(optuna.logging.WARNING)
# n_trials is the schedule horizon of the metaheuristic (its iterations are planned for it).
sampler = GWOSampler(pop_size=4 if QUICK else 10, seed=0, n_trials=N_TRIALS)
study = optuna.create_study(direction="maximize", sampler=sampler)
study.optimize(objective, n_trials=N_TRIALS)
print(f"best accuracy {study.best_value:.4f} with {study.best_params}")
print(study.trials_dataframe(attrs=("number", "value", "params"))
      .sort_values("value", ascending=False).head(5).to_string(index=False))
