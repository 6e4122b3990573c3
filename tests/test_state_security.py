"""A restored optimizer state is untrusted input (issue 12, "Security"; issue 8, item 5).

The Optuna samplers restore states from the study's shared storage, so whoever can write
to a study writes these bytes. ``Optimizer.from_state`` must call nothing the state names,
allocate nothing the optimizer's own shapes do not bound, set no attribute it does not
declare, and reject inconsistent counters, pending batches and values with a
``ValueError``; what it accepts must run inside the box and the budget.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from typing import Any

import numpy as np
import pytest
from helpers import json_paths
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metaheur
from metaheur import Optimizer
from metaheur._state import BIT_GENERATORS, decode, restore_rng

ALGOS = metaheur.available()
BOUNDS = [(-5.0, 5.0), (-1.0, 3.0), (0.0, 1.0)]


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.3) ** 2, axis=-1)


def _state(algo: str, steps: int = 2, *, pending: bool = False, budget: int = 60,
           **kw: Any) -> dict[str, Any]:
    cls = metaheur.get(algo)
    opt = cls(BOUNDS, pop_size=max(cls.min_pop_size, 5), budget=budget, seed=1, **kw)
    for _ in range(steps):
        X = opt.ask()
        opt.tell(X, sphere(X))
    if pending:
        opt.ask()
    return json.loads(json.dumps(opt.get_state(), allow_nan=False))


# ------------------------------------------------------------------ random generator
@pytest.mark.parametrize("name", ["seed", "get_bit_generator", "test", "default_rng",
                                  "RandomState", "__class__", "BitGenerator", 3, None,
                                  ["PCG64", "MT19937"], {"PCG64": 1}, [1.5, 2.5]])
def test_rng_names_only_known_bit_generators(name: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[str] = []
    for fn in ("seed", "get_bit_generator", "set_bit_generator", "test"):
        if hasattr(np.random, fn):
            monkeypatch.setattr(np.random, fn, lambda *a, _fn=fn, **k: called.append(_fn))
    state = _state("gwo")
    state["rng"]["bit_generator"] = name
    with warnings.catch_warnings():  # a list name once made NumPy warn, not simply refuse
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="bit generator .*allowed: PCG64"):
            Optimizer.from_state(state)
    assert called == []


@pytest.mark.parametrize("name", [np.array(["PCG64", "SFC64"]), np.array([1.5, 2.5]),
                                  np.array("PCG64")])
def test_rng_name_that_is_an_array_is_refused_without_numpy_warnings(name: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy 1.24 warned on `array in tuple`, then went on
        with pytest.raises(ValueError, match="bit generator .*allowed: PCG64"):
            restore_rng({"bit_generator": name, "state": {}})


@pytest.mark.parametrize("bitgen", BIT_GENERATORS)
def test_every_known_bit_generator_round_trips(bitgen: str) -> None:
    cls = metaheur.get("pso")
    seed = np.random.Generator(getattr(np.random, bitgen)(5))
    opt = cls(BOUNDS, pop_size=5, budget=40, seed=seed)
    opt.tell(opt.ask(), sphere(opt.ask()))
    state = json.loads(json.dumps(opt.get_state(), allow_nan=False))
    again = Optimizer.from_state(state)
    assert type(again.rng.bit_generator).__name__ == bitgen
    assert np.array_equal(again.ask(), opt.ask())


def test_rng_state_junk_is_a_value_error() -> None:
    for junk in ({}, {"state": "x"}, "x", None, {"state": {"state": -1, "inc": "a"}}):
        state = _state("gwo")
        state["rng"]["state"] = junk
        with pytest.raises(ValueError, match="PCG64 state"):
            Optimizer.from_state(state)


# ------------------------------------------------------------------ arrays
@pytest.mark.parametrize("dtype", ["<U100000000", "|S100000000", "O", "V8", "<c16", "<M8[s]",
                                   "<f16", "float128", 7, None, "(2,)f8", "<U1"])
def test_decode_allows_numeric_dtypes_only(dtype: Any) -> None:
    with pytest.raises(ValueError, match="dtype"):
        decode({"__ndarray__": [1], "dtype": dtype, "shape": [1]})


def test_unicode_dtype_in_a_state_allocates_nothing() -> None:
    state = _state("aco")
    state["algo_state"]["_fS"] = {"__ndarray__": [], "dtype": "<U100000000", "shape": [0]}
    with pytest.raises(ValueError, match="dtype '<U100000000'"):
        Optimizer.from_state(state)


@pytest.mark.parametrize("shape", [[2, 3], [-1], [1.5], "3", [True], None, [10**9, 0]])
def test_decode_checks_shapes(shape: Any) -> None:
    with pytest.raises(ValueError, match="shape|values"):
        decode({"__ndarray__": [1.0, 2.0, 3.0], "dtype": "<f8", "shape": shape})


@pytest.mark.parametrize("data", [["1"], [True], [None], [[1.0]], [{"__float__": "1e9"}],
                                  [{"__float__": "infinity2"}], [10**400]])
def test_decode_checks_values(data: list[Any]) -> None:
    with pytest.raises(ValueError):
        decode({"__ndarray__": data, "dtype": "<f8", "shape": [1]})


def test_arrays_are_bounded_by_the_optimizers_own_shapes() -> None:
    state = _state("gwo")
    X = state["algo_state"]["_X"]
    big = {"__ndarray__": [0.0] * 5000, "dtype": "<f8", "shape": [1000, 5]}
    state["algo_state"]["_X"] = big
    with pytest.raises(ValueError, match="at most"):
        Optimizer.from_state(state)
    state["algo_state"]["_X"] = {**X, "shape": [X["shape"][1], X["shape"][0]]}
    with pytest.raises(ValueError, match="_X.*shape"):
        Optimizer.from_state(state)


# ------------------------------------------------------------------ attributes
@pytest.mark.parametrize("key", ["lower", "upper", "budget", "rng", "__dict__", "__class__",
                                 "nfev", "_pending", "ask"])
def test_algo_state_sets_only_declared_fields(key: str) -> None:
    state = _state("pso")
    state["algo_state"][key] = 0.0
    with pytest.raises(ValueError, match="must hold exactly the fields"):
        Optimizer.from_state(state)


def test_missing_algo_field() -> None:
    state = _state("aoa")
    del state["algo_state"]["_acc"]
    with pytest.raises(ValueError, match="must hold exactly the fields"):
        Optimizer.from_state(state)


def test_config_params_cannot_clash_with_arguments() -> None:
    for key in ("pop_size", "bounds", "budget", "seed"):
        state = _state("gwo")
        state["config"]["params"] = {key: 3}
        with pytest.raises(ValueError, match="unknown hyper-parameter"):
            Optimizer.from_state(state)


# ------------------------------------------------------------------ core bookkeeping
def _nan() -> dict[str, str]:
    return {"__float__": "nan"}


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda s: s["core"].update(nfev=-100), "nfev"),
        (lambda s: s["core"].update(nfev=s["core"]["nfev"] + 1), "counters"),
        (lambda s: s["core"].update(nit=10**6), "counters"),
        (lambda s: s["core"].update(round=7), "counters"),
        (lambda s: s["core"].update(n_failed=10**6), "n_failed"),
        (lambda s: s["core"].update(best_f=_nan()), "best_f"),
        (lambda s: s["core"].update(best_f={"__float__": "-inf"}), "best_f"),
        (lambda s: s["core"].update(best_f="0.1"), "best_f"),
        (lambda s: s["core"].update(budget=10**6), "budget"),
        (lambda s: s["core"].update(initialized=1), "initialized"),
        (lambda s: s["core"].update(history=[[0, 0, _nan()]]), "history"),
        (lambda s: s["core"]["pending_full"]["__ndarray__"].__setitem__(0, _nan()), "pending"),
        (lambda s: s["core"]["pending_full"]["__ndarray__"].__setitem__(0, 1e9), "pending"),
        (lambda s: s["core"]["pending"]["__ndarray__"].__setitem__(0, 0.123), "pending"),
        (lambda s: s["core"].update(pending=None), "pending"),
        (lambda s: s["core"].pop("nit"), "core must hold"),
        (lambda s: s.pop("core"), "core"),
        (lambda s: s["config"].update(pop_size=-1), "pop_size"),
        (lambda s: s["config"].update(n_known=99), "n_known"),
    ],
)
def test_inconsistent_core_is_rejected(algo: str, mutate: Any, match: str) -> None:
    state = _state(algo, steps=3, pending=True)
    mutate(state)
    with pytest.raises(ValueError, match=match):
        Optimizer.from_state(state)


def test_best_x_must_lie_in_the_box_when_best_f_is_finite() -> None:
    state = _state("gwo")
    state["core"]["best_x"]["__ndarray__"][0] = 100.0
    with pytest.raises(ValueError, match="best_x"):
        Optimizer.from_state(state)


def test_pending_fields_follow_the_pending_batch() -> None:
    state = _state("pso", pending=True)
    state["algo_state"]["_V_new"] = None  # tell() would commit a None velocity
    with pytest.raises(ValueError, match="_V_new.*present"):
        Optimizer.from_state(state)
    state = _state("pso")
    state["algo_state"]["_V_new"] = state["algo_state"]["_V"]
    with pytest.raises(ValueError, match="_V_new.*null"):
        Optimizer.from_state(state)


def test_index_fields_in_range() -> None:
    state = _state("pso")
    state["algo_state"]["_g"] = 5
    with pytest.raises(ValueError, match="_g"):
        Optimizer.from_state(state)


# ------------------------------------------------------------------ warm starts (issue 8)
def test_warm_started_state_with_budget_below_pop_size_restores() -> None:
    """The sampler builds budget = n_trials - m < pop_size when m values are known."""
    cls = metaheur.get("pso")
    x0 = np.linspace(-0.9, 0.9, 8)[:, None] * np.ones((1, 2))
    opt = cls([(-1.0, 1.0)] * 2, pop_size=10, budget=6, seed=0, x0=x0, f0=sphere(x0))
    for _ in range(2):  # at the first ask, and after the first generation
        X = opt.ask()
        again = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
        assert np.array_equal(again.ask(), X) and again.budget == opt.budget == 6
        opt.tell(X, sphere(X))
    again = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
    assert again.nfev == opt.nfev and again.max_iter == opt.max_iter


def test_best_includes_warm_start_values() -> None:
    cls = metaheur.get("pso")
    opt = cls([(-1.0, 1.0)] * 3, pop_size=6, budget=30, seed=0, x0=[[0.0, 0.0, 0.0]], f0=[0.0])
    assert opt.best_f == 0.0 and np.array_equal(opt.best_x, np.zeros(3))
    while not opt.done:
        X = opt.ask()
        opt.tell(X, np.sum(X * X, axis=1) + 0.1)  # nothing evaluated beats the warm point
    assert opt.best_f == 0.0 and np.array_equal(opt.best_x, np.zeros(3))
    assert opt.population[1].min() == 0.0 and opt.history["best_f"][0] == 0.0


# ------------------------------------------------------------------ property test
_ARRAY = "__ndarray__"
_JUNK: list[Any] = [
    None, True, -100, -1, 0, 1, 10**30, 1.5, -1e308, 1e308, "x", [], {}, [1.0, 2.0],
    {"__float__": "nan"}, {"__float__": "inf"}, {"__float__": "-inf"}, {"__int__": "99"},
    {_ARRAY: [1], "dtype": "<U9", "shape": [1]}, {_ARRAY: [0.0], "dtype": "<f8", "shape": [1]},
]


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return obj


_BASES = [_state(a, steps=k, pending=p) for a in ALGOS for k in (0, 1, 3) for p in (False, True)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mutated_states_raise_value_error_or_run_in_box(data: st.DataObject) -> None:
    state = copy.deepcopy(data.draw(st.sampled_from(_BASES)))
    for _ in range(data.draw(st.integers(1, 2))):
        # Hyper-parameter values are the constructor's business (tests per algorithm).
        paths = [p for p in json_paths(state, 6)[1:] if p[:2] != ("config", "params")]
        path = data.draw(st.sampled_from(paths))
        state = _set(state, path, copy.deepcopy(data.draw(st.sampled_from(_JUNK))))
    try:
        opt = Optimizer.from_state(state)
    except ValueError:
        return
    budget, start, lower, upper = opt.budget, opt.nfev, opt.lower, opt.upper
    assert 0 <= start <= budget
    evaluated = 0
    # An accepted state may hold extreme but finite values (e.g. AOA's accelerations);
    # NumPy may then warn of an overflow, but the points must stay in the box.
    with np.errstate(all="ignore"):
        while not opt.done:
            X = opt.ask()
            assert np.isfinite(X).all() and (X >= lower).all() and (X <= upper).all()
            evaluated += X.shape[0]
            opt.tell(X, sphere(X))
    assert opt.nfev == budget == start + evaluated
    assert not math.isnan(opt.best_f)


def test_states_written_before_n_known_was_recorded_restore() -> None:
    cls = metaheur.get("poa")
    x0 = np.zeros((3, 3))
    for steps in (0, 1, 2, 3):
        opt = cls(BOUNDS, pop_size=5, budget=40, seed=0, x0=x0, f0=[1.0, 2.0])
        for _ in range(steps):
            X = opt.ask()
            opt.tell(X, sphere(X))
        state = json.loads(json.dumps(opt.get_state()))
        assert state["config"].pop("n_known") == 2
        again = Optimizer.from_state(state)
        assert again.budget == opt.budget and again.max_iter == opt.max_iter
        assert np.array_equal(again.ask(), opt.ask())


def test_tell_refuses_values_that_are_not_real_numbers() -> None:
    opt = metaheur.get("gwo")(BOUNDS, pop_size=4, budget=20, seed=0)
    X = opt.ask()
    for bad in (sphere(X) + 1j, np.array(["1"] * 4), np.ones(4, dtype=bool),
                np.array([{}, 1.0, 2.0, 3.0], dtype=object)):
        with pytest.raises(ValueError, match="f must hold real numbers"):
            opt.tell(X, bad)
    opt.tell(X, sphere(X) + 0j)  # a zero imaginary part loses nothing
    assert opt.nfev == 4 and opt.n_failed == 0
    X = opt.ask()
    opt.tell(X, [1.0, None, 2.0, 3.0])  # None is a failed evaluation, as NaN
    assert opt.n_failed == 1


@pytest.mark.parametrize("algo, config", [("aco", {"pop_size": 10**9}),
                                          ("aco", {"params": {"n_ants": 10**9}}),
                                          ("gwo", {"pop_size": 2**23})])
def test_a_small_state_cannot_ask_for_huge_populations(algo: str, config: dict) -> None:
    state = _state(algo, steps=0)
    state["config"].update(config)
    if "params" in config:
        state["config"]["params"] = {**_state(algo, steps=0)["config"]["params"],
                                     **config["params"]}
    with pytest.raises(ValueError, match="at most 16777216 values"):
        Optimizer.from_state(state)


def test_huge_budgets_are_exact_integers() -> None:
    """ceil((budget − n0) / per_iter) in floats would round for budgets above 2**53."""
    opt = metaheur.get("gwo")(BOUNDS, pop_size=5, budget=2**63 - 1, seed=0)
    assert opt.max_iter == (2**63 - 1 - 5 + 4) // 5


# ------------------------------------------------------------------ states NumPy itself accepts
def _bitgen_state(name: str, **changes: Any) -> dict[str, Any]:
    state = getattr(np.random, name)(7).state
    inner = state["state"] if name == "MT19937" else state
    for key, value in changes.items():
        if key in ("state", "inc"):
            state["state"][key] = value
        else:
            inner[key] = value
    return {"bit_generator": name, "state": state}


@pytest.mark.parametrize("name, changes", [
    ("Philox", {"buffer_pos": -1}), ("Philox", {"buffer_pos": 5}),
    ("Philox", {"buffer_pos": -10**8}),  # read far outside the buffer: a segfault
    ("MT19937", {"pos": -1}), ("MT19937", {"pos": 625}), ("MT19937", {"pos": 10**8}),
    ("MT19937", {"key": np.zeros(624, dtype=np.uint32)}),  # all zero: every draw is 0
    ("PCG64", {"inc": 0}), ("PCG64", {"inc": 2 * 12345}),  # an even increment: NumPy
    ("PCG64DXSM", {"inc": 0}),                              # seeds none; 0/0 repeats 0
])
def test_generator_states_numpy_accepts_but_cannot_use_are_refused(name: str,
                                                                   changes: dict) -> None:
    """Regression: NumPy's state setters do not range-check these fields, and its C code
    indexes with them (a segfault at the first draw) or stalls (every draw 0: POA's
    ``integers`` then loops forever). A state is untrusted input: refused, with the field."""
    field = next(iter(changes))
    with pytest.raises(ValueError, match=f"{name} state.*{field}"):
        restore_rng(_bitgen_state(name, **changes))
    state = _state("poa")
    state["rng"] = json.loads(json.dumps(metaheur._state.encode(_bitgen_state(name, **changes))))
    with pytest.raises(ValueError, match=f"{name} state"):
        Optimizer.from_state(state)


@pytest.mark.parametrize("name", BIT_GENERATORS)
def test_generator_states_at_the_ends_of_their_ranges_restore(name: str) -> None:
    gen = np.random.Generator(getattr(np.random, name)(3))
    for draws in (0, 1, 3, 4, 623, 624, 625):  # fresh, mid-buffer and refilled positions
        gen.random(draws)
        again = restore_rng({"bit_generator": name, "state": gen.bit_generator.state})
        twin = np.random.Generator(type(gen.bit_generator)())
        twin.bit_generator.state = gen.bit_generator.state
        assert np.array_equal(again.random(700), twin.random(700))


def test_budgets_beyond_int64_are_refused_and_the_largest_runs() -> None:
    """Regression: budget=10**400 was accepted, then GWO (and PSO with a linear inertia)
    raised OverflowError at the first ask, converting the horizon to a float."""
    for algo, kw in [("gwo", {}), ("pso", {"inertia": "linear"}), ("poa", {}), ("aoa", {}),
                     ("dlf-aoa", {}), ("aco", {})]:
        opt = metaheur.get(algo)(BOUNDS, pop_size=5, budget=2**63 - 1, seed=0, **kw)
        for _ in range(2):
            X = opt.ask()
            opt.tell(X, sphere(X))
        assert opt.nfev > 0
    with pytest.raises(ValueError, match=r"budget must be at most 2\*\*63 - 1"):
        metaheur.get("gwo")(BOUNDS, pop_size=5, budget=10**400, seed=0)
    with pytest.raises(ValueError, match=r"max_iter is too large: .*at most 2\*\*63 - 1"):
        metaheur.get("gwo")(BOUNDS, pop_size=5, max_iter=2**62, seed=0)
    state = _state("gwo")
    state["config"]["budget"] = {"__int__": str(10**400)}
    with pytest.raises(ValueError, match="budget must be at most"):
        Optimizer.from_state(state)


def test_restart_runs_never_grow_past_the_batch_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: ``restart_growth`` is unbounded, so a state (or a call) with growth 1e8
    and a huge budget started a run of 2·10**9 agents, 45 GiB, at the second restart. Runs
    are capped at MAX_BATCH_VALUES values, in a fresh run and in a restored one alike."""
    from metaheur import _snapshot

    opt = metaheur.get("pso-ipop")(BOUNDS, budget=10**12, seed=0, restart_growth=1e8)
    cap = _snapshot.MAX_BATCH_VALUES // opt.dim
    assert opt._pop(1, 10**12) == cap and opt._pop(5, 10**12) == cap
    assert opt._pop(1, 100) == 100  # the budget left still bounds it
    monkeypatch.setattr(_snapshot, "MAX_BATCH_VALUES", 3 * 90)
    opt = metaheur.get("pso-ipop")(BOUNDS, budget=3000, seed=0, restart_growth=1e8,
                                   restart_patience=1, restart_local=False)
    sizes = set()
    while not opt.done:
        X = opt.ask()
        opt.tell(X, sphere(X))
        sizes.add(opt.current_run.pop_size)
        restored = Optimizer.from_state(json.loads(json.dumps(opt.get_state())))
        assert restored.current_run.pop_size == opt.current_run.pop_size
    assert opt.restarts >= 2 and max(sizes) == 90


