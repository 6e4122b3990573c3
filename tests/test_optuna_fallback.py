"""The default fallback sampler (``metaheur.optuna._fallback``): per-trial streams, and
discrete values that no trial agreeing with the drawing trial has taken."""

from __future__ import annotations

import datetime
import math
from typing import Any

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState, create_trial

from metaheur.optuna import MetaheuristicSampler
from metaheur.optuna._fallback import (
    PerTrialRandomSampler,
    claimed_view,
    n_values,
    taken_values,
    value_index,
)
from metaheur.optuna._protocol import Claim

optuna.logging.set_verbosity(optuna.logging.WARNING)

DISTS: list[BaseDistribution] = [
    CategoricalDistribution(["x", "y", "z", 3, None]),
    IntDistribution(1, 9),
    IntDistribution(2, 20, step=3),
    IntDistribution(1, 1000, log=True),  # most of its mass is on the smallest values
    FloatDistribution(0.0, 1.0, step=0.125),
    FloatDistribution(-1.0, 2.0, step=0.1),
]


def _value(dist: BaseDistribution, i: int) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[i]
    return dist.low + i * dist.step  # type: ignore[attr-defined]


def _study(dist: BaseDistribution, taken: list[int], other: int = 0) -> optuna.Study:
    """Completed trials with ``kind="a"`` and the values at positions ``taken`` of ``p``,
    and ``other`` more with ``kind="b"`` (they do not agree with a trial of ``a``)."""
    study = optuna.create_study()
    kind = CategoricalDistribution(["a", "b"])
    for i, kind_value in [(i, "a") for i in taken] + [(0, "b")] * other:
        study.add_trial(create_trial(
            params={"kind": kind_value, "p": _value(dist, i)},
            distributions={"kind": kind, "p": dist}, value=float(i)))
    return study


def _draw(study: optuna.Study, dist: BaseDistribution, seed: int, *,
          fresh: bool = True) -> Any:
    """``p`` drawn by the fallback for a new trial of branch ``a``."""
    study.enqueue_trial({"kind": "a"})
    trial = study.ask()
    trial.suggest_categorical("kind", ["a", "b"])
    frozen = study._storage.get_trial(trial._trial_id)
    return PerTrialRandomSampler(seed, fresh=fresh).sample_independent(study, frozen, "p", dist)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(DISTS), st.data(), st.integers(0, 2**32 - 1))
def test_a_value_left_is_drawn_and_it_lies_in_the_distribution(dist, data, seed) -> None:
    n = n_values(dist)
    assert n is not None
    taken = data.draw(st.lists(st.integers(0, n - 1), max_size=n, unique=True))
    value = _draw(_study(dist, taken, other=2), dist, seed)
    assert dist._contains(dist.to_internal_repr(value))
    assert value == _value(dist, value_index(dist, value))  # a grid value, written exactly
    if len(taken) < n:
        assert value_index(dist, value) not in taken


@pytest.mark.parametrize("dist", DISTS, ids=str)
def test_a_trial_agreeing_with_no_other_keeps_its_plain_draw(dist) -> None:
    """The per-trial stream is unchanged where nothing is taken: trials agreeing on
    ``kind`` with none of the completed ones (all of ``b``) draw the plain value."""
    for seed in range(20):
        study = _study(dist, [], other=3)
        fresh = _draw(study, dist, seed)
        assert fresh == _draw(_study(dist, [], other=3), dist, seed, fresh=False)


@pytest.mark.parametrize("dist", DISTS, ids=str)
def test_every_value_taken_gives_the_plain_draw(dist) -> None:
    n = n_values(dist)
    for seed in range(20):
        fresh = _draw(_study(dist, list(range(n))), dist, seed)  # type: ignore[arg-type]
        assert fresh == _draw(_study(dist, list(range(n))), dist, seed,  # type: ignore[arg-type]
                              fresh=False)


def test_the_log_distribution_is_kept_among_the_values_left() -> None:
    """Values left are drawn with the parameter's own weights: with 1 taken on a log range
    1..1000, 2 stays the most frequent value (uniform over the 999 left would give it
    about 0.1 %)."""
    dist = IntDistribution(1, 1000, log=True)
    draws = [_draw(_study(dist, [0]), dist, seed) for seed in range(300)]
    assert 1 not in draws
    share = draws.count(2) / len(draws)
    expected = (math.log(2.5) - math.log(1.5)) / (math.log(1000.5) - math.log(1.5))
    assert share > expected / 2


