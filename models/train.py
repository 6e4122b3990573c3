"""Training loop shared by both networks (docs/models.md §6.1, §9).

:func:`train_model` runs Adam with a OneCycle / constant / step schedule on in-memory tensors
(shuffled index permutation per epoch from a seeded ``np.random.Generator``; a final batch of
fewer than 2 samples is dropped for BatchNorm), optional flip + roll augmentation, gradient-norm
clipping, autocast on CUDA (bf16, or fp16 with a gradient scaler; losses and probabilities in
float32; device settings in :mod:`metaheur.models.device`) and channels-last memory
format. The score is the **final epoch's** validation value of ``score_fn`` (minimised; no
early stopping). Validation runs every epoch only when a ``report`` callback or an Optuna
``trial`` is attached (the trial is then pruned as Optuna decides); otherwise once at the end.

A non-finite loss or CUDA out-of-memory raises ``optuna.TrialPruned`` when a trial is given,
else :class:`TrainingDiverged` / :class:`TrainingFailed`; :func:`fit` turns those into ``+inf``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import Tensor, nn

from metaheur.models.device import (
    autocast,
    device_settings,
    grad_scaler,
    memory_format,
    release_cuda_memory,
    resolve_device,
    seeded,
    torch_threads,
)

__all__ = [
    "TrainingFailed",
    "TrainingDiverged",
    "FitResult",
    "TrainConfig",
    "progress_step",
    "SCHEDULES",
    "resolve_device",
    "seeded",
    "torch_threads",
    "train_model",
    "fit",
    "predict",
    "save_checkpoint",
    "load_checkpoint",
]

logger = logging.getLogger(__name__)

SCHEDULES = ("onecycle", "constant", "step")
OUTPUTS = ("softmax", "sigmoid")


class TrainingFailed(RuntimeError):
    """Training could not finish (e.g. CUDA out of memory); the trial scores ``+inf``."""


class TrainingDiverged(TrainingFailed):
    """The training loss (or the validation output) became NaN or infinite."""


@dataclass
class FitResult:
    """Outcome of :func:`train_model`.

    ``score``: final-epoch ``score_fn`` value (minimised); ``val_output``: float32 validation
    probabilities, (N,) for ``output="sigmoid"`` or (N, K) for ``"softmax"``; ``history``: the
    per-epoch scores when validated every epoch (else only the last).
    """

    score: float
    val_output: NDArray
    history: list[float] = field(default_factory=list)
    epochs: int = 0
    steps: int = 0
    train_seconds: float = 0.0
    device: str = "cpu"


def _as_tensor(X: ArrayLike | Tensor, device: torch.device, dtype: torch.dtype | None = None
               ) -> Tensor:  # fmt: skip
    """On ``device``; floating data keep their dtype (float16 stays float16) unless ``dtype``."""
    t = X if isinstance(X, Tensor) else torch.as_tensor(np.asarray(X))
    if dtype is None:
        dtype = t.dtype if t.is_floating_point() else torch.float32
    return t.to(device=device, dtype=dtype)


def _make_scheduler(
    opt: torch.optim.Optimizer, schedule: str, lr: float, total_steps: int
) -> tuple[Any, bool]:
    """Returns ``(scheduler, per_step)``."""
    if schedule == "onecycle":  # 15 % warm-up then cosine decay to ~0
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=max(total_steps, 1), pct_start=0.15,
            anneal_strategy="cos", cycle_momentum=False,
        )  # fmt: skip
        return sched, True
    if schedule == "step":  # x0.1 every 30 epochs (papers' long GPU runs)
        return torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1), False
    return None, False


@torch.no_grad()
def predict(
    model: nn.Module,
    X: ArrayLike | Tensor,
    *,
    output: str = "softmax",
    batch_size: int = 256,
    device: str | torch.device = "auto",
    amp: bool = True,
    channels_last: bool | None = None,
) -> NDArray:
    """Eval-mode probabilities in float32: softmax ``(N, K)`` or sigmoid ``(N,)``, computed
    with ``METAHEUR_TORCH_THREADS`` torch threads on the CPU (:func:`device_settings`)."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    dev = resolve_device(device)
    X = _as_tensor(X, dev)
    fmt = memory_format(X.dim(), dev, channels_last)
    was_training = model.training
    model.eval()
    outs = []
    try:  # the trial's thread count (docs/models.md §6.1), also outside train_model
        with device_settings(dev):
            for i in range(0, X.shape[0], batch_size):
                with autocast(dev, amp):
                    xb = X[i : i + batch_size].to(torch.float32).contiguous(memory_format=fmt)
                    z = model(xb)
                z = z.float()  # probabilities in float32 (docs/models.md §9)
                outs.append(torch.sigmoid(z) if output == "sigmoid" else torch.softmax(z, -1))
    finally:
        model.train(was_training)
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return torch.cat(outs).cpu().numpy()


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (docs/models.md §6.1); validated on construction.

    ``seed`` drives the shuffling (numpy Generator), augmentation (torch Generator on the
    training device) and dropout. ``amp``: autocast on CUDA (bf16 where supported, else fp16
    with a gradient scaler). ``channels_last=None`` picks the memory format per device.
    """

    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    epochs: int = 8
    schedule: str = "onecycle"
    grad_clip: float | None = 5.0
    augment: bool = False
    max_shift: int = 2
    seed: int = 0
    amp: bool = True
    channels_last: bool | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "epochs", "max_shift", "seed"):  # np.int64(3) -> 3
            value = getattr(self, name)
            if isinstance(value, np.integer):
                object.__setattr__(self, name, int(value))
        lr, wd, bs, ep = self.lr, self.weight_decay, self.batch_size, self.epochs
        if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and 0 < lr < math.inf):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if not (isinstance(wd, (int, float)) and 0 <= wd < math.inf):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {wd!r}")
        if isinstance(bs, bool) or not isinstance(bs, int) or bs < 2:
            raise ValueError(f"batch_size must be an integer >= 2 (BatchNorm), got {bs!r}")
        if isinstance(ep, bool) or not isinstance(ep, int) or ep < 1:
            raise ValueError(f"epochs must be a positive integer, got {ep!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        gc_ = self.grad_clip
        if gc_ is not None and not (isinstance(gc_, (int, float)) and gc_ >= 0):
            raise ValueError(f"grad_clip must be None or a number >= 0, got {gc_!r}")
        if isinstance(self.max_shift, bool) or not isinstance(self.max_shift, int) \
                or self.max_shift < 0:
            raise ValueError(f"max_shift must be an integer >= 0, got {self.max_shift!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) \
                or not 0 <= self.seed < 2**64:  # what NumPy and torch both accept
            raise ValueError(f"seed must be an integer in [0, 2**64), got {self.seed!r}")


def progress_step(epoch: int, epochs: int, stage: int = 0) -> int:
    """Pruning step of the end of ``epoch`` (0-based): ``stage * 100`` plus the percentage of
    the schedule done, ``round(100 (epoch + 1) / epochs)``.

    With more than 100 epochs several epochs share a step; :func:`train_model` reports the
    last of them. Intermediate values are compared across trials at equal steps. With
    ``epochs`` tuned, the raw epoch index compares a OneCycle run at its peak learning rate
    with one at the end of its decay, and the IFM's ``k * epochs + epoch`` compares different
    sub-networks; the fraction of the schedule (per sub-network ``stage``) is what is alike.
    """
    return 100 * stage + round(100 * (epoch + 1) / epochs)


def _fail(exc: TrainingFailed, trial: Any) -> None:
    """Raise ``optuna.TrialPruned`` for a trial (message kept in its user attrs), else ``exc``."""
    if trial is not None:
        import optuna

        with contextlib.suppress(Exception):
            trial.set_user_attr("failure", str(exc))
        raise optuna.TrialPruned(str(exc)) from exc
    raise exc


def train_model(
    model: nn.Module,
    train: tuple[ArrayLike | Tensor, ArrayLike | Tensor],
    val: tuple[ArrayLike | Tensor, ArrayLike | Tensor],
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    score_fn: Callable[[NDArray, NDArray], float],
    output: str = "softmax",
    config: TrainConfig | None = None,
    device: str | torch.device = "auto",
    report: Callable[[int, float], None] | None = None,
    trial: Any = None,
    stage: int = 0,
    checkpoint: str | Path | None = None,
    **hparams: Any,
) -> FitResult:
    """Train ``model`` in place and score it on ``val`` after the last epoch (docs/models.md §6.1).

    ``loss_fn(logits_float32, y)`` is the training loss; ``score_fn(y_val, probabilities)`` the
    minimised validation score (e.g. ``1 - AUC``). The hyper-parameters come from ``config``
    (a :class:`TrainConfig`), or as its keywords (``lr=1e-2, epochs=3``) overriding it.
    ``report(step, score)`` is called after each epoch with ``step = progress_step(epoch,
    epochs, stage)``; with an Optuna ``trial`` the score is also passed to ``trial.report``
    and the trial pruned when ``trial.should_prune()``. Inputs may be held in any float dtype
    (float16 on CUDA); each batch is cast to float32 when drawn.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    unknown = set(hparams) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise TypeError(f"train_model got unknown keywords {sorted(unknown)}")
    cfg = dataclasses.replace(config or TrainConfig(), **hparams)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    failure: str | None = None
    try:
        with device_settings(dev), seeded(cfg.seed, dev):
            return _train(model, train, val, loss_fn, score_fn, output, cfg, dev, report,
                          trial, stage, checkpoint, t0)  # fmt: skip
    except torch.cuda.OutOfMemoryError as exc:
        failure = (
            f"CUDA out of memory while training {type(model).__name__} "
            f"(batch_size={cfg.batch_size}); scored as failed: {str(exc).splitlines()[0]}"
        )
    # Outside the except block: the traceback, and with it the failed step's tensors, is gone.
    release_cuda_memory()
    logger.warning(failure)
    _fail(TrainingFailed(failure), trial)
    raise AssertionError("unreachable")  # pragma: no cover