@pytest.mark.parametrize("fmt", [True, 1.0, "1"])
def test_state_format_is_the_integer_itself(fmt: Any) -> None:
    state = _state("gwo")
    state["format"] = fmt
    with pytest.raises(ValueError, match="format"):
        Optimizer.from_state(state)


def test_restart_count_cannot_exceed_the_evaluations() -> None:
    """Every run but the first evaluates at least one point, so k restarts need k - 1
    evaluations before the current run; a state claiming 10**9 after a few hundred is
    refused (it was restored, and ``restarts`` reported 10**9)."""
    opt = metaheur.get("pso-ipop")(BOUNDS, budget=400, seed=0, restart_patience=1,
                                   restart_local=False, restart_growth=1.0)
    while opt.restarts < 1:
        X = opt.ask()
        opt.tell(X, sphere(X))
    state = json.loads(json.dumps(opt.get_state()))
    state["algo_state"]["_restarts"] = state["algo_state"]["_globals"] = 10**9
    with pytest.raises(ValueError, match="is run 1000000000 with 1000000000 global"):
        Optimizer.from_state(state)


@pytest.mark.parametrize("algo", ["gwo", "pso-ipop"])
def test_unknown_top_level_keys_are_refused(algo: str) -> None:
    """A key ``get_state`` never writes (a typo such as ``"alog_state"`` beside a missing
    section, or a section from elsewhere) was ignored silently; it is refused, named."""
    state = _state(algo)
    state["rng_state"] = state["rng"]
    with pytest.raises(ValueError, match="'rng_state'"):
        Optimizer.from_state(state)
    del state["rng_state"]
    Optimizer.from_state(state)  # the state itself is fine
    state["rng"]["seed"] = 7  # and in the rng section (config, core and algo_state were)
    with pytest.raises(ValueError, match="rng section must hold exactly"):
        Optimizer.from_state(state)
    del state["rng"]["seed"]
    state["rng"]["state"]["state"]["counter"] = 3  # NumPy's setter ignored keys it lacks
    with pytest.raises(ValueError, match=r"unknown key\(s\) 'state.counter'"):
        Optimizer.from_state(state)


