"""The sampler's parts alone: the generation store on a storage without a sampler, the
record validation, and the scheduling decision as a pure function."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaheur import get
from metaheur.optuna._index import TrialIndex, pruned_value
from metaheur.optuna._protocol import BadRecord, Claim, Record, parse_ticket
from metaheur.optuna._runspace import RunSpace
from metaheur.optuna._scheduler import (
    Advance,
    RowState,
    RowView,
    Take,
    TakeSpare,
    Wait,
    answer_open_rows,
    decide,
    defer_twins,
    row_views,
    suggested,
)
from metaheur.optuna._store import GenerationStore

SPACE = {"x": FloatDistribution(-1.0, 1.0), "k": IntDistribution(0, 9)}


def _setup() -> tuple[Any, int, GenerationStore]:
    storage = optuna.storages.InMemoryStorage()
    study_id = storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], "s")
    return storage, study_id, GenerationStore(get("pso"), 4, 20, {})


def test_store_round_trip_and_advance_without_a_sampler() -> None:
    storage, study_id, store = _setup()
    trial_id = storage.create_new_trial(study_id)
    run = RunSpace(SPACE, "settings")
    g0 = store.start(run, 0, 0, gen=0, restart=0, held={})
    assert g0.X.shape == (4, 2) and g0.free_rows == [0, 1, 2, 3]
    store.save(storage, trial_id, g0)
    fresh = RunSpace(SPACE, "settings")
    loaded = store.load(fresh, storage.get_trial(trial_id), 0)
    np.testing.assert_array_equal(loaded.X, g0.X)
    g1 = store.advance(fresh, loaded, 5, np.arange(4.0), {i: i for i in range(4)}, {})
    assert (g1.gen, g1.src, g1.record.told) == (1, 5, {0: 0, 1: 1, 2: 2, 3: 3})
    # the same tell in another worker gives the same generation
    g1b = store.advance(run, g0, 5, np.arange(4.0), {i: i for i in range(4)}, {})
    np.testing.assert_array_equal(g1.X, g1b.X)


def test_rows_evaluated_before_are_answered_from_history() -> None:
    storage, study_id, store = _setup()
    run = RunSpace(SPACE, "s")
    g = store.start(run, 0, 0, gen=0, restart=0, held={})
    done = optuna.trial.create_trial(params=g.params[1], distributions=SPACE, value=3.5)
    done.number = 7
    run.add(done, 3.5)
    g.params[3] = dict(g.params[0])
    g.keys[3] = g.keys[0]
    store.answer(run, g, {g.keys[2]: 9})
    assert g.record.answered == {1: (7, 3.5)}
    assert g.record.bound == {2: 9} and g.record.same == {3: 0}
    assert g.free_rows == [0]
    # a conditional trial (only "x") answers every row with its "x"
    half = optuna.trial.create_trial(params={"x": g.params[0]["x"]},
                                     distributions={"x": SPACE["x"]}, value=1.0)
    half.number = 8
    run.add(half, 1.0)
    assert run.lookup(g.params[0] | {"k": 5}).number == 8
    # repeats wanted: nothing answered, running points still bound
    g2 = GenerationStore(get("pso"), 4, 20, {}, skip_evaluated=False).start(
        RunSpace(SPACE, "s"), 0, 0, gen=0, restart=0, held={g.keys[2]: 9})
    assert g2.record.answered == {} and g2.record.bound == {2: 9}


def _add(run: RunSpace, number: int, params: dict[str, Any]) -> None:
    t = optuna.trial.create_trial(params=params, value=float(number),
                                  distributions={n: SPACE[n] for n in params})
    t.number = number
    run.add(t, float(number))


def test_a_trial_older_than_a_parameter_answers_no_row() -> None:
    """A trial without ``k`` made before the first trial with ``k`` may have run before
    ``k`` was added to the study: it answers no row until ``k`` shows itself conditional."""
    run = RunSpace(SPACE, "s")
    _add(run, 3, {"x": 0.5})
    _add(run, 5, {"x": 0.25, "k": 2})
    assert run.lookup({"x": 0.5, "k": 4}) is None  # k added at trial 5, as far as seen
    assert run.lookup({"x": 0.25, "k": 2}).number == 5
    _add(run, 8, {"x": 0.25})  # a trial without k after k existed: k is conditional
    assert run.lookup({"x": 0.5, "k": 4}).number == 3
    assert run.lookup({"x": 0.25, "k": 7}).number == 8
    assert sorted(e.number for e in run.evaluated) == [3, 5, 8]  # warm starts: all kept


def test_a_trial_of_another_branch_shows_a_parameter_conditional_at_once() -> None:
    run = RunSpace(SPACE, "s")
    _add(run, 3, {"x": 0.5})
    _add(run, 5, {"k": 2})  # has k, lacks x: x and k belong to different branches
    assert run.lookup({"x": 0.5, "k": 4}).number == 3
    assert run.lookup({"x": 0.1, "k": 2}).number == 5


@pytest.mark.parametrize("bad", [
    "garbage", {}, [], {"v": 3, "run": "r", "gen": -1, "restart": 0, "opt": {}},
    {"v": 3, "run": "r", "gen": 0, "restart": 0, "opt": {}, "answered": [[0, 1, math.inf]],
     "bound": [], "same": [], "told": []},
    {"v": 3, "run": "r", "gen": 0, "restart": 0, "opt": {}, "answered": [], "bound": [[0]],
     "same": [], "told": []},
    *({"v": 3, "run": "r", "gen": 0, "restart": 0, "opt": {}, "answered": [], "bound": [],
       "same": [], "told": [], "skipped": [], "moved": [], "reserve": junk}
      for junk in ("yes", 1, None, [True])),
])
def test_record_validation_rejects_junk(bad: Any) -> None:
    with pytest.raises(BadRecord):
        Record.from_json(bad, run="r", gen=0)


def _record(v: Any, **extra: Any) -> dict[str, Any]:
    return {"v": v, "run": "r", "gen": 0, "restart": 0, "opt": {}, "answered": [],
            "bound": [[1, 5]], "same": [], "told": [[2, 4]], "skipped": [], "moved": [],
            **extra}


def test_version_2_record_reads_as_a_record_that_reserves_no_row() -> None:
    """metaheur 0.1.0 wrote version 2: version 3's layout without 'reserve'."""
    rec = Record.from_json(_record(2), run="r", gen=0)
    assert rec.reserve is False and rec.bound == {1: 5} and rec.told == {2: 4}
    assert Record.from_json(_record(3, reserve=True), run="r", gen=0).reserve is True
    # a record of this version is written as version 3 whatever it was read as
    assert rec.to_json()["v"] == 3


