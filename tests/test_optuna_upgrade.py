"""Studies begun by metaheur 0.1.0 (distributed protocol version 2, no reserved rows) go on
with this version: same population, nothing repeated or lost, the same points asked.

The fixture, tests/data/protocol_v2_studies.json, was written by that release's own code
(commit de9bbea, tests/data/make_protocol_v2_studies.py): a serial GWO study whose seventh
trial was interrupted, and a speculative PSO study of three threaded workers (spares that
moved into later generations), each with the ten trials that release asked when resumed.
"""

from __future__ import annotations

import importlib.util
import json
import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from metaheur.optuna._audit import audit

optuna.logging.set_verbosity(optuna.logging.WARNING)

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_v2", DATA / "make_protocol_v2_studies.py")
assert _spec is not None and _spec.loader is not None
make_v2 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_v2)
CASES = {c["name"]: c for c in json.loads((DATA / "protocol_v2_studies.json").read_text())}
UPGRADE = "protocol version 2; this version \\(3\\) reads them and continues their run"


def resumed_study(case: dict[str, Any], storage: Any = None) -> optuna.Study:
    study = optuna.create_study(storage=storage or optuna.storages.InMemoryStorage())
    make_v2.thaw(case["trials"], study)
    return study


def ticket(t: optuna.trial.FrozenTrial, case: dict[str, Any]) -> dict[str, Any]:
    return t.system_attrs["metaheur:" + case["sampler"]["algo"]]


def old_head(case: dict[str, Any]) -> dict[str, Any]:
    claims = [t["system_attrs"]["metaheur:" + case["sampler"]["algo"]] for t in case["trials"]]
    return [c for c in claims if "run" in c][-1]


def same_params(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Equal parameters; floats to 1e-12 relative (the old release ran in another process,
    possibly on another CPU: elementwise NumPy arithmetic, no reductions in these steps)."""
    return got.keys() == want.keys() and all(
        math.isclose(got[k], v, rel_tol=1e-12) if isinstance(v, float) else got[k] == v
        for k, v in want.items())


def check_counts(study: optuna.Study, case: dict[str, Any]) -> None:
    a = audit(study, case["sampler"]["algo"])
    interrupted = sum(t["system_attrs"].get("metaheur:end", {}).get("interrupted") is True
                      for t in case["trials"])
    assert (a.repeated, a.never_told, a.unused_spares, a.running) == (0, 0, 0, 0)
    assert a.reissued == interrupted  # the interrupted row, evaluated again once


@pytest.mark.parametrize("name", sorted(CASES))
def test_version_2_study_continues_as_the_old_release_would(name: str) -> None:
    case = CASES[name]
    study = resumed_study(case)
    study.sampler = make_v2.make_sampler(case["sampler"])
    with pytest.warns(UserWarning, match=UPGRADE):
        study.optimize(make_v2.objective, n_trials=len(case["resumed"]))
    new = study.trials[len(case["trials"]):]
    assert all(t.state == TrialState.COMPLETE for t in new)
    for t, want in zip(new, case["resumed"], strict=True):
        assert same_params(t.params, want), (t.number, t.params, want)
    head = old_head(case)
    first = ticket(new[0], case)
    assert (first["run"], first["src"], first["gen"]) == (head["run"], head["src"], head["gen"])
    assert all(ticket(t, case)["run"] == head["run"] for t in new)  # one population
    check_counts(study, case)
    # the old generation is told its old trials' values, in a record of this version
    told = [t.system_attrs[f"metaheur:{case['sampler']['algo']}:gen:{head['gen'] + 1}"]
            for t in new if f"metaheur:{case['sampler']['algo']}:gen:{head['gen'] + 1}"
            in t.system_attrs]
    assert len(told) == 1 and told[0]["v"] == 3
    old_numbers = {t["number"] for t in case["trials"]}
    assert {n for _, n in told[0]["told"]} & old_numbers


@pytest.mark.parametrize("name", sorted(CASES))
def test_version_2_study_continues_with_several_workers(name: str) -> None:
    """Three workers (a sampler each) resume the study at once: the old run goes on."""
    case = CASES[name]
    storage = optuna.storages.InMemoryStorage()
    base = resumed_study(case, storage)
    studies = [optuna.load_study(study_name=base.study_name, storage=storage,
                                 sampler=make_v2.make_sampler(case["sampler"]))
               for _ in range(3)]
    import threading

    errors: list[BaseException] = []

    def work(s: optuna.Study) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s.optimize(make_v2.objective, n_trials=8)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in studies]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads) and not errors, errors
    new = base.trials[len(case["trials"]):]
    assert len(new) == 24 and all(t.state == TrialState.COMPLETE for t in new)
    assert all(ticket(t, case)["run"] == old_head(case)["run"] for t in new)
    check_counts(base, case)
