"""``"lstm-elu"``: 1 - validation macro-F1 of LSTM-ELU (seed 004; docs/models.md §4.3, §7).

Three ways to feed the LSTM (``features``):

* ``"trunk"`` (default for images): the paper's pipeline. A ResNet-18 trunk is fixed once per
  dataset, preprocessing and trunk configuration (trained on the training part, see
  :mod:`metaheur.models.features`; cached on disk) and each trial trains only the LSTM-ELU head
  on its row features: seconds per trial on a CPU.
* ``"end-to-end"``: trunk and head trained together in every trial (``width`` is then tuned).
* ``"rows"``: no trunk, each image row is one time step (the 8x8 digits' default).

Class imbalance: the cross-entropy weights are ``balanced ** balance`` (``balance`` tuned in
[0, 1]; 0 = unweighted, 1 = scikit-learn's "balanced"), because macro-F1 rewards the rare benign
class that an unweighted loss never predicts. ``cv=k`` scores the mean over k stratified folds
of train + val (docs/models.md §6.2); in ``"trunk"`` mode each fold gets a trunk trained on its
own training part.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import optuna
import torch
from numpy.typing import NDArray

from metaheur.models.device import seeded, storage_dtype
from metaheur.models.features import TrunkConfig, trunk_features
from metaheur.models.losses import balanced_class_weight, cross_entropy
from metaheur.models.lstm_elu import LSTMELUNet
from metaheur.models.metrics import argmax_score, multiclass_metrics
from metaheur.models.objectives.base import (
    HP,
    Objective,
    RunResult,
    cat,
    flt,
    intd,
    sample_sizes,
)
from metaheur.models.train import TrainConfig, predict, train_model

__all__ = ["LSTMELUObjective", "FEATURES", "lstm_elu_table"]

logger = logging.getLogger(__name__)

FEATURES = ("trunk", "end-to-end", "rows")

#: docs/models.md §7: distribution and default per profile. ``width`` is tuned end to end only.
_TABLE: dict[str, HP] = {
    "lr": HP(flt(1e-5, 1e-1, log=True), 3e-3),
    "weight_decay": HP(flt(1e-6, 1e-2, log=True), 1e-4),
    "batch_size": HP(cat(16, 32, 64), 32, gpu=cat(32, 64, 128), gpu_default=64),
    "epochs": HP(intd(3, 30), 10, gpu=intd(10, 60), gpu_default=30),
    "hidden": HP(intd(16, 256, log=True), 64, gpu_default=128),
    "layers": HP(intd(1, 2), 1),
    "dropout": HP(flt(0.0, 0.6), 0.3),
    "elu_alpha": HP(flt(0.1, 2.0), 1.0),
    "grad_clip": HP(flt(0.5, 10.0, log=True), 5.0),
    "balance": HP(flt(0.0, 1.0), 1.0),
    "width": HP(None, 8, gpu=None, gpu_default=64),
    "gate": HP(None, "sigmoid"),
    "cell_act": HP(None, "elu"),
    "segmentation": HP(None, "none"),
}
_END_TO_END = {
    "width": HP(cat(8, 16), 8, gpu=cat(32, 64), gpu_default=64),
    "epochs": HP(intd(3, 15), 8, gpu=intd(10, 60), gpu_default=20),
}
_CATEGORICALS = {
    "gate": HP(cat("sigmoid", "elu"), "sigmoid"),
    "cell_act": HP(cat("elu", "tanh"), "elu"),
    "segmentation": HP(cat("none", "bac_channel", "bac_roi"), "none"),
}


def lstm_elu_table(features: str = "trunk", categoricals: bool = False,
                   segmentation: bool = True) -> dict[str, HP]:  # fmt: skip
    """The LSTM-ELU table for a feeding mode (see the module doc)."""
    table = dict(_TABLE)
    if features == "end-to-end":
        table.update(_END_TO_END)
    if categoricals:
        table.update(_CATEGORICALS)
        if not segmentation:
            table["segmentation"] = _TABLE["segmentation"]
    return table


class LSTMELUObjective(Objective):
    """``"lstm-elu"``: 1 - validation macro-F1 of :class:`LSTMELUNet` (module doc).

    Args:
        source: ``load_slices`` source (``"synthetic"`` default, ``"iqothnccd"``, ``"chestct"``,
            ``"digits"``, ``"auto"``). root: dataset root for real sources.
        features: ``"trunk"``, ``"end-to-end"`` or ``"rows"``; default ``"rows"`` for digits,
            else ``"trunk"``. trunk_config: how the fixed trunk is trained (``"trunk"`` mode):
            a :class:`TrunkConfig`, or a dict of its fields over the profile's defaults
            (width 8 / 64, stem small / imagenet, 20 epochs, the objective's seed).
        cv: ``None`` (fixed train/val split) or k in 2..10 folds over train + val.
        profile: ``"cpu"`` or ``"gpu"`` search space and defaults (docs/models.md §7-§9).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``. seed: data seed and training seed.
        n: synthetic (train, val, test) sizes. image_size: 64 (cpu) / 224 (gpu) by default.
        difficulty: synthetic task difficulty in [0, 1].
        metric: ``"f1"`` (macro-F1, default) or ``"accuracy"``.
        categoricals: add ``gate``, ``cell_act``, ``segmentation`` to the search space.
        stem, sequence, schedule, augment: fixed architecture / training options.
    """

    name = "lstm-elu"
    label = "1 − validation macro-F1"

    def __init__(
        self,
        source: str = "synthetic",
        root: str | None = None,
        *,
        features: str | None = None,
        trunk_config: TrunkConfig | Mapping[str, Any] | None = None,
        cv: int | None = None,
        profile: str = "cpu",
        n: tuple[int, int, int] = (600, 300, 300),
        image_size: int | None = None,
        difficulty: float = 0.5,
        metric: str = "f1",
        categoricals: bool = False,
        stem: str | None = None,
        sequence: str = "rows_mean",
        schedule: str = "onecycle",
        augment: bool = False,
        **common: Any,
    ) -> None:
        if metric not in ("f1", "accuracy"):
            raise ValueError(f"metric must be 'f1' or 'accuracy', got {metric!r}")
        features = features or ("rows" if source == "digits" else "trunk")
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        if source == "digits" and features != "rows":
            raise ValueError("the 8x8 digits are fed as rows: features must be 'rows'")
        if cv is not None and (isinstance(cv, bool) or not isinstance(cv, int)
                               or not 2 <= cv <= 10):  # fmt: skip
            raise ValueError(f"cv must be None or an integer in [2, 10], got {cv!r}")
        gpu = profile == "gpu"
        self.source, self.root, self.n, self.difficulty = source, root, sample_sizes(n), \
            difficulty
        self.features, self.cv, self.metric = features, cv, metric
        self.categoricals = categoricals
        self.image_size = image_size or (224 if gpu else 64)
        self.stem = stem or ("imagenet" if gpu else "small")
        self.sequence, self.schedule, self.augment = sequence, schedule, augment
        super().__init__(profile=profile, **common)
        if not isinstance(trunk_config, TrunkConfig):
            trunk_config = TrunkConfig(**{
                "width": 64 if gpu else 8, "stem": self.stem, "sequence": sequence,
                "batch_size": 64 if gpu else 32, "seed": self.seed, **dict(trunk_config or {}),
            })  # fmt: skip
        self.trunk_config = trunk_config
        if "width" in self.fixed:
            self._check_width(self.fixed["width"])

    def _check_width(self, width: Any) -> None:
        """``width`` sizes the trunk trained in each trial, so only ``features="end-to-end"``
        uses it; elsewhere a value other than the one in effect would be recorded unused."""
        if self.features == "end-to-end":
            return
        used = (self.trunk_config.width if self.features == "trunk"
                else self.table()["width"].default_for(self.profile))
        if width != used:
            where = (f"the trunk is trained once, with trunk_config width {used}"
                     if self.features == "trunk" else "there is no trunk")
            raise ValueError(
                f"width={width!r} has no effect with features={self.features!r} ({where}); "
                "pass trunk_config={'width': ...} or features='end-to-end' to change it")

    def defaults(self, profile: str | None = None) -> dict[str, Any]:
        """The base defaults; in ``"trunk"`` mode ``width`` is the trunk's, as recorded."""
        out = super().defaults(profile)
        if self.features == "trunk" and hasattr(self, "trunk_config"):
            out["width"] = self.trunk_config.width
        return out

    def _params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if params and "width" in params:
            self._check_width(params["width"])
        return super()._params(params)

    def table(self) -> dict[str, HP]:
        return lstm_elu_table(self.features, self.categoricals, self.source != "digits")

    # -- data ------------------------------------------------------------------------------
    def dataset(self, segmentation: str = "none") -> Any:
        from metaheur.models.data import load_slices

        return load_slices(
            self.source, self.root, image_size=self.image_size, seed=self.seed, n=self.n,
            difficulty=self.difficulty, segmentation=segmentation,
        )  # fmt: skip

    def splits(self, ds: Any) -> list[tuple[NDArray, NDArray]]:
        """``[(train_idx, val_idx)]``: the fixed split, or the ``cv`` folds of train + val."""
        from metaheur.models.data import kfold_indices

        if self.cv is None:
            parts = self.parts(ds)
            return [(parts["train"], parts["val"])]
        return kfold_indices(ds, self.cv, seed=self.seed, stratify=self.split == "stratified")

    def data(self, segmentation: str = "none") -> dict[str, Any]:
        """Load (once) the slices and, per split, the network inputs on the device."""
        key = ("slices", segmentation)
        if key in self._cache:
            return self._cache[key]
        t0 = time.perf_counter()
        ds = self.dataset(segmentation)
        y = np.asarray(ds.y, dtype=np.int64)
        k = len(ds.class_names)
        present = np.unique(y)
        if present.size < 2:
            raise ValueError(f"{ds.source} data hold a single class ({ds.class_names[present[0]]}"
                             "); a classifier needs at least two")  # fmt: skip
        test_idx = self.parts(ds)["test"]
        folds = []
        for tr, va in self.splits(ds):
            X = ds.X
            if self.features == "trunk":
                X = trunk_features(ds.X, y, tr, self.trunk_config, n_classes=k,
                                   device=self.device)[:, None]  # (N, 1, T, F)  # fmt: skip
            folds.append({part: (self._to_device(X[i]), y[i])
                          for part, i in (("train", tr), ("val", va), ("test", test_idx))})
        self._cache[key] = {
            "folds": folds,
            "class_names": tuple(ds.class_names),
            "in_ch": int(folds[0]["train"][0].shape[1]),
            "side": int(folds[0]["train"][0].shape[-1]),
            "source": ds.source,
        }
        logger.info("%s: %s data ready (%s, %d split(s)) in %.1f s", self.name, ds.source,
                    self.features, len(folds), time.perf_counter() - t0)  # fmt: skip
        return self._cache[key]

    def _to_device(self, X: NDArray) -> torch.Tensor:
        t = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32))
        return t.to(self.device, dtype=storage_dtype(self.device))

    def prepare(self) -> None:
        self.data(self.defaults()["segmentation"])

    # -- one run ---------------------------------------------------------------------------
    def _score(self, y: NDArray, P: NDArray) -> float:
        """``1 - multiclass_metrics(y, P)[metric]``, bit for bit (run after every epoch)."""
        return 1.0 - argmax_score(y, P, self.metric)

    def build_model(self, params: Mapping[str, Any], data: Mapping[str, Any]) -> LSTMELUNet:
        end_to_end = self.features == "end-to-end"
        return LSTMELUNet(
            in_ch=data["in_ch"], n_classes=len(data["class_names"]), width=params["width"],
            stem=self.stem, hidden=params["hidden"], layers=params["layers"],
            dropout=params["dropout"], elu_alpha=params["elu_alpha"], gate=params["gate"],
            cell_act=params["cell_act"], trunk=end_to_end, sequence=self.sequence,
            image_size=data["side"],
        )  # fmt: skip

    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train one LSTM-ELU per split with ``params`` (complete); mean validation score."""
        data = self.data(params["segmentation"])
        seed = self._train_seed(trial)
        cfg = TrainConfig(
            lr=params["lr"], weight_decay=params["weight_decay"],
            batch_size=params["batch_size"], epochs=params["epochs"], schedule=self.schedule,
            grad_clip=params["grad_clip"], augment=self.augment and self.features != "trunk",
            seed=seed,
        )  # fmt: skip
        scores, ys, probs, fold_metrics, seconds = [], [], [], [], 0.0
        for f, fold in enumerate(data["folds"]):
            (Xtr, ytr), (Xva, yva) = fold["train"], fold["val"]
            with seeded(seed, self.device):
                model = self.build_model(params, data)
            k = len(data["class_names"])
            weight = balanced_class_weight(ytr, k) ** float(params["balance"])
            res = train_model(
                model, (Xtr, ytr), (Xva, yva), loss_fn=partial(cross_entropy, weight=weight),
                score_fn=self._score, output="softmax", config=cfg, device=self.device,
                trial=trial, stage=f,
            )  # fmt: skip
            scores.append(res.score)
            ys.append(yva)
            probs.append(res.val_output)
            fold_metrics.append(multiclass_metrics(yva, res.val_output))
            seconds += res.train_seconds
        metrics = {m: float(np.mean([fm[m] for fm in fold_metrics])) for m in fold_metrics[0]
                   if np.isscalar(fold_metrics[0][m])}  # fmt: skip
        extra: dict[str, Any] = {"class_names": list(data["class_names"])}
        if self.cv is not None:
            extra["cv_scores"] = [round(s, 4) for s in scores]
        if self.eval_test:  # the last split's model on the test part
            Xte, yte = data["folds"][-1]["test"]
            extra["test_metrics"] = multiclass_metrics(
                yte, predict(model, Xte, device=self.device))
        return RunResult(float(np.mean(scores)), metrics, np.concatenate(ys),
                         np.concatenate(probs), dict(params), seconds, extra)  # fmt: skip
