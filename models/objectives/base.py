"""The machinery every model objective shares (docs/models.md §6, §7).

An objective declares its hyper-parameters in one table of :class:`HP` rows (distribution and
default per profile) and implements :meth:`Objective.run`. The base class turns that into an
Optuna objective (``objective(trial)``), a plain function of a parameter dict
(:meth:`Objective.evaluate`, e.g. for ``metaheur.optuna.box_problem`` and
:func:`metaheur.minimize`), validation of parameters against the space, and the trial's
records: each validation metric as its own scalar user attribute ``val_<metric>``, and the
validation predictions as an Optuna artifact (``val_predictions.json``) when an artifact
directory is given, else as the ``val_predictions`` user attribute.
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import inspect
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import optuna
from numpy.typing import NDArray
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metaheur.models.device import resolve_device
from metaheur.models.train import TrainingFailed

__all__ = ["PROFILES", "HP", "RunResult", "Objective", "METRIC_PREFIX", "PREDICTIONS_ARTIFACT"]

logger = logging.getLogger(__name__)

PROFILES = ("cpu", "gpu")
#: How data without an official split are split (:func:`metaheur.models.data.split_indices`).
SPLITS = ("stratified", "random")
#: user attribute name of validation metric ``m`` is ``METRIC_PREFIX + m``
METRIC_PREFIX = "val_"
#: file name of the validation-predictions artifact; its id is in the user attribute
#: ``val_predictions_artifact``
PREDICTIONS_ARTIFACT = "val_predictions.json"
#: trial user attribute: :meth:`Objective.fingerprint` of the configuration that scored it
CONFIG_ATTR = "objective_config"
#: attributes that do not decide a score: the hardware, where results go, run-time state
_NOT_CONFIG = frozenset({"device", "artifact_dir", "last_result"})
_SAME = object()


@dataclass(frozen=True)
class HP:
    """One row of a search-space table: distribution and default per profile.

    ``cpu`` / ``gpu`` is the distribution searched in that profile, ``None`` when the parameter
    is not tuned there (it may still be fixed). ``gpu`` and ``gpu_default`` default to the CPU
    column.
    """

    cpu: BaseDistribution | None
    default: Any
    gpu: Any = _SAME
    gpu_default: Any = _SAME

    def dist(self, profile: str) -> BaseDistribution | None:
        return self.gpu if profile == "gpu" and self.gpu is not _SAME else self.cpu

    def default_for(self, profile: str) -> Any:
        if profile == "gpu" and self.gpu_default is not _SAME:
            return self.gpu_default
        return self.default


def flt(low: float, high: float, log: bool = False) -> FloatDistribution:
    return FloatDistribution(low, high, log=log)


def intd(low: int, high: int, log: bool = False) -> IntDistribution:
    return IntDistribution(low, high, log=log)


def cat(*choices: Any) -> CategoricalDistribution:
    return CategoricalDistribution(choices)


@dataclass
class RunResult:
    """One training run: minimised ``score``, validation ``metrics`` and predictions."""

    score: float
    metrics: dict[str, Any]
    y_val: NDArray
    proba_val: NDArray
    params: dict[str, Any]
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    raise TypeError(f"unsupported distribution for {name!r}: {dist!r}")


def check_in_space(name: str, value: Any, dist: BaseDistribution) -> Any:
    """Return ``value`` (floats within rounding of a bound are clipped) or raise ValueError."""
    if isinstance(value, np.generic):  # a value read off an array: np.int64(16) -> 16
        value = value.item()
    if isinstance(dist, CategoricalDistribution):
        equal = [c for c in dist.choices if c == value]
        if equal:  # the space's own object (16, not 16.0); the same type first (1, not True)
            return next((c for c in equal if type(c) is type(value)), equal[0])
        raise ValueError(f"{name} must be one of {list(dist.choices)}, got {value!r}")
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    if ok and isinstance(dist, FloatDistribution):
        tol = 1e-9 * max(abs(dist.low), abs(dist.high))
        ok = dist.low - tol <= value <= dist.high + tol
        value = float(min(max(value, dist.low), dist.high)) if ok else value
    elif ok:
        ok = float(value).is_integer() and dist.low <= value <= dist.high
        value = int(value) if ok else value
    if not ok:
        raise ValueError(f"{name} must be in [{dist.low:g}, {dist.high:g}], got {value!r}")
    return value


def _seed(name: str, value: Any) -> int:
    """A seed NumPy, torch and scikit-learn all accept: an integer in [0, 2**32)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def sample_sizes(n: Any) -> tuple[int, int, int]:
    """The synthetic ``n = (train, val, test)`` of an objective, which trains, scores on
    val and reports on test: each part must hold samples (train two or more)."""
    ok = (isinstance(n, (tuple, list)) and len(n) == 3
          and all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in n)
          and n[0] >= 2 and n[1] >= 1 and n[2] >= 1)
    if not ok:
        raise ValueError("n must be three sizes (train, val, test) of synthetic samples, "
                         f"train >= 2 and val, test >= 1; got {n!r}")
    return int(n[0]), int(n[1]), int(n[2])