@pytest.mark.parametrize("bad", [
    _record(2, reserve=False), _record(2, reserve=True),  # v2 had no reservations
    _record(1), _record(4), _record(2.0), _record(True), _record("2"), _record(None),
])
def test_records_of_versions_not_read_are_refused_by_name(bad: dict[str, Any]) -> None:
    with pytest.raises(BadRecord, match="version|'reserve'"):
        Record.from_json(bad, run="r", gen=0)


def test_tickets_of_version_2_are_read_others_are_not() -> None:
    claim = {"run": "r", "src": 3, "gen": 1, "row": 2, "x": [0.5], "t": 2.0, "waited": 0.1,
             "barrier": 0.0}
    assert parse_ticket({"v": 2} | claim) == parse_ticket({"v": 3} | claim) is not None
    assert parse_ticket({"v": 2, "skip": True}) is not None
    assert parse_ticket({"v": 2, "wait": 5.0}) is not None
    for v in (1, 4, 2.0, True, "3", None):
        assert parse_ticket({"v": v} | claim) is None, v


def test_ticket_parsing_ignores_junk() -> None:
    assert parse_ticket("x") is None and parse_ticket({"v": 1}) is None
    assert parse_ticket({"v": 3, "run": "r", "src": -1, "gen": 0, "row": 0, "x": [],
                         "t": 1.0}) is None
    c = parse_ticket({"v": 3, "run": "r", "src": 3, "gen": 1, "row": None, "x": [0.5],
                      "t": 2.0})
    assert c is not None and c.row is None and c.x == (0.5,)


