"""Several samplers on one storage: the reproductions of issue 11's causes, in one process.

Each worker is its own sampler instance (as in its own process) on a shared storage; the
counts come from :func:`metaheur.optuna._audit.audit`, which reads only what the protocol
stores (docs: metaheur/optuna/_protocol.py).
"""

from __future__ import annotations

import _thread
import collections
import math
import pickle
import sys
import threading
import time
import warnings
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from metaheur.optuna import MetaheuristicSampler
from metaheur.optuna._audit import audit
from metaheur.optuna._coordinator import Coordinator
from metaheur.optuna._runspace import RunSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)

ATTR = "metaheur:"
SPACE = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(3)}


def value(p: dict[str, Any]) -> float:
    return sum((p[f"x{i}"] - 1.0) ** 2 for i in range(3))


def objective(trial: optuna.Trial) -> float:
    return value({n: trial.suggest_float(n, d.low, d.high) for n, d in SPACE.items()})


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    return {n: trial.suggest_float(n, d.low, d.high) for n, d in SPACE.items()}


def worker_study(storage: Any, name: str, **kw: Any) -> optuna.Study:
    kw = {"pop_size": 4, "seed": 0, "n_trials": 40, "search_space": SPACE} | kw
    return optuna.load_study(study_name=name, storage=storage,
                             sampler=MetaheuristicSampler(kw.pop("algo", "gwo"), **kw))


def claim(t: optuna.trial.FrozenTrial, algo: str = "gwo") -> dict[str, Any]:
    return t.system_attrs[ATTR + algo]


def speculative_pair() -> tuple[optuna.Study, optuna.Study, list[optuna.Trial]]:
    """Two speculative workers on one in-memory study, and generation 0's four rows asked
    alternately by them (all still running)."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    a, b = (worker_study(storage, "s", speculative=True) for _ in range(2))
    return a, b, [(a if i % 2 == 0 else b).ask() for i in range(4)]


def table(study: optuna.Study, algo: str = "gwo") -> str:
    """The trials' claims, for assertion messages."""
    rows = []
    for t in study.trials:
        c = t.system_attrs.get(ATTR + algo, {})
        rows.append(f"#{t.number} {t.state.name} src={c.get('src')} gen={c.get('gen')} "
                    f"row={c.get('row')} end={t.system_attrs.get('metaheur:end')} "
                    f"{t.datetime_start} {t.datetime_complete}")
    return "\n".join(rows)


def run_threads(studies: list[optuna.Study], n: int, obj: Any = objective,
                timeout: float = 60) -> None:
    errors: list[BaseException] = []

    def work(s: optuna.Study) -> None:
        try:
            s.optimize(obj, n_trials=n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in studies]
    for th in threads:
        th.start()
    t0 = time.monotonic()
    for th in threads:
        th.join(max(0.0, timeout - (time.monotonic() - t0)))
    assert not any(th.is_alive() for th in threads), "a worker deadlocked"
    assert not errors, errors


# ------------------------------------------------------------- cause 1: lost row race
def test_racing_samplers_never_share_a_row() -> None:
    """Workers deciding at the same instant (a barrier before every ask) on one storage:
    trials are ordered by number, so no row is claimed twice and nothing is repeated."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    studies = [worker_study(storage, "s") for _ in range(3)]
    barrier = threading.Barrier(3, timeout=20)

    def obj(trial: optuna.Trial) -> float:
        p = suggest(trial)
        time.sleep(0.002 * (trial.number % 3))
        return value(p)

    def work(s: optuna.Study) -> None:
        for _ in range(12):
            barrier.wait()
            s.optimize(obj, n_trials=1)

    threads = [threading.Thread(target=work, args=(s,), daemon=True) for s in studies]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    a = audit(studies[0], "gwo")
    assert a.complete == 36
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0)
    assert a.generations >= 36 // 4 - 1


# ------------------------------------------------ causes 2 and 3: dead and slow trials
def _ask_in_a_thread_that_ends(study: optuna.Study) -> optuna.Trial:
    """A trial whose worker (a thread, in memory) dies mid-trial."""
    asked: list[optuna.Trial] = []
    th = threading.Thread(target=lambda: asked.append(study.ask()))
    th.start()
    th.join()
    return asked[0]


def test_dead_row_is_reissued_exactly_once_without_heartbeat() -> None:
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    ghost = _ask_in_a_thread_that_ends(worker_study(storage, "s"))
    suggest(ghost)
    studies = [worker_study(storage, "s", wait_timeout=0.3) for _ in range(3)]
    t0 = time.monotonic()
    run_threads(studies, 8)
    assert time.monotonic() - t0 < 10
    trials = studies[0].trials
    assert trials[0].state == TrialState.RUNNING  # no heartbeat: nobody can fail it
    row0 = [t for t in trials if claim(t).get("row") == claim(trials[0])["row"]
            and claim(t)["gen"] == 0]
    assert len(row0) == 2  # the ghost and exactly one re-issue
    a = audit(studies[0], "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 1, 0, 1)


def _heartbeat_storage(tmp_path: Any) -> optuna.storages.RDBStorage:
    return optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'hb.db'}", heartbeat_interval=1,
                                      grace_period=3)


@pytest.mark.slow
@pytest.mark.parametrize("beats", [1, 0])
def test_dead_row_with_heartbeat_is_failed_and_reissued_once(tmp_path: Any,
                                                             beats: int) -> None:
    """With ``beats=0`` the worker dies after its claim but before Optuna's heartbeat
    thread beat once (the thread starts after ``ask``): the claim itself must leave a
    heartbeat, or the trial stays RUNNING forever and every other worker waits for it."""
    storage = _heartbeat_storage(tmp_path)
    optuna.create_study(study_name="s", storage=storage)
    ghost = worker_study(storage, "s").ask()
    suggest(ghost)
    for _ in range(beats):
        storage.record_heartbeat(ghost._trial_id)  # then it dies: no more heartbeats
    studies = [worker_study(storage, "s", wait_timeout=0.3) for _ in range(2)]
    run_threads(studies, 8, timeout=20)
    trials = studies[0].trials
    assert trials[0].state == TrialState.FAIL  # failed by Optuna's heartbeat check
    a = audit(studies[0], "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 1, 0, 0), table(studies[0])


def _retry_once() -> dict[str, Any]:
    """``RDBStorage`` arguments that retry a heartbeat-failed trial once, by the callback's
    current name (Optuna >= 4.9) or its former one (the floors' Optuna)."""
    storages = optuna.storages
    if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):
        return {"heartbeat_stale_trial_callback":
                storages.RetryHeartbeatStaleTrialCallback(max_retry=1)}
    return {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)}


