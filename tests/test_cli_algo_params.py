"""``--algo-param KEY=VALUE`` and ``name:KEY=VALUE`` specs: reading values, writing them
back, checking names, and ``metaheur minimize`` end to end (``metaheur tune``'s runs are in
test_cli_tune.py, ``metaheur bench``'s in test_cli_bench.py)."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import metaheur
from metaheur.cli import main
from metaheur.harness.algo_params import (
    as_options,
    check_algo_params,
    check_optuna_params,
    key_value,
    parse_spec,
    spec_label,
    text_value,
    value_text,
)


@pytest.mark.parametrize(("text", "value"), [
    ("reflect", "reflect"), ("true", True), ("False", False), ("none", None),
    ("null", None), ("3", 3), ("-2", -2), ("0.1", 0.1), ("1e-3", 1e-3),
    ("[1, 2]", [1, 2]), ('{"a": 1}', {"a": 1}), ('"1"', "1"), ('"true"', "true"),
    (" 4 ", 4), (" reflect ", "reflect"), ('" a "', " a "),
])
def test_text_value(text: str, value: object) -> None:
    got = text_value(text)
    assert got == value and type(got) is type(value)


def test_text_value_refuses_malformed_json() -> None:
    with pytest.raises(ValueError, match="is not valid JSON"):
        text_value("[1, 2")


_JSON_SCALARS = (st.none() | st.booleans() | st.integers()
                 | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_VALUES = st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@given(_VALUES)
def test_value_text_reads_back_as_the_same_value(value: object) -> None:
    """What the command that resumes a study writes is read back as the value stored."""
    text = value_text(value)
    back = text_value(text)
    assert back == value and type(back) is type(value)
    if text.strip():  # key_value also takes it after KEY=
        assert key_value(f"k={text}") == ("k", value)


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), _VALUES,
                       max_size=3))
def test_spec_label_reads_back_as_the_same_spec(params: dict) -> None:
    """A benchmark's label names its variant exactly: JSON values keep their ':' and ','."""
    name, back = parse_spec(spec_label("ipop", params))
    assert name == "ipop" and back == params
    assert list(back) == list(params)


@pytest.mark.parametrize(("spec", "parsed"), [
    ("pso", ("pso", {})),
    ("dlf-aoa:boundary=reflect:levy_scale=1", ("dlf-aoa", {"boundary": "reflect",
                                                           "levy_scale": 1})),
    ("gwo:skip_evaluated=false,pop_size=9", ("gwo", {"skip_evaluated": False, "pop_size": 9})),
    ('ipop:inner_params={"w": 0.5, "c1": 2}:inner=pso', ("ipop", {
        "inner_params": {"w": 0.5, "c1": 2}, "inner": "pso"})),
])
def test_parse_spec(spec: str, parsed: tuple) -> None:
    assert parse_spec(spec) == parsed


def test_spec_label_quotes_text_that_would_split_it() -> None:
    params = {"a": ":b=1", "c": ",d=2", "e": "f"}
    label = spec_label("pso", params)
    assert label == 'pso:a=":b=1":c=",d=2":e=f' and parse_spec(label) == ("pso", params)