def test_numbers_no_float_holds_are_junk_in_tickets_and_records() -> None:
    """Regression: ``math.isfinite(10**400)`` raised OverflowError (a JSON integer of any
    size is valid JSON) from the ticket parser and from ``Record.from_json``, whose caller
    catches only ``BadRecord``."""
    claim = {"v": 3, "run": "r", "src": 3, "gen": 1, "row": 2, "x": [0.5], "t": 2.0}
    assert parse_ticket({"v": 3, "wait": 10**400}) is None
    assert parse_ticket(claim | {"t": -(10**400)}) is None
    assert parse_ticket(claim | {"x": [10**400]}) is None
    c = parse_ticket(claim | {"waited": 10**400, "barrier": 10**400})
    assert c is not None and (c.waited, c.barrier) == (0.0, 0.0)
    with pytest.raises(BadRecord, match="not finite"):
        Record.from_json(_record(3) | {"answered": [[0, 0, 10**400]]}, run="r", gen=0)


def _views(*states: RowState, age: float = 0.0) -> list[RowView]:
    return [RowView(s, value=float(i), number=i, age=age) for i, s in enumerate(states)]


def _gen() -> Any:
    storage, study_id, store = _setup()
    return store.start(RunSpace(SPACE, "s"), 0, 0, gen=0, restart=0, held={})


def test_decide_is_a_function_of_the_row_states() -> None:
    g = _gen()
    kw: dict[str, Any] = {"speculative": False, "timeout": 10.0, "heartbeat": False,
                          "max_wait": 0.5}
    d = decide(g, _views(*[RowState.DONE] * 4), **kw)
    assert isinstance(d, Advance) and d.told == {0: 0, 1: 1, 2: 2, 3: 3}
    d = decide(g, _views(RowState.DONE, RowState.HELD, RowState.OPEN, RowState.OPEN), **kw)
    assert d == Take(2, False)
    d = decide(g, _views(RowState.DONE, RowState.STALE, RowState.HELD, RowState.DONE), **kw)
    assert d == Take(1, True)
    d = decide(g, _views(RowState.DONE, RowState.MINE, RowState.MINE, RowState.DONE), **kw)
    assert isinstance(d, TakeSpare) and d.must and d.f[0] == 0.0 and math.isinf(d.f[1])
    d = decide(g, _views(RowState.DONE, RowState.HELD, RowState.MINE, RowState.DONE,
                         age=9.0), **kw)
    assert isinstance(d, Wait) and d.seconds == pytest.approx(0.5)
    d = decide(g, _views(RowState.DONE, RowState.HELD, RowState.HELD, RowState.DONE),
               **(kw | {"speculative": True}))
    assert isinstance(d, TakeSpare) and not d.must