@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6),
       st.sampled_from(["int64", "uint64"]))
def test_property_encode_is_idempotent_and_decode_inverts_it(values: list[int],
                                                             dtype: str) -> None:
    """``encode(encode(x)) == encode(x)``: the restart layer's state holds the nested run's
    state already encoded, and its large generator words used to be encoded twice."""
    from metaheur._state import encode

    a = np.array([v % 2**64 if dtype == "uint64" else v for v in values], dtype=dtype)
    once = encode({"a": a, "n": int(a[0])})
    assert encode(once) == once
    back = decode(json.loads(json.dumps(once)))
    assert back["a"].dtype == a.dtype and np.array_equal(back["a"], a) and back["n"] == a[0]


@pytest.mark.parametrize("bad", [{"__int__": 1.5}, {"__int__": "12x"}, {"__int__": "1", "y": 2},
                                 {"__int__": None}])
def test_a_bad_integer_record_is_refused_in_arrays_and_scalars(bad: Any) -> None:
    with pytest.raises(ValueError, match="bad integer"):
        decode({"__ndarray__": [1, bad], "dtype": "<u8", "shape": [2]})
    if len(bad) == 1:  # a scalar record; with another key it is a plain dict
        with pytest.raises(ValueError, match="bad integer"):
            decode({"v": bad})


