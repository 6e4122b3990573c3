"""Optuna sampler driving any registered metaheuristic through its ask/tell interface.

The population lives in the study's storage, so threads (``n_jobs``), processes and
machines sharing one storage run *one* metaheuristic together; the protocol that makes
that safe is described in :mod:`metaheur.optuna._protocol` (docs: "Distributed samplers").

**Several workers.** Rows are claimed in trial-number order, so no row is claimed twice; a
lost row is re-issued exactly once: at once when its trial failed by the heartbeat or an
interruption, after ``wait_timeout`` when it stays RUNNING in a storage without a
heartbeat (with a heartbeat a slow trial is never re-issued, nor in memory while the
thread that asked it lives). When every row is taken, a trial waits for the generation,
or, with ``speculative=True``, evaluates a *spare*: a row of the next generation predicted
from the results known so far, whose point then takes that row's place (the algorithm is
told it: nothing is wasted, but a row may be one generation behind, an asynchronous
variant of the published update; opt-in). Batch ``study.ask()`` from one thread always
gets spares (distinct points), used by the next generation when it asks them. A trial
silent for ``GRACE`` (10 s) is presumed dead and decided around; if it was only stalled it
finds the mark after claiming and takes no part in the run (its parameters come from
``independent_sampler``). See :mod:`metaheur.optuna._protocol`.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections.abc import Sequence
from types import FrameType
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from metaheur._base import Optimizer
from metaheur.optuna._coordinator import Coordinator, Withdrawn
from metaheur.optuna._fallback import PerTrialRandomSampler
from metaheur.optuna._liveness import fail_abandoned, forget, token
from metaheur.optuna._options import (
    check_algo,
    check_options,
    check_seed,
    probe,
)
from metaheur.optuna._protocol import (
    END_KEY,
    VERSION,
    ticket_key,
)
from metaheur.optuna._sampler_spaces import SamplerSpaces
from metaheur.optuna._space import SearchSpaceEncoder
from metaheur.optuna._store import GenerationStore

__all__ = ["MetaheuristicSampler"]

logger = logging.getLogger(__name__)

_DEFAULT_N_TRIALS = 100


def _interrupted() -> bool:
    """Did the trial now being told fail by an interruption rather than by the objective?"""
    exc = sys.exc_info()[1]
    if exc is not None:
        return isinstance(exc, (KeyboardInterrupt, SystemExit))
    frame: FrameType | None = sys._getframe(1)
    for _ in range(12):  # Optuna's _run_trial keeps the objective's exception in func_err
        if frame is None:
            break
        err = frame.f_locals.get("func_err")
        if isinstance(err, BaseException):
            return isinstance(err, (KeyboardInterrupt, SystemExit))
        frame = frame.f_back
    return False


class MetaheuristicSampler(SamplerSpaces, BaseSampler):
    """Optuna sampler running a :mod:`metaheur` algorithm (any registered one) on the study.

    Example::

        import optuna
        from metaheur.optuna import MetaheuristicSampler

        sampler = MetaheuristicSampler("gwo", seed=0, n_trials=200)
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=200)

    Policies
    --------
    Encoding
        Every parameter of the relative search space is one dimension of the box
        [-1, 1]^d (docs/algorithms.md §0.3, :class:`~metaheur.optuna.SearchSpaceEncoder`);
        the optimizer is told the encoded row it asked, with the value of its parameters.
    Search space
        ``search_space`` fixes the space from the first trial on; a study with one worker
        then evaluates the points of ``metaheur.minimize(f_encoded, encoder.bounds, algo,
        budget=n_trials, pop_size=..., seed=seed)`` (with ``skip_evaluated=False``: exactly
        them). Without it the space is the *union* of the completed trials' parameters
        (``union_space=True``): a conditional parameter is a dimension like any other, and
        a trial ignores the dimensions its branch does not suggest; a row is answered from
        history when a completed trial had the same values on its own parameters. With
        ``union_space=False`` it is Optuna's intersection (branch parameters then come from
        the fallback sampler). The first trial is sampled by the fallback sampler and joins
        the initial population. A changed space starts a new run, warm-started from the
        completed trials (inactive dimensions at the centre of their range).
    No trial spent twice
        A row the study evaluated (COMPLETE, or PRUNED: ``+inf``) is answered without a
        trial; one a running trial evaluates waits for its result. FAIL, and PRUNED with the
        user attribute ``failure`` (``metaheur.models``), may be transient: no answer.
        ``skip_evaluated=False`` keeps only the wait on exact points (noisy objectives).
    Horizon and restarts
        With ``n_trials`` expected trials the core gets ``budget = n_trials`` (minus
        warm-start points), hence ``T = ceil((n_trials - n0) / e)`` (docs/algorithms.md
        §0.2). Past it, a new optimizer restarts the schedule from the best ``pop_size // 2``
        points of the population and of every completed trial, on the same random stream.
    Failures and interruptions
        FAIL and PRUNED trials count as ``+inf`` (a PRUNED one as its last intermediate
        value with ``consider_pruned_trials``). A trial interrupted (``KeyboardInterrupt``,
        ``SystemExit``) or failed by Optuna's heartbeat is not a result: its row is
        evaluated again by the next trial.
    Several workers
        Run one population, each row claimed once (module docstring; docs/distributed.md).
    Enqueued trials and the fallback sampler
        Enqueued and other completed trials are warm-start points, never rows. Parameters
        outside the relative search space (conditional ones, the first trial without
        ``search_space``) come from ``independent_sampler``, with one warning; the default
        (:mod:`metaheur.optuna._fallback`) draws at random, per trial, avoiding repeats.

    Parameters
    ----------
    algo
        Registry name (:func:`metaheur.available`) or an :class:`~metaheur.Optimizer` class.
    pop_size
        Population size N; default ``isqrt(n_trials)`` clipped to
        ``[max(min_pop_size, 4), 30]``.
    seed
        ``None`` or an integer in ``[0, 2**32 - 1]`` (NumPy integers too): the seed of the
        optimizer's random stream (the first trial of a run seeds it for all workers) and
        of the default fallback sampler. Not a NumPy generator: workers sharing the
        storage must derive the same stream from it.
    n_trials
        Expected number of trials of the whole study, over all workers: the schedule
        horizon (default 100). Every worker needs the same ``n_trials``, ``pop_size`` and
        hyper-parameters: other settings make another run (a warning says so).
    search_space
        Optional fixed relative search space (dict of name -> distribution).
    wait_timeout
        Seconds (``>= 0``) after which a RUNNING trial's row is re-issued when the storage
        has no heartbeat, or ``None``: 3 x the median trial duration, at least 10 s (60 s
        before any trial finished). In memory only a trial whose asking thread has ended
        is re-issued; past the timeout a live thread's trial is not waited for either
        (the others evaluate spares: a trial never told cannot hang the study).
    skip_evaluated
        Answer rows already evaluated from the study (default) instead of re-running them.
    speculative
        Instead of waiting for a generation's last rows, evaluate predicted rows of the
        next generation, which then take those rows' places (an asynchronous variant of
        the algorithm, at most one generation behind; ``_protocol`` rule 4).
    union_space
        Without ``search_space``: optimise the union of the trials' parameters (default),
        or Optuna's intersection (``False``).
    consider_pruned_trials
        Tell a pruned trial's row its last intermediate value instead of ``+inf`` (as
        Optuna's ``CmaEsSampler`` option of that name): the objective must report values
        on the scale of the value it returns. Default off (README: "With a pruner").
    independent_sampler, warn_independent_sampling
        Sampler for parameters outside the relative search space; emit its one warning.
    **algo_params
        Hyper-parameters of the algorithm (``Optimizer.defaults``); not ``budget`` or
        ``max_iter`` (``n_trials`` sets both) nor ``x0`` (enqueue trials instead).

    Notes
    -----
    Each trial writes one claim; each generation one record (the optimizer state) into the
    trial that made it. MySQL's TEXT column caps a record at 64 KiB (about pop_size x dim
    <= 1,000 numbers per array); PostgreSQL and SQLite have no such limit.
    """

    def __init__(
        self,
        algo: str | type[Optimizer],
        *,
        pop_size: int | None = None,
        seed: int | None = None,
        n_trials: int = _DEFAULT_N_TRIALS,
        search_space: dict[str, BaseDistribution] | None = None,
        wait_timeout: float | None = None,
        skip_evaluated: bool = True,
        speculative: bool = False,
        union_space: bool = True,
        consider_pruned_trials: bool = False,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        **algo_params: Any,
    ) -> None:
        cls = check_algo(algo)
        pop_size = check_options(cls, n_trials, pop_size, wait_timeout, search_space,
                                  algo_params,
                                  skip_evaluated=skip_evaluated, speculative=speculative,
                                  union_space=union_space,
                                  consider_pruned_trials=consider_pruned_trials)
        seed = check_seed(seed)
        # Validate the hyper-parameters now (the core raises ValueError naming them), and
        # that the class's state can be shared (get_state names undeclared attributes).
        probe(cls, int(pop_size), algo_params)
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        self._cls = cls
        self._pop_size = int(pop_size)
        self._seed = seed
        self._n_trials = int(n_trials)
        self._algo_params = dict(algo_params)
        self._fixed_space = None
        if search_space is not None:
            SearchSpaceEncoder(search_space)  # unsupported distributions raise here
            self._fixed_space = {k: v for k, v in search_space.items() if not v.single()}
        self._wait_timeout = None if wait_timeout is None else float(wait_timeout)
        self._speculative = speculative
        self._union_space = union_space
        self._store = GenerationStore(cls, self._pop_size, self._n_trials, self._algo_params,
                                      skip_evaluated=skip_evaluated,
                                      pruned_last=consider_pruned_trials)
        self._attr = ticket_key(cls.name)
        self._independent_sampler = independent_sampler or PerTrialRandomSampler(
            seed, fresh=skip_evaluated, claims=self._attr)
        self._warn_independent_sampling = warn_independent_sampling
        self._settings = self._store.signature
        self._intersection = IntersectionSearchSpace()
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._coord = Coordinator(self._store, self._attr, self._seed, self._settings,
                                  speculative=self._speculative,
                                  wait_timeout=self._wait_timeout, warn=self._warn_once)
        self._had_space: set[int] = set()  # trial ids whose relative search space was not empty
        self._withdrawn: set[int] = set()  # trial ids presumed dead, sampled independently
        self._warned: set[str] = set()
        self._decided: dict[int, dict[str, Any]] = {}  # trial id -> params chosen at creation
        self._spaces: dict[int, dict[str, BaseDistribution]] = {}  # ... and its space
        # trial id -> name -> (distribution, value) handed to Optuna by sample_relative
        self._relative: dict[int, dict[str, tuple[BaseDistribution, Any]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_lock", "_coord", "_had_space", "_withdrawn", "_warned", "_decided",
                    "_spaces", "_relative"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __str__(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------- Optuna API
    def reseed_rng(self) -> None:
        # the optimizer's stream is stored state (all workers'): only the fallback's is reseeded
        self._independent_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Decide the trial's row now, at creation, in trial-number order (``_protocol``):
        Optuna asks for the relative parameters lazily, at the first ``suggest_*``."""
        self._refuse_multi_objective(study, trial)
        fail_abandoned(study)
        self._independent_sampler.before_trial(study, trial)
        if trial.params:  # created with its parameters (a retried trial): nothing to decide
            return
        # a trial object built again for a trial that decided already: never decide twice
        restored = self._restore(study, trial, trial.system_attrs.get(self._attr))
        if restored is not None:
            space, params = restored
        else:
            space = self._infer(study, trial)
            params = self._sample(study, trial, space)
        with self._lock:
            self._decided[trial._trial_id] = params
            self._spaces[trial._trial_id] = space  # Optuna infers it again: one read less

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        if state == TrialState.FAIL:  # mark it: an interruption is not a result
            study._storage.set_trial_system_attr(trial._trial_id, END_KEY,
                                                 {"interrupted": _interrupted()})
        forget(study._storage, trial._trial_id)
        with self._lock:
            self._coord.live.pop(trial.number, None)
            self._had_space.discard(trial._trial_id)
            self._withdrawn.discard(trial._trial_id)
            self._decided.pop(trial._trial_id, None)
            self._spaces.pop(trial._trial_id, None)
            relative = self._relative.pop(trial._trial_id, {})
        self._warn_if_overridden(trial, relative)
        self._independent_sampler.after_trial(study, trial, state, values)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial
                                    ) -> dict[str, BaseDistribution]:
        with self._lock:
            known = self._spaces.pop(trial._trial_id, None)  # the space it was decided in
        if known is not None:
            return dict(known)
        restored = None if trial.params else self._restore_stored(study, trial)
        if restored is not None:  # a copy of a trial that decided in another process
            space, params = restored
            with self._lock:
                self._decided[trial._trial_id] = params
            return dict(space)
        return self._infer(study, trial)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        self._raise_error_if_multi_objective(study)
        with self._lock:
            dist, value = self._relative.get(trial._trial_id, {}).get(param_name, (None, None))
        if dist is not None and dist == param_distribution:
            # Optuna refused the claimed value: its ``_contains`` test of a float grid has
            # noise above about 5e7 steps; the value is the grid point the row claimed.
            return value
        if (
            dist is None  # (claimed with another distribution: after_trial warns)
            and self._warn_independent_sampling
            and trial._trial_id in self._had_space
            and trial._trial_id not in self._withdrawn
            and "fixed_params" not in trial.system_attrs
        ):
            self._warn_once(
                "independent",
                f"{self}: parameter {param_name!r} of trial #{trial.number} is outside the "
                "relative search space (dynamic or conditional search space) and is sampled "
                f"by {type(self._independent_sampler).__name__}. This warning is shown once; "
                "pass warn_independent_sampling=False to silence it.",
            )
        return self._independent_sampler.sample_independent(study, trial, param_name,
                                                            param_distribution)

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        with self._lock:
            params = self._decided.pop(trial._trial_id, None)
        if params is None:
            if trial.params:
                return {}
            restored = self._restore_stored(study, trial)
            params = (restored[1] if restored is not None
                      else self._sample(study, trial, search_space))
        # Optuna re-infers the space lazily; the intersection can only have shrunk.
        params = {k: v for k, v in params.items() if k in search_space}
        with self._lock:
            self._relative[trial._trial_id] = {k: (search_space[k], v) for k, v in params.items()}
        return params

    def _sample(self, study: Study, trial: FrozenTrial,
                search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """Wait for the trial's turn and claim a row or a spare (its parameters)."""
        storage = study._storage
        if not search_space or "fixed_params" in trial.system_attrs:  # no claim; its twins
            skip = {"v": VERSION, "skip": True}  # wait for it: this thread tells it (``mine``)
            storage.set_trial_system_attr(trial._trial_id, self._attr, skip)
            self._coord.live[trial.number] = weakref.ref(token())
            return {}
        got = self._coord.take_turn(study, trial, search_space, self._lock)
        if isinstance(got, Withdrawn):
            with self._lock:
                self._withdrawn.add(trial._trial_id)  # no warning: it is logged
            return {}
        return got
