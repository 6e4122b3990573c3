"""HPO objectives: validation scores of LSTM-ELU and IFM as functions of their hyper-parameters.

Each objective declares its search space (docs/models.md §7; the ``profile`` argument, never the
detected device, picks the CPU or GPU table), is an Optuna objective (``objective(trial)``,
reporting each epoch for pruning and storing metrics and validation predictions in the trial's
user attrs), and a plain function for :func:`metaheur.minimize` through :meth:`evaluate` or
:meth:`as_minimize_problem`. All scores are **minimised**: ``1 - val macro-F1`` for
``"lstm-elu"`` (seed 004) and ``1 - val AUC`` of the ensemble for ``"ifm"`` (seed 000).

Data are loaded once per objective and the same split is used for every trial (common random
numbers, docs/models.md §6.1).

    >>> obj = get_objective("lstm-elu", n=(600, 300, 300))          # synthetic data, CPU space
    >>> study = optuna.create_study(direction="minimize"); study.optimize(obj, n_trials=20)
"""

from __future__ import annotations

import abc
import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
import optuna
import torch
from numpy.typing import NDArray
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metaheur.models.ifm import IFMEnsemble, IFMSubNet
from metaheur.models.losses import balanced_class_weight, cross_entropy, ifm_loss
from metaheur.models.lstm_elu import LSTMELUNet
from metaheur.models.metrics import UndefinedMetricWarning, binary_metrics, multiclass_metrics, roc_auc
from metaheur.models.train import TrainingFailed, resolve_device, seeded, train_model

__all__ = [
    "Objective",
    "LSTMELUObjective",
    "IFMObjective",
    "OBJECTIVES",
    "get_objective",
    "RunResult",
    "PROFILES",
]

logger = logging.getLogger(__name__)

PROFILES = ("cpu", "gpu")
_NOMINAL_FOVS = (32, 48, 64)  # mm; alpha of the AUC loss per scale (seed 000, after MSCS-DeepLN)
_ALPHA_PER_SCALE = (0.5, 0.75, 1.0)


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


def _check_in_space(name: str, value: Any, dist: BaseDistribution) -> Any:
    """Return ``value`` (floats within rounding of a bound are clipped) or raise ValueError."""
    if isinstance(dist, CategoricalDistribution):
        if value in dist.choices:
            return value
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


def _float(low: float, high: float, log: bool = False) -> FloatDistribution:
    return FloatDistribution(low, high, log=log)


def _rounded(a: NDArray) -> list:
    return np.round(np.asarray(a, dtype=float), 4).tolist()


class _MinimizeProblem:
    """Picklable ``fun(x)`` of :meth:`Objective.as_minimize_problem`."""

    def __init__(self, objective: Objective, encoder: Any) -> None:
        self.objective, self.encoder = objective, encoder

    def __call__(self, x: NDArray) -> float:
        return self.objective.evaluate(self.encoder.decode(np.asarray(x, dtype=float)))


