"""Training loop shared by both networks (docs/models.md §6.1, §9).

:func:`train_model` runs Adam with a OneCycle / constant / step schedule on in-memory tensors
(shuffled index permutation per epoch from a seeded ``np.random.Generator``; a final batch of
fewer than 2 samples is dropped for BatchNorm), optional flip + roll augmentation, gradient-norm
clipping, bf16 autocast on CUDA (losses and probabilities in float32) and channels-last memory
format. The score is the **final epoch's** validation value of ``score_fn`` (minimised; no
early stopping). Validation runs every epoch only when a ``report`` callback or an Optuna
``trial`` is attached (the trial is then pruned as Optuna decides); otherwise once at the end.

A non-finite loss or CUDA out-of-memory raises ``optuna.TrialPruned`` when a trial is given,
else :class:`TrainingDiverged` / :class:`TrainingFailed`; :func:`fit` turns those into ``+inf``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import Tensor, nn

__all__ = [
    "TrainingFailed",
    "TrainingDiverged",
    "FitResult",
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


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available else CPU; ``"cuda"`` without a GPU is a ValueError."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available; use 'auto'")
    return torch.device(device)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch's global generator inside the block only (init, dropout); restored after."""
    devices = []
    if device is not None and device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


@contextlib.contextmanager
def torch_threads(device: torch.device) -> Iterator[None]:
    """On CPU: ``METAHEUR_TORCH_THREADS`` threads (default 1) and deterministic algorithms."""
    if device.type != "cpu":
        yield
        return
    raw = os.environ.get("METAHEUR_TORCH_THREADS", "1")
    try:
        n = int(raw)
        if n < 1:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"METAHEUR_TORCH_THREADS must be a positive integer, got {raw!r}"
        ) from None
    old_n, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(n)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_n)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _memory_format(ndim: int, device: torch.device, channels_last: bool | None) -> Any:
    """channels_last_3d for 5D always (3-4x faster conv3d on CPU); channels_last for 4D on CUDA."""
    if channels_last is None:
        channels_last = ndim == 5 or device.type == "cuda"
    if not channels_last:
        return torch.contiguous_format
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim, torch.contiguous_format)


def _as_tensor(X: ArrayLike | Tensor, device: torch.device, dtype: torch.dtype) -> Tensor:
    t = X if isinstance(X, Tensor) else torch.as_tensor(np.asarray(X))
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