@pytest.mark.parametrize("read", ["finished", "open", "after", "none"])
def test_a_row_bound_to_a_trial_without_a_claim_is_done_if_it_had_finished(read: str
                                                                           ) -> None:
    """``_store.answer`` binds a row to a finished trial that returned ``inf`` or was
    pruned, claim or none (an enqueued one, drawn at random). A reader counts such a trial
    only where the record's read shows it finished then: a trial bound while running held
    a claim, and one that withdrew its claim evaluated other parameters."""
    storage, study_id, store = _setup()
    run = RunSpace(SPACE, "s")
    g = store.start(run, 0, 0, gen=0, restart=0, held={})
    index = TrialIndex(storage, study_id, "metaheur:pso", "metaheur:pso:presumed-dead", 1.0)
    tid = storage.create_new_trial(study_id)
    storage.set_trial_system_attr(tid, "metaheur:pso", {"v": 3, "skip": True})
    storage.set_trial_state_values(tid, optuna.trial.TrialState.COMPLETE, [math.inf])
    index.refresh()
    number = storage.get_trial(tid).number
    g.record.bound[1] = number
    g.record.read = {"finished": (number + 1, frozenset()),
                     "open": (number + 1, frozenset({number})),
                     "after": (number, frozenset()), "none": None}[read]
    view = row_views(g, index, run.sig, 0.0, 10.0, False, ())[1]
    if read == "finished":
        assert (view.state, view.value, view.number) == (RowState.DONE, math.inf, number)
    else:
        assert view.state is RowState.OPEN


def test_rows_held_by_trials_known_alive_never_turn_stale() -> None:
    """In memory a running trial of a live thread (``here``) is never presumed lost: its
    row stays HELD past the timeout, and the wait is a plain poll (not a 1 ms spin)."""
    storage, study_id, store = _setup()
    run = RunSpace(SPACE, "s")
    g = store.start(run, 0, 0, gen=0, restart=0, held={})
    index = TrialIndex(storage, study_id, "metaheur:gwo", "metaheur:gwo:presumed-dead", 1.0)
    tid = storage.create_new_trial(study_id)
    claim = Claim(run.sig, 0, 0, 1, tuple(float(v) for v in g.X[1]), 100.0)
    storage.set_trial_system_attr(tid, "metaheur:gwo", claim.to_json())
    index.refresh()
    number = storage.get_trial(tid).number
    args = (g, index, run.sig, 200.0, 10.0, False, ())
    assert row_views(*args)[1].state is RowState.STALE
    view = row_views(*args, {number})[1]
    assert view.state is RowState.HELD and not view.expires
    views = [RowView(RowState.DONE, 0.0, 0), view, RowView(RowState.DONE, 1.0, 0),
             RowView(RowState.DONE, 1.0, 0)]
    d = decide(g, views, speculative=False, timeout=10.0, heartbeat=False, max_wait=0.5)
    # past the timeout the row is neither re-issued nor waited for: a spare (it may never
    # be told, e.g. an ask/tell loop stopped by Ctrl-C, rev11c's hang)
    assert isinstance(d, TakeSpare) and d.must and not d.known[1]
    young = RowView(RowState.HELD, number=number, age=9.8, expires=False)
    d = decide(g, [views[0], young, *views[2:]], speculative=False, timeout=10.0,
               heartbeat=False, max_wait=0.5)
    assert isinstance(d, Wait) and d.barrier and 0.001 <= d.seconds <= 0.2 + 1e-9


def _added_at_20(trial: optuna.Trial) -> float:
    """``y`` is added to the study at trial 20 (fixed at 0 before); the optimum is at 3."""
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", -5.0, 5.0) if trial.number >= 20 else 0.0
    return x * x + (y - 3.0) ** 2


@pytest.mark.parametrize("algo", ["gwo", "aco", "poa", "dlf-aoa"])
def test_a_parameter_added_mid_study_is_explored(algo: str) -> None:
    """Regression (session 28's audit): the run that starts when ``y`` joins the space was
    warm-started from the best completed trials, which all lack ``y`` and were placed at
    its centre, y = 0. Algorithms that move relative to the population (GWO, ACOR, POA)
    then evaluated y = 0.0 in 59 of 59 later trials and ended at 9 = (0 - 3)**2. A trial
    that ran before the parameter existed now gets a uniform value there."""
    from metaheur.optuna import MetaheuristicSampler

    study = optuna.create_study(sampler=MetaheuristicSampler(algo, seed=0, n_trials=80))
    study.optimize(_added_at_20, n_trials=80)
    ys = [t.params["y"] for t in study.trials[21:]]
    assert sum(y == 0.0 for y in ys) <= 2, ys
    assert study.best_value < 4.0


