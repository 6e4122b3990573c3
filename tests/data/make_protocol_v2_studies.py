"""Write tests/data/protocol_v2_studies.json: studies run by metaheur 0.1.0 (commit de9bbea,
distributed protocol version 2, no reserved rows), with the trials that release asked when
it resumed each one. Run it against that release's code, from the repository root::

    mkdir /tmp/v2 && git archive de9bbea | tar -x -C /tmp/v2
    PYTHONPATH=/tmp/v2 python tests/data/make_protocol_v2_studies.py

The threaded study depends on thread timing, so a new run writes other (equally valid)
trials; the resumed trials are always those that release asked from the trials stored.
``freeze``, ``thaw`` and ``make_sampler`` are also what tests/test_optuna_upgrade.py uses.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.trial import FrozenTrial, TrialState

SPACE = {
    "x0": FloatDistribution(-5.0, 5.0),
    "x1": FloatDistribution(-5.0, 5.0),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "k": IntDistribution(1, 64, log=True),
    "act": CategoricalDistribution(["relu", "tanh", "elu"]),
}
RESUMED = 10  # trials the old release asked after resuming each study


def value(p: dict[str, Any]) -> float:
    """The objective every study was run with (deterministic)."""
    shift = {"relu": 0.0, "tanh": 0.5, "elu": 1.0}[p["act"]]
    return ((p["x0"] - 1.0) ** 2 + (p["x1"] + 0.5) ** 2 + (p["k"] - 20) ** 2 / 100.0
            + abs(p["lr"] - 0.01) * 10.0 + shift)


def objective(trial: optuna.Trial) -> float:
    return value({n: (trial.suggest_categorical(n, d.choices)
                      if isinstance(d, CategoricalDistribution)
                      else trial.suggest_int(n, d.low, d.high, log=d.log)
                      if isinstance(d, IntDistribution)
                      else trial.suggest_float(n, d.low, d.high, log=d.log))
                  for n, d in SPACE.items()})


def freeze(study: optuna.Study) -> list[dict[str, Any]]:
    """The study's trials as JSON data (system attributes exactly as stored)."""
    out = []
    for t in study.get_trials(deepcopy=True):
        assert t.state.is_finished(), "only finished trials are frozen"
        out.append({
            "number": t.number, "state": t.state.name, "value": t.value,
            "params": t.params,
            "distributions": {n: distribution_to_json(d) for n, d in t.distributions.items()},
            "start": t.datetime_start.isoformat(), "complete": t.datetime_complete.isoformat(),
            "system_attrs": t.system_attrs,
        })
    return out


def thaw(trials: list[dict[str, Any]], study: optuna.Study) -> None:
    """Add frozen trials to an empty ``study`` (they get their numbers back)."""
    for k, d in enumerate(trials):
        assert d["number"] == k
        study.add_trial(FrozenTrial(
            number=k, state=TrialState[d["state"]], value=d["value"],
            datetime_start=datetime.datetime.fromisoformat(d["start"]),
            datetime_complete=datetime.datetime.fromisoformat(d["complete"]),
            params=d["params"],
            distributions={n: json_to_distribution(s) for n, s in d["distributions"].items()},
            user_attrs={}, system_attrs=d["system_attrs"], intermediate_values={},
            trial_id=0,
        ))


def _serial(sampler: Any) -> optuna.Study:
    """One worker; the seventh trial is interrupted (Ctrl-C), the worker restarted."""
    study = optuna.create_study(sampler=sampler())

    def interrupted(trial: optuna.Trial) -> float:
        if trial.number == 6:
            objective(trial)
            raise KeyboardInterrupt
        return objective(trial)

    try:
        study.optimize(interrupted, n_trials=8)
    except KeyboardInterrupt:
        pass
    restarted = optuna.load_study(study_name=study.study_name, storage=study._storage,
                                  sampler=sampler())
    restarted.optimize(objective, n_trials=4)
    return restarted


def _threads(sampler: Any) -> optuna.Study:
    """Three workers (one sampler each, as in three processes), trials of 10-50 ms."""
    storage = optuna.storages.InMemoryStorage()
    name = optuna.create_study(storage=storage).study_name
    studies = [optuna.load_study(study_name=name, storage=storage, sampler=sampler())
               for _ in range(3)]

    def slow(trial: optuna.Trial) -> float:
        v = objective(trial)
        time.sleep(0.01 + 0.04 * ((trial.number * 7) % 5) / 4)
        return v

    threads = [threading.Thread(target=s.optimize, args=(slow,), kwargs={"n_trials": 6})
               for s in studies]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return studies[0]


def make_sampler(opts: dict[str, Any]) -> Any:
    """The sampler a case was run with (``search_space: true`` stands for ``SPACE``)."""
    from metaheur.optuna import MetaheuristicSampler

    kw = dict(opts)
    algo = kw.pop("algo")
    if kw.pop("search_space", False):
        kw["search_space"] = SPACE
    return MetaheuristicSampler(algo, **kw)


CASES = {  # name -> (sampler options, how the old release ran the study)
    "gwo-serial": (
        {"algo": "gwo", "pop_size": 4, "seed": 11, "n_trials": 40, "search_space": True},
        _serial,
    ),
    "pso-speculative-threads": (
        {"algo": "pso", "pop_size": 5, "seed": 12, "n_trials": 40, "speculative": True},
        _threads,
    ),
}


def main() -> None:
    from metaheur.optuna import _protocol

    assert _protocol.VERSION == 2, "run this against metaheur 0.1.0 (commit de9bbea)"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = []
    for name, (opts, run) in CASES.items():
        trials = freeze(run(lambda opts=opts: make_sampler(opts)))
        resumed = optuna.create_study(sampler=make_sampler(opts))
        thaw(trials, resumed)
        resumed.optimize(objective, n_trials=RESUMED)
        asked = [t.params for t in resumed.trials[len(trials):]]
        out.append({"name": name, "sampler": opts, "trials": trials, "resumed": asked})
    path = Path(__file__).with_name("protocol_v2_studies.json")
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