@pytest.mark.slow
def test_a_retried_trial_holds_its_row_and_its_point_is_evaluated_once(
        tmp_path: Any) -> None:
    """Regression (session 28's audit): Optuna's retry callback re-queues a trial failed by
    the heartbeat as a WAITING trial with its parameters and system attributes, the claim
    included. A trial deciding while that retry waited saw the row open (WAITING is not
    running) and re-issued it, and then the retry evaluated the same point again: one
    configuration, two trials. The retry now holds its row. Optuna 4.9 renamed the callback
    (``RetryFailedTrialCallback`` → ``RetryHeartbeatStaleTrialCallback``, and its storage
    argument); the test uses the name of the Optuna it runs on."""
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{tmp_path / 'retry.db'}", heartbeat_interval=1, grace_period=1,
        **_retry_once())
    optuna.create_study(study_name="s", storage=storage)
    first = worker_study(storage, "s")
    first.optimize(objective, n_trials=1 + 4 + 2)  # generation 1: rows 0-1 done
    ghost = first.ask()  # row 2: its worker dies after the claim
    suggest(ghost)
    last = first.ask()  # row 3: completes; the next trial decides only on row 2
    first.tell(last, value(suggest(last)))
    survivor = worker_study(storage, "s", wait_timeout=0.3)
    survivor.optimize(objective, n_trials=6)
    trials = survivor.trials
    assert trials[ghost.number].state == TrialState.FAIL
    assert any(t.system_attrs.get("failed_trial") == ghost.number for t in trials)
    complete = [tuple(sorted(t.params.items())) for t in trials
                if t.state == TrialState.COMPLETE]
    assert len(complete) == len(set(complete)), table(survivor)

