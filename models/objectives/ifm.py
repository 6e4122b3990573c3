"""``"ifm"``: 1 - validation AUC of the IFM ensemble (seed 000; docs/models.md §4.1-§4.2).

One :class:`IFMSubNet` per field of view is trained with ``CE + alpha_k * AUC-power`` (Eq. 13,
``alpha_k = (0.5, 0.75, 1)[k] * alpha_scale``), then the ensemble weights are fitted on the
validation probabilities by the 0.1 simplex grid (Eq. 4). The GPU profile's defaults are the
paper's: batch 120, lr 1e-3, hidden 486, 30 epochs with lr x0.1 every 30 epochs, every
sub-network trained for the same number of epochs.

On the CPU profile every field of view is resampled to 16³, so the 48 and 64 mm sub-networks
see 3 and 4 mm voxels, too coarse for the margin, texture and spiculation cues of the
synthetic nodules: with 3 epochs each they reached validation AUC 0.60 and 0.55 against
0.78 for the 32 mm one, and the fitted ensemble weights gave them 0 in 3 of 4 seeds. So on
the CPU the finest field of view trains ``epochs`` epochs and the coarser ones
``coarse_share`` of them (default 0.4: 5, 2, 2 epochs at the default ``epochs=5``, the cost
of the former 3, 3, 3), which took the default's validation AUC from 0.776 +- 0.038 to
0.900 +- 0.012 over training seeds (docs/models.md §4.2, §6.4, §7).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import optuna
import torch
from numpy.typing import NDArray

from metaheur.models.device import seeded, storage_dtype
from metaheur.models.ifm import IFMSubNet, fit_ensemble_weights
from metaheur.models.losses import ifm_loss
from metaheur.models.metrics import binary_metrics, roc_auc
from metaheur.models.objectives.base import (
    HP,
    Objective,
    RunResult,
    cat,
    flt,
    intd,
    rounded,
    sample_sizes,
)
from metaheur.models.train import TrainConfig, predict, train_model

__all__ = ["IFMObjective", "NOMINAL_FOVS", "subnet_epochs"]

logger = logging.getLogger(__name__)

NOMINAL_FOVS = (32, 48, 64)  # mm; alpha of the AUC loss per scale (seed 000, after MSCS-DeepLN)
_ALPHA_PER_SCALE = (0.5, 0.75, 1.0)
_PER_SCALE = ("lr", "dropout", "alpha_scale")

#: docs/models.md §7: distribution and default per profile. ``epochs`` is that of the finest
#: field of view; the coarser ones train ``coarse_share`` of it (see :func:`subnet_epochs`).
_TABLE: dict[str, HP] = {
    "lr": HP(flt(1e-5, 1e-1, log=True), 3e-3, gpu_default=1e-3),
    "weight_decay": HP(flt(1e-6, 1e-2, log=True), 1e-4),
    "batch_size": HP(cat(16, 32, 64), 32, gpu=cat(32, 64, 120), gpu_default=120),
    "epochs": HP(intd(2, 10), 5, gpu=intd(10, 120), gpu_default=30),
    "dropout": HP(flt(0.0, 0.7), 0.5),
    "alpha_scale": HP(flt(0.0, 2.0), 1.0),
    "lam": HP(flt(1.0, 4.0), 2.0),
    "width": HP(cat(8, 16, 32), 16, gpu_default=32),
    "hidden": HP(intd(16, 512, log=True), 64, gpu_default=486),
}


def subnet_epochs(epochs: int, n_scales: int, coarse_share: float) -> list[int]:
    """Epochs of each sub-network, finest field of view first: ``epochs`` for the finest, and
    ``max(1, round(coarse_share * epochs))`` (halves rounded up) for each coarser one."""
    coarse = max(1, math.floor(coarse_share * epochs + 0.5))
    return [epochs] + [coarse] * (n_scales - 1)


class IFMObjective(Objective):
    """``"ifm"``: 1 - validation AUC of the IFM ensemble (module doc).

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
        coarse_share: the coarser fields of view train this fraction of ``epochs``, in (0, 1]
            (cpu 0.4, gpu 1.0 as in the paper; module doc and :func:`subnet_epochs`).
        stem_stride, micro_width, overcomplete, schedule, augment: fixed options
            (schedule: cpu ``"onecycle"``, gpu ``"step"`` as in the paper).
    """

    name = "ifm"
    label = "1 − validation AUC"

    def __init__(
        self,
        source: str = "synthetic",
        root: str | None = None,
        *,
        profile: str = "cpu",
        n: tuple[int, int, int] = (600, 300, 300),
        size: int | None = None,
        spacing_mm: float | None = None,
        input_size: int | None | str = "auto",
        scales: Sequence[int] = NOMINAL_FOVS,
        difficulty: float = 0.5,
        per_scale: bool = False,
        stem_stride: int | None = None,
        micro_width: int = 8,
        overcomplete: bool = False,
        schedule: str | None = None,
        augment: bool = True,
        coarse_share: float | None = None,
        **common: Any,
    ) -> None:
        scales = tuple(int(s) for s in scales)
        if not scales or len(set(scales)) != len(scales) or not set(scales) <= set(NOMINAL_FOVS):
            raise ValueError(f"scales must be a non-empty subset of {NOMINAL_FOVS}, got {scales}")
        self.scales = tuple(sorted(scales))
        self.per_scale = per_scale
        gpu = profile == "gpu"
        self.source, self.root, self.n, self.difficulty = source, root, sample_sizes(n), \
            difficulty
        self.size = size or (64 if gpu else 32)
        self.spacing_mm = spacing_mm or (1.0 if gpu else 2.0)
        self.input_size = (None if gpu else 16) if input_size == "auto" else input_size
        self.stem_stride = stem_stride or (1 if gpu else 2)
        self.micro_width, self.overcomplete = micro_width, overcomplete
        # OneCycle on CPU: with a constant lr the final-epoch AUC of a 5-epoch run varied by
        # SD 0.08 over training seeds (0.68-0.90), which drowned the hyper-parameters' effect;
        # OneCycle: SD 0.01 and a higher mean (0.90 against 0.81; objective_landscape.py)
        self.schedule = schedule or ("step" if gpu else "onecycle")
        self.augment = augment
        share = coarse_share if coarse_share is not None else (1.0 if gpu else 0.4)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ValueError(f"coarse_share must be a number in (0, 1], got {coarse_share!r}")
        self.coarse_share = float(share)
        super().__init__(profile=profile, **common)

    def table(self) -> dict[str, HP]:
        table = dict(_TABLE)
        if self.per_scale:
            for p in _PER_SCALE:
                row = table.pop(p)
                table.update({f"{p}_{s}": row for s in self.scales})
        return table

    def _scale_param(self, params: Mapping[str, Any], name: str, scale: int) -> Any:
        return params[f"{name}_{scale}"] if self.per_scale else params[name]

    def dataset(self) -> Any:
        from metaheur.models.data import load_volumes

        return load_volumes(
            self.source, self.root, seed=self.seed, n=self.n, size=self.size,
            spacing_mm=self.spacing_mm, difficulty=self.difficulty,
        )  # fmt: skip

    def data(self) -> dict[str, Any]:
        """Load (once) the volumes and their multi-scale crops, on the objective's device."""
        if "volumes" in self._cache:
            return self._cache["volumes"]
        from metaheur.models.preprocess import default_fovs, multiscale_crops

        t0 = time.perf_counter()
        ds = self.dataset()
        if np.unique(ds.y).size < 2:
            raise ValueError(f"{ds.source} data hold a single class (label {int(ds.y[0])}); "
                             "the AUC needs benign and malignant nodules")  # fmt: skip
        fovs = default_fovs(ds.X.shape[-1], ds.spacing_mm)
        used = [fovs[NOMINAL_FOVS.index(s)] for s in self.scales]
        if tuple(used) != tuple(float(s) for s in self.scales):
            logger.warning(
                "%s: the %s patches cover %.0f mm only; fields of view %s mm used for the "
                "nominal scales %s", self.name, ds.source, ds.X.shape[-1] * ds.spacing_mm,
                [round(f, 1) for f in used], list(self.scales),
            )  # fmt: skip
        crops = multiscale_crops(ds.X, ds.spacing_mm, used, self.input_size)
        idx = self.parts(ds)
        dtype = storage_dtype(self.device)
        parts = {p: ([c[torch.as_tensor(i)].to(self.device, dtype=dtype) for c in crops],
                     np.asarray(ds.y)[i].astype(np.int64))
                 for p, i in idx.items()}  # fmt: skip
        for p in ("train", "val"):
            if np.unique(parts[p][1]).size < 2:
                raise ValueError(f"the {p} part of {ds.source} holds a single class; "
                                 "the AUC is undefined")  # fmt: skip
        self._cache["volumes"] = {"parts": parts, "fovs_mm": used, "source": ds.source}
        logger.info(
            "%s: loaded %s volumes %s, crops %s in %.1f s", self.name, ds.source,
            ds.X.shape, [tuple(c.shape[1:]) for c in crops], time.perf_counter() - t0,
        )  # fmt: skip
        return self._cache["volumes"]

    def prepare(self) -> None:
        self.data()

    @staticmethod
    def _score(y: NDArray, p: NDArray) -> float:
        return 1.0 - roc_auc(y, p, warn=False)

    def run(self, params: Mapping[str, Any], trial: optuna.Trial | None = None) -> RunResult:
        """Train the sub-networks one by one, fit the ensemble weights, score on validation."""
        data = self.data()
        parts = data["parts"]
        (Xtr, ytr), (Xva, yva) = parts["train"], parts["val"]
        seed = self._train_seed(trial)
        epochs = subnet_epochs(params["epochs"], len(self.scales), self.coarse_share)
        subnets, probs, sub_auc, seconds = [], [], [], 0.0
        for k, scale in enumerate(self.scales):
            with seeded(seed + 1000 * k, self.device):
                net = IFMSubNet(
                    width=params["width"], micro_width=self.micro_width, hidden=params["hidden"],
                    dropout=self._scale_param(params, "dropout", scale),
                    stem_stride=self.stem_stride, overcomplete=self.overcomplete,
                )  # fmt: skip
            alpha = _ALPHA_PER_SCALE[NOMINAL_FOVS.index(scale)] * self._scale_param(
                params, "alpha_scale", scale
            )
            cfg = TrainConfig(
                lr=self._scale_param(params, "lr", scale), weight_decay=params["weight_decay"],
                batch_size=params["batch_size"], epochs=epochs[k],
                schedule=self.schedule, grad_clip=None, augment=self.augment,
                seed=seed + 1000 * k,
            )  # fmt: skip
            res = train_model(
                net, (Xtr[k], ytr), (Xva[k], yva),
                loss_fn=partial(ifm_loss, alpha=alpha, lam=params["lam"]),
                score_fn=self._score, output="sigmoid", config=cfg, device=self.device,
                trial=trial, stage=k,
            )  # fmt: skip
            subnets.append(net)
            probs.append(res.val_output)
            sub_auc.append(1.0 - res.score)
            seconds += res.train_seconds
            if trial is not None and k < len(self.scales) - 1 and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after the {scale} mm sub-network")
        P = np.stack(probs).astype(np.float64)
        # the grid's own float64 weights: rounded to float32 (IFMEnsemble's buffer) they rank
        # tied outputs differently, and val_auc would differ from 1 - score
        weights, auc = (fit_ensemble_weights(P, yva) if len(subnets) > 1
                        else (np.ones(1), sub_auc[0]))  # fmt: skip
        p_val = weights @ P
        metrics = binary_metrics(yva, p_val)
        extra: dict[str, Any] = {
            "subnet_auc": [round(a, 4) for a in sub_auc],
            "subnet_epochs": epochs,
            "ensemble_weights": rounded(weights),
            "fovs_mm": [round(f, 2) for f in data["fovs_mm"]],
        }
        if self.eval_test:  # batched, under autocast, one sub-network at a time
            Xte, yte = parts["test"]
            p_te = sum(w * predict(net, x, output="sigmoid", batch_size=params["batch_size"],
                                   device=self.device)
                       for w, net, x in zip(weights, subnets, Xte, strict=True))  # fmt: skip
            extra["test_metrics"] = binary_metrics(yte, p_te)
        return RunResult(1.0 - auc, metrics, yva, p_val, dict(params), seconds, extra)