def test_open_rows_twinned_with_a_running_trial_on_its_suggested_names_are_deferred() -> None:
    """``defer_twins``: an OPEN row equal to a live running trial's parameters on every
    name that trial suggested looks held by it; a trial that suggested every parameter,
    none, or one with another distribution defers nothing (exact repeats are ``same``
    rows), nor does a trial running past the timeout."""
    space = {"kind": CategoricalDistribution(["a", "b"]), "a_x": FloatDistribution(-1.0, 1.0),
             "b_k": IntDistribution(0, 2)}
    storage, study_id, store = _setup()
    run = RunSpace(space, "s")
    g = store.start(run, 0, 0, gen=0, restart=0, held={})
    g.params[:] = [{"kind": "b", "a_x": 0.5, "b_k": 1}, {"kind": "b", "a_x": -0.25, "b_k": 1},
                   {"kind": "b", "a_x": 0.5, "b_k": 2}, {"kind": "a", "a_x": 0.5, "b_k": 1}]
    index = TrialIndex(storage, study_id, "metaheur:pso", "metaheur:pso:presumed-dead", 1.0)
    done = storage.create_new_trial(study_id)  # a completed "a" trial: the space is conditional
    for name, value in (("kind", "a"), ("a_x", 0.9)):
        storage.set_trial_param(done, name, space[name].to_internal_repr(value), space[name])
    storage.set_trial_state_values(done, optuna.trial.TrialState.COMPLETE, [1.0])
    index.refresh()
    assert run.plain
    run.add(index.trials[0].trial, 1.0)
    assert not run.plain
    tid = storage.create_new_trial(study_id)
    number = storage.get_trial(tid).number
    opened = [RowView(RowState.OPEN)] * 4

    def views(*suggest: tuple[str, Any], now: float | None = None) -> list[RowState]:
        for name, value in suggest:
            storage.set_trial_param(tid, name, space[name].to_internal_repr(value), space[name])
        index.refresh()
        out = defer_twins(g, opened, index, run, now or time.time(), 60.0, False, (), ())
        assert all(v.number == number for v in out if v.state is RowState.HELD)
        return [v.state for v in out]

    assert views() == [RowState.OPEN] * 4  # nothing suggested yet
    # mid-suggestion: every "b" row looks like its twin, for this decision only
    assert views(("kind", "b")) == [RowState.HELD] * 3 + [RowState.OPEN]
    # no completed trial lacks a parameter: a trial without a claim (drawn at random,
    # enqueued) may still turn out to lack one, so it holds its twins all the same
    plain = RunSpace(space, "s")
    held = defer_twins(g, opened, index, plain, time.time(), 60.0, False, (), ())
    assert [v.state for v in held] == [RowState.HELD] * 3 + [RowState.OPEN]
    assert views(("b_k", 1)) == [RowState.HELD] * 2 + [RowState.OPEN] * 2
    assert views(now=time.time() + 61.0) == [RowState.OPEN] * 4  # past the timeout
    # every parameter: a point, whose own twin row it holds even where the space looks
    # plain (an unclaimed trial, e.g. one drawn at random, evaluates it: session 33)
    assert views(("a_x", 0.5)) == [RowState.HELD] + [RowState.OPEN] * 3
    held = defer_twins(g, opened, index, plain, time.time(), 60.0, False, (), ())
    assert [v.state for v in held] == [RowState.HELD] + [RowState.OPEN] * 3
    # a trial holding a claim evaluates its row's point: mid-suggestion it is no twin of
    # another row while the space looks plain (it holds nothing), as soon as it is not
    claimed = storage.create_new_trial(study_id)
    claim = Claim(run.sig, 0, 0, 3, tuple(float(v) for v in g.X[3]), time.time())
    storage.set_trial_system_attr(claimed, "metaheur:pso", claim.to_json())
    storage.set_trial_param(claimed, "kind", 1.0, space["kind"])  # "b"
    index.refresh()
    held = defer_twins(g, opened, index, plain, time.time(), 60.0, False, (), ())
    assert [v.state for v in held] == [RowState.HELD] + [RowState.OPEN] * 3
    held = defer_twins(g, opened, index, run, time.time(), 60.0, False, (), ())
    assert [v.state for v in held] == [RowState.HELD] * 3 + [RowState.OPEN]
    storage2, study2, _ = _setup()
    other = storage2.create_new_trial(study2)
    storage2.set_trial_param(other, "b_k", 1.0, IntDistribution(0, 5))  # another range
    index2 = TrialIndex(storage2, study2, "metaheur:pso", "metaheur:pso:presumed-dead", 1.0)
    index2.refresh()
    assert defer_twins(g, opened, index2, run, time.time(), 60.0, False, (), ()) == opened