class Objective(abc.ABC):
    """Common machinery: profile, fixed parameters, defaults, Optuna and minimize adapters.

    Subclasses define ``name``, :meth:`_space`, :meth:`_defaults` and :meth:`run`.
    ``fixed`` pins parameters (removed from the search space; any value accepted, e.g.
    ``{"epochs": 1}`` for smoke tests). ``init_seed="fixed"`` uses ``seed`` for the model
    initialisation and shuffling of every trial; ``"trial"`` adds the trial number.
    """

    name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        profile: str = "cpu",
        device: str = "auto",
        seed: int = 0,
        fixed: Mapping[str, Any] | None = None,
        init_seed: str = "fixed",
        eval_test: bool = False,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        if init_seed not in ("fixed", "trial"):
            raise ValueError(f"init_seed must be 'fixed' or 'trial', got {init_seed!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self.profile, self.seed, self.init_seed = profile, int(seed), init_seed
        self.device = resolve_device(device)
        self.eval_test = eval_test
        self.fixed = dict(fixed or {})
        unknown = set(self.fixed) - set(self._space(profile)) - set(self._extra_params())
        if unknown:
            raise ValueError(
                f"fixed has unknown parameters {sorted(unknown)}; "
                f"allowed: {sorted(set(self._space(profile)) | set(self._extra_params()))}"
            )
        self._cache: dict[Any, Any] = {}
        self.last_result: RunResult | None = None

    # -- to be defined by subclasses -------------------------------------------------------
    @abc.abstractmethod
    def _space(self, profile: str) -> dict[str, BaseDistribution]:
        """The full search space of ``profile`` (docs/models.md §7), before ``fixed`` is applied."""

    @abc.abstractmethod
    def _defaults(self, profile: str) -> dict[str, Any]:
        """The value of every parameter when it is not tuned (docs/models.md §7, §8)."""

    def _extra_params(self) -> tuple[str, ...]:
        """Parameters that may be fixed but are not in the search space."""
        return ()

    @abc.abstractmethod
    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train with the complete ``params`` and score on the validation split."""

    # -- public API ----------------------------------------------------------------------
    def search_space(self, profile: str | None = None) -> dict[str, BaseDistribution]:
        """Distributions of the tuned parameters (docs/models.md §7) minus the ``fixed`` ones."""
        profile = self.profile if profile is None else profile
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        return {k: d for k, d in self._space(profile).items() if k not in self.fixed}

    def defaults(self, profile: str | None = None) -> dict[str, Any]:
        """The values used for anything not tuned (the CPU or GPU default column), plus fixed."""
        profile = self.profile if profile is None else profile
        return {**self._defaults(profile), **self.fixed}

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        space = self.search_space()
        unknown = set(params) - set(space) - set(self.fixed) - set(self._extra_params())
        if unknown:
            raise ValueError(
                f"unknown parameters {sorted(unknown)} for {self.name!r}; allowed: {sorted(space)}"
            )
        for k, v in params.items():
            if k in space:
                params[k] = _check_in_space(k, v, space[k])
        return {**self.defaults(), **params}

    def _train_seed(self, trial: optuna.Trial | None) -> int:
        if trial is not None and self.init_seed == "trial":
            return self.seed + int(trial.number)
        return self.seed

    def _check_study_profile(self, trial: optuna.Trial) -> None:
        study = trial.study
        attrs = study.user_attrs
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

        With ``init_seed="fixed"`` a run is a deterministic function of its parameters, so a
        configuration that an earlier trial of the study already completed is not trained
        again: its value and attributes are copied and ``reused_from`` names that trial. A
        population that has converged (e.g. AOA and DLF-AOA at the end of their schedule,
        where every candidate is the best point) then costs nothing to re-evaluate.
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
        trial.set_user_attr("metrics", res.metrics)
        trial.set_user_attr(
            "val_predictions",
            {"y": res.y_val.astype(int).tolist(), "proba": _rounded(res.proba_val)},
        )
        trial.set_user_attr("fit_seconds", round(res.seconds, 3))
        for k, v in res.extra.items():
            trial.set_user_attr(k, v)
        return res.score

    def _completed_twin(
        self, trial: optuna.Trial, sampled: Mapping[str, Any]
    ) -> optuna.trial.FrozenTrial | None:
        """An earlier COMPLETE trial of the study with exactly these parameters, if any."""
        study = getattr(trial, "study", None)
        if self.init_seed != "fixed" or study is None:
            return None
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if t.params == sampled and "metrics" in t.user_attrs:
                return t
        return None

    def evaluate(self, params: Mapping[str, Any] | None = None) -> float:
        """Minimised score for ``params`` (missing ones take defaults); a failed run is ``+inf``.

        The full :class:`RunResult` of the last call is kept in ``last_result``.
        """
        full = self._params(params)
        try:
            res = self.run(full)
        except TrainingFailed as exc:
            logger.warning("%s: %s; scored +inf", self.name, exc)
            self.last_result = None
            return math.inf
        self.last_result = res
        return res.score

    def as_minimize_problem(self) -> tuple[Callable[[NDArray], float], NDArray]:
        """``(fun, bounds)`` for :func:`metaheur.minimize` via ``SearchSpaceEncoder``."""
        from metaheur.optuna import SearchSpaceEncoder

        enc = SearchSpaceEncoder(self.search_space())
        return _MinimizeProblem(self, enc), np.asarray(enc.bounds, dtype=float)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(profile={self.profile!r}, device={str(self.device)!r})"


def _split_tensors(
    X: NDArray | Sequence, y: NDArray, idx: Mapping[str, NDArray], device: torch.device
) -> dict[str, tuple[Any, NDArray]]:
    out = {}
    for part in ("train", "val", "test"):
        i = np.asarray(idx[part])
        xs = X[i] if isinstance(X, np.ndarray) else [x[torch.as_tensor(i)] for x in X]
        if isinstance(xs, np.ndarray):
            xs = torch.as_tensor(np.ascontiguousarray(xs, dtype=np.float32)).to(device)
        else:
            xs = [x.to(device) for x in xs]
        out[part] = (xs, np.asarray(y)[i].astype(np.int64))
    return out


class LSTMELUObjective(Objective):
    """``"lstm-elu"``: 1 - validation macro-F1 of :class:`LSTMELUNet` (seed 004; docs/models.md §4.3).

    Args:
        source: ``load_slices`` source (``"synthetic"`` default, ``"iqothnccd"``, ``"chestct"``,
            ``"digits"``, ``"auto"``); ``"digits"`` skips the ResNet trunk (rows fed straight
            into the LSTM).
        root: dataset root for real sources.
        profile: ``"cpu"`` or ``"gpu"`` search space and defaults (docs/models.md §7-§9).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        seed: data seed (generation and split) and training seed.
        n: synthetic (train, val, test) sizes. image_size: 64 (cpu) / 224 (gpu) by default.
        difficulty: synthetic task difficulty in [0, 1].
        metric: ``"f1"`` (macro-F1, default) or ``"accuracy"``.
        class_weight: ``None`` or ``"balanced"`` cross-entropy weights.
        categoricals: add ``gate``, ``cell_act``, ``segmentation`` to the search space.
        stem, sequence, trunk, schedule, augment: fixed architecture / training options.
    """

    name = "lstm-elu"

    def __init__(
        self,
        source: str = "synthetic",
        root: str | None = None,
        *,
        profile: str = "cpu",
        device: str = "auto",
        seed: int = 0,
        n: tuple[int, int, int] = (600, 300, 300),
        image_size: int | None = None,
        difficulty: float = 0.5,
        metric: str = "f1",
        class_weight: str | None = None,
        categoricals: bool = False,
        stem: str | None = None,
        sequence: str = "rows_mean",
        trunk: bool | None = None,
        schedule: str = "onecycle",
        augment: bool = False,
        fixed: Mapping[str, Any] | None = None,
        init_seed: str = "fixed",
        eval_test: bool = False,
    ) -> None:
        if metric not in ("f1", "accuracy"):
            raise ValueError(f"metric must be 'f1' or 'accuracy', got {metric!r}")
        if class_weight not in (None, "balanced"):
            raise ValueError(f"class_weight must be None or 'balanced', got {class_weight!r}")
        self.source, self.root, self.n, self.difficulty = source, root, tuple(n), difficulty
        self.metric, self.class_weight, self.categoricals = metric, class_weight, categoricals
        self.trunk = (source != "digits") if trunk is None else bool(trunk)
        self.image_size = image_size or (224 if profile == "gpu" else 64)
        self.stem = stem or ("imagenet" if profile == "gpu" else "small")
        self.sequence, self.schedule, self.augment = sequence, schedule, augment
        super().__init__(
            profile=profile, device=device, seed=seed, fixed=fixed, init_seed=init_seed,
            eval_test=eval_test,
        )  # fmt: skip

    def _space(self, profile: str) -> dict[str, BaseDistribution]:
        gpu = profile == "gpu"
        space: dict[str, BaseDistribution] = {
            "lr": _float(1e-5, 1e-1, log=True),
            "weight_decay": _float(1e-6, 1e-2, log=True),
            "batch_size": CategoricalDistribution((16, 32, 64)),
            "epochs": IntDistribution(10, 60) if gpu else IntDistribution(3, 15),
            "hidden": IntDistribution(16, 256, log=True),
            "layers": IntDistribution(1, 2),
            "dropout": _float(0.0, 0.6),
            "elu_alpha": _float(0.1, 2.0),
            "width": CategoricalDistribution((32, 64) if gpu else (8, 16)),
            "grad_clip": _float(0.5, 10.0, log=True),
        }
        if not self.trunk:
            del space["width"]
        if self.categoricals:
            space["gate"] = CategoricalDistribution(("sigmoid", "elu"))
            space["cell_act"] = CategoricalDistribution(("elu", "tanh"))
            if self.source != "digits":
                space["segmentation"] = CategoricalDistribution(("none", "bac_channel", "bac_roi"))
        return space

    def _defaults(self, profile: str) -> dict[str, Any]:
        gpu = profile == "gpu"
        return {
            "lr": 3e-3,
            "weight_decay": 1e-4,
            "batch_size": 64 if gpu else 32,
            "epochs": 20 if gpu else 8,
            "hidden": 128 if gpu else 64,
            "layers": 1,
            "dropout": 0.3,
            "elu_alpha": 1.0,
            "width": 64 if gpu else 8,
            "grad_clip": 5.0,
            "gate": "sigmoid",
            "cell_act": "elu",
            "segmentation": "none",
        }

    def _extra_params(self) -> tuple[str, ...]:
        return ("gate", "cell_act", "segmentation", "width")

    def data(self, segmentation: str = "none") -> dict[str, Any]:
        """Load (once) and split the slices; tensors live on the objective's device."""
        key = ("slices", segmentation)
        if key not in self._cache:
            from metaheur.models.data import load_slices, split_indices

            t0 = time.perf_counter()
            ds = load_slices(
                self.source, self.root, image_size=self.image_size, seed=self.seed, n=self.n,
                difficulty=self.difficulty, segmentation=segmentation,
            )  # fmt: skip
            parts = _split_tensors(ds.X, ds.y, split_indices(ds, seed=self.seed), self.device)
            self._cache[key] = {
                "parts": parts,
                "class_names": tuple(ds.class_names),
                "in_ch": int(ds.X.shape[1]),
                "image_size": int(ds.X.shape[-1]),
                "source": ds.source,
            }
            logger.info(
                "%s: loaded %s slices %s in %.1f s", self.name, ds.source, ds.X.shape,
                time.perf_counter() - t0,
            )  # fmt: skip
        return self._cache[key]

    def _score(self, y: NDArray, P: NDArray) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            return 1.0 - multiclass_metrics(y, P)[self.metric]

    def build_model(self, params: Mapping[str, Any], data: Mapping[str, Any]) -> LSTMELUNet:
        return LSTMELUNet(
            in_ch=data["in_ch"], n_classes=len(data["class_names"]), width=params["width"],
            stem=self.stem, hidden=params["hidden"], layers=params["layers"],
            dropout=params["dropout"], elu_alpha=params["elu_alpha"], gate=params["gate"],
            cell_act=params["cell_act"], trunk=self.trunk, sequence=self.sequence,
            image_size=data["image_size"],
        )  # fmt: skip

    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train one LSTM-ELU with ``params`` (complete) and score it on the validation split."""
        data = self.data(params["segmentation"])
        (Xtr, ytr), (Xva, yva) = data["parts"]["train"], data["parts"]["val"]
        seed = self._train_seed(trial)
        with seeded(seed, self.device):
            model = self.build_model(params, data)
        weight = None
        if self.class_weight == "balanced":
            weight = balanced_class_weight(ytr, len(data["class_names"]))
        res = train_model(
            model, (Xtr, ytr), (Xva, yva), loss_fn=partial(cross_entropy, weight=weight),
            score_fn=self._score, output="softmax", lr=params["lr"],
            weight_decay=params["weight_decay"], batch_size=params["batch_size"],
            epochs=params["epochs"], schedule=self.schedule, grad_clip=params["grad_clip"],
            augment=self.augment, seed=seed, device=self.device, trial=trial,
        )  # fmt: skip
        metrics = multiclass_metrics(yva, res.val_output)
        extra: dict[str, Any] = {"class_names": list(data["class_names"])}
        if self.eval_test:
            from metaheur.models.train import predict

            Xte, yte = data["parts"]["test"]
            extra["test_metrics"] = multiclass_metrics(yte, predict(model, Xte, device=self.device))
        return RunResult(res.score, metrics, yva, res.val_output, dict(params), res.train_seconds,
                         extra)  # fmt: skip


class IFMObjective(Objective):
    """``"ifm"``: 1 - validation AUC of the IFM ensemble (seed 000; docs/models.md §4.1-§4.2).

    One :class:`IFMSubNet` per field of view is trained with ``CE + alpha_k * AUC-power``
    (Eq. 13, ``alpha_k = (0.5, 0.75, 1)[k] * alpha_scale``), then the ensemble weights are
    fitted on the validation probabilities by the 0.1 simplex grid (Eq. 4).

    Args:
        source: ``load_volumes`` source (``"synthetic"`` default, ``"nodulemnist3d"``, ``"lidc"``,
            ``"auto"``). root: dataset root.
        profile, device, seed: as :class:`LSTMELUObjective`.
        n: synthetic (train, val, test) sizes. size / spacing_mm: synthetic grid
            (cpu 32 at 2 mm, gpu 64 at 1 mm).
        input_size: side each crop is resampled to (cpu 16; gpu ``None`` = native).
        scales: nominal fields of view to use, a subset of (32, 48, 64) mm (mapped in order onto
            the data's own fields of view when the patch is smaller than 64 mm).
        per_scale: separate ``lr``, ``dropout``, ``alpha_scale`` per scale (``lr_32``, ...).
        stem_stride, micro_width, overcomplete, schedule, augment: fixed options.
    """

    name = "ifm"

    def __init__(
        self,
        source: str = "synthetic",
        root: str | None = None,
        *,
        profile: str = "cpu",
        device: str = "auto",
        seed: int = 0,
        n: tuple[int, int, int] = (600, 300, 300),
        size: int | None = None,
        spacing_mm: float | None = None,
        input_size: int | None | str = "auto",
        scales: Sequence[int] = _NOMINAL_FOVS,
        difficulty: float = 0.5,
        per_scale: bool = False,
        stem_stride: int | None = None,
        micro_width: int = 8,
        overcomplete: bool = False,
        schedule: str = "constant",
        augment: bool = True,
        fixed: Mapping[str, Any] | None = None,
        init_seed: str = "fixed",
        eval_test: bool = False,
    ) -> None:
        scales = tuple(int(s) for s in scales)
        if not scales or len(set(scales)) != len(scales) or not set(scales) <= set(_NOMINAL_FOVS):
            raise ValueError(f"scales must be a non-empty subset of {_NOMINAL_FOVS}, got {scales}")
        self.scales = tuple(sorted(scales))
        self.per_scale = per_scale
        gpu = profile == "gpu"
        self.source, self.root, self.n, self.difficulty = source, root, tuple(n), difficulty
        self.size = size or (64 if gpu else 32)
        self.spacing_mm = spacing_mm or (1.0 if gpu else 2.0)
        self.input_size = (None if gpu else 16) if input_size == "auto" else input_size
        self.stem_stride = stem_stride or (1 if gpu else 2)
        self.micro_width, self.overcomplete = micro_width, overcomplete
        self.schedule, self.augment = schedule, augment
        super().__init__(
            profile=profile, device=device, seed=seed, fixed=fixed, init_seed=init_seed,
            eval_test=eval_test,
        )  # fmt: skip

    def _per_scale_names(self) -> list[str]:
        return [f"{p}_{s}" for p in ("lr", "dropout", "alpha_scale") for s in self.scales]

    def _space(self, profile: str) -> dict[str, BaseDistribution]:
        gpu = profile == "gpu"
        space: dict[str, BaseDistribution] = {
            "lr": _float(1e-5, 1e-1, log=True),
            "weight_decay": _float(1e-6, 1e-2, log=True),
            "batch_size": CategoricalDistribution((16, 32, 64)),
            "epochs": IntDistribution(10, 120) if gpu else IntDistribution(2, 10),
            "dropout": _float(0.0, 0.7),
            "alpha_scale": _float(0.0, 2.0),
            "lam": _float(1.0, 4.0),
            "width": CategoricalDistribution((8, 16, 32)),
            "hidden": IntDistribution(16, 512, log=True),
        }
        if self.per_scale:
            for p in ("lr", "dropout", "alpha_scale"):
                dist = space.pop(p)
                space.update({f"{p}_{s}": dist for s in self.scales})
        return space

    def _defaults(self, profile: str) -> dict[str, Any]:
        gpu = profile == "gpu"
        d: dict[str, Any] = {
            "lr": 3e-3,
            "weight_decay": 1e-4,
            "batch_size": 64 if gpu else 32,
            "epochs": 30 if gpu else (3 if len(self.scales) > 1 else 5),
            "dropout": 0.5,
            "alpha_scale": 1.0,
            "lam": 2.0,
            "width": 32 if gpu else 16,
            "hidden": 64,
        }
        if self.per_scale:
            for p in ("lr", "dropout", "alpha_scale"):
                v = d.pop(p)
                d.update({f"{p}_{s}": v for s in self.scales})
        return d

    def _extra_params(self) -> tuple[str, ...]:
        return tuple(self._per_scale_names()) + ("lr", "dropout", "alpha_scale")

    def data(self) -> dict[str, Any]:
        """Load (once) the volumes and their multi-scale crops, on the objective's device."""
        if "volumes" not in self._cache:
            from metaheur.models.data import load_volumes, split_indices
            from metaheur.models.preprocess import default_fovs, multiscale_crops

            t0 = time.perf_counter()
            ds = load_volumes(
                self.source, self.root, seed=self.seed, n=self.n, size=self.size,
                spacing_mm=self.spacing_mm, difficulty=self.difficulty,
            )  # fmt: skip
            fovs = default_fovs(ds.X.shape[-1], ds.spacing_mm)
            used = [fovs[_NOMINAL_FOVS.index(s)] for s in self.scales]
            if tuple(used) != tuple(float(s) for s in self.scales):
                logger.warning(
                    "%s: the %s patches cover %.0f mm only; fields of view %s mm used for the "
                    "nominal scales %s", self.name, ds.source, ds.X.shape[-1] * ds.spacing_mm,
                    [round(f, 1) for f in used], list(self.scales),
                )  # fmt: skip
            crops = multiscale_crops(ds.X, ds.spacing_mm, used, self.input_size)
            parts = _split_tensors(crops, ds.y, split_indices(ds, seed=self.seed), self.device)
            self._cache["volumes"] = {"parts": parts, "fovs_mm": used, "source": ds.source}
            logger.info(
                "%s: loaded %s volumes %s, crops %s in %.1f s", self.name, ds.source,
                ds.X.shape, [tuple(c.shape[1:]) for c in crops], time.perf_counter() - t0,
            )  # fmt: skip
        return self._cache["volumes"]

    @staticmethod
    def _score(y: NDArray, p: NDArray) -> float:
        return 1.0 - roc_auc(y, p, warn=False)

    def _scale_param(self, params: Mapping[str, Any], name: str, scale: int) -> Any:
        return params[f"{name}_{scale}"] if self.per_scale else params[name]

    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train the sub-networks one by one, fit the ensemble weights, score on validation."""
        data = self.data()
        parts = data["parts"]
        (Xtr, ytr), (Xva, yva) = parts["train"], parts["val"]
        seed, epochs = self._train_seed(trial), params["epochs"]
        subnets, probs, sub_auc, seconds = [], [], [], 0.0
        for k, scale in enumerate(self.scales):
            with seeded(seed + 1000 * k, self.device):
                net = IFMSubNet(
                    width=params["width"], micro_width=self.micro_width, hidden=params["hidden"],
                    dropout=self._scale_param(params, "dropout", scale),
                    stem_stride=self.stem_stride, overcomplete=self.overcomplete,
                )  # fmt: skip
            alpha = _ALPHA_PER_SCALE[_NOMINAL_FOVS.index(scale)] * self._scale_param(
                params, "alpha_scale", scale
            )
            res = train_model(
                net, (Xtr[k], ytr), (Xva[k], yva),
                loss_fn=partial(ifm_loss, alpha=alpha, lam=params["lam"]),
                score_fn=self._score, output="sigmoid",
                lr=self._scale_param(params, "lr", scale), weight_decay=params["weight_decay"],
                batch_size=params["batch_size"], epochs=epochs, schedule=self.schedule,
                grad_clip=None, augment=self.augment, seed=seed + 1000 * k, device=self.device,
                trial=trial, step_offset=k * epochs,
            )  # fmt: skip
            subnets.append(net)
            probs.append(res.val_output)
            sub_auc.append(1.0 - res.score)
            seconds += res.train_seconds
            if trial is not None and k < len(self.scales) - 1 and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after the {scale} mm sub-network")
        ensemble = IFMEnsemble(subnets=subnets)
        auc = ensemble.fit_weights(probs, yva) if len(subnets) > 1 else sub_auc[0]
        weights = ensemble.weights.cpu().numpy()
        p_val = (weights[:, None] * np.stack(probs)).sum(axis=0)
        metrics = binary_metrics(yva, p_val)
        extra: dict[str, Any] = {
            "subnet_auc": [round(a, 4) for a in sub_auc],
            "ensemble_weights": _rounded(weights),
            "fovs_mm": [round(f, 2) for f in data["fovs_mm"]],
        }
        if self.eval_test:
            Xte, yte = parts["test"]
            ensemble.eval()
            with torch.no_grad():
                p_te = ensemble([x.to(self.device) for x in Xte]).cpu().numpy()
            extra["test_metrics"] = binary_metrics(yte, p_te)
        return RunResult(1.0 - auc, metrics, yva, p_val, dict(params), seconds, extra)


OBJECTIVES: dict[str, type[Objective]] = {
    LSTMELUObjective.name: LSTMELUObjective,
    IFMObjective.name: IFMObjective,
}


def get_objective(name: str, **kwargs: Any) -> Objective:
    """Instantiate a registered objective: ``get_objective("ifm", scales=(32,), seed=1)``."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; available: {', '.join(OBJECTIVES)}")
    return OBJECTIVES[name](**kwargs)