def _autocast(device: torch.device, amp: bool) -> Any:
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
    """Eval-mode probabilities in float32: softmax ``(N, K)`` or sigmoid ``(N,)``."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    dev = resolve_device(device)
    X = _as_tensor(X, dev, torch.float32)
    fmt = _memory_format(X.dim(), dev, channels_last)
    was_training = model.training
    model.eval()
    outs = []
    try:
        for i in range(0, X.shape[0], batch_size):
            with _autocast(dev, amp):
                z = model(X[i : i + batch_size].contiguous(memory_format=fmt))
            z = z.float()  # probabilities in float32 (docs/models.md §9)
            outs.append(torch.sigmoid(z) if output == "sigmoid" else torch.softmax(z, dim=-1))
    finally:
        model.train(was_training)
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return torch.cat(outs).cpu().numpy()


def _check_hparams(
    lr: float, weight_decay: float, batch_size: int, epochs: int, schedule: str,
    grad_clip: float | None, output: str,
) -> None:  # fmt: skip
    if not (isinstance(lr, (int, float)) and 0 < lr < math.inf):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and 0 <= weight_decay < math.inf):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an integer >= 2 (BatchNorm), got {batch_size!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if grad_clip is not None and not (isinstance(grad_clip, (int, float)) and grad_clip >= 0):
        raise ValueError(f"grad_clip must be None or a number >= 0, got {grad_clip!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")


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
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    batch_size: int = 32,
    epochs: int = 8,
    schedule: str = "onecycle",
    grad_clip: float | None = 5.0,
    augment: bool = False,
    max_shift: int = 2,
    seed: int = 0,
    device: str | torch.device = "auto",
    amp: bool = True,
    channels_last: bool | None = None,
    report: Callable[[int, float], None] | None = None,
    trial: Any = None,
    step_offset: int = 0,
    checkpoint: str | Path | None = None,
) -> FitResult:
    """Train ``model`` in place and score it on ``val`` after the last epoch (docs/models.md §6.1).

    ``loss_fn(logits_float32, y)`` is the training loss; ``score_fn(y_val, probabilities)`` the
    minimised validation score (e.g. ``1 - AUC``). ``report(step, score)`` is called after each
    epoch (step = ``step_offset + epoch``); with an Optuna ``trial`` the score is also passed to
    ``trial.report`` and the trial pruned when ``trial.should_prune()``. ``seed`` drives the
    shuffling (numpy Generator), augmentation (torch Generator) and dropout.
    """
    _check_hparams(lr, weight_decay, batch_size, epochs, schedule, grad_clip, output)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    try:
        with torch_threads(dev), seeded(seed, dev):
            return _train(
                model, train, val, loss_fn, score_fn, output, lr, weight_decay, batch_size,
                epochs, schedule, grad_clip, augment, max_shift, seed, dev, amp,
                channels_last, report, trial, step_offset, checkpoint, t0,
            )  # fmt: skip
    except torch.cuda.OutOfMemoryError as exc:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
        msg = (
            f"CUDA out of memory while training {type(model).__name__} (batch_size={batch_size}); "
            f"scored as failed: {str(exc).splitlines()[0]}"
        )
        logger.warning(msg)
        _fail(TrainingFailed(msg), trial)
        raise  # unreachable, for type checkers


def _train(
    model: nn.Module, train: tuple, val: tuple, loss_fn: Callable, score_fn: Callable,
    output: str, lr: float, weight_decay: float, batch_size: int, epochs: int, schedule: str,
    grad_clip: float | None, augment: bool, max_shift: int, seed: int, dev: torch.device,
    amp: bool, channels_last: bool | None, report: Callable | None, trial: Any,
    step_offset: int, checkpoint: str | Path | None, t0: float,
) -> FitResult:  # fmt: skip
    Xtr, ytr = _as_tensor(train[0], dev, torch.float32), _as_tensor(train[1], dev, torch.long)
    Xva, yva = val[0], np.asarray(val[1].cpu() if isinstance(val[1], Tensor) else val[1])
    if Xtr.shape[0] != ytr.shape[0] or Xtr.shape[0] < 2:
        raise ValueError(f"train X and y must have the same length >= 2, got {Xtr.shape[0]}, "
                         f"{ytr.shape[0]}")  # fmt: skip
    fmt = _memory_format(Xtr.dim(), dev, channels_last)
    model.to(device=dev, memory_format=fmt)
    if output == "sigmoid":
        ytr_loss = ytr.float()
    else:
        ytr_loss = ytr
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(int(seed))  # augment draws on the CPU
    if augment:
        from metaheur.models.preprocess import augment as augment_fn
    n = Xtr.shape[0]
    n_batches = n // batch_size + (1 if n % batch_size >= 2 else 0)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched, per_step = _make_scheduler(opt, schedule, lr, epochs * n_batches)
    validate_each = report is not None or trial is not None
    history: list[float] = []
    score, probs, steps = math.inf, np.zeros(0, np.float32), 0
    name = type(model).__name__
    for epoch in range(epochs):
        model.train()
        perm = torch.as_tensor(rng.permutation(n), device=dev)
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        for b in range(n_batches):
            idx = perm[b * batch_size : (b + 1) * batch_size]
            xb, yb = Xtr.index_select(0, idx), ytr_loss.index_select(0, idx)
            if augment:
                xb = augment_fn(xb, gen, max_shift=max_shift)
            xb = xb.contiguous(memory_format=fmt)
            with _autocast(dev, amp):
                logits = model(xb)
            loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            finite = torch.isfinite(loss.detach())
            if dev.type == "cpu":
                if not bool(finite):
                    _fail(TrainingDiverged(
                        f"{name}: non-finite training loss ({loss.item()}) at epoch {epoch + 1}, "
                        f"batch {b + 1} (lr={lr:g}); scored as failed"), trial)  # fmt: skip
            else:
                bad |= ~finite  # checked once per epoch: no host sync per step on CUDA
            opt.step()
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
            probs = predict(
                model, Xva, output=output, device=dev, amp=amp, channels_last=channels_last
            )
            if not np.isfinite(probs).all():
                _fail(TrainingDiverged(
                    f"{name}: non-finite validation output after epoch {epoch + 1} (lr={lr:g}); "
                    "scored as failed"), trial)  # fmt: skip
            score = float(score_fn(yva, probs))
            history.append(score)
            step = step_offset + epoch
            if report is not None:
                report(step, score)
            if trial is not None:
                trial.report(score, step)
                if not last and trial.should_prune():
                    import optuna

                    raise optuna.TrialPruned(f"pruned at step {step} with score {score:.4f}")
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, score=score, epochs=epochs, seed=seed)
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
    """Load with ``torch.load(weights_only=True)``; fills ``model`` if given; returns the dict."""
    ckpt = torch.load(Path(path), map_location=map_location, weights_only=True)
    if model is not None:
        model.load_state_dict(ckpt["state_dict"])
    return ckpt
