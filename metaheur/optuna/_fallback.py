"""The default fallback sampler: parameters outside the relative search space.

Trials started before any trial completes (every worker's first trial), branch parameters
of ``union_space=False`` and parameters the run does not know yet are drawn at random. Two
such trials of a small discrete space can draw one configuration, and the second
evaluation is wasted. So a discrete parameter never takes a value that a running,
completed or pruned trial agreeing with this trial on every parameter it suggested so far
has taken, while such a value is left (a pruner would stop a deterministic objective
again; a pruned trial whose user attribute ``failure`` is set, a transient failure, does
not count): once it differs from each of them, no later parameter can make
the two configurations equal. The draw keeps the parameter's distribution, restricted to
the values left (log-uniform stays log-uniform); continuous parameters are never repeated.

A running trial of :class:`~metaheur.optuna.MetaheuristicSampler` decides its point when it
is created and suggests it lazily, from its objective: until then the storage holds the
point in its claim only. So a trial drawn at random while another has claimed a point and
suggested little of it counts that trial's claimed values (the claim's coordinates decoded
with the drawing trial's distributions) where it has not suggested them yet (``claims``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metaheur.optuna._protocol import Claim, parse_ticket
from metaheur.optuna._space import SearchSpaceEncoder

__all__ = ["Claimed", "PerTrialRandomSampler", "claimed_view", "n_values", "redraws",
           "taken_values", "value_index"]

_REDRAWS = 32  # draws from the distribution before choosing among the values left
_ENUMERABLE = 1 << 16  # values of a parameter listed when redrawing did not find one left
_MISSING = object()
#: Trials whose configurations a draw avoids (a pruned one only without ``failure``).
_RESULTS = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)


def n_values(dist: BaseDistribution) -> int | None:
    """The number of values ``dist`` holds; ``None`` for a continuous range."""
    if isinstance(dist, CategoricalDistribution):
        return len(dist.choices)
    if isinstance(dist, IntDistribution):
        return (dist.high - dist.low) // dist.step + 1
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        return int(round((dist.high - dist.low) / dist.step)) + 1
    return None


def value_index(dist: BaseDistribution, value: Any) -> int:
    """The position of ``value`` among the values of discrete ``dist``, from 0."""
    if isinstance(dist, CategoricalDistribution):
        return int(dist.to_internal_repr(value))
    step = dist.step  # type: ignore[attr-defined]
    return int(round((float(value) - dist.low) / step))  # type: ignore[attr-defined]


def _nth_value(dist: BaseDistribution, i: int) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[i]
    if isinstance(dist, IntDistribution):
        return dist.low + i * dist.step
    step = dist.step  # type: ignore[attr-defined]
    return float(min(dist.low + i * step, dist.high))  # type: ignore[attr-defined]


def _position(dist: BaseDistribution, value: Any) -> int | None:
    """:func:`value_index` of ``value``; ``None`` for a continuous ``dist`` or a value that
    is none of its values (a value the storage holds is untrusted input)."""
    n = n_values(dist)
    if n is None:
        return None
    try:
        i = value_index(dist, value)
    except (TypeError, ValueError, OverflowError):
        return None
    return i if 0 <= i < n else None


def _loose(dist: BaseDistribution) -> bool:
    """Can two unequal values be one value of ``dist``: a grid point with float noise,
    ``nan`` (a float choice)? Ints and strings compare exactly."""
    if isinstance(dist, FloatDistribution):
        return dist.step is not None
    return isinstance(dist, CategoricalDistribution) and any(
        isinstance(c, float) for c in dist.choices)


@dataclass(frozen=True)
class Claimed:
    """A running trial as :func:`taken_values` reads it: its parameters so far, and the
    values of the point it claimed that it has not suggested yet."""

    number: int
    params: dict[str, Any]
    distributions: dict[str, BaseDistribution]


def claimed_view(other: FrozenTrial, attr: str, dists: Mapping[str, BaseDistribution]
                 ) -> FrozenTrial | Claimed:
    """``other`` with the values its claim (the ticket in system attribute ``attr``) gives
    the names of ``dists`` it has not suggested yet, each decoded with that distribution:
    the value the trial will suggest where its run's distribution of the name is the same
    (the claim does not say). ``other`` itself where it holds no such claim; a ticket that
    is not one we wrote (untrusted storage) is none."""
    if other.state != TrialState.RUNNING:
        return other
    claim = parse_ticket(other.system_attrs.get(attr))
    if not isinstance(claim, Claim) or claim.names is None:
        return other
    later = {n: (dists[n], x) for n, x in zip(claim.names, claim.x, strict=True)
             if n in dists and n not in other.params}
    if not later:
        return other
    decoded = SearchSpaceEncoder({n: d for n, (d, _) in later.items()}).decode(
        [x for _, x in later.values()])
    return Claimed(other.number, {**decoded, **other.params},
                   {**{n: d for n, (d, _) in later.items()}, **other.distributions})


def taken_values(trials: Sequence[FrozenTrial | Claimed], trial: FrozenTrial, name: str,
                 dist: BaseDistribution) -> set[int]:
    """Positions of the values of ``name`` (with distribution ``dist``) taken by the other
    ``trials`` that have every parameter ``trial`` suggested so far, with its value. Values
    are compared as values of their distribution: a grid point written with float noise,
    or a ``nan`` choice, is that point or that choice."""
    # (name, value, distribution, position where two unequal floats can be one value)
    mine = [(k, v, d, _position(d, v) if _loose(d) else None)
            for k, v in trial.params.items() for d in (trial.distributions[k],)]

    def agrees(other: FrozenTrial | Claimed) -> bool:
        theirs = other.params
        for k, v, d, i in mine:
            t = theirs.get(k, _MISSING)
            if t is _MISSING:
                return False
            if t != v and (i is None or other.distributions[k] != d or _position(d, t) != i):
                return False
        return True

    taken = set()
    for other in trials:
        if (name in other.params and other.number != trial.number and agrees(other)
                and other.distributions[name] == dist):
            i = _position(dist, other.params[name])
            if i is not None:
                taken.add(i)
    return taken


class PerTrialRandomSampler(RandomSampler):
    """``RandomSampler`` seeded per trial and parameter: workers sharing a seed draw
    different points for different trials (and the same point for the same trial, given
    the same trials before it). With ``fresh=True`` (the sampler's ``skip_evaluated``) a
    discrete parameter avoids the configurations of the trials it agrees with (module
    docstring); ``claims``: the system attribute holding the claims of running trials whose
    claimed values count too (:func:`claimed_view`)."""

    def __init__(self, seed: int, *, fresh: bool = True, claims: str | None = None) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed
        self._fresh = fresh
        self._claims = claims

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        entropy = [self._base_seed, trial.number, zlib.crc32(param_name.encode())]
        sampler = RandomSampler(seed=int(np.random.SeedSequence(entropy).generate_state(1)[0]))
        value = sampler.sample_independent(study, trial, param_name, param_distribution)
        n = n_values(param_distribution)
        if not self._fresh or n is None or n < 2:
            return value
        results = [t for t in study.get_trials(deepcopy=False, states=_RESULTS)
                   if t.state != TrialState.PRUNED or "failure" not in t.user_attrs]
        others: Sequence[FrozenTrial | Claimed] = results
        if self._claims is not None:
            dists = {**trial.distributions, param_name: param_distribution}
            others = [claimed_view(t, self._claims, dists) for t in results]
        taken = taken_values(others, trial, param_name, param_distribution)
        if len(taken) >= n:
            return value  # every value taken: the configuration may still differ later
        for _ in range(_REDRAWS):
            if value_index(param_distribution, value) not in taken:
                return value
            value = sampler.sample_independent(study, trial, param_name, param_distribution)
        if value_index(param_distribution, value) not in taken or n > _ENUMERABLE:
            return value
        rng = np.random.default_rng(entropy)
        left = np.setdiff1d(np.arange(n), np.fromiter(taken, int, len(taken)))
        return _nth_value(param_distribution, int(rng.choice(left)))


def redraws(sampler: Any) -> bool:
    """Does the fallback ``sampler`` give each trial its own draw of each parameter and
    avoid the discrete values of the trials agreeing with it (:class:`PerTrialRandomSampler`
    with ``fresh``)? Then a trial with a parameter outside the run's space evaluates another
    configuration than the running trials it agrees with (``_scheduler.afresh``). A sampler
    seeded alike in every worker draws the same values in each."""
    return type(sampler) is PerTrialRandomSampler and sampler._fresh