@pytest.mark.slow
def test_slow_live_trial_is_not_reissued_with_heartbeat(tmp_path: Any) -> None:
    storage = _heartbeat_storage(tmp_path)
    optuna.create_study(study_name="s", storage=storage)

    def obj(trial: optuna.Trial) -> float:
        p = suggest(trial)
        time.sleep(2.5 if trial.number == 1 else 0.01)
        return value(p)

    studies = [worker_study(storage, "s", wait_timeout=0.3) for _ in range(2)]
    run_threads(studies, 5, obj)
    a = audit(studies[0], "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(studies[0])


# ------------------------------------------- a live worker presumed dead (overload)
def _stall_claims(monkeypatch: pytest.MonkeyPatch, storage: Any, thread: str
                  ) -> tuple[threading.Event, threading.Event]:
    """Make ``thread``'s claim writes stall until released (a storage write blocked on a
    lock of an overloaded machine)."""
    stalled, release = threading.Event(), threading.Event()
    write = storage.set_trial_system_attr

    def set_attr(trial_id: int, key: str, value: Any) -> None:
        if (key == ATTR + "gwo" and isinstance(value, dict) and "run" in value
                and threading.current_thread().name == thread):
            stalled.set()
            release.wait(20)
        write(trial_id, key, value)

    monkeypatch.setattr(storage, "set_trial_system_attr", set_attr)
    return stalled, release


@pytest.mark.parametrize("seed", [0, None])
def test_claim_stalled_past_grace_is_withdrawn_so_nothing_forks(
        monkeypatch: pytest.MonkeyPatch, seed: int | None) -> None:
    """Trial 0's claim write stalls past GRACE; trial 1 (another worker) presumes it dead
    and makes generation 0 itself. Trial 0's claim lands afterwards: it must not make a
    second generation 0 (a fork: with one seed both evaluate row 0, with two seeds one
    chain's results are never told). It finds the mark and withdraws."""
    from metaheur.optuna import _protocol

    monkeypatch.setattr(_protocol, "GRACE", 0.3)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    stalled, release = _stall_claims(monkeypatch, storage, "slow")
    slow, fast = worker_study(storage, "s", seed=seed), worker_study(storage, "s", seed=seed)
    asked: list[optuna.Trial] = []
    th = threading.Thread(target=lambda: asked.append(slow.ask()), name="slow", daemon=True)
    th.start()
    assert stalled.wait(20)
    time.sleep(0.5)  # trial 0 silent for longer than GRACE
    t1 = fast.ask()
    release.set()
    th.join(20)
    (t0,) = asked
    p0, p1 = suggest(t0), suggest(t1)
    assert p0 != p1
    slow.tell(t0, value(p0))
    fast.tell(t1, value(p1))
    for _ in range(5):
        slow.optimize(objective, n_trials=1)
        fast.optimize(objective, n_trials=1)
    trials = slow.trials
    assert claim(trials[0]) == {"v": 3, "skip": True}, table(slow)  # withdrawn
    assert claim(trials[1])["row"] == 0 and claim(trials[1])["gen"] == 0
    assert all(claim(t)["src"] != 0 for t in trials[1:])  # one chain of records
    a = audit(slow, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(slow)
    assert (a.presumed, a.withdrawn) == (1, 1)


def test_claim_seen_by_the_trial_that_marked_it_is_counted_then_withdrawn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides see each other: trial 0's late claim lands after trial 1 marked it but
    before trial 1 reads again, and trial 0 reads the mark. Trial 1 counts the claim
    (takes row 1, not row 0); trial 0 withdraws; row 0 goes to the next trial."""
    from metaheur.optuna import _protocol

    monkeypatch.setattr(_protocol, "GRACE", 0.3)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    stalled, marked, landed, read = (threading.Event() for _ in range(4))
    set_attr, get_all, get_trial = (storage.set_trial_system_attr, storage.get_all_trials,
                                    storage.get_trial)

    def stalled_set(trial_id: int, key: str, value: Any) -> None:
        me = threading.current_thread().name
        if me == "slow" and key == ATTR + "gwo" and "run" in value:
            stalled.set()
            assert marked.wait(20)  # stalled until trial 1 has marked it
            set_attr(trial_id, key, value)
            landed.set()
            return
        set_attr(trial_id, key, value)
        if me == "fast" and key.endswith(":presumed-dead"):
            marked.set()

    def fast_read(*args: Any, **kw: Any) -> Any:
        if threading.current_thread().name == "fast" and marked.is_set() and not read.is_set():
            assert landed.wait(20)
            out = get_all(*args, **kw)
            read.set()
            return out
        return get_all(*args, **kw)

    def slow_check(trial_id: int) -> Any:
        if threading.current_thread().name == "slow" and landed.is_set():  # its check
            assert read.wait(20)
        return get_trial(trial_id)

    monkeypatch.setattr(storage, "set_trial_system_attr", stalled_set)
    monkeypatch.setattr(storage, "get_all_trials", fast_read)
    monkeypatch.setattr(storage, "get_trial", slow_check)
    slow, fast = worker_study(storage, "s"), worker_study(storage, "s")
    asked: dict[str, optuna.Trial] = {}
    threads = [threading.Thread(target=lambda s=s, n=n: asked.update({n: s.ask()}), name=n,
                                daemon=True) for s, n in ((slow, "slow"), (fast, "fast"))]
    threads[0].start()
    assert stalled.wait(20)
    time.sleep(0.5)  # trial 0 silent for longer than GRACE
    threads[1].start()
    for th in threads:
        th.join(20)
    assert read.is_set() and not any(th.is_alive() for th in threads)
    for t in (asked["slow"], asked["fast"]):
        slow.tell(t, value(suggest(t)))
    slow.optimize(objective, n_trials=6)
    trials = slow.trials
    assert claim(trials[0]) == {"v": 3, "skip": True}, table(slow)
    assert (claim(trials[1])["src"], claim(trials[1])["row"]) == (0, 1)  # trial 0's gen 0
    assert claim(trials[2])["row"] == 0  # the withdrawn row is open again
    a = audit(slow, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(slow)
    assert (a.presumed, a.withdrawn) == (1, 1)


@pytest.mark.parametrize("speculative", [False, True])
def test_reserved_row_is_claimed_before_a_lower_trial_decides(
        monkeypatch: pytest.MonkeyPatch, speculative: bool) -> None:
    """Generation 0 (made by trial 0) reserves its row ``i`` for trial ``i``. Trial 1's
    claim write stalls (a slow storage write); trial 2 claims its reserved row 2 at once
    instead of waiting for trial 1 (before: it waited GRACE, presumed trial 1 dead and
    took row 1). Trial 1's claim then lands on row 1: no row is claimed twice."""
    from metaheur.optuna import _protocol

    monkeypatch.setattr(_protocol, "GRACE", 2.0)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    first = worker_study(storage, "s", speculative=speculative)
    first.optimize(objective, n_trials=1)  # trial 0: generation 0, row 0
    stalled, release = _stall_claims(monkeypatch, storage, "slow")
    slow = worker_study(storage, "s", speculative=speculative)
    fast = worker_study(storage, "s", speculative=speculative)
    asked: list[optuna.Trial] = []
    th = threading.Thread(target=lambda: asked.append(slow.ask()), name="slow", daemon=True)
    th.start()
    assert stalled.wait(20)
    t2 = fast.ask()
    assert th.is_alive()  # trial 1 has not claimed yet
    release.set()
    th.join(20)
    (t1,) = asked
    trials = fast.trials
    assert [(claim(t)["gen"], claim(t)["row"]) for t in trials] == [(0, 0), (0, 1), (0, 2)], \
        table(fast)
    for t, s in ((t1, slow), (t2, fast)):
        s.tell(t, value(suggest(t)))
    for _ in range(4):
        for s in (fast, slow, first):
            s.optimize(objective, n_trials=1)
    a = audit(fast, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running, a.presumed) == (0, 0, 0, 0, 0)
    assert a.unused_spares == 0 and a.generations >= 3


def test_torn_read_of_a_claiming_trial_does_not_settle_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An RDB read loads a trial's system attributes before its parameters: a read that
    falls between trial 0's claim and its first ``suggest`` shows trial 0 with parameters
    and without its claim. Trial 1 must not take that for a trial that takes no part (before
    the fix it made a second generation 0 and evaluated row 0 again: a fork)."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    first, second = worker_study(storage, "s"), worker_study(storage, "s")
    t0 = first.ask()
    p0 = suggest(t0)  # trial 0 claimed row 0 and suggested its parameters
    get_all, torn = storage.get_all_trials, [True]

    def torn_read(*args: Any, **kw: Any) -> list[optuna.trial.FrozenTrial]:
        trials = get_all(*args, **kw)
        if kw.get("states") is None and torn and torn.pop():  # once: trial 0 without them
            trials = [t if t.number != 0 else optuna.trial.FrozenTrial(
                t.number, t.state, t.value, t.datetime_start, t.datetime_complete, t.params,
                t.distributions, t.user_attrs, {}, t.intermediate_values, t._trial_id)
                for t in trials]
        return trials

    monkeypatch.setattr(storage, "get_all_trials", torn_read)
    t1 = second.ask()
    p1 = suggest(t1)
    assert not torn  # the torn read happened
    assert p1 != p0
    assert (claim(second.trials[1])["src"], claim(second.trials[1])["row"]) == (0, 1)
    first.tell(t0, value(p0))
    second.tell(t1, value(p1))
    second.optimize(objective, n_trials=6)
    a = audit(second, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(second)


def test_parameters_suggested_after_a_read_do_not_settle_the_trial_it_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In memory a read returns the stored trial objects themselves, and Optuna's ``Trial``
    writes each suggested parameter into the object it loaded at its creation (before its
    claim). Trial 7 is read twice without its claim; between the second read and its
    processing trial 7 claims row 3 and suggests. Trial 8 must not take trial 7 for a
    trial created with its parameters (settled, no claim): before the fix it decided in
    its turn and took row 3 again (under load: tests/test_optuna_upgrade.py's rare
    ``repeated == never_told == 1``)."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    first = worker_study(storage, "s")
    first.optimize(objective, n_trials=7)  # generation 1 (trial 4's): rows 0-2 done
    stalled, release = _stall_claims(monkeypatch, storage, "slow")
    suggested = threading.Event()
    get_all, reads = storage.get_all_trials, []

    def read(*args: Any, **kw: Any) -> list[optuna.trial.FrozenTrial]:
        trials = get_all(*args, **kw)
        if (threading.current_thread().name != "slow"
                and sys._getframe(1).f_code.co_name == "refresh"
                and len(trials) > 7 and ATTR + "gwo" not in trials[7].system_attrs):
            reads.append(7)
            if len(reads) == 2:  # trial 7 claims and suggests before this read is used
                release.set()
                assert suggested.wait(20)
        return trials

    monkeypatch.setattr(storage, "get_all_trials", read)
    slow, fast = worker_study(storage, "s"), worker_study(storage, "s")

    def run_slow() -> None:
        t7 = slow.ask()
        p7 = suggest(t7)
        suggested.set()
        slow.tell(t7, value(p7))

    th = threading.Thread(target=run_slow, name="slow", daemon=True)
    th.start()
    assert stalled.wait(20)
    t8 = fast.ask()
    fast.tell(t8, value(suggest(t8)))
    th.join(20)
    assert len(reads) >= 2 and not th.is_alive()
    assert (claim(fast.trials[7])["gen"], claim(fast.trials[7])["row"]) == (1, 3)
    assert (claim(fast.trials[8])["gen"], claim(fast.trials[8])["row"]) == (2, 0), \
        table(fast)
    a = audit(fast, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(fast)


# ---------------------------------------------------------------------- cause 4: forks
def test_workers_with_different_seeds_run_one_generation_zero() -> None:
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    a, b = (worker_study(storage, "s", seed=None) for _ in range(2))
    for _ in range(6):  # alternate the workers trial by trial
        a.optimize(objective, n_trials=1)
        b.optimize(objective, n_trials=1)
    claims = [claim(t) for t in a.trials]
    assert [(c["src"], c["gen"]) for c in claims[:4]] == [(0, 0)] * 4
    assert [c["row"] for c in claims[:4]] == [0, 1, 2, 3]
    assert all(c["src"] in (0, 4, 8) for c in claims)  # one chain of records
    au = audit(a, "gwo")
    assert (au.repeated, au.reissued, au.never_told) == (0, 0, 0)


# ------------------------------------------------------------------ cause 5: batch ask
@pytest.mark.parametrize("k", [1, 6, 25])
def test_batch_ask_gives_distinct_points_without_waiting(k: int) -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "pso", pop_size=6, seed=0, search_space=SPACE, wait_timeout=30))
    t0 = time.monotonic()
    trials = [study.ask(SPACE) for _ in range(k)]
    assert time.monotonic() - t0 < 5.0
    assert len({tuple(t.params.values()) for t in trials}) == k
    for t in trials:
        study.tell(t, value(t.params))
    study.optimize(objective, n_trials=12)
    a = audit(study, "pso")
    assert (a.repeated, a.never_told) == (0, 0)


# ----------------------------------------------------------- cause 6: the first trial
def test_workers_sharing_a_seed_draw_different_first_trials() -> None:
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    samplers = [MetaheuristicSampler("gwo", seed=5, n_trials=20) for _ in range(3)]
    trials = []
    for s in samplers:  # no search_space: the empty space is served by the fallback
        study = optuna.load_study(study_name="s", storage=storage, sampler=s)
        trials.append(study.ask())
        suggest(trials[-1])
    assert len({tuple(t.params.values()) for t in trials}) == 3


# --------------------------------------------------------- cause 7: an interruption
def test_interrupted_row_goes_back_to_the_queue_failure_does_not() -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, search_space=SPACE))

    def obj(trial: optuna.Trial) -> float:
        p = suggest(trial)
        if trial.number == 1:
            raise KeyboardInterrupt
        if trial.number == 3:
            raise RuntimeError("objective failed")
        return value(p)

    with pytest.raises(KeyboardInterrupt):
        study.optimize(obj, n_trials=4, catch=(RuntimeError,))
    study.optimize(obj, n_trials=4, catch=(RuntimeError,))
    t = study.trials
    assert t[1].state == TrialState.FAIL and t[1].system_attrs["metaheur:end"] == {
        "interrupted": True}
    # the next trial evaluates the interrupted row again
    assert t[2].params == t[1].params and claim(t[2])["row"] == claim(t[1])["row"] == 1
    assert t[3].state == TrialState.FAIL and t[3].system_attrs["metaheur:end"] == {
        "interrupted": False}
    assert claim(t[3])["row"] == 2
    # the failed row counts as +inf and is not evaluated again; the generation moved on
    assert claim(t[5])["gen"] == 1


