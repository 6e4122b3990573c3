"""Findings of an audit of the Optuna samplers used with threads, processes and ask/tell."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import optuna
import pytest
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

from metaheur.optuna import GWOSampler, _liveness
from metaheur.optuna._coordinator import Coordinator
from metaheur.optuna._scheduler import Wait

optuna.logging.set_verbosity(optuna.logging.WARNING)


class _HookedStorage(InMemoryStorage):
    """An in-memory storage that runs ``hook`` just before it writes a trial's end state
    (Optuna calls the sampler's ``after_trial`` before that write)."""

    hook: Callable[[int], None] | None = None

    def set_trial_state_values(self, trial_id: int, state: TrialState,
                               values: Any = None) -> bool:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook(trial_id)
        return super().set_trial_state_values(trial_id, state, values)


def _sphere(trial: optuna.Trial) -> float:
    return trial.suggest_float("x", -1, 1) ** 2 + trial.suggest_float("y", -1, 1) ** 2


def test_a_long_trial_being_told_keeps_its_row_in_memory() -> None:
    """In memory, a trial asked by a live thread is never re-issued, however long it runs.
    Found with three threads doing batch ``ask()``/``tell()``: the sampler stopped tracking
    the trial's thread in ``after_trial``, which Optuna calls *before* it writes the state,
    so a trial deciding in that window saw a RUNNING trial past ``wait_timeout`` with no
    live thread, re-issued its row, and the point was evaluated twice (the first value
    never told)."""
    storage = _HookedStorage()
    study = optuna.create_study(
        storage=storage, sampler=GWOSampler(seed=0, n_trials=30, pop_size=4, wait_timeout=0.2))
    study.optimize(_sphere, n_trials=1)
    asked = [study.ask() for _ in range(4)]  # the rows of the first generation
    values = [_sphere(t) for t in asked]
    time.sleep(0.4)  # every row past wait_timeout
    for t, v in zip(asked[1:], values[1:], strict=True):
        study.tell(t, v)
    got: dict[str, optuna.Trial] = {}

    def other_worker(_: int) -> None:  # decides while asked[0] is being told
        th = threading.Thread(target=lambda: got.setdefault("b", study.ask()))
        th.start()
        th.join()

    storage.hook = other_worker
    study.tell(asked[0], values[0])
    attr = "metaheur:gwo"
    a = study.trials[asked[0].number].system_attrs[attr]
    b = study.trials[got["b"].number].system_attrs[attr]
    assert (b["src"], b["gen"], b["row"]) != (a["src"], a["gen"], a["row"])
    study.tell(got["b"], _sphere(got["b"]))


def test_told_trials_are_not_tracked_for_ever() -> None:
    """The threads of told trials are forgotten once their state is written."""
    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=30, pop_size=4))
    study.optimize(_sphere, n_trials=12, n_jobs=2)
    study.ask()  # a later decision prunes the told trials
    gc.collect()
    assert len(_liveness._ASKED.get(study._storage, {})) <= 1


def test_two_threads_batch_asking_do_not_wait_for_each_other() -> None:
    """Two threads of one process, each holding ``ask()``ed trials and asking more, both
    found every row taken, partly by the other thread's trials, and each waited for the
    other until ``wait_timeout`` (60 s before any trial of the run finished): a deadlock
    the sampler can see, since the other thread waits inside it. Found with three threads
    each doing batch ``ask()``/``tell()`` (a minute's stall per batch)."""
    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=40, pop_size=6))
    study.optimize(_sphere, n_trials=1)
    sync = threading.Barrier(2)
    asked: dict[int, list[optuna.Trial]] = {0: [], 1: []}

    def worker(me: int) -> None:
        asked[me] += [study.ask(), study.ask()]
        sync.wait()
        asked[me] += [study.ask(), study.ask()]  # 5 rows: 8 asks
        for t in asked[me]:
            study.tell(t, _sphere(t))

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in (0, 1)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=90)
    assert time.monotonic() - t0 < 20
    trials = study.get_trials(deepcopy=False)
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == len(trials) == 9


def test_a_failed_decision_leaves_no_waiting_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread whose decision raised after it had waited is not taken for one that still
    waits inside the sampler (others would take spares instead of waiting for its rows)."""
    study = optuna.create_study(sampler=GWOSampler(seed=0, n_trials=20, pop_size=4))
    study.optimize(_sphere, n_trials=1)
    results: list[Any] = [Wait(0.0), RuntimeError("the storage is down")]

    def decide(*args: Any, **kwargs: Any) -> Any:
        r = results.pop(0)
        if isinstance(r, Exception):
            raise r
        assert _liveness.token() not in _liveness._WAITING
        return r

    monkeypatch.setattr(Coordinator, "decide", decide)
    with pytest.raises(RuntimeError, match="storage is down"):
        study.ask()
    assert not results
    assert _liveness.token() not in _liveness._WAITING