def test_a_name_whose_value_is_not_written_yet_is_not_suggested_yet() -> None:
    """Regression (session 32's audit: ``RuntimeError: dictionary changed size during
    iteration`` in 3 of 167 ``optimize(n_jobs=4)`` runs): in memory a running trial's
    dicts are the ones another thread suggests into, and ``suggested`` read them in place.
    It now reads copies, and a distribution whose value is not written yet (the state
    between Optuna's two writes) is not a suggestion, not a ``KeyError``."""
    from types import SimpleNamespace

    space = {"kind": CategoricalDistribution(["a", "b"]), "a_x": FloatDistribution(-1.0, 1.0),
             "b_k": IntDistribution(0, 2)}
    run = RunSpace(space, "s")
    trial = SimpleNamespace(distributions={"kind": space["kind"], "b_k": space["b_k"]},
                            params={"kind": "b"})
    got = suggested(SimpleNamespace(finished=False, trial=trial), run)  # type: ignore[arg-type]
    assert got is not None and got[0] == ("kind",)
    trial.params["b_k"] = 1
    got2 = suggested(SimpleNamespace(finished=False, trial=trial), run)  # type: ignore[arg-type]
    assert got2 is not None and got2[0] == ("kind", "b_k")


def test_a_single_valued_parameter_leaves_a_running_trials_configuration_comparable() -> None:
    """Regression (session 32's audit: 2 repeats each for gwo and dlf-aoa in the batch
    pattern): a trial that suggested a single-valued parameter, which the union space
    leaves out, had a name outside the run's space, and ``suggested`` gave up on it, so its
    twins were evaluated again. Such a name is the same in every trial: it is left out."""
    from types import SimpleNamespace

    space = {"kind": CategoricalDistribution(["a", "b"]), "a_x": FloatDistribution(-1.0, 1.0),
             "b_k": IntDistribution(0, 2)}
    run = RunSpace(space, "s")
    trial = SimpleNamespace(distributions={"const": IntDistribution(3, 3),
                                           "kind": space["kind"], "b_k": space["b_k"]},
                            params={"const": 3, "kind": "b", "b_k": 1})
    got = suggested(SimpleNamespace(finished=False, trial=trial), run)  # type: ignore[arg-type]
    assert got is not None and got[0] == ("kind", "b_k")
    trial.distributions["free"] = IntDistribution(0, 3)  # a parameter the run does not know
    trial.params["free"] = 2  # (one a PartialFixedSampler fixes): left out, as by lookup
    assert suggested(SimpleNamespace(finished=False, trial=trial), run) == got  # type: ignore[arg-type]
    trial.distributions["b_k"] = IntDistribution(0, 5)  # not the run's distribution
    assert suggested(SimpleNamespace(finished=False, trial=trial), run) is None  # type: ignore[arg-type]