# ------------------------------------------------ issue 8: no trial is spent twice
def test_no_repeated_parameter_sets_in_a_200_trial_study() -> None:
    space: dict[str, Any] = {f"x{i}": FloatDistribution(-5.0, 5.0) for i in range(10)}
    space["lr"] = FloatDistribution(1e-5, 1e-1, log=True)
    space["act"] = CategoricalDistribution(["relu", "tanh", "elu"])

    def obj(trial: optuna.Trial) -> float:
        p = {n: trial.suggest_float(n, d.low, d.high, log=d.log) for n, d in space.items()
             if isinstance(d, FloatDistribution)}
        act = trial.suggest_categorical("act", ["relu", "tanh", "elu"])
        return sum(v * v for k, v in p.items() if k != "lr") + (act != "elu")

    study = optuna.create_study(sampler=MetaheuristicSampler("dlf-aoa", seed=0, n_trials=200))
    study.optimize(obj, n_trials=200)
    params = [repr(sorted(t.params.items())) for t in study.trials]
    assert len(set(params)) == 200
    assert audit(study, "dlf-aoa").answered > 0  # DLF-AOA re-proposes its best row


def test_skip_evaluated_switch_allows_repeats_for_noisy_objectives() -> None:
    space = {"a": IntDistribution(0, 4), "b": IntDistribution(0, 4)}

    def obj(trial: optuna.Trial) -> float:
        return (trial.suggest_int("a", 0, 4) - 2) ** 2 + (trial.suggest_int("b", 0, 4) - 1) ** 2

    repeats = {}
    for skip in (True, False):
        study = optuna.create_study(sampler=MetaheuristicSampler(
            "pso", pop_size=4, seed=0, n_trials=20, search_space=space, skip_evaluated=skip))
        study.optimize(obj, n_trials=20)
        repeats[skip] = audit(study, "pso").repeated
    assert repeats[True] == 0 < repeats[False]


# --------------------------------------------- issue 12: a record that cannot be used
def _corrupt(rec: dict[str, Any], how: str) -> Any:
    if how == "garbage":
        return "garbage"
    if how == "empty":
        return {}
    if how == "generation":
        return rec | {"gen": -3}
    if how == "huge":  # a JSON integer no float holds (math.isfinite raised OverflowError)
        return rec | {"answered": [[0, 0, 10**400]]}
    rec = dict(rec)
    core = dict(rec["opt"]["core"])
    pend = dict(core["pending"])
    pend["__ndarray__"] = [{"__float__": "nan"}] + pend["__ndarray__"][1:]
    rec["opt"] = rec["opt"] | {"core": core | {"pending": pend}}
    return rec


@pytest.mark.parametrize("how", ["garbage", "empty", "generation", "nan", "huge"])
def test_unusable_record_warns_once_and_the_study_goes_on(how: str) -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=40, search_space=SPACE))
    study.optimize(objective, n_trials=4)
    src = study.ask()  # tells generation 0 and holds the record of generation 1
    key = f"{ATTR}gwo:gen:1"
    stored = study._storage.get_trial(src._trial_id).system_attrs[key]
    study._storage.set_trial_system_attr(src._trial_id, key, _corrupt(stored, how))
    study.tell(src, value(suggest(src)))
    head = (src.number, 1)
    study.sampler = MetaheuristicSampler("gwo", pop_size=4, seed=0, n_trials=40,
                                         search_space=SPACE)
    with pytest.warns(UserWarning, match="cannot be used") as rec:
        study.optimize(objective, n_trials=10)
    assert sum("cannot be used" in str(w.message) for w in rec) == 1
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert claim(study.trials[-1])["gen"] > head[1]
    assert audit(study, "gwo").repeated == 0


