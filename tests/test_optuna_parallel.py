"""Several processes, each with its own sampler, run one metaheuristic through one storage.

SQLite with Optuna's heartbeat, JournalFileBackend without one (with Optuna's lock and with
``JournalFlockLock``), and PostgreSQL when ``METAHEUR_TEST_POSTGRES_URL`` names a server
(the CI script ``.ci/run`` starts one). Seeds differ per worker (as ``seed=None`` does),
and one worker is SIGKILLed mid-trial. The counts of issue 11 are asserted: nothing
repeated, nothing completed and never told, the dead row re-issued exactly once, nothing
left RUNNING when the storage has a heartbeat. In the speculative mode (issue 11's
asynchronous mode) every spare's result is told as well.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import uuid
import warnings
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

ALGO = "gwo"
POP, N_WORKERS, PER_WORKER = 4, 3, 8
SPACE = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(4)}
POSTGRES_URL = os.environ.get("METAHEUR_TEST_POSTGRES_URL")


def _storage(url: str) -> Any:
    if url.startswith(("journal:", "journal-flock:")):
        from optuna.storages.journal import JournalFileBackend

        from metaheur.optuna import JournalFlockLock

        kind, path = url.split(":", 1)
        lock = JournalFlockLock(path) if kind == "journal-flock" else None
        return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=lock))
    heartbeat = {"heartbeat_interval": 1, "grace_period": 3}
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, **heartbeat)


def _worker(url: str, study_name: str, worker: int, speculative: bool = False) -> None:
    from metaheur.optuna import MetaheuristicSampler

    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = MetaheuristicSampler(ALGO, pop_size=POP, seed=worker, n_trials=40,
                                   search_space=SPACE, wait_timeout=2.0,
                                   speculative=speculative)
    study = optuna.load_study(study_name=study_name, storage=_storage(url), sampler=sampler)
    count = 0

    def objective(trial: optuna.Trial) -> float:
        nonlocal count
        count += 1
        x = [trial.suggest_float(n, d.low, d.high) for n, d in SPACE.items()]
        if worker == 0 and count == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # dies mid-trial
        if speculative:  # the last row of each generation is slow: the others idle
            c = study._storage.get_trial(trial._trial_id).system_attrs[f"metaheur:{ALGO}"]
            time.sleep(0.15 if c.get("row") == POP - 1 else 0.01)
        else:
            time.sleep(0.01 * (1 + trial.number % 3))
        return sum((v - 1.0) ** 2 for v in x)

    study.optimize(objective, n_trials=PER_WORKER)


def _run_workers(url: str, speculative: bool = False) -> optuna.Study:
    study_name = f"metaheur-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=study_name, storage=_storage(url))
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, study_name, w, speculative))
             for w in range(N_WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.kill()
    assert not alive, "a worker deadlocked"
    assert [p.exitcode for p in procs] == [-signal.SIGKILL] + [0] * (N_WORKERS - 1)
    return optuna.load_study(study_name=study_name, storage=_storage(url))


def _check(study: optuna.Study, heartbeat: bool, speculative: bool = False) -> None:
    from metaheur.optuna._audit import audit

    a = audit(study, ALGO)
    assert a.complete == 1 + (N_WORKERS - 1) * PER_WORKER
    assert a.repeated == 0
    assert a.never_told == 0
    assert a.unused_spares == 0
    if speculative:
        assert a.spares > 0 and a.moved > 0
    if heartbeat and a.running:
        # Nobody waited for the dead trial's row (speculative spares took it, or, on a loaded
        # machine where worker 0 started late, it died in the last generation): the study may
        # end within the heartbeat's grace period, before any trial start fails it. Its claim
        # holds a heartbeat, so the next start (here: fail_stale_trials) does.
        time.sleep(4.0)  # grace_period=3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.storages.fail_stale_trials(study)
        a = audit(study, ALGO)
    assert a.running == (0 if heartbeat else 1)
    # the dead worker's trial: failed by the heartbeat, or RUNNING forever without one
    (dead,) = [t for t in study.trials if t.state == TrialState.RUNNING
               or (t.state == TrialState.FAIL and "metaheur:end" not in t.system_attrs)]
    # Its row is re-issued exactly once, if it held one (a trial that found itself presumed
    # dead by the others, on an overloaded machine, takes no part in the run) and if its
    # generation was told; in the last generation the other workers may have finished
    # their trials on its other rows before anyone needed it.
    c = dead.system_attrs.get(f"metaheur:{ALGO}", {})
    claims = [t.system_attrs[f"metaheur:{ALGO}"] for t in study.trials
              if "run" in t.system_attrs.get(f"metaheur:{ALGO}", {})]
    current = max(claims, key=lambda h: (h["src"], h["gen"]))
    if c.get("row") is None:
        assert a.reissued == 0
    elif (c["src"], c["gen"]) == (current["src"], current["gen"]):
        assert a.reissued <= 1
    else:
        assert a.reissued == 1
    assert a.generations >= a.complete // POP - 1
    for told in a.told_rows.values():
        assert sorted(told) == list(range(len(told)))
    # No assertion that the best value improves on the first generation's: with 17 trials
    # from differently seeded workers it usually does, but not always (a CI rehearsal drew
    # a first point at 6.53 that three GWO generations did not beat). What must hold is
    # asserted above: every result told, spares used, rows re-issued once. Quality against
    # serial runs is measured by benchmarks/distributed.py --quality.


@pytest.mark.slow
def test_processes_share_one_sqlite_file_with_heartbeat(tmp_path: Any) -> None:
    _check(_run_workers(f"sqlite:///{tmp_path / 'study.db'}"), heartbeat=True)


@pytest.mark.slow
def test_processes_share_one_journal_file(tmp_path: Any) -> None:
    _check(_run_workers(f"journal:{tmp_path / 'journal.log'}"), heartbeat=False)


@pytest.mark.slow
def test_speculative_processes_share_one_sqlite_file_and_use_every_spare(tmp_path: Any
                                                                        ) -> None:
    _check(_run_workers(f"sqlite:///{tmp_path / 'study.db'}", speculative=True),
           heartbeat=True, speculative=True)


@pytest.mark.slow
def test_speculative_processes_share_one_journal_file(tmp_path: Any) -> None:
    _check(_run_workers(f"journal:{tmp_path / 'journal.log'}", speculative=True),
           heartbeat=False, speculative=True)


@pytest.mark.slow
def test_speculative_processes_share_one_journal_file_with_the_flock_lock(tmp_path: Any
                                                                          ) -> None:
    _check(_run_workers(f"journal-flock:{tmp_path / 'journal.log'}", speculative=True),
           heartbeat=False, speculative=True)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(POSTGRES_URL is None,
                    reason="set METAHEUR_TEST_POSTGRES_URL to a PostgreSQL server to run it")
@pytest.mark.parametrize("speculative", [False, True])
def test_processes_share_one_postgres_database(speculative: bool) -> None:
    assert POSTGRES_URL is not None
    _check(_run_workers(POSTGRES_URL, speculative), heartbeat=True, speculative=speculative)
