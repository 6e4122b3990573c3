"""A run's search space and the points its study evaluated (twins and answers from history).

:class:`RunSpace` names one run (a search space with the sampler's settings) by a short
signature and indexes the study's completed trials by configuration, so that a row whose
configuration was evaluated is answered instead of spent again (``_scheduler``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, distribution_to_json
from optuna.study import Study
from optuna.trial import FrozenTrial

from metaheur.optuna._space import SearchSpaceEncoder

if TYPE_CHECKING:
    from metaheur.optuna._store import Generation

__all__ = ["Evaluated", "RunSpace", "wrapped"]


class RunSpace:
    """One run: a search space (and the settings) under a short signature."""

    def __init__(self, space: Mapping[str, BaseDistribution], settings: str) -> None:
        self.space = dict(space)
        self.encoder = SearchSpaceEncoder(self.space)
        desc = json.dumps([[[k, distribution_to_json(v)] for k, v in self.space.items()],
                           settings])
        self.sig = hashlib.sha1(desc.encode()).hexdigest()[:12]
        # completed trials by the set of this space's parameters they have (one set unless
        # the space is conditional), then by the key of those parameters' values
        self.groups: dict[tuple[str, ...], dict[str, list[Evaluated]]] = {}
        self.choices: dict[tuple[str, ...], set[tuple]] = {}  # their categorical values
        # to tell a parameter inactive in a trial from one added to the study after it
        # (``lookup``): per parameter, the lowest number of a completed trial that has it
        # and the parameters every such trial has; per set of parameters, the highest
        # number of a completed trial that has just that set
        self.first: dict[str, int] = {}
        self.common: dict[str, frozenset[str]] = {}
        self.last: dict[tuple[str, ...], int] = {}
        # names the PartialFixedSamplers around the sampler set; None: unknown which names
        # outside the space a trial draws afresh, so none counts (``_scheduler.afresh``)
        self.fixed: frozenset[str] | None = None
        self.pruned: list[Evaluated] = []  # pruned trials not placed yet (``add_pruned``)
        self.cursor = 0  # position in the index's finished_order already looked at
        self.read: tuple[int, frozenset[int]] | None = None  # Record.read of the index
        self.cache: dict[tuple[int, int], Generation] = {}  # (src, gen) -> generation

    def key(self, params: Mapping[str, Any], names: tuple[str, ...] | None = None) -> str:
        """The values of ``names`` (default: every parameter) as grid points, as text: one
        key per configuration, whoever wrote the values."""
        canon = self.encoder.canonical
        return repr(tuple(canon(n, params[n]) for n in (names or self.encoder.names)))

    def add(self, trial: FrozenTrial, value: float, claimed: bool = False) -> None:
        """Record a completed trial whose parameters of this space (at least one) have this
        space's distributions: a point evaluated here (inactive conditional ones aside).
        ``value``: finite, or ``+inf`` where the objective returned ``inf`` (or ``-inf``
        when maximising); ``claimed``: the trial holds a claim (it evaluated a row)."""
        if (names := self._names(trial)) is None:
            return
        for n in names:
            self.first[n] = min(self.first.get(n, trial.number), trial.number)
            self.common[n] = self.common.get(n, frozenset(names)) & frozenset(names)
        self.last[names] = max(self.last.get(names, trial.number), trial.number)
        if (params := self._on_grid(trial, names)) is None:
            return
        self._record(names, Evaluated(trial.number, value, params, claimed))
        branch, seen = self._branch(params), self.choices.setdefault(names, set())
        if branch not in seen:  # a new branch: pruned trials waiting for it may be placed
            seen.add(branch)
            self.pruned = [e for e in self.pruned if not self._place_pruned(e)]

    def add_pruned(self, trial: FrozenTrial, claimed: bool = False,
                   value: float = math.inf) -> None:
        """Record a pruned trial: a point evaluated here, with ``value`` (``+inf``, or its
        last reported value with ``consider_pruned_trials``), once its
        parameters are seen to be a whole configuration. A pruner would stop a deterministic
        objective again (a median or percentile bar only rises as the study improves), so
        a pruned configuration answers its twins like one that returned ``inf``. A trial can
        be pruned before it suggested every parameter, so it tells nothing about which
        parameters are conditional, and it answers rows only once it has every parameter
        of the space, or the parameters and categorical values (the branch) of a completed
        trial; until then it waits (re-checked when a completed trial shows a new branch)."""
        if (names := self._names(trial)) is None:
            return
        if (params := self._on_grid(trial, names)) is None:
            return
        e = Evaluated(trial.number, value, params, claimed)
        if not self._place_pruned(e):
            self.pruned.append(e)

    def _place_pruned(self, e: Evaluated) -> bool:
        """Record the pruned trial ``e`` if its parameters make a known configuration."""
        names = tuple(e.params)
        if len(names) < len(self.encoder.names) and (
                self._branch(e.params) not in self.choices.get(names, ())):
            return False
        self._record(names, e)
        return True

    def _names(self, trial: FrozenTrial) -> tuple[str, ...] | None:
        """The parameters of this space that ``trial`` has, in the space's order; None if it
        has none, or one with another distribution (it evaluated no point here)."""
        d = trial.distributions
        names = tuple(n for n in self.encoder.names if n in d)
        if not names or any(d[n] != self.space[n] for n in names):
            return None
        return names

    def _record(self, names: tuple[str, ...], e: Evaluated) -> None:
        self.groups.setdefault(names, {}).setdefault(self.key(e.params, names), []).append(e)

    def _on_grid(self, trial: FrozenTrial, names: tuple[str, ...]) -> dict[str, Any] | None:
        """``names``'s values of ``trial``, or None where one is off the grid (an enqueued
        value off the grid evaluated no point of the grid)."""
        if not all(self.encoder.on_grid(n, trial.params[n]) for n in names):
            return None
        return {n: trial.params[n] for n in names}

    def _branch(self, params: Mapping[str, Any]) -> tuple:
        """The categorical values of ``params`` (its branch, ``_scheduler.predicted``)."""
        return tuple((n, self.encoder.canonical(n, v)) for n, v in params.items()
                     if isinstance(self.space[n], CategoricalDistribution))

    def lookup(self, params: Mapping[str, Any]) -> Evaluated | None:
        """A completed trial that evaluated ``params`` (a full point of the space): one whose
        every parameter equals ``params``'s, the others being inactive in it. A parameter
        that a trial lacks may instead have been added to the study after that trial; then
        the trial evaluated one unknown value of it, not every value, and answers no row
        (see :meth:`lacks_after`). The first such trial with a finite value, else the
        first that returned ``inf`` and claimed a row, else the first."""
        found: list[Evaluated] = []
        for names, group in self.groups.items():
            missing = [n for n in self.encoder.names if n not in names]
            after = max((self.lacks_after(names, n) for n in missing), default=-math.inf)
            for e in group.get(self.key(params, names), ()):
                if e.number > after:
                    if math.isfinite(e.value):
                        return e
                    found.append(e)
        return min(found, key=lambda e: not e.claimed, default=None)

    def lacks_after(self, names: tuple[str, ...], name: str) -> float:
        """Trials with just ``names`` numbered above this lack ``name`` because it is
        inactive in them. All of them do if ``name`` is conditional on them: a trial that
        has it lacks one of ``names`` (another branch), or a trial with just ``names`` came
        after its first one (a branch where it is unused). Otherwise only those after the
        first trial that has ``name`` do: the ones before may have run before it existed."""
        first = self.first.get(name, math.inf)
        if not frozenset(names) <= self.common.get(name, frozenset(names)):
            return -math.inf
        return -math.inf if self.last.get(names, -math.inf) > first else first

    @property
    def plain(self) -> bool:
        """Has every completed trial seen so far all of this space's parameters (no
        conditional ones)? Then two rows differ in a parameter their trials suggest."""
        return all(len(names) == len(self.encoder.names) for names in self.groups)

    @property
    def evaluated(self) -> list[Evaluated]:
        """The first trial with a finite value of each configuration (completed, or pruned
        with ``consider_pruned_trials``: its last reported value)."""
        return [next(e for e in same if math.isfinite(e.value))
                for group in self.groups.values() for same in group.values()
                if any(math.isfinite(e.value) for e in same)]


@dataclass(frozen=True)
class Evaluated:
    number: int
    value: float  # minimisation sign: finite, or +inf (the objective returned inf, pruned)
    params: dict[str, Any]
    claimed: bool = False  # the trial claimed a row of a run (a result a record can bind)


def wrapped(study: Study) -> tuple[frozenset[str], Any]:
    """The names that the ``optuna.samplers.PartialFixedSampler`` wrappers around the
    study's sampler set (they override the values of a claimed row, and give every trial
    the same value of them), and the sampler they wrap."""
    from optuna.samplers import PartialFixedSampler

    names: set[str] = set()
    sampler = getattr(study, "sampler", None)
    while isinstance(sampler, PartialFixedSampler):
        names.update(getattr(sampler, "_fixed_params", None) or ())
        sampler = getattr(sampler, "_base_sampler", None)
    return frozenset(names), sampler