def test_a_continuous_parameter_is_never_redrawn() -> None:
    dist = FloatDistribution(0.0, 1.0)
    assert n_values(dist) is None
    for seed in range(5):
        study = optuna.create_study()
        for x in (0.25, 0.5):
            study.add_trial(create_trial(params={"p": x}, distributions={"p": dist}, value=x))
        trial = study.ask()
        frozen = study._storage.get_trial(trial._trial_id)
        assert (PerTrialRandomSampler(seed).sample_independent(study, frozen, "p", dist)
                == PerTrialRandomSampler(seed, fresh=False).sample_independent(
                    study, frozen, "p", dist))


def test_skip_evaluated_false_keeps_the_plain_draws() -> None:
    """The switch that allows repeats turns the avoidance off too."""
    sampler = MetaheuristicSampler("pso", seed=0, skip_evaluated=False)
    assert sampler._independent_sampler._fresh is False
    assert MetaheuristicSampler("pso", seed=0)._independent_sampler._fresh is True


def test_running_trials_count_and_failed_ones_do_not() -> None:
    dist = IntDistribution(0, 1)
    for seed in range(20):
        study = optuna.create_study()
        study.add_trial(create_trial(params={"p": 1}, distributions={"p": dist},
                                     state=TrialState.FAIL))
        study.enqueue_trial({"p": 0})
        running = study.ask()
        assert running.suggest_int("p", 0, 1) == 0
        trial = study.ask()  # no parameter yet: it agrees with every trial
        frozen = study._storage.get_trial(trial._trial_id)
        assert PerTrialRandomSampler(seed).sample_independent(study, frozen, "p", dist) == 1


def test_pruned_trials_count_unless_marked_as_failures() -> None:
    """A pruner would stop a deterministic objective again, so a pruned configuration is
    taken; one whose user attribute ``failure`` is set (a diverged or out-of-memory training
    run, ``metaheur.models``) may be transient and is not."""
    dist = IntDistribution(0, 2)
    for seed in range(20):
        study = optuna.create_study()
        study.add_trial(create_trial(params={"p": 0}, distributions={"p": dist},
                                     state=TrialState.PRUNED, intermediate_values={0: 1.0}))
        study.add_trial(create_trial(params={"p": 1}, distributions={"p": dist},
                                     state=TrialState.PRUNED, intermediate_values={0: 1.0},
                                     user_attrs={"failure": "diverged"}))
        study.add_trial(create_trial(params={"p": 2}, distributions={"p": dist}, value=0.0))
        trial = study.ask()
        frozen = study._storage.get_trial(trial._trial_id)
        assert PerTrialRandomSampler(seed).sample_independent(study, frozen, "p", dist) == 1


def test_a_stored_value_that_is_no_value_of_the_distribution_takes_nothing() -> None:
    """Storage contents are untrusted: a value outside the choices, a step off the range or
    no number at all is skipped, not an error of the trial that reads it."""
    dist = CategoricalDistribution(["a", "b"])
    ints = IntDistribution(0, 3)
    now = datetime.datetime.now()

    def frozen(number: int, value: Any, d: BaseDistribution) -> FrozenTrial:
        return FrozenTrial(number=number, state=TrialState.COMPLETE, value=1.0,
                           datetime_start=now, datetime_complete=now, params={"p": value},
                           distributions={"p": d}, user_attrs={}, system_attrs={},
                           intermediate_values={}, trial_id=number)

    me = FrozenTrial(number=9, state=TrialState.RUNNING, value=None, datetime_start=now,
                     datetime_complete=None, params={}, distributions={}, user_attrs={},
                     system_attrs={}, intermediate_values={}, trial_id=9)
    trials = [frozen(0, "zzz", dist), frozen(1, "b", dist)]
    assert taken_values(trials, me, "p", dist) == {1}
    trials = [frozen(0, 7, ints), frozen(1, "x", ints), frozen(2, math.inf, ints),
              frozen(3, 2, ints)]
    assert taken_values(trials, me, "p", ints) == {2}