@pytest.mark.parametrize(("spec", "needle"), [
    ("pso:", "expected KEY=VALUE"), ("pso:w", "expected NAME or NAME:KEY=VALUE"),
    ("pso::w=1", "expected NAME or NAME:KEY=VALUE"), ("pso:w=1:w=2", "w is given twice"),
    ("pso:w=[1", "is not valid JSON"),
])
def test_parse_spec_refuses_malformed_specs(spec: str, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        parse_spec(spec)


@pytest.mark.parametrize("text", ["levy_scale", "=3", "x=", "1a=3", "a b=1", "k=[1"])
def test_key_value_refuses_what_is_not_key_value(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        key_value(text)


def test_check_algo_params_names() -> None:
    cls = metaheur.get("dlf-aoa")
    pairs = [("boundary", "reflect"), ("levy_scale", "unscaled")]
    assert check_algo_params(cls, pairs) == dict(pairs)
    with pytest.raises(ValueError, match="given twice"):
        check_algo_params(cls, pairs + [("boundary", "clip")])
    with pytest.raises(ValueError, match="set it with --pop-size"):
        check_algo_params(cls, [("pop_size", 4)], owned={"pop_size": "--pop-size"})
    with pytest.raises(ValueError, match="dlf-aoa has no such hyper-parameter; allowed: C1, C2"):
        check_algo_params(cls, [("skip_evaluated", False)])
    assert check_algo_params(cls, [("skip_evaluated", False)], options=["skip_evaluated"]) \
        == {"skip_evaluated": False}
    assert as_options({"levy_scale": 1.0, "boundary": "reflect"}) == [
        "--algo-param", "boundary=reflect", "--algo-param", "levy_scale=1.0"]


def test_minimize_algo_param_changes_the_run_as_the_api_does(capsys) -> None:
    argv = ["minimize", "-f", "rastrigin", "-d", "4", "-a", "dlf-aoa", "-b", "600", "--json"]
    assert main(argv) == 0
    plain = json.loads(capsys.readouterr().out)
    assert plain["params"] == {}
    assert main(argv + ["--algo-param", "boundary=reflect", "-p", "levy_scale=unscaled"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["params"] == {"boundary": "reflect", "levy_scale": "unscaled"}
    fn = metaheur.functions.get("rastrigin", 4, seed=0)
    api = metaheur.minimize(fn, fn.bounds, "dlf-aoa", budget=600, pop_size=30, seed=0,
                            vectorized=True, boundary="reflect", levy_scale="unscaled")
    assert res["x"] == [float(v) for v in api.x] and res["fun"] == float(api.fun)
    assert res["x"] != plain["x"]
    assert np.all(np.abs(res["x"]) <= 5.12)
    assert main(argv[:-1] + ["-p", "boundary=reflect"]) == 0
    assert "params   boundary='reflect'" in capsys.readouterr().out


@pytest.mark.parametrize(("extra", "needle"), [
    (["-p", "levy_scale=-1"], "levy_scale must be a finite real number in [0, "),
    (["-p", "boundary=bounce"], "boundary must be one of 'clip', 'reflect', got 'bounce'"),
    (["-p", "foo=1"], "--algo-param foo: dlf-aoa has no such hyper-parameter; allowed: C1"),
    (["-p", "budget=5"], "--algo-param budget: set it with --budget"),
    (["-p", "pop_size=5"], "--algo-param pop_size: set it with --pop-size"),
    (["-p", "target=5"], "--algo-param target: dlf-aoa has no such hyper-parameter"),
    (["-p", "levy_beta=nan"], "levy_beta must be a finite real number in [0.001, 2], got nan"),
    (["-p", "C1=1", "-p", "C1=2"], "--algo-param C1 is given twice"),
    (["-p", "C1"], "argument --algo-param/-p: expected KEY=VALUE"),
])
def test_minimize_bad_algo_param_is_one_line(extra: list[str], needle: str, capsys) -> None:
    assert main(["minimize", "-d", "2", "-b", "100", "-a", "dlf-aoa", *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_minimize_json_prints_a_result_whose_param_is_infinite(monkeypatch, capsys) -> None:
    """Regression: ``minimize --json -p tol=inf`` (a plug-in hyper-parameter without a
    constraint) ran the whole optimisation, then failed on printing it: "Out of range
    float values are not JSON compliant: inf", exit 2, the result lost."""
    from metaheur import _registry
    from metaheur.optimizers.gwo import GWO

    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    metaheur.register(type("Loose", (GWO,), {"name": "loose", "__module__": "audit_plugin",
                                             "defaults": {"tol": 1.0}}))
    assert main(["minimize", "-a", "loose", "-d", "2", "-b", "60", "-p", "tol=-inf",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"] == {"tol": "-inf"} and out["nfev"] == 60


def test_checking_gp_options_prints_no_experimental_warning(capsys) -> None:
    """Regression (session 32's walk-through): ``tune --algo gp -p
    deterministic_objective=true`` printed Optuna's raw ``ExperimentalWarning``, with its
    source line, before any output: the check builds the sampler once, before the run's
    warning filters are set."""
    import warnings

    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ExperimentalWarning)
        assert check_optuna_params("gp", [("deterministic_objective", True)]) == {
            "deterministic_objective": True}
