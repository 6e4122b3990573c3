"""Several processes, each with its own sampler, run one metaheuristic through one storage.

SQLite always; PostgreSQL when ``METAHEUR_TEST_POSTGRES_URL`` names a server (the CI script
``.ci/run`` starts one). One worker kills itself mid-trial, leaving a RUNNING trial forever:
the others must re-issue its row after ``wait_timeout`` instead of deadlocking.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

ALGO = "gwo"
ATTR = "metaheur:" + ALGO
POP, N_WORKERS, PER_WORKER, WAIT = 6, 4, 15, 1.0
SPACE = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(4)}
POSTGRES_URL = os.environ.get("METAHEUR_TEST_POSTGRES_URL")


def _storage(url: str) -> optuna.storages.RDBStorage:
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def _worker(url: str, study_name: str, worker: int) -> None:
    from metaheur.optuna import MetaheuristicSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = MetaheuristicSampler(ALGO, pop_size=POP, seed=0, n_trials=60,
                                   search_space=SPACE, wait_timeout=WAIT)
    study = optuna.load_study(study_name=study_name, storage=_storage(url), sampler=sampler)
    count = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal count
        count += 1
        x = [trial.suggest_float(n, d.low, d.high) for n, d in SPACE.items()]
        if worker == 0 and count == 3:
            os._exit(0)  # killed mid-trial: its trial stays RUNNING forever
        time.sleep(0.005 * (1 + trial.number % 3))
        return sum((v - 1.0) ** 2 for v in x)

    study.optimize(objective, n_trials=PER_WORKER)


def _run_workers(url: str) -> optuna.Study:
    study_name = f"metaheur-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=study_name, storage=_storage(url))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, study_name, w)) for w in range(N_WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=90)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a worker deadlocked"
    assert [p.exitcode for p in procs] == [0] * N_WORKERS
    return optuna.load_study(study_name=study_name, storage=_storage(url))


def _check(study: optuna.Study) -> None:
    trials = study.trials
    running = [t for t in trials if t.state == TrialState.RUNNING]
    assert len(running) == 1  # the killed worker's trial
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 2 + (N_WORKERS - 1) * PER_WORKER
    attrs = [t.system_attrs[ATTR] for t in trials]
    last = max(a["gen"] for a in attrs)
    assert last >= len(complete) // POP - 2
    key = next(k for k in study._storage.get_study_system_attrs(study._study_id)
               if k.startswith(ATTR))
    record = study._storage.get_study_system_attrs(study._study_id)[key]
    assert record["gen"] >= last
    # every generation that was told had each of its rows evaluated (or re-issued)
    for g in range(record["gen"]):
        rows = {a["row"] for a in attrs if a["gen"] == g and a["token"]}
        assert rows == set(range(POP)), (g, rows)
    first = min(t.value for t in complete[:POP])
    assert study.best_value < first


@pytest.mark.slow
def test_four_processes_share_one_sqlite_file(tmp_path) -> None:
    study = _run_workers(f"sqlite:///{tmp_path / 'study.db'}")
    _check(study)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None,
                    reason="set METAHEUR_TEST_POSTGRES_URL to a PostgreSQL server to run it")
def test_four_processes_share_one_postgres_database() -> None:
    assert POSTGRES_URL is not None
    study = _run_workers(POSTGRES_URL)
    _check(study)