@pytest.mark.parametrize("first, again, dist", [
    (0.05 * 6, 0.3, FloatDistribution(0.0, 1.0, step=0.05)),  # 0.30000000000000004 vs 0.3
    (float("nan"), float("nan"), CategoricalDistribution([float("nan"), 1.0])),
], ids=["float-noise", "nan-choice"])
def test_trials_agree_on_a_value_written_otherwise(first: Any, again: Any,
                                                   dist: BaseDistribution) -> None:
    """Regression (session 32's audit: the earlier configuration came back in 49 of 100
    draws): agreement was judged by ``==`` on the values as stored, so a grid point written
    with float noise, or a ``nan`` choice, made a trial look different from one it equals."""
    p = IntDistribution(0, 1)
    for seed in range(20):
        study = optuna.create_study()
        study.add_trial(create_trial(params={"s": first, "p": 0},
                                     distributions={"s": dist, "p": p}, value=1.0))
        study.enqueue_trial({"s": again})
        trial = study.ask()
        if isinstance(dist, FloatDistribution):
            trial.suggest_float("s", dist.low, dist.high, step=dist.step)
        else:
            trial.suggest_categorical("s", dist.choices)
        frozen = study._storage.get_trial(trial._trial_id)
        assert PerTrialRandomSampler(seed).sample_independent(study, frozen, "p", p) == 1


_KIND = CategoricalDistribution(["a", "b"])
_P = IntDistribution(0, 3)


def _claiming(study: optuna.Study, ticket: Any, **params: Any) -> None:
    """A running trial holding ``ticket`` in ``metaheur:pso`` that suggested ``params``."""
    trial = study.ask()
    for name, value in params.items():
        study._storage.set_trial_param(trial._trial_id, name,
                                       {"kind": _KIND, "p": _P}[name].to_internal_repr(value),
                                       {"kind": _KIND, "p": _P}[name])
    study._storage.set_trial_system_attr(trial._trial_id, "metaheur:pso", ticket)


def _claim(x: list[float], names: list[str] | None = None) -> dict[str, Any]:
    return Claim("run", 0, 0, 0, tuple(x), 0.0,
                 names=tuple(names or ["kind", "p"])).to_json()


def _claimed_draws(study: optuna.Study) -> set[Any]:
    """``p`` drawn, for 40 seeds, for a new trial of ``kind="a"`` reading claims."""
    study.enqueue_trial({"kind": "a"})
    trial = study.ask()
    trial.suggest_categorical("kind", ["a", "b"])
    frozen = study._storage.get_trial(trial._trial_id)
    return {PerTrialRandomSampler(seed, claims="metaheur:pso").sample_independent(
        study, frozen, "p", _P) for seed in range(40)}


def test_a_claimed_point_not_yet_suggested_is_taken() -> None:
    """A running trial's claim (kind ``a``, p = 2: x = -0.5 and 0.25 decode to them) counts
    as its configuration; without ``claims`` it does not."""
    study = optuna.create_study()
    _claiming(study, _claim([-0.5, 0.25]))
    assert claimed_view(study.trials[0], "metaheur:pso",
                        {"kind": _KIND, "p": _P}).params == {"kind": "a", "p": 2}
    assert _claimed_draws(study) == {0, 1, 3}
    frozen = study._storage.get_trial(study.trials[-1]._trial_id)
    assert 2 in {PerTrialRandomSampler(seed).sample_independent(study, frozen, "p", _P)
                 for seed in range(40)}


def test_a_claimed_trial_counts_with_the_values_it_suggested() -> None:
    """What the trial suggested wins over its claim (here it is on branch ``b``: it does
    not agree with a trial of ``a``), and a claim of another branch takes nothing."""
    study = optuna.create_study()
    _claiming(study, _claim([-0.5, 0.25]), kind="b")
    _claiming(study, _claim([0.5, -0.9]))
    assert _claimed_draws(study) == {0, 1, 2, 3}


@pytest.mark.parametrize("ticket", [
    {"v": 3, "run": "run", "src": 0, "gen": 0, "row": 0, "x": ["a", 1], "t": 0.0},
    {"v": 3, "skip": True},
    _claim([-0.5, 0.5], names=["p", "kind", "q"]) | {"names": ["p", "kind", "q"]},
    _claim([-0.5, 0.25]) | {"names": None},
    "not a ticket",
], ids=["bad-x", "skip", "names-mismatch", "no-names", "string"])
def test_a_ticket_that_is_no_readable_claim_takes_nothing(ticket: Any) -> None:
    """Claims come from a shared storage (untrusted input): one that does not parse, or
    has no names for its coordinates, is not read, and the draw goes on."""
    study = optuna.create_study()
    _claiming(study, ticket)
    assert _claimed_draws(study) == {0, 1, 2, 3}


def test_a_finished_trial_is_read_by_its_parameters_not_its_claim() -> None:
    study = optuna.create_study()
    _claiming(study, _claim([-0.5, 0.25]), kind="a", p=0)
    study.tell(study.trials[0].number, 1.0)
    done = study.trials[0]
    assert claimed_view(done, "metaheur:pso", {"kind": _KIND, "p": _P}) is done
    assert _claimed_draws(study) == {1, 2, 3}