def dataset_digest(ds: Any) -> str:
    """A short hash of a loaded dataset: its source, images, labels and any official split
    or groups (``Slices2D`` / ``Volumes3D``)."""
    h = hashlib.sha256(str(ds.source).encode())
    for part in (ds.X, ds.y, ds.split, ds.groups):
        if part is not None:
            a = np.ascontiguousarray(part)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()[:16]


def rounded(a: NDArray) -> list:
    return np.round(np.asarray(a, dtype=float), 4).tolist()


def _plain(value: Any) -> Any:
    """JSON form of a configuration value json cannot write (dataclasses, NumPy scalars;
    a class or a module-level function by its import path, the same in every process)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, type) or inspect.isfunction(value) or inspect.isbuiltin(value):
        qualname = getattr(value, "__qualname__", "")
        if "<" not in qualname:  # not a lambda or a local: its path names it alone
            return f"{getattr(value, '__module__', None)}:{qualname}"
    return repr(value)  # a lambda's or a local's holds its address: never equal elsewhere


def _is_method(cls: type, name: str) -> bool:
    """``cls`` defines ``name`` as a method: an instance attribute of that name is the
    method patched (tests, instrumentation), not a setting."""
    return inspect.isroutine(inspect.getattr_static(cls, name, None))


class Objective(abc.ABC):
    """Common machinery: profile, fixed parameters, defaults, the Optuna adapter.

    Subclasses define ``name``, :meth:`table` and :meth:`run`. ``fixed`` pins parameters
    (removed from the search space; any value accepted, e.g. ``{"epochs": 1}`` for smoke
    tests). ``init_seed="fixed"`` uses ``seed`` for the model initialisation and shuffling of
    every trial; ``"trial"`` adds the trial number. ``artifact_dir``: where the validation
    predictions of each trial go as an Optuna artifact (file system store; its absolute path
    is kept in the study's user attribute ``artifact_dir``). ``split``: how data without an
    official split are split 70/15/15, ``"stratified"`` or ``"random"`` (the shuffled split
    that metaheur drew by mistake until December 2026; the archived benchmark runs on digits
    used it: :func:`metaheur.models.data.split_indices`).
    """

    name: ClassVar[str] = ""
    #: What the score is, for plots and summaries (the score is always minimised).
    label: ClassVar[str] = "objective"

    def __init__(
        self,
        *,
        profile: str = "cpu",
        device: str = "auto",
        seed: int = 0,
        fixed: Mapping[str, Any] | None = None,
        init_seed: str = "fixed",
        eval_test: bool = False,
        artifact_dir: str | os.PathLike[str] | None = None,
        split: str = "stratified",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        if init_seed not in ("fixed", "trial"):
            raise ValueError(f"init_seed must be 'fixed' or 'trial', got {init_seed!r}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.split = split
        self.profile, self.seed, self.init_seed = profile, _seed("seed", seed), init_seed
        self.device = resolve_device(device)
        self.eval_test = eval_test
        self.artifact_dir = None if artifact_dir is None else os.fspath(artifact_dir)
        self.fixed = {k: v.item() if isinstance(v, np.generic) else v
                      for k, v in (fixed or {}).items()}  # fmt: skip
        unknown = set(self.fixed) - set(self.table())
        if unknown:
            raise ValueError(f"fixed has unknown parameters {sorted(unknown)}; "
                             f"allowed: {sorted(self.table())}")  # fmt: skip
        self._cache: dict[Any, Any] = {}
        self._seed_override: int | None = None
        self.last_result: RunResult | None = None

    # -- to be defined by subclasses -------------------------------------------------------
    @abc.abstractmethod
    def table(self) -> dict[str, HP]:
        """Every parameter: distribution and default per profile (docs/models.md §7)."""

    @abc.abstractmethod
    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train with the complete ``params`` and score on the validation split."""

    def parts(self, ds: Any) -> dict[str, NDArray]:
        """The train/val/test indices of ``ds`` under this objective's seed and ``split``."""
        from metaheur.models.data import split_indices

        return split_indices(ds, seed=self.seed, stratify=self.split == "stratified")

    def prepare(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Load the data (and run any one-off stage) now; trials then start warm."""

    # -- public API ----------------------------------------------------------------------
    def _check_profile(self, profile: str | None) -> str:
        profile = self.profile if profile is None else profile
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        return profile

    def search_space(self, profile: str | None = None) -> dict[str, BaseDistribution]:
        """Distributions of the tuned parameters (docs/models.md §7) minus the ``fixed`` ones."""
        profile = self._check_profile(profile)
        return {k: d for k, hp in self.table().items()
                if (d := hp.dist(profile)) is not None and k not in self.fixed}  # fmt: skip

    def defaults(self, profile: str | None = None) -> dict[str, Any]:
        """The values used for anything not tuned (the CPU or GPU default column), plus fixed."""
        profile = self._check_profile(profile)
        return {**{k: hp.default_for(profile) for k, hp in self.table().items()}, **self.fixed}

    def config(self) -> dict[str, Any]:
        """Every setting besides the parameters that decides a trial's score: the public
        attributes (seed, split, fixed, data, metric, an estimator class or a function kept
        as a setting, ...) minus the device and the output folder (and methods patched onto
        the instance)."""
        return {k: v for k, v in sorted(vars(self).items())
                if not k.startswith("_") and k not in _NOT_CONFIG
                and not (callable(v) and _is_method(type(self), k))}

    def dataset(self) -> Any:
        """The loaded dataset (``Slices2D`` / ``Volumes3D``; memoised by the loaders), or
        ``None`` for an objective without one."""
        return None

    def data_id(self) -> str | None:
        """A digest of the dataset the scores come from (:func:`dataset_digest`; ``None``:
        no data). The arguments do not decide it alone: with ``source="auto"`` or
        ``root=None`` the environment and the files present do (docs/models.md §1.0)."""
        if "data_id" not in self._cache:
            ds = self.dataset()
            self._cache["data_id"] = None if ds is None else dataset_digest(ds)
        return self._cache["data_id"]

    def fingerprint(self) -> str:
        """A short hash of the objective's class, :meth:`config` and :meth:`data_id` (this
        loads the data), stored with each trial (``objective_config``): a trial's score is
        reused only under an equal fingerprint."""
        blob = json.dumps([type(self).__qualname__, self.config(), self.data_id()],
                          sort_keys=True, default=_plain)  # fmt: skip
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        space, table = self.search_space(), self.table()
        unknown = set(params) - set(table)
        if unknown:
            raise ValueError(
                f"unknown parameters {sorted(unknown)} for {self.name!r}; allowed: {sorted(table)}"
                f" (tuned: {sorted(space)})"
            )
        for k, v in params.items():
            if k in space:
                params[k] = check_in_space(k, v, space[k])
        return {**self.defaults(), **params}

    def _train_seed(self, trial: optuna.Trial | None) -> int:
        if self._seed_override is not None:
            return int(self._seed_override)
        if trial is not None and self.init_seed == "trial":
            return self.seed + int(trial.number)
        return self.seed

    def _check_study_profile(self, trial: optuna.Trial) -> None:
        study = getattr(trial, "study", None)
        if study is None:  # optuna.trial.FixedTrial: no study to agree with
            return
        attrs = study.user_attrs
        if self.artifact_dir is not None and "artifact_dir" not in attrs:
            study.set_user_attr("artifact_dir", os.path.abspath(self.artifact_dir))
        for key, value in (("profile", self.profile), ("objective", self.name)):
            if key not in attrs:
                study.set_user_attr(key, value)
            elif attrs[key] != value:
                raise ValueError(
                    f"this study was created with {key}={attrs[key]!r} but this worker uses "
                    f"{key}={value!r}; all workers of one study must share one search space"
                )

    def __call__(self, trial: optuna.Trial) -> float:
        """Optuna objective: sample the space, train (reporting each epoch), return the score.

        ``trial`` may also be an ``optuna.trial.FixedTrial`` (given parameters, no study): its
        predictions are then kept in the user attribute ``val_predictions``.

        With ``init_seed="fixed"`` a run is a deterministic function of its parameters, so a
        configuration that an earlier trial of the study already completed is not trained
        again: its value and attributes are copied and ``reused_from`` names that trial.
        """
        self._check_study_profile(trial)
        sampled = {k: _suggest(trial, k, d) for k, d in self.search_space().items()}
        earlier = self._completed_twin(trial, sampled)
        if earlier is not None:
            for key, value in earlier.user_attrs.items():
                trial.set_user_attr(key, value)
            trial.set_user_attr("reused_from", earlier.number)
            logger.info("trial %d repeats trial %d's parameters; value reused",
                        trial.number, earlier.number)
            return float(earlier.value)
        res = self.run(self._params(sampled), trial=trial)
        self._record(trial, res)
        return res.score

    def _record(self, trial: optuna.Trial, res: RunResult) -> None:
        """Scalar metrics as ``val_<name>``; predictions as an artifact (or a user attr)."""
        for k, v in res.metrics.items():
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool):
                trial.set_user_attr(METRIC_PREFIX + k, float(v))
        preds = {"y": res.y_val.astype(int).tolist(), "proba": rounded(res.proba_val)}
        if self.artifact_dir is None or getattr(trial, "study", None) is None:
            trial.set_user_attr("val_predictions", preds)
        else:
            trial.set_user_attr("val_predictions_artifact", self._upload(trial, preds))
        trial.set_user_attr("fit_seconds", round(res.seconds, 3))
        trial.set_user_attr(CONFIG_ATTR, self.fingerprint())
        for k, v in res.extra.items():
            trial.set_user_attr(k, v)

    def _upload(self, trial: optuna.Trial, preds: dict[str, Any]) -> str:
        from optuna.artifacts import FileSystemArtifactStore, upload_artifact

        os.makedirs(self.artifact_dir, exist_ok=True)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, PREDICTIONS_ARTIFACT)
            with open(path, "w") as fh:
                json.dump(preds, fh)
            return upload_artifact(
                artifact_store=FileSystemArtifactStore(self.artifact_dir), file_path=path,
                study_or_trial=trial, mimetype="application/json",
            )  # fmt: skip

    def _completed_twin(
        self, trial: optuna.Trial, sampled: Mapping[str, Any]
    ) -> optuna.trial.FrozenTrial | None:
        """An earlier COMPLETE trial of the study with exactly these parameters, scored under
        this objective's configuration (workers of one study may differ in seed, data, ...)."""
        study = getattr(trial, "study", None)
        if self.init_seed != "fixed" or study is None:
            return None
        mine = self.fingerprint()
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if (t.params == sampled and "fit_seconds" in t.user_attrs
                    and t.user_attrs.get(CONFIG_ATTR) == mine):  # fmt: skip
                return t
        return None

    def evaluate(self, params: Mapping[str, Any] | None = None, *,
                 train_seed: int | None = None) -> float:  # fmt: skip
        """Minimised score for ``params`` (missing ones take defaults); a failed run is ``+inf``.

        ``train_seed`` replaces the objective's seed for model initialisation, shuffling and
        dropout only (the data and split stay), to measure the score's seed spread. The full
        :class:`RunResult` of the last call is kept in ``last_result``.
        """
        full = self._params(params)
        self._seed_override = None if train_seed is None else _seed("train_seed", train_seed)
        try:
            res = self.run(full)
        except TrainingFailed as exc:
            logger.warning("%s: %s; scored +inf", self.name, exc)
            self.last_result = None
            return math.inf
        finally:
            self._seed_override = None
        self.last_result = res
        return res.score

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profile={self.profile!r}, device={str(self.device)!r})"