def _twin_study(done_at: float) -> tuple[Any, Any, RunSpace, Any, TrialIndex]:
    """A study with trial 0 (branch ``a``, completed long ago) and trial 1 (branch ``b``,
    ``b_k`` = 2) completed at ``done_at`` (epoch seconds), and the generation of creator
    trial 2, whose rows 1 and 2 are trial 1's twins."""
    import datetime

    space = {"kind": CategoricalDistribution(["a", "b"]), "a_x": FloatDistribution(-1.0, 1.0),
             "b_k": IntDistribution(0, 2)}
    storage, study_id, store = _setup()
    run = RunSpace(space, "s")
    for k, params in enumerate(((("kind", "a"), ("a_x", 0.5)),
                               (("kind", "b"), ("b_k", 2)))):
        tid = storage.create_new_trial(study_id)
        for name, v in params:
            storage.set_trial_param(tid, name, space[name].to_internal_repr(v), space[name])
        storage.set_trial_state_values(tid, optuna.trial.TrialState.COMPLETE, [1.0 + k])
        storage._studies[study_id].trials[k].datetime_complete = (  # the completion's clock
            datetime.datetime.fromtimestamp(done_at - 3600.0 * (1 - k)))
    storage.create_new_trial(study_id)
    g = store.start(run, 2, 0, gen=0, restart=0, held={})
    g.params[:] = [{"kind": "a", "a_x": 0.25, "b_k": 2}, {"kind": "b", "a_x": 0.1, "b_k": 2},
                   {"kind": "b", "a_x": -0.3, "b_k": 2}, {"kind": "b", "a_x": 0.1, "b_k": 1}]
    index = TrialIndex(storage, study_id, "metaheur:pso", "metaheur:pso:presumed-dead", 1.0)
    index.refresh()
    for k in (0, 1):
        run.add(index.trials[k].trial, index.trials[k].value, False)
    return storage, g, run, store, index


def test_a_trial_completed_after_its_generation_was_made_answers_a_twin_row() -> None:
    """``answer_open_rows`` on a record without ``seen`` (older versions wrote none): a
    trial numbered below the generation's creator (another run's, say) answers an OPEN row
    of its configuration only if it completed after the creator claimed (it was running
    when the generation was made); one completed before was looked up then and left the
    row open on purpose (a finite space evaluated)."""
    storage, g, run, _, index = _twin_study(done_at=time.time())
    assert g.record.read is None
    opened = [RowView(RowState.OPEN)] * 4
    claim = Claim(run.sig, 2, 0, 0, tuple(float(v) for v in g.X[0]), time.time() + 3600.0)
    storage.set_trial_system_attr(2, "metaheur:pso", claim.to_json())
    index.refresh()
    assert answer_open_rows(run, g, opened, index) == opened  # completed before the claim
    claim = Claim(run.sig, 2, 0, 0, tuple(float(v) for v in g.X[0]), time.time() - 1800.0)
    storage.set_trial_system_attr(2, "metaheur:pso", claim.to_json())
    index.refresh()
    states = [v.state for v in answer_open_rows(run, g, opened, index)]
    assert states == [RowState.OPEN, RowState.DONE, RowState.DONE, RowState.OPEN]