def test_a_claim_naming_a_row_the_generation_lacks_is_warned() -> None:
    """Regression (session 27's audit): a claim edited to name row 99 of a 4-row
    generation was ignored without a word: the trial's result never reached the algorithm
    and its row was evaluated again. It is still ignored, now with one warning."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=40, search_space=SPACE))
    study.optimize(objective, n_trials=4)
    t = study.ask()
    frozen = study._storage.get_trial(t._trial_id)
    study._storage.set_trial_system_attr(t._trial_id, ATTR + "gwo", claim(frozen) | {"row": 99})
    study.tell(t, value(suggest(t)))
    with pytest.warns(UserWarning, match="names row 99") as rec:
        study.optimize(objective, n_trials=6)
    assert sum("names row 99" in str(w.message) for w in rec) == 1
    assert all(s.state == TrialState.COMPLETE for s in study.trials)


# ----------------------------- untrusted tickets: junk numbers and clocks far ahead
MIXED = {"c": CategoricalDistribution(["a", "b", "c"]), "x0": FloatDistribution(-5.0, 5.0)}


def _mixed(trial: optuna.Trial) -> float:
    return (trial.suggest_categorical("c", ["a", "b", "c"]) != "b") + trial.suggest_float(
        "x0", -5.0, 5.0) ** 2


def _running_with(study: optuna.Study, ticket: Any) -> int:
    """A RUNNING trial of another worker carrying ``ticket`` as its claim attribute."""
    storage = study._storage
    tid = storage.create_new_trial(study._study_id)
    storage.set_trial_system_attr(tid, ATTR + "gwo", ticket)
    return storage.get_trial(tid).number


def _ask_within(study: optuna.Study, seconds: float) -> optuna.Trial:
    """``study.ask()`` in a thread; fails (instead of hanging the suite) if it waits on."""
    got: list[Any] = []
    th = threading.Thread(target=lambda: got.append(study.ask()), daemon=True)
    th.start()
    th.join(seconds)
    assert got, f"ask() still waiting after {seconds} s"
    return got[0]


@pytest.mark.parametrize("field", ["t", "x", "waited", "wait"])
def test_tickets_with_numbers_no_float_holds_are_junk_not_a_crash(
        monkeypatch: pytest.MonkeyPatch, field: str) -> None:
    """Regression (session 24's audit): ``math.isfinite(10**400)`` raised OverflowError in
    the ticket parser, run on every refresh, so one such ticket in the storage made every
    later ``ask()`` of every worker fail for good."""
    from metaheur.optuna import _protocol

    monkeypatch.setattr(_protocol, "GRACE", 0.3)
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=40, search_space=SPACE))
    study.optimize(objective, n_trials=2)
    real = claim(study.trials[-1])
    _running_with(study, {"v": 3, "wait": 10**400} if field == "wait" else
                  real | {field: [10**400] * 3 if field == "x" else 10**400})
    study.optimize(objective, n_trials=6)
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 8


def test_a_running_claim_far_outside_the_box_does_not_crash_later_trials() -> None:
    """Regression (session 24's audit): a running trial's claim far outside the box on a
    categorical dimension (x = 1.79e308, so ``(x + 1) / 2 * 3`` overflows) made
    ``int(floor(inf))`` raise OverflowError in every later trial's ``before_trial`` (the
    held-points check decodes running claims)."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=40, search_space=MIXED))
    study.optimize(_mixed, n_trials=2)
    real = claim(study.trials[-1])
    _running_with(study, real | {"row": 3, "x": [1.79e308, -1.79e308]})
    study.optimize(_mixed, n_trials=6)
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 8


@pytest.mark.parametrize("kind", ["wait", "start"])
def test_a_ticket_dated_in_the_future_is_presumed_dead_and_warned(
        monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Regression (session 24's audit): a sign of life dated an hour ahead (a worker whose
    clock is wrong, or a forged ticket) was never older than GRACE, so every later trial
    waited for it without end and without a word. It now counts from when it was first
    seen, and the clock skew is reported once."""
    from metaheur.optuna import _protocol

    monkeypatch.setattr(_protocol, "GRACE", 0.3)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    study = worker_study(storage, "s")
    ahead = time.time() + 3600.0
    if kind == "wait":
        number = _running_with(study, {"v": 3, "wait": ahead})
    else:  # a trial created by a process whose clock is an hour ahead, still deciding
        frozen = optuna.trial.create_trial(state=TrialState.RUNNING)
        frozen.datetime_start = frozen.datetime_start.fromtimestamp(ahead)
        number = study._storage.create_new_trial(study._study_id, template_trial=frozen)
        number = study._storage.get_trial(number).number
    with pytest.warns(UserWarning, match="ahead of this machine's clock") as rec:
        t = _ask_within(study, 20.0)
    assert sum("ahead of this machine's clock" in str(w.message) for w in rec) == 1
    study.tell(t, value(suggest(t)))
    assert number in {x.number for x in study.trials
                      if ATTR + "gwo:presumed-dead" in x.system_attrs}


def test_completed_trial_without_parameters_warns() -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler("gwo", seed=0,
                                                             union_space=False))
    study.add_trial(optuna.trial.create_trial(value=1.0))
    with pytest.warns(UserWarning, match="has no parameters"):
        study.optimize(objective, n_trials=3)


def test_options_are_keyword_only() -> None:
    from metaheur.optuna import GWOSampler

    with pytest.raises(TypeError):
        GWOSampler(30, 0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        MetaheuristicSampler("gwo", 30)  # type: ignore[misc]


def test_threads_share_one_sampler_without_waste() -> None:
    def obj(trial: optuna.Trial) -> float:
        time.sleep(0.002 * (trial.number % 3))
        return objective(trial)

    study = optuna.create_study(sampler=MetaheuristicSampler(
        "poa", pop_size=6, seed=0, n_trials=60, search_space=SPACE, wait_timeout=5.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        study.optimize(obj, n_trials=60, n_jobs=4)
    a = audit(study, "poa")
    assert (a.complete, a.repeated, a.reissued, a.never_told, a.running) == (60, 0, 0, 0, 0)
    for told in a.told_rows.values():
        assert sorted(told) == list(range(len(told)))  # every row of a told batch
    assert study.best_value < min(t.value for t in study.trials[:6])
    assert math.isfinite(study.best_value) and np.isfinite(a.wait_fraction)


# --------------------------------------------- issue 8 item 7: conditional spaces
def conditional(trial: optuna.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["svm", "tree"])
    if kind == "svm":
        c = trial.suggest_float("svm_c", 1e-3, 1e3, log=True)
        g = trial.suggest_float("svm_gamma", -5.0, 5.0)
        return (math.log10(c) - 1.0) ** 2 + (g - 2.0) ** 2
    depth = trial.suggest_int("tree_depth", 1, 30)
    rate = trial.suggest_float("tree_rate", 0.0, 1.0)
    return 0.5 + 0.01 * (depth - 7) ** 2 + (rate - 0.3) ** 2


def test_conditional_branch_parameters_come_from_the_algorithm() -> None:
    from metaheur.optuna import SearchSpaceEncoder

    best = {}
    for union in (True, False):
        values = []
        for seed in range(3):
            study = optuna.create_study(sampler=MetaheuristicSampler(
                "pso", seed=seed, n_trials=80, union_space=union,
                warn_independent_sampling=False))
            study.optimize(conditional, n_trials=80)
            values.append(study.best_value)
        best[union] = float(np.mean(values))
        if union:
            last = study.trials[-1]
            c = claim(last, "pso")
            space = dict(sorted({n: d for t in study.trials[:40]
                                 for n, d in t.distributions.items()}.items()))
            decoded = SearchSpaceEncoder(space).decode(np.array(c["x"]))
            assert len(c["x"]) == 5  # every branch's parameters are dimensions
            assert all(decoded[n] == v for n, v in last.params.items())
            assert audit(study, "pso").repeated == 0
    assert best[True] < best[False]


# ------------------------------- issue 11: spares of idle workers feed the run
def _record(study: optuna.Study, src: int, gen: int, algo: str = "gwo") -> dict[str, Any]:
    return study.trials[src].system_attrs[f"{ATTR}{algo}:gen:{gen}"]


def test_speculative_spare_becomes_its_row_of_the_next_generation() -> None:
    """Generation 0's row 3 is still running when a worker would wait: with
    ``speculative=True`` it evaluates a spare, a row of generation 1 predicted from the
    results known so far. Row 3's result then moves GWO's leaders, so generation 1 asks
    another point for that row; the spare's point takes the row's place (the algorithm is
    told the spare's point and value): nothing evaluated is thrown away."""
    from metaheur import get
    from metaheur.optuna._protocol import record_key

    a, b, rows = speculative_pair()  # generation 0, rows 0-3 running
    for t in rows[:3]:
        a.tell(t, value(suggest(t)))
    spare = a.ask()  # row 3 still running: a spare instead of waiting
    c = claim(a.trials[spare.number])
    assert (c["gen"], c["row"], c["ahead"]) == (0, None, 0)
    a.tell(spare, value(suggest(spare)))
    suggest(rows[3])
    b.tell(rows[3], -100.0)  # row 3 becomes GWO's alpha
    nxt = b.ask()  # tells generation 0 and asks generation 1
    rec = _record(b, nxt.number, 1)
    assert rec["moved"] == [[0, spare.number]]
    assert [0, spare.number] in rec["bound"]
    assert claim(b.trials[nxt.number])["row"] == 1  # row 0 is the spare's
    # the point the algorithm itself would have asked for row 0 is another one
    opt = get("gwo").from_state(_record(a, 0, 0)["opt"], check_version=False)
    opt.tell(opt.ask(), np.array([t.value for t in b.trials[:4]]))
    assert not np.allclose(opt.ask()[0], c["x"])
    b.tell(nxt, value(suggest(nxt)))
    b.optimize(objective, n_trials=10)
    told = {n for r in audit(b, "gwo").told_rows.values() for n in r.values()}
    assert spare.number in told
    au = audit(b, "gwo")
    assert (au.repeated, au.never_told, au.unused_spares, au.reissued) == (0, 0, 0, 0)
    assert au.moved == 1
    assert record_key("gwo", 1) in b.trials[nxt.number].system_attrs


def test_spares_of_one_generation_take_different_rows() -> None:
    """Each spare predicts another row of the next generation, only rows of agents whose
    own result is known (the late results change them least); then workers wait."""
    a, b, rows = speculative_pair()
    for t in rows[:2]:
        a.tell(t, value(suggest(t)))
    spares = [a.ask(), b.ask()]  # rows 2 (a's) and 3 (b's) still running
    ahead = [claim(a.trials[t.number])["ahead"] for t in spares]
    assert ahead == [0, 1]
    for t in spares + rows[2:3]:
        a.tell(t, value(suggest(t)))
    third = b.ask()  # row 2 is known now: its agent's row is predicted next
    assert claim(b.trials[third.number])["ahead"] == 2
    spares.append(third)
    for t in [third, rows[3]]:
        a.tell(t, value(suggest(t)))
    a.optimize(objective, n_trials=8)
    au = audit(a, "gwo")
    assert (au.repeated, au.never_told, au.unused_spares) == (0, 0, 0)
    assert au.spares == 3


def test_lost_spare_leaves_its_row_to_the_generation() -> None:
    """A spare interrupted (or failed by the heartbeat) is not a result: the next
    generation's row keeps the algorithm's own point and is evaluated by a trial."""
    a, b, rows = speculative_pair()
    for t in rows[:3]:
        a.tell(t, value(suggest(t)))
    def interrupted(trial: optuna.Trial) -> float:
        suggest(trial)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        a.optimize(interrupted, n_trials=1)  # a spare, interrupted
    assert claim(a.trials[4])["ahead"] == 0
    b.tell(rows[3], value(suggest(rows[3])))
    nxt = b.ask()
    rec = _record(b, nxt.number, 1)
    assert rec.get("moved", []) == []
    assert claim(b.trials[nxt.number])["row"] == 0
    b.tell(nxt, value(suggest(nxt)))
    b.optimize(objective, n_trials=6)
    au = audit(b, "gwo")
    assert (au.repeated, au.never_told, au.unused_spares, au.moved) == (0, 0, 0, 0)


@pytest.mark.parametrize("algo", ["pso", "aco-ipop"])
def test_threads_with_a_straggler_row_use_every_spare(algo: str) -> None:
    """Four threads, the last row of each generation three times slower: the idle
    threads evaluate spares, and every spare is told to the optimizer (with a restart
    layer too: its current run's pending batch is edited alike)."""
    def obj(trial: optuna.Trial) -> float:
        p = suggest(trial)
        c = claim(trial.study._storage.get_trial(trial._trial_id), algo)
        time.sleep(0.06 if c.get("row") == 5 else 0.02)
        return value(p)

    study = optuna.create_study(sampler=MetaheuristicSampler(
        algo, pop_size=6, seed=0, n_trials=60, search_space=SPACE, speculative=True))
    study.optimize(obj, n_trials=60, n_jobs=4)
    a = audit(study, algo)
    assert (a.complete, a.repeated, a.reissued, a.never_told, a.running) == (60, 0, 0, 0, 0)
    assert a.spares > 0 and a.unused_spares == 0, (a.spares, a.unused_spares)
    assert 0.0 <= a.barrier_seconds <= a.wait_seconds
    for told in a.told_rows.values():
        assert sorted(told) == list(range(len(told)))


@pytest.mark.parametrize("v", [1, 4])
def test_tickets_of_a_version_not_read_are_reported_and_the_run_starts_anew(v: int) -> None:
    """Protocol version 1 (before trial order) and a later version than this one are not
    read: one warning says so, and the run starts anew, warm-started from the completed
    trials. (Version 2, metaheur 0.1.0, is read: tests/test_optuna_upgrade.py.)"""
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name="s", storage=storage)
    old = {"v": v, "run": "r", "src": 0, "gen": 0, "row": 0, "x": [0.0, 0.0, 0.0], "t": 0.0}
    study.add_trial(optuna.trial.create_trial(
        params={n: 1.0 for n in SPACE}, distributions=SPACE, value=0.0,
        system_attrs={ATTR + "gwo": old}))
    resumed = worker_study(storage, "s")
    with pytest.warns(UserWarning, match=f"protocol version {v}; this version \\(3\\) does "
                                         "not read them"):
        resumed.optimize(objective, n_trials=4)
    trials = resumed.trials
    assert (claim(trials[1])["src"], claim(trials[1])["gen"]) == (1, 0)  # a new run
    assert all(claim(t)["run"] != "r" for t in trials[1:])
    assert resumed.best_value == 0.0  # the old trial is kept (a warm-start point)


def _study_with_a_later_ticket_of_version(v: int) -> optuna.Study:
    """Two trials of this version, then a trial whose ticket is of version ``v``."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    study = worker_study(storage, "s")
    study.optimize(objective, n_trials=2)
    study.add_trial(optuna.trial.create_trial(
        params={n: 0.5 for n in SPACE}, distributions=SPACE, value=1.0,
        system_attrs={ATTR + "gwo": {"v": v, "skip": True}}))
    return study


def test_a_worker_of_version_2_beside_this_version_stops_this_one() -> None:
    """Regression: a version-2 ticket on a trial numbered after this version's first ticket
    means a worker of metaheur 0.1.0 still runs on the study. It does not read version-3
    tickets, and this version reads its claims, so both would claim the rows of one
    population (the review reproduced 19 repeated trials and rows claimed twice). This
    version stops with an error that says so; the trial it was deciding is FAIL, not
    RUNNING."""
    from metaheur.optuna import MixedVersionsError

    study = _study_with_a_later_ticket_of_version(2)
    with pytest.raises(MixedVersionsError, match="version 2 asked a trial after this "
                       "version's trial #0: .*Stop the workers of metaheur 0.1.0"):
        study.optimize(objective, n_trials=1)
    assert study.trials[-1].state == TrialState.FAIL
    assert [t.state for t in study.trials].count(TrialState.RUNNING) == 0


def test_a_worker_of_a_version_not_read_beside_this_version_is_reported() -> None:
    """A later version's ticket after this version's first: separate populations (neither
    reads the other's claims), so a warning, not an error."""
    study = _study_with_a_later_ticket_of_version(4)
    with pytest.warns(UserWarning, match="version 4 asked a trial after this version's "
                                         "trial #0: workers of two versions share"):
        study.optimize(objective, n_trials=1)
    assert study.trials[-1].state == TrialState.COMPLETE


# ------------------------------------ a trial sent to another process (pickled): no new turn
def _claims_of(study: optuna.Study, trials: list[optuna.Trial], algo: str = "gwo"
               ) -> dict[int, dict[str, Any]]:
    return {t.number: claim(study._storage.get_trial(t._trial_id), algo) for t in trials}


@pytest.mark.parametrize("space", [SPACE, None])
def test_pickled_batch_trials_keep_their_claims(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                space: Any) -> None:
    """Ask a batch in the driver, suggest in a copy of each trial (as joblib, loky, Dask or
    multiprocessing workers do): the copy evaluates the point its trial claimed at ``ask()``
    and takes no second turn (which rewrote the claim, claimed a row twice or waited)."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'p.db'}", sampler=(
        MetaheuristicSampler("gwo", pop_size=4, seed=0, n_trials=30, search_space=space)))
    for _ in range(6):
        t = study.ask()
        study.tell(t, objective(t))
    asked = [study.ask() for _ in range(3)]
    before = _claims_of(study, asked)
    assert {c["row"] is None for c in before.values()} == {True, False}  # rows and a spare

    def second_turn(*args: Any, **kw: Any) -> Any:
        raise AssertionError("a trial already holding a claim decided again")

    with monkeypatch.context() as m:
        m.setattr(Coordinator, "take_turn", second_turn)
        for t in asked:  # a Trial object built again for it does not decide either
            optuna.Trial(study, t._trial_id)
        shipped = {t.number: suggest(pickle.loads(pickle.dumps(t))) for t in asked}
    assert _claims_of(study, asked) == before
    for t in asked:  # the driver's own objects give the same points
        assert suggest(t) == shipped[t.number]
        study.tell(t, value(shipped[t.number]))
    study.optimize(objective, n_trials=9)
    a = audit(study, "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 0, 0, 0), table(study)


@pytest.mark.slow
def test_joblib_loky_workers_evaluate_a_batch_asked_by_the_driver(tmp_path: Any) -> None:
    """The ask-and-tell pattern with process workers (audit repro a6): each round asks five
    trials (one spare), evaluates them in two loky processes, then tells them."""
    import joblib  # a dependency of metaheur (minimize's n_jobs): always there
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'j.db'}", sampler=(
        MetaheuristicSampler("gwo", pop_size=4, seed=0, n_trials=20, search_space=SPACE,
                             wait_timeout=60)))

    def work(trial: optuna.Trial) -> float:  # a closure: cloudpickle ships it by value
        return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2 for i in range(3))

    t0 = time.monotonic()
    with joblib.Parallel(n_jobs=2, backend="loky", timeout=30) as par:
        for _ in range(3):
            trials = [study.ask() for _ in range(5)]
            before = _claims_of(study, trials)
            values = par(joblib.delayed(work)(t) for t in trials)
            assert _claims_of(study, trials) == before
            for t, v in zip(trials, values, strict=True):
                study.tell(t.number, v)
    a = audit(study, "gwo")
    assert (a.complete, a.repeated, a.reissued, a.running) == (15, 0, 0, 0), table(study)
    assert a.wait_seconds < 1.0, table(study)
    assert time.monotonic() - t0 < 60


# ------------------------- in memory: a slow trial of a live thread is never presumed dead
@pytest.mark.parametrize("speculative", [False, True])
def test_slow_trial_in_memory_is_waited_for_not_run_twice(speculative: bool) -> None:
    """In memory a RUNNING trial asked by a thread that is still alive cannot belong to a
    dead worker: a trial five times slower than ``wait_timeout`` keeps its row (audit o3:
    the row was re-issued and its point evaluated twice)."""
    calls: collections.Counter[tuple[float, ...]] = collections.Counter()

    def obj(trial: optuna.Trial) -> float:
        p = suggest(trial)
        calls[tuple(p.values())] += 1
        time.sleep(1.0 if trial.number == 5 else 0.01)
        return value(p)

    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=16, search_space=SPACE, wait_timeout=0.2,
        speculative=speculative))
    study.optimize(obj, n_trials=16, n_jobs=4)
    assert max(calls.values()) == 1, table(study)
    a = audit(study, "gwo")
    assert (a.repeated, a.reissued, a.running) == (0, 0, 0), table(study)


def test_a_trial_asked_and_never_told_does_not_block_its_own_thread() -> None:
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=20, search_space=SPACE, wait_timeout=30))
    for _ in range(2):
        suggest(study.ask())  # never told; this thread lives on
    t0 = time.monotonic()
    study.optimize(objective, n_trials=10)
    assert time.monotonic() - t0 < 10
    a = audit(study, "gwo")
    assert (a.complete, a.repeated, a.reissued, a.running) == (10, 0, 0, 2), table(study)


def test_a_trial_asked_and_never_told_does_not_hang_other_threads() -> None:
    """Regression (rev11c): in memory, a trial asked by a thread that lives on (an ask/tell
    loop stopped by Ctrl-C in a notebook) and never told held its row forever, so
    optimize(n_jobs=2) waited for it silently and never ended. Past wait_timeout such a row
    is neither re-issued (it may still be told) nor waited for: the others take spares."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=20, search_space=SPACE, wait_timeout=0.3))
    for _ in range(4):
        t = study.ask()
        study.tell(t, objective(t))
    suggest(study.ask())  # never told; this (the main) thread lives on
    worker = threading.Thread(target=study.optimize, args=(objective,),
                              kwargs={"n_trials": 8, "n_jobs": 2}, daemon=True)
    worker.start()
    worker.join(20)
    assert not worker.is_alive(), "optimize(n_jobs=2) hung on the untold trial's row"
    a = audit(study, "gwo")
    assert (a.complete, a.repeated, a.reissued, a.running) == (12, 0, 0, 1), table(study)


def _ask_in_a_foreign_thread_that_ends(study: optuna.Study) -> optuna.Trial:
    """A trial asked from a thread the threading module did not start (``_thread``, as a
    thread made in C): ``threading.current_thread()`` is a ``_DummyThread`` there, which
    reports itself alive for ever."""
    asked: list[optuna.Trial] = []
    done = threading.Event()

    def work() -> None:
        try:
            asked.append(study.ask())
        finally:
            done.set()

    _thread.start_new_thread(work, ())
    assert done.wait(30)
    return asked[0]


def test_dead_row_of_a_foreign_thread_is_reissued_exactly_once() -> None:
    """Regression: a trial asked from a ``_thread`` thread that then ended was taken for a
    live thread's (its ``_DummyThread`` is alive for ever), so its row was never re-issued:
    its generation was never told and every later trial was a spare."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    ghost = _ask_in_a_foreign_thread_that_ends(worker_study(storage, "s"))
    suggest(ghost)
    studies = [worker_study(storage, "s", wait_timeout=0.3) for _ in range(3)]
    run_threads(studies, 8)
    a = audit(studies[0], "gwo")
    assert (a.repeated, a.reissued, a.never_told, a.running) == (0, 1, 0, 1), table(studies[0])
    assert a.generations >= 3, table(studies[0])


def test_a_dead_threads_trial_is_not_mine_in_a_thread_reusing_its_ident() -> None:
    """Regression: trials were attributed to threads by ``threading.get_ident()``, which the
    OS gives again to a later thread. A thread that batch-asked rows 1-3 then found row 0,
    held by the trial of a dead thread with the same ident, "its own": it took a spare at
    once instead of waiting ``wait_timeout`` for the dead row and re-issuing it."""
    study = optuna.create_study(sampler=MetaheuristicSampler(
        "gwo", pop_size=4, seed=0, n_trials=40, search_space=SPACE, wait_timeout=0.5))
    idents: list[int] = []

    def ghost() -> None:
        idents.append(threading.get_ident())
        suggest(study.ask())  # never told: this thread ends

    th = threading.Thread(target=ghost)
    th.start()
    th.join()
    asked: list[optuna.Trial] = []

    def batch() -> None:
        if threading.get_ident() == idents[0]:
            asked.extend(study.ask() for _ in range(4))

    for _ in range(50):  # a new thread usually gets the ident of the one just joined
        th = threading.Thread(target=batch)
        th.start()
        th.join(30)
        if asked:
            break
    if not asked:
        pytest.skip("the OS gave no new thread the dead thread's ident")
    rows = [claim(study._storage.get_trial(t._trial_id)) for t in asked]
    assert [(c["gen"], c["row"]) for c in rows[:3]] == [(0, 1), (0, 2), (0, 3)], table(study)
    assert (rows[3]["gen"], rows[3]["row"]) == (0, 0), table(study)  # re-issued, no spare


# ------------------------ the relative search space shrinks between a claim and its use
@pytest.mark.parametrize("union", [False, True])
@pytest.mark.parametrize("rebuild", ["trial", "pickle"])
def test_a_claim_is_evaluated_after_the_search_space_shrank(tmp_path: Any, rebuild: str,
                                                            union: bool) -> None:
    """Regression: a trial whose copy (pickled to a worker, or a ``Trial`` built again)
    restored its claim after the relative space had lost ``x2`` raised RuntimeError ("a run
    whose search space ... this sampler does not have"): with ``union_space=False`` a
    completed trial without ``x2`` shrinks the intersection; the union drops a parameter
    seen with two distributions. The copy evaluates the point its trial claimed."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'i.db'}", sampler=(
        MetaheuristicSampler("gwo", pop_size=4, seed=0, n_trials=30, union_space=union)))
    for _ in range(6):
        t = study.ask()
        study.tell(t, objective(t))
    t = study.ask()
    c = claim(study._storage.get_trial(t._trial_id))
    assert c["names"] == ["x0", "x1", "x2"]
    lost = {"x2": FloatDistribution(-4.0, 4.0)} if union else {}
    study.add_trial(optuna.trial.create_trial(  # the relative space is now {x0, x1}
        params={"x0": 0.5, "x1": 0.5} | {n: 0.5 for n in lost}, value=2.0,
        distributions={"x0": SPACE["x0"], "x1": SPACE["x1"]} | lost))
    if rebuild == "trial":
        copy = optuna.Trial(study, t._trial_id)
    else:
        copy = pickle.loads(pickle.dumps(t))
    got = suggest(copy)
    run = RunSpace(dict(sorted(SPACE.items())), study.sampler._settings)
    assert got == run.encoder.decode(np.array(c["x"]))
    assert suggest(t) == got
    study.tell(t, value(got))
    assert claim(study._storage.get_trial(t._trial_id)) == c
    study.optimize(objective, n_trials=8)
    a = audit(study, "gwo")
    assert (a.repeated, a.reissued, a.running) == (0, 0, 0), table(study)


# ------------------------------- workers with different settings split the study: a warning
def _alternate(studies: list[optuna.Study], n: int) -> None:
    for i in range(n):
        s = studies[i % len(studies)]
        t = s.ask()
        s.tell(t, objective(t))


@pytest.mark.parametrize(("kw", "named"), [({"n_trials": 20}, "n_trials"),
                                           ({"pop_size": 6}, "pop_size"),
                                           ({"consider_pruned_trials": True},
                                            "consider_pruned_trials")])
def test_workers_with_different_settings_are_warned_once(kw: dict[str, Any],
                                                         named: str) -> None:
    """Two workers of one algorithm on one space with different settings run two separate
    populations (both seeded alike, so they evaluate the same points): each is warned once,
    naming the setting that differs."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    a, b = worker_study(storage, "s"), worker_study(storage, "s", **kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _alternate([a, b], 12)
    mine = [str(w.message) for w in caught if "settings" in str(w.message)]
    assert len(mine) == 2, mine  # once per worker
    assert all(named in m for m in mine), mine


def test_a_later_run_with_new_settings_is_not_warned() -> None:
    """Continuing a study with new settings after the earlier workers stopped is a new run
    (documented), not workers splitting the study."""
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="s", storage=storage)
    _alternate([worker_study(storage, "s", n_trials=8)], 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _alternate([worker_study(storage, "s", n_trials=20)], 8)
        # and back to the first settings (rev11c: the spans of the first and third
        # sessions' claims enclosed the second's, which was taken for interleaving)
        _alternate([worker_study(storage, "s", n_trials=8)], 8)