def _batch(X: Tensor, idx: Tensor, fmt: Any) -> Tensor:
    return X.index_select(0, idx).to(torch.float32).contiguous(memory_format=fmt)


def _train(
    model: nn.Module, train: tuple, val: tuple, loss_fn: Callable, score_fn: Callable,
    output: str, cfg: TrainConfig, dev: torch.device, report: Callable | None, trial: Any,
    stage: int, checkpoint: str | Path | None, t0: float,
) -> FitResult:  # fmt: skip
    Xtr, ytr = _as_tensor(train[0], dev), _as_tensor(train[1], dev, torch.long)
    Xva, yva = val[0], np.asarray(val[1].cpu() if isinstance(val[1], Tensor) else val[1])
    if Xtr.shape[0] != ytr.shape[0] or Xtr.shape[0] < 2:
        raise ValueError(f"train X and y must have the same length >= 2, got {Xtr.shape[0]}, "
                         f"{ytr.shape[0]}")  # fmt: skip
    if len(Xva) != len(yva) or len(yva) < 1:  # before training, not in score_fn after it
        raise ValueError(f"val X and y must have the same length >= 1, got {len(Xva)}, "
                         f"{len(yva)}")  # fmt: skip
    fmt = memory_format(Xtr.dim(), dev, cfg.channels_last)
    model.to(device=dev, memory_format=fmt)
    ytr_loss = ytr.float() if output == "sigmoid" else ytr
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator(device=dev).manual_seed(int(cfg.seed))  # augmentation draws on dev
    if cfg.augment:
        from metaheur.models.preprocess import augment as augment_fn
    n, bs, epochs = Xtr.shape[0], cfg.batch_size, cfg.epochs
    n_batches = n // bs + (1 if n % bs >= 2 else 0)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched, per_step = _make_scheduler(opt, cfg.schedule, cfg.lr, epochs * n_batches)
    scaler = grad_scaler(dev, cfg.amp)
    validate_each = report is not None or trial is not None
    history: list[float] = []
    score, probs, steps = math.inf, np.zeros(0, np.float32), 0
    name, lr = type(model).__name__, cfg.lr
    for epoch in range(epochs):
        model.train()
        perm = torch.as_tensor(rng.permutation(n), device=dev)
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        for b in range(n_batches):
            idx = perm[b * bs : (b + 1) * bs]
            xb, yb = _batch(Xtr, idx, fmt), ytr_loss.index_select(0, idx)
            if cfg.augment:
                xb = augment_fn(xb, gen, max_shift=cfg.max_shift).contiguous(memory_format=fmt)
            with autocast(dev, cfg.amp):
                logits = model(xb)
            loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            finite = torch.isfinite(loss.detach())
            if dev.type == "cpu":
                if not bool(finite):
                    _fail(TrainingDiverged(
                        f"{name}: non-finite training loss ({loss.item()}) at epoch {epoch + 1}, "
                        f"batch {b + 1} (lr={lr:g}); scored as failed"), trial)  # fmt: skip
            else:
                bad |= ~finite  # checked once per epoch: no host sync per step on CUDA
            scaler.step(opt)
            scaler.update()
            steps += 1
            if per_step:
                sched.step()
        if sched is not None and not per_step:
            sched.step()
        if dev.type != "cpu" and bool(bad):
            _fail(TrainingDiverged(
                f"{name}: non-finite training loss in epoch {epoch + 1} (lr={lr:g}); "
                "scored as failed"), trial)  # fmt: skip
        last = epoch == epochs - 1
        if validate_each or last:
            probs = predict(model, Xva, output=output, batch_size=2 * cfg.batch_size,
                            device=dev, amp=cfg.amp, channels_last=cfg.channels_last)  # fmt: skip
            if not np.isfinite(probs).all():
                _fail(TrainingDiverged(
                    f"{name}: non-finite validation output after epoch {epoch + 1} (lr={lr:g}); "
                    "scored as failed"), trial)  # fmt: skip
            score = float(score_fn(yva, probs))
            history.append(score)
            step = progress_step(epoch, epochs, stage)
            if not last and progress_step(epoch + 1, epochs, stage) == step:
                continue  # over 100 epochs: the step's value is the last epoch's reaching it
            if report is not None:
                report(step, score)
            if trial is not None:
                trial.report(score, step)
                if not last and trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned(f"pruned at step {step} with score {score:.4f}")
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, score=score, epochs=epochs, seed=cfg.seed)
    return FitResult(score, probs, history, epochs, steps, time.perf_counter() - t0, str(dev))