# ------------------------------------------------------------------ audit: numbers beyond float
_HUGE = 10**400  # a JSON integer no double holds (json.loads reads it as an int)


@pytest.mark.parametrize("algo", ["pso", "aco-ipop"])
def test_a_real_hyper_parameter_beyond_float_range_is_a_value_error(algo: str) -> None:
    """``float(10**400)`` raises ``OverflowError``; from a state it must be a ``ValueError``."""
    state = _state(algo, steps=1)
    params = state["config"]["params"]
    name = next(k for k, spec in metaheur.get(algo).constraints.items()
                if isinstance(spec, metaheur.Real) and k in params)
    params[name] = _HUGE
    with pytest.raises(ValueError, match=f"{name} must be a finite real number"):
        Optimizer.from_state(json.loads(json.dumps(state)))


def test_a_history_value_beyond_float_range_is_a_value_error() -> None:
    state = _state("gwo", steps=2)
    state["core"]["history"][0][2] = _HUGE
    with pytest.raises(ValueError, match="'history' has a bad row"):
        Optimizer.from_state(json.loads(json.dumps(state)))
    state["core"]["history"][0][2] = 7  # an integral value written without ".0" still reads
    state["core"]["best_f"] = min(state["core"]["best_f"], 7)
    assert Optimizer.from_state(state).history["best_f"][0] == 7.0


@pytest.mark.parametrize("where", ["config", "core", "algo_state", "rng"])
def test_deeply_nested_state_is_a_value_error(where: str) -> None:
    """A kilobyte of ``[[[[...]]]]`` must not exhaust the interpreter's recursion limit."""
    state = _state("pso", steps=1)
    deep = json.loads("[" * 600 + "]" * 600)
    section = state[where]
    section[next(iter(section))] = deep
    with pytest.raises(ValueError, match="nested deeper than 32 levels"):
        Optimizer.from_state(state)
    with pytest.raises(ValueError, match="nested deeper than 32 levels"):
        decode({"a": deep})
    shallow = json.loads("[" * 31 + "]" * 31)
    assert decode(shallow) == shallow
