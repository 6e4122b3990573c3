"""Optuna sampler driving any registered metaheuristic through its ask/tell interface.

The population lives in the study's storage, so that threads (``n_jobs``), processes and
machines sharing one storage run *one* metaheuristic together:

* study system attr ``metaheur:<algo>:<run>``: the current *generation* (one ask batch of
  the core optimizer) as ``{"gen", "token", "restart", "opt"}``, where ``opt`` is
  :meth:`metaheur.Optimizer.get_state` taken right after ``ask()`` (strict JSON) and
  ``token`` a hash of it; ``<run>`` hashes the search space and the sampler settings.
* trial system attr ``metaheur:<algo>``: ``{"run", "gen", "token", "row", "x", "t"}``, the
  row of the batch the trial evaluates, its encoded point and the assignment time.

A trial takes the first row of the batch that no trial holds. When every row of a
finished batch has a finished trial, the next trial tells the batch to the optimizer
(deterministically: identical inputs give identical states, so racing workers write the
same record), asks the next one and stores it. Each sampler instance caches the decoded
optimizer keyed on ``(gen, token)`` and indexes the trials incrementally, so a trial costs
O(rows + running trials), not O(n_trials).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import statistics
import threading
import time
import warnings
from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from optuna.distributions import BaseDistribution, distribution_to_json
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metaheur._base import Optimizer
from metaheur._registry import available, get
from metaheur.optuna._space import SearchSpaceEncoder

__all__ = ["MetaheuristicSampler"]

logger = logging.getLogger(__name__)

_ATTR_PREFIX = "metaheur:"
_DEFAULT_N_TRIALS = 100
_MIN_WAIT = 10.0  # seconds, floor of the adaptive wait_timeout
_FIRST_WAIT = 60.0  # adaptive wait_timeout before any trial of the run has finished
_MAX_POLL = 0.5  # seconds between two storage polls while waiting


def _default_pop_size(cls: type[Optimizer], n_trials: int) -> int:
    """``isqrt(n_trials)`` clipped to ``[max(min_pop_size, 4), 30]``: N ~ T ~ sqrt(budget)."""
    return int(min(30, max(cls.min_pop_size, 4, math.isqrt(n_trials))))


class _Run:
    """One metaheuristic run in one search space: the cached decoded generation."""

    __slots__ = ("key", "sig", "space", "encoder", "gen", "token", "restart", "opt", "X", "cache")

    def __init__(self, key: str, sig: str, space: dict[str, BaseDistribution]) -> None:
        self.key, self.sig, self.space = key, sig, space
        self.encoder = SearchSpaceEncoder(space)
        self.gen = -1
        self.token = ""
        self.restart = 0
        self.opt: Optimizer | None = None
        self.X: NDArray = np.empty((0, self.encoder.dim))
        self.cache: dict[int, dict[str, Any]] = {}  # row -> decoded params


class _StudyIndex:
    """Incremental index of the trials of one study (rows held, finished values)."""

    def __init__(self, key: tuple[int, int]) -> None:
        self.key = key
        self.hw = 0  # trial numbers < hw have been looked at
        self.unfinished: set[int] = set()  # numbers looked at while not finished
        # (run sig, gen, token) -> trial number -> (row, finished, value, assign time)
        self.entries: dict[tuple[str, int, str], dict[int, tuple[int, bool, float, float]]] = {}
        self.durations: dict[str, deque[float]] = {}  # run sig -> recent trial durations
        self.runs: dict[str, _Run] = {}


class MetaheuristicSampler(BaseSampler):
    """Optuna sampler running a :mod:`metaheur` algorithm (any registered one) on the study.

    Example::

        import optuna
        from metaheur.optuna import MetaheuristicSampler

        def objective(trial):
            x = trial.suggest_float("x", -5, 5)
            lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
            act = trial.suggest_categorical("act", ["relu", "tanh"])
            return (x - 1) ** 2 + abs(math.log10(lr) + 3) + (act == "tanh")

        sampler = MetaheuristicSampler("gwo", seed=0, n_trials=200)
        study = optuna.create_study(sampler=sampler)
        study.optimize(objective, n_trials=200)

    Policies
    --------
    Encoding
        Every parameter of the relative search space is one dimension of the box
        [-1, 1]^d (docs/algorithms.md §0.3): floats linearly (log floats in log space) with the
        centre of the range at 0; ints, stepped floats and categoricals as equal-width bins,
        one per value (:class:`~metaheur.optuna.SearchSpaceEncoder`). The optimizer is told
        the encoded row it asked, with the value of the decoded parameters.
    Search space
        ``search_space`` fixes the space from the first trial on; a study with one worker
        then evaluates exactly the points of
        ``metaheur.minimize(f_encoded, encoder.bounds, algo, budget=n_trials,
        pop_size=..., seed=seed)``. Without it the space is Optuna's intersection of the
        completed trials' spaces: the first trial is sampled by the fallback sampler and
        joins the initial population as a warm-start point. A changed space starts a new run
        (warm-started from the completed trials in that space).
    Horizon and restarts
        The schedules need a horizon: with ``n_trials`` expected trials the core gets
        ``budget = n_trials`` (minus warm-start points), hence
        ``T = ceil((n_trials - n0) / e)`` (docs/algorithms.md §0.2). A study that runs past it
        restarts the schedule at ``t = 1`` with a new optimizer whose ``x0``/``f0`` are the
        best ``pop_size // 2`` points among the population and every completed trial in the
        space, drawing from the same random stream; ``t`` is never clamped at ``T``.
    FAIL and PRUNED trials
        Count as ``+inf`` (worse than any value), so they never stall a generation. A row
        evaluated by several trials (see below) gets the best completed value.
    Stale RUNNING trials
        A trial that finds every row of the batch held waits, polling the storage, until
        the batch finishes or the newest trial of some row has run for ``wait_timeout``
        seconds; it then re-issues that row (speculative re-execution). A trial never
        waits for trials that its own thread asked (batch ``study.ask()``): it re-issues
        at once. ``wait_timeout=None`` (default) adapts: 3 x the median duration of the
        run's finished trials, at least 10 s (60 s before any has finished). With
        ``RDBStorage(heartbeat_interval=..., grace_period=...)`` Optuna itself fails
        the trials of dead workers, which then count as ``+inf`` without any wait.
    Enqueued and earlier trials
        A trial with fixed parameters (``study.enqueue_trial``) never holds a row; its
        missing parameters come from the fallback sampler. Completed trials in the space
        (enqueued, ``study.add_trial``, other samplers, late duplicates) are warm-start
        points ``x0``/``f0`` of the initial population (best first, at most ``pop_size``,
        not re-evaluated) and candidates of every restart: no completed evaluation is lost.
    Fallback sampler
        Parameters outside the relative search space (dynamic or conditional ones, the
        first trial without ``search_space``, enqueued trials) are sampled by
        ``independent_sampler`` (default ``RandomSampler(seed)``); one ``UserWarning`` per
        sampler when this happens in a trial that had a relative search space.

    Parameters
    ----------
    algo
        Registry name (:func:`metaheur.available`) or an :class:`~metaheur.Optimizer` class.
    pop_size
        Population size N; default ``isqrt(n_trials)`` clipped to
        ``[max(min_pop_size, 4), 30]``.
    seed
        Seed of the optimizer's random stream and of the default fallback sampler.
    n_trials
        Expected number of trials: the schedule horizon (default 100).
    search_space
        Optional fixed relative search space (dict of name -> distribution).
    wait_timeout
        Seconds (``>= 0``) before a trial re-issues a row held by a running trial, or
        ``None`` for the adaptive default above.
    independent_sampler
        Sampler for parameters outside the relative search space.
    warn_independent_sampling
        Emit the one fallback warning.
    **algo_params
        Hyper-parameters of the algorithm (``Optimizer.defaults``).

    Notes
    -----
    Per-trial cost is O(pop_size + running trials); each generation also costs one
    tell/ask, one ``get_state()`` and one study-attr write. The generation record is one
    JSON value; MySQL's TEXT column caps it at 64 KiB (about pop_size x dim <= 1,000
    numbers per array), PostgreSQL and SQLite have no such limit.
    """

    _algo_name: str | None = None  # set by the named subclasses

    def __init__(
        self,
        algo: str | type[Optimizer],
        pop_size: int | None = None,
        seed: int | None = None,
        *,
        n_trials: int = _DEFAULT_N_TRIALS,
        search_space: dict[str, BaseDistribution] | None = None,
        wait_timeout: float | None = None,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        **algo_params: Any,
    ) -> None:
        if isinstance(algo, type) and issubclass(algo, Optimizer):
            cls = algo
        elif isinstance(algo, str):
            cls = get(algo)  # ValueError listing the available names
        else:
            raise ValueError(
                f"algo must be a registered name or an Optimizer subclass, got {algo!r}; "
                f"available: {', '.join(available())}"
            )
        if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)):
            raise ValueError(f"n_trials must be an integer >= 1, got {n_trials!r}")
        if n_trials < 1:
            raise ValueError(f"n_trials must be an integer >= 1, got {n_trials}")
        if pop_size is None:
            pop_size = _default_pop_size(cls, int(n_trials))
        elif isinstance(pop_size, bool) or not isinstance(pop_size, (int, np.integer)):
            raise ValueError(f"pop_size must be an integer or None, got {pop_size!r}")
        elif pop_size < cls.min_pop_size:
            raise ValueError(
                f"pop_size must be >= {cls.min_pop_size} for {cls.name}, got {pop_size}"
            )
        if wait_timeout is not None:
            ok = isinstance(wait_timeout, (int, float)) and not isinstance(wait_timeout, bool)
            if not ok or not math.isfinite(wait_timeout) or wait_timeout < 0:
                raise ValueError(
                    f"wait_timeout must be None (adaptive) or a finite number of seconds "
                    f">= 0, got {wait_timeout!r}"
                )
        if search_space is not None and not isinstance(search_space, dict):
            raise ValueError(
                "search_space must be None or a dict of parameter name -> optuna "
                f"distribution, got {type(search_space).__name__}"
            )
        # Validate the hyper-parameters now (the core raises ValueError naming them).
        cls([(-1.0, 1.0)], pop_size=int(pop_size), max_iter=1, **algo_params)
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
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._warn_independent_sampling = warn_independent_sampling
        self._attr = _ATTR_PREFIX + cls.name
        self._intersection = IntersectionSearchSpace()
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._index: _StudyIndex | None = None
        self._live: dict[int, int] = {}  # trial number -> ident of the thread that asked it
        self._had_space: set[int] = set()  # trial ids whose relative search space was not empty
        self._warned = False

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("_lock", "_index", "_live", "_had_space", "_warned"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __str__(self) -> str:
        return type(self).__name__

    # ------------------------------------------------------------- Optuna API
    def reseed_rng(self) -> None:
        # The optimizer's stream is part of the stored state (shared by all workers);
        # only the fallback sampler is reseeded.
        self._independent_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            self._live.pop(trial.number, None)
            self._had_space.discard(trial._trial_id)
        self._independent_sampler.after_trial(study, trial, state, values)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if self._fixed_space is not None:
            space = dict(self._fixed_space)
        else:
            space = {
                name: dist
                for name, dist in self._intersection.calculate(study).items()
                if not dist.single()
            }
        if space:
            with self._lock:
                self._had_space.add(trial._trial_id)
        return space

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._raise_error_if_multi_objective(study)
        if (
            self._warn_independent_sampling
            and not self._warned
            and trial._trial_id in self._had_space
            and "fixed_params" not in trial.system_attrs
        ):
            self._warned = True
            warnings.warn(
                f"{self}: parameter {param_name!r} of trial #{trial.number} is outside the "
                "relative search space (dynamic or conditional search space) and is sampled "
                f"by {type(self._independent_sampler).__name__}. This warning is shown once; "
                "pass warn_independent_sampling=False to silence it.",
                UserWarning,
                stacklevel=2,
            )
        logger.debug("trial %d: %r sampled independently", trial.number, param_name)
        return self._independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        if not search_space or "fixed_params" in trial.system_attrs:
            return {}  # nothing to sample, or an enqueued trial: it never holds a row
        waited_since: float | None = None
        delay = 0.005
        while True:
            with self._lock:
                got = self._try_assign(study, trial, search_space, waited_since)
            if not isinstance(got, float):
                return got
            waited_since = time.monotonic() if waited_since is None else waited_since
            time.sleep(min(delay, got))
            delay = min(2 * delay, _MAX_POLL)

    # --------------------------------------------------------------- internals
    def _sign(self, study: Study) -> float:
        return 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0

    def _study_index(self, study: Study) -> _StudyIndex:
        key = (id(study._storage), study._study_id)
        if self._index is None or self._index.key != key:
            self._index = _StudyIndex(key)
        return self._index

    def _run_for(self, index: _StudyIndex, space: dict[str, BaseDistribution]) -> _Run:
        desc = json.dumps(
            [
                [[k, distribution_to_json(v)] for k, v in space.items()],
                self._pop_size,
                self._n_trials,
                repr(sorted(self._algo_params.items())),
            ]
        )
        sig = hashlib.sha1(desc.encode()).hexdigest()[:12]
        run = index.runs.get(sig)
        if run is None:
            run = index.runs[sig] = _Run(f"{self._attr}:{sig}", sig, dict(space))
        return run

    def _refresh(self, study: Study, index: _StudyIndex) -> None:
        """Index the trials that are new or were unfinished at the last look."""
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)
        n = len(trials)
        if n and trials[-1].number != n - 1:  # pragma: no cover - storages number 0..n-1
            by_number = {t.number: t for t in trials}
            n = max(by_number) + 1
        else:
            by_number = None
        numbers = sorted(index.unfinished) + list(range(index.hw, n))
        index.hw = max(index.hw, n)
        sign = self._sign(study)
        for k in numbers:
            t = trials[k] if by_number is None else by_number.get(k)
            if t is None:  # pragma: no cover
                continue
            finished = t.state.is_finished()
            if finished:
                index.unfinished.discard(k)
            else:
                index.unfinished.add(k)
            a = t.system_attrs.get(self._attr)
            if not isinstance(a, dict) or "run" not in a:
                continue
            value = math.inf
            if t.state == TrialState.COMPLETE and t.value is not None:
                value = sign * t.value
                if not math.isfinite(value):
                    value = math.inf
            index.entries.setdefault((a["run"], a["gen"], a["token"]), {})[k] = (
                int(a["row"]), finished, value, float(a["t"])
            )
            if finished and t.datetime_start and t.datetime_complete:
                index.durations.setdefault(a["run"], deque(maxlen=101)).append(
                    (t.datetime_complete - t.datetime_start).total_seconds()
                )

    def _try_assign(
        self,
        study: Study,
        trial: FrozenTrial,
        space: dict[str, BaseDistribution],
        waited_since: float | None,
    ) -> dict[str, Any] | float:
        """Return the trial's params, or the seconds to sleep before trying again."""
        index = self._study_index(study)
        run = self._run_for(index, space)
        a = trial.system_attrs.get(self._attr)
        if isinstance(a, dict) and a.get("run") == run.sig:  # asked twice for one trial
            return run.encoder.decode(np.array(a["x"]))
        self._refresh(study, index)
        if run.opt is None:
            self._load_or_init(study, index, run)
        while True:
            n = run.X.shape[0]
            entries = index.entries.get((run.sig, run.gen, run.token), {})
            held = [False] * n
            done = [False] * n
            newest = [-math.inf] * n
            mine = [True] * n  # every unfinished trial of the row was asked by this thread
            me = threading.get_ident()
            for number, (row, fin, _, t_assign) in entries.items():
                if row >= n:
                    continue
                held[row] = True
                if fin:
                    done[row] = True
                else:
                    newest[row] = max(newest[row], t_assign)
                    mine[row] = mine[row] and self._live.get(number) == me
            if all(done):
                self._advance(study, index, run, entries)
                continue
            if not all(held):
                return self._claim(study, trial, index, run, held.index(False))
            open_rows = [i for i in range(n) if not done[i]]
            row = min(open_rows, key=lambda i: (newest[i], i))  # whose newest trial is oldest
            timeout = self._effective_timeout(index, run)
            age = time.time() - newest[row]
            waited = 0.0 if waited_since is None else time.monotonic() - waited_since
            if all(mine[i] for i in open_rows) or age >= timeout or waited >= timeout:
                logger.info(
                    "trial %d re-issues row %d of generation %d (its newest trial has run "
                    "%.1f s; wait_timeout %.1f s)", trial.number, row, run.gen, age, timeout
                )
                return self._assign(study, trial, index, run, row)
            return max(0.001, min(timeout - age, timeout - waited))

    def _effective_timeout(self, index: _StudyIndex, run: _Run) -> float:
        if self._wait_timeout is not None:
            return self._wait_timeout
        durations = index.durations.get(run.sig)
        if not durations:
            return _FIRST_WAIT
        return max(_MIN_WAIT, 3.0 * statistics.median(durations))

    def _claim(
        self, study: Study, trial: FrozenTrial, index: _StudyIndex, run: _Run, row: int
    ) -> dict[str, Any]:
        """Take free ``row``; if a worker of another process took it too, the older trial
        (lower number) keeps it and this one moves to the next free row, if any."""
        for _ in range(run.X.shape[0]):
            params = self._assign(study, trial, index, run, row)
            if all(k in self._live for k in index.unfinished):
                return params  # no other process is running trials: no race possible
            self._refresh(study, index)
            entries = index.entries.get((run.sig, run.gen, run.token), {})
            if not any(e[0] == row and k < trial.number for k, e in entries.items()):
                return params
            held = {e[0] for k, e in entries.items() if k != trial.number}
            free = [i for i in range(run.X.shape[0]) if i not in held]
            if not free:
                return params  # every row is held: keep the duplicate
            logger.debug("trial %d lost row %d to an older trial; takes row %d",
                         trial.number, row, free[0])
            row = free[0]
        return params

    def _assign(
        self, study: Study, trial: FrozenTrial, index: _StudyIndex, run: _Run, row: int
    ) -> dict[str, Any]:
        x = run.X[row]
        t_assign = time.time()
        study._storage.set_trial_system_attr(
            trial._trial_id,
            self._attr,
            {
                "run": run.sig,
                "gen": run.gen,
                "token": run.token,
                "row": row,
                "x": x.tolist(),
                "t": t_assign,
            },
        )
        index.entries.setdefault((run.sig, run.gen, run.token), {})[trial.number] = (
            row, False, math.inf, t_assign
        )
        index.unfinished.add(trial.number)
        self._live[trial.number] = threading.get_ident()
        params = run.cache.get(row)
        if params is None:
            params = run.cache[row] = run.encoder.decode(x)
        return dict(params)

    # -------------------------------------------------------- run life cycle
    def _load(self, run: _Run, record: dict[str, Any]) -> None:
        opt = self._cls.from_state(record["opt"], check_version=False)
        self._set_generation(run, record, opt, opt.ask())

    def _set_generation(
        self, run: _Run, record: dict[str, Any], opt: Optimizer, X: NDArray
    ) -> None:
        run.gen, run.token, run.restart = record["gen"], record["token"], record["restart"]
        run.opt, run.X, run.cache = opt, X, {}

    def _store(self, study: Study, run: _Run, record: dict[str, Any]) -> dict[str, Any]:
        """Write ``record``; return what the storage holds afterwards (a racer may win)."""
        study._storage.set_study_system_attr(study._study_id, run.key, record)
        stored = study._storage.get_study_system_attrs(study._study_id).get(run.key)
        return stored if isinstance(stored, dict) else record

    def _record(self, gen: int, restart: int, opt: Optimizer) -> dict[str, Any]:
        state = opt.get_state()
        token = hashlib.sha1(
            json.dumps(state, sort_keys=True, allow_nan=False).encode()
        ).hexdigest()[:16]
        return {"gen": gen, "token": token, "restart": restart, "opt": state}

    def _load_or_init(self, study: Study, index: _StudyIndex, run: _Run) -> None:
        record = study._storage.get_study_system_attrs(study._study_id).get(run.key)
        if record is None:
            X0, f0 = self._warm_points(study, run, self._pop_size, ())
            opt = self._new_optimizer(run.encoder.dim, self._seed, X0, f0)
            opt, X = self._ask(study, run, opt)
            record = self._record(0, 0, opt)
            stored = self._store(study, run, record)
            if stored["token"] == record["token"]:
                self._set_generation(run, record, opt, X)
                logger.debug("%s: new run %s in %d dimensions", self, run.key, run.encoder.dim)
                return
            record = stored
        self._load(run, record)

    def _advance(
        self,
        study: Study,
        index: _StudyIndex,
        run: _Run,
        entries: dict[int, tuple[int, bool, float, float]],
    ) -> None:
        """Tell the finished batch, ask the next one and store it (unless a racer did)."""
        record = study._storage.get_study_system_attrs(study._study_id).get(run.key)
        if record is not None and (record["gen"], record["token"]) != (run.gen, run.token):
            if record["gen"] >= run.gen:  # another worker advanced (or won a race)
                self._load(run, record)
                self._prune(index, run)
                return
        f = np.full(run.X.shape[0], np.inf)
        for row, fin, value, _ in entries.values():
            if fin and row < f.size and value < f[row]:
                f[row] = value
        opt = run.opt
        assert opt is not None
        opt.tell(run.X, f)
        restart = run.restart
        if opt.done:
            opt, restart = self._restart(study, run, opt), restart + 1
        opt, X = self._ask(study, run, opt)
        new = self._record(run.gen + 1, restart, opt)
        stored = self._store(study, run, new)
        if stored["token"] == new["token"]:
            self._set_generation(run, new, opt, X)
        else:
            self._load(run, stored)
        self._prune(index, run)

    def _prune(self, index: _StudyIndex, run: _Run) -> None:
        for key in [k for k in index.entries if k[0] == run.sig and k[1] < run.gen]:
            del index.entries[key]

    def _ask(self, study: Study, run: _Run, opt: Optimizer) -> tuple[Optimizer, NDArray]:
        """``opt.ask()``, telling empty batches (all rows known) and restarting when done."""
        while True:
            if opt.done:
                opt = self._restart(study, run, opt)
            X = opt.ask()
            if X.shape[0]:
                return opt, X
            opt.tell(X, np.empty(0))

    def _new_optimizer(
        self, dim: int, seed: int | np.random.Generator, X0: NDArray | None, f0: NDArray | None
    ) -> Optimizer:
        m = 0 if f0 is None else f0.size
        n0 = self._pop_size - m
        horizon: dict[str, int] = {"budget": self._n_trials - m}
        if self._n_trials - m < n0 + 1:  # at least one iteration: T >= 1
            horizon = {"max_iter": 1}
        return self._cls(
            [(-1.0, 1.0)] * dim,
            pop_size=self._pop_size,
            seed=seed,
            x0=X0,
            f0=f0,
            **horizon,
            **self._algo_params,
        )

    def _restart(self, study: Study, run: _Run, opt: Optimizer) -> Optimizer:
        X, f = opt.population
        m = max(self._pop_size // 2, 1)
        X0, f0 = self._warm_points(study, run, m, list(zip(f, X, strict=True)))
        logger.info(
            "%s: schedule horizon reached after %d evaluations; restart %d keeps %d points",
            self, opt.nfev, run.restart + 1, 0 if f0 is None else f0.size,
        )
        return self._new_optimizer(run.encoder.dim, opt.rng, X0, f0)

    def _warm_points(
        self,
        study: Study,
        run: _Run,
        limit: int,
        population: Sequence[tuple[float, NDArray]],
    ) -> tuple[NDArray | None, NDArray | None]:
        """Best ``limit`` distinct points of ``population`` and of the completed trials."""
        sign = self._sign(study)
        cands: list[tuple[float, int, int, Any]] = [
            (float(fv), 0, i, x) for i, (fv, x) in enumerate(population) if math.isfinite(fv)
        ]
        space = run.space
        for t in study._storage.get_all_trials(
            study._study_id, deepcopy=False, states=(TrialState.COMPLETE,)
        ):
            if t.value is None or not math.isfinite(t.value):
                continue
            dists = t.distributions
            if all(dists.get(k) == d for k, d in space.items()):
                cands.append((sign * t.value, 1, t.number, t))
        cands.sort(key=lambda c: c[:3])
        X: list[NDArray] = []
        f: list[float] = []
        seen: set[str] = set()
        for fv, src, _, item in cands:
            if len(f) >= limit:
                break
            if src == 0:
                x = np.asarray(item, dtype=float)
                params = run.encoder.decode(x)
            else:
                params = {k: item.params[k] for k in space}
                x = run.encoder.encode(params)
            key = repr(list(params.values()))
            if key in seen:
                continue
            seen.add(key)
            X.append(x)
            f.append(fv)
        if not f:
            return None, None
        return np.array(X), np.array(f)