def fit(
    model: nn.Module,
    train: tuple[ArrayLike | Tensor, ArrayLike | Tensor],
    val: tuple[ArrayLike | Tensor, ArrayLike | Tensor],
    **kwargs: Any,
) -> float:
    """:func:`train_model` returning only the final-epoch score; a failed run scores ``+inf``.

    With an Optuna ``trial`` a failure raises ``optuna.TrialPruned`` instead (see module doc).
    """
    try:
        return train_model(model, train, val, **kwargs).score
    except TrainingFailed as exc:
        logger.warning("%s", exc)
        return math.inf


def save_checkpoint(path: str | Path, model: nn.Module, **meta: Any) -> None:
    """``torch.save`` of ``{"state_dict", "meta"}``; ``meta`` must be plain data (numbers, str)
    so that :func:`load_checkpoint` can use ``weights_only=True``."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "meta": dict(meta)}, Path(path))


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, map_location: str = "cpu"
) -> dict[str, Any]:
    """Load with ``torch.load(weights_only=True)``; fills ``model`` if given; returns the dict.

    A file that is not a checkpoint of :func:`save_checkpoint` (damaged, or a dict without
    ``state_dict`` and ``meta``) is a ValueError naming it; a missing file stays
    ``FileNotFoundError``.
    """
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # a checkpoint file is untrusted input
        raise ValueError(f"{path}: not a readable checkpoint of save_checkpoint "
                         f"({type(exc).__name__}; damaged or another format)") from exc
    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("state_dict"), dict)
            and isinstance(ckpt.get("meta"), dict)):  # fmt: skip
        raise ValueError(f"{path}: not a checkpoint of save_checkpoint (a dict with "
                         "'state_dict' and 'meta')")  # fmt: skip
    if model is not None:
        model.load_state_dict(ckpt["state_dict"])
    return ckpt
