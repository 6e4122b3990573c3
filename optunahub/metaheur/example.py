from __future__ import annotations

import math

import optuna
import optunahub


module = optunahub.load_module("samplers/metaheur")
DLFAOASampler = module.DLFAOASampler


if __name__ == "__main__":

    def objective(trial: optuna.trial.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        y = trial.suggest_int("y", -10, 10)
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        return (x - 2) ** 2 + (y + 3) ** 2 + (math.log10(lr) + 3) ** 2

    n_trials = 200
    # n_trials is the schedule's horizon: pass the number of trials the study will run.
    sampler = DLFAOASampler(seed=0, n_trials=n_trials)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    print(study.best_params, study.best_value)
