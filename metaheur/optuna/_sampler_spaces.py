"""The search-space half of :class:`~metaheur.optuna.MetaheuristicSampler`: the relative
search space of a trial that has not decided, the decision of one that has (a trial
decides once, ``_protocol``, "The log"), and the sampler's one-time warnings."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metaheur.optuna._fallback import redraws
from metaheur.optuna._protocol import Claim, Skip, parse_ticket
from metaheur.optuna._runspace import RunSpace, wrapped
from metaheur.optuna._space import SearchSpaceEncoder

__all__ = ["SamplerSpaces"]

_MAX_COMBOS = 256  # candidate spaces tried for a claim whose space has shrunk


class SamplerSpaces:
    """Mixed into :class:`~metaheur.optuna.MetaheuristicSampler` (its attributes)."""

    _attr: str
    _settings: str
    _warned: set[str]

    def _infer(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """The relative search space of a trial that has not decided yet."""
        if self._fixed_space is not None:
            space = dict(self._fixed_space)
        elif self._union_space:
            self._raise_error_if_multi_objective(study)
            with self._lock:
                space = self._coord.union_space(study, trial)
        else:
            space = {name: dist for name, dist in self._intersection.calculate(study).items()
                     if not dist.single()}
            if not space:
                self._warn_if_paramless(study)
        fixed, inner = wrapped(study)
        fixed = fixed if inner is self else frozenset()
        # which parameters outside the space each trial draws afresh (``_scheduler.afresh``)
        self._coord.fixed = fixed if inner is self and redraws(self._independent_sampler) \
            else None
        if fixed:  # the wrapper sets them: the population searches the others
            space = {name: dist for name, dist in space.items() if name not in fixed}
        if space:
            with self._lock:
                self._had_space.add(trial._trial_id)
        return space

    def _restore_stored(self, study: Study, trial: FrozenTrial
                        ) -> tuple[dict[str, BaseDistribution], dict[str, Any]] | None:
        """:meth:`_restore` from the trial's stored ticket. A copy of a trial sent to another
        process (pickled: joblib, loky, Dask, multiprocessing) carries the trial as it was
        before its decision, and this sampler copy none of its caches: one read finds it."""
        attrs = study._storage.get_trial(trial._trial_id).system_attrs
        return self._restore(study, trial, attrs.get(self._attr))

    def _restore(self, study: Study, trial: FrozenTrial, raw: Any
                 ) -> tuple[dict[str, BaseDistribution], dict[str, Any]] | None:
        """The space and parameters of a trial that already decided (``raw``: its stored
        ticket): its claimed point, or nothing to sample (it takes no part); ``None``: it
        has not decided. A trial decides once (``_protocol``, "The log"): deciding again
        would claim a second row for it (rows claimed twice, points evaluated twice) or wait
        for rows only its own thread's later ``tell`` finishes."""
        ticket = parse_ticket(raw)
        if isinstance(ticket, Skip):
            return {}, {}
        if not isinstance(ticket, Claim):
            return None
        current = self._infer(study, trial)
        names = ticket.names or tuple(current)
        run = _claimed_run(study, ticket, names, current, self._settings)
        if run is None:
            raise RuntimeError(
                f"{self}: trial #{trial.number} already claimed a point of a run whose "
                "search space or sampler settings this sampler does not have (parameters "
                f"{list(names)}); evaluate a trial with the sampler and study that asked it")
        with self._lock:
            if run.space:
                self._had_space.add(trial._trial_id)
        return run.space, run.encoder.decode(np.array(ticket.x))

    def _raise_error_if_multi_objective(self, study: Study) -> None:
        if study._is_multi_objective():
            raise ValueError(_multi_objective_error(self, study))

    def _refuse_multi_objective(self, study: Study, trial: FrozenTrial) -> None:
        """Fail the trial just created and raise, for a multi-objective study: refused in
        ``before_trial``, inside ``study.ask()``, the trial would otherwise stay RUNNING."""
        if study._is_multi_objective():
            why = _multi_objective_error(self, study)
            study._storage.set_trial_system_attr(trial._trial_id, "metaheur:error", why)
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            raise ValueError(why)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=3)

    def _warn_if_overridden(self, trial: FrozenTrial,
                            relative: dict[str, tuple[BaseDistribution, Any]]) -> None:
        """Warn once when a finished trial evaluated other values than the point it claimed:
        a wrapper (Optuna's PartialFixedSampler) set parameters this sampler had claimed,
        so its row is told the value of a point the optimizer did not propose. ``relative``:
        name -> (distribution, value) of the claimed point as handed to Optuna."""
        c = parse_ticket(trial.system_attrs.get(self._attr))
        if not isinstance(c, Claim) or c.names is None:
            return
        dists = trial.distributions
        if not all(n in dists for n in c.names):
            return  # a branch of a conditional space: its inactive parameters are not used
        for n in c.names:
            if n in relative and relative[n][0] != dists[n]:
                self._warn_distribution(trial, n, relative[n])
                return
        if "overridden" in self._warned:
            return
        enc = SearchSpaceEncoder({n: relative[n][0] if n in relative else dists[n]
                                  for n in c.names})  # the claim's space
        claimed = enc.decode(np.array(c.x))
        for n in c.names:
            if enc.canonical(n, trial.params[n]) != claimed[n]:
                self._warn_once("overridden", (
                    f"{self}: trial #{trial.number} evaluated {n} = {trial.params[n]!r}, not "
                    f"{claimed[n]!r} of the point it claimed: something set parameters this "
                    "sampler proposes (a wrapping sampler, or another study.sampler), so "
                    "the population is told values of points it did not propose. To fix a "
                    "parameter, leave it out of the sampler's search_space or wrap the "
                    "sampler in optuna.samplers.PartialFixedSampler."))
                return

    def _warn_distribution(self, trial: FrozenTrial, name: str,
                           claimed: tuple[BaseDistribution, Any]) -> None:
        """Warn once that ``trial`` suggested ``name`` with another distribution than the
        one its point was claimed in: Optuna uses the claimed value where the new
        distribution holds it, else asks the fallback sampler."""
        dist, value = claimed
        used = trial.params[name] == value
        head = (f"{self}: trial #{trial.number} suggested {name!r} with "
                f"{trial.distributions[name]}, but the sampler's search space, where its "
                f"point was claimed, has {dist} (search_space=... differs from the "
                "objective's suggest calls, or the range changed during the study). ")
        if used:
            self._warn_once("distribution:used", head + (
                f"The claimed value is used where the new range holds it; the population "
                f"searches {dist} only."))
        else:
            self._warn_once("distribution:outside", head + (
                f"The claimed value {value!r} lies outside it, so {name} was sampled by "
                f"{type(self._independent_sampler).__name__} and the population is told "
                "the value of a point it did not propose. Give search_space the "
                "distributions the objective suggests."))

    def _warn_if_paramless(self, study: Study) -> None:
        if "paramless" in self._warned:
            return
        for t in study._storage.get_all_trials(study._study_id, deepcopy=False,
                                               states=(TrialState.COMPLETE,)):
            if not t.params:
                self._warn_once(
                    "paramless",
                    f"{self}: completed trial #{t.number} has no parameters, so the "
                    "intersection search space is empty and every trial is sampled by the "
                    "fallback sampler (random search). Pass search_space=... to the sampler.",
                )
                return