def test_a_trial_running_at_the_read_answers_its_twin_rows_whatever_the_clocks() -> None:
    """Regression (session 32's audit, defect #2): the window of ``answer_open_rows`` began
    at the creator's claim, written after the read its generation was made from. A trial
    that completed in between was seen by neither, and its twin rows were evaluated again.
    The record now names the trials that read did not show finished (``read``), so no
    clock decides: here trial 1's completion time is an hour before the creator's claim
    (a clock behind, or the gap), and it still answers its twins."""
    storage, g, run, _, index = _twin_study(done_at=time.time() - 3600.0)
    claim = Claim(run.sig, 2, 0, 0, tuple(float(v) for v in g.X[0]), time.time())
    storage.set_trial_system_attr(2, "metaheur:pso", claim.to_json())
    index.refresh()
    opened = [RowView(RowState.OPEN)] * 4
    g.record.read = None  # the old rule: completed before the claim, so not counted
    assert answer_open_rows(run, g, opened, index) == opened
    twins = [RowState.OPEN, RowState.DONE, RowState.DONE, RowState.OPEN]
    for read in ((2, frozenset({1})), (1, frozenset())):  # running, or not visible yet
        g.record.read = read
        assert [v.state for v in answer_open_rows(run, g, opened, index)] == twins, read
    g.record.read = (2, frozenset())  # finished at the read: looked up when it was made
    assert answer_open_rows(run, g, opened, index) == opened


def test_a_generation_is_not_answered_again_from_trials_its_read_showed() -> None:
    """A generation that gave up answering (every point of a finite space evaluated) must
    not be answered from trials its own read showed finished, however they are numbered:
    each answer tells it and makes another that gives up too, a spin of up to 1,000 turns
    within one decision. By the old rule a trial numbered from the creator on counted
    whenever it completed."""
    _, g, run, _, index = _twin_study(done_at=time.time() - 60.0)
    g.src = 1  # trial 1 numbered from the creator on, finished at the read
    opened = [RowView(RowState.OPEN)] * 4
    assert answer_open_rows(run, g, opened, index) != opened  # the old rule: answered
    g.record.read = index.read()
    assert g.record.read == (3, frozenset({2}))
    assert answer_open_rows(run, g, opened, index) == opened


def test_a_record_names_the_trials_its_read_showed_finished() -> None:
    rec = Record.from_json(_record(3, read=[7, [2, 6]]), run="r", gen=0)
    assert rec.read == (7, frozenset({2, 6})) and rec.to_json()["read"] == [7, [2, 6]]
    assert Record.from_json(_record(3), run="r", gen=0).read is None  # written before it
    assert "read" not in Record.from_json(_record(3), run="r", gen=0).to_json()
    for junk in ("7", None, [7], [7, [7]], [7, [-1]], [7, [1.0]], [True, []], [7, "2"],
                 {"hw": 7}):
        with pytest.raises(BadRecord, match="'read'"):
            Record.from_json(_record(3, read=junk), run="r", gen=0)


def test_a_junk_completion_time_is_no_crash() -> None:
    """A completion time the platform cannot convert (year 1, as a journal or
    ``add_trial`` can hold) counts as after the creator's claim in the old rule, and
    takes no part in the new one."""
    import datetime

    storage, g, run, _, index = _twin_study(done_at=time.time())
    storage._studies[0].trials[1].datetime_complete = datetime.datetime.min
    index.refresh()
    opened = [RowView(RowState.OPEN)] * 4
    states = [v.state for v in answer_open_rows(run, g, opened, index)]
    assert states == [RowState.OPEN, RowState.DONE, RowState.DONE, RowState.OPEN]


@pytest.mark.parametrize(("values", "attrs", "sign", "expected"), [
    ({0: 3.0, 4: 1.5, 2: 9.0}, {}, 1.0, 1.5),  # the highest step's, not the last written
    ({0: 3.0, 4: 1.5}, {}, -1.0, -1.5),  # maximising: the minimisation sign
    ({}, {}, 1.0, math.inf),  # pruned before it reported
    ({0: 3.0, 1: math.nan}, {}, 1.0, math.inf),
    ({0: -math.inf}, {}, 1.0, math.inf),
    ({0: 3.0}, {"failure": "diverged"}, 1.0, math.inf),  # a failure reported as pruned
])
def test_the_value_a_considered_pruned_trial_counts_with(values: dict, attrs: dict,
                                                         sign: float, expected: float) -> None:
    t = optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
                                  intermediate_values=values, user_attrs=attrs)
    assert pruned_value(t, sign) == expected