def _multi_objective_error(sampler: Any, study: Study) -> str:
    directions = [d.name.lower() for d in study.directions]
    return (f"{sampler} optimises a single objective; this study has {len(directions)} "
            f"objectives (directions={directions}). Use a multi-objective sampler, e.g. "
            "optuna.samplers.NSGAIISampler, or create the study with one direction.")


def _claimed_run(study: Study, ticket: Claim, names: tuple[str, ...],
                 current: dict[str, BaseDistribution], settings: str) -> RunSpace | None:
    """The run ``ticket`` claimed a point of (``None``: not one of this sampler's). Its
    parameters have their distributions in ``current``, the space now; one the space lost
    since the claim (the intersection shrinks, and the union drops a parameter seen with two
    distributions, as trials complete) has one of the study's completed trials': the claim
    is evaluated as claimed (docs/distributed.md, "A trial decides once")."""
    lost = [n for n in names if n not in current]
    options: dict[str, list[BaseDistribution]] = {n: [] for n in lost}
    if lost and ticket.names is not None:
        for t in study._storage.get_all_trials(study._study_id, deepcopy=False,
                                               states=(TrialState.COMPLETE,)):
            for n in lost:
                d = t.distributions.get(n)
                if d is not None and d not in options[n]:
                    options[n].append(d)
    for combo in itertools.islice(itertools.product(*options.values()), _MAX_COMBOS):
        found = dict(zip(lost, combo, strict=True))
        run = RunSpace({n: found[n] if n in found else current[n] for n in names}, settings)
        if run.sig == ticket.run and run.encoder.dim == len(ticket.x):
            return run
    return None
