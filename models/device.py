"""Device, precision and thread settings shared by training and inference (docs/models.md §6.1, §9).

* :func:`resolve_device` maps ``"auto"`` to CUDA when available.
* :func:`device_settings` is the per-run context: on CPU ``METAHEUR_TORCH_THREADS`` threads
  (default 1) and deterministic algorithms; on CUDA ``cudnn.benchmark = True`` (fixed input
  shapes, so autotuning pays off from the second batch). Both are restored on exit.
* :func:`amp_dtype` is the autocast type: bfloat16 where the GPU supports it, else float16 with a
  gradient scaler (:func:`grad_scaler`); no autocast on CPU.
* :func:`release_cuda_memory` frees the caching allocator; call it only once nothing refers to
  the failed step's tensors any more (outside the ``except`` block that caught the OOM).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "resolve_device",
    "seeded",
    "device_settings",
    "torch_threads",
    "amp_dtype",
    "autocast",
    "grad_scaler",
    "memory_format",
    "storage_dtype",
    "release_cuda_memory",
]


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


def _threads() -> int:
    raw = os.environ.get("METAHEUR_TORCH_THREADS", "1")
    try:
        n = int(raw)
        if n < 1:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"METAHEUR_TORCH_THREADS must be a positive integer, got {raw!r}"
        ) from None
    return n


@contextlib.contextmanager
def device_settings(device: torch.device) -> Iterator[None]:
    """CPU: thread count and deterministic algorithms; CUDA: ``cudnn.benchmark``. Restored."""
    if device.type == "cuda":
        old_bench = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = True  # docs/models.md §9
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = old_bench
        return
    if device.type != "cpu":
        yield
        return
    n = _threads()
    old_n, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(n)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_n)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


torch_threads = device_settings  # former name


def amp_dtype(device: torch.device, amp: bool = True) -> torch.dtype | None:
    """Autocast dtype: bf16 on CUDA when supported, else fp16; ``None`` on CPU or ``amp=False``."""
    if not amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device, amp: bool = True) -> Any:
    """``torch.autocast`` with :func:`amp_dtype`, or a null context."""
    dtype = amp_dtype(device, amp)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: bool = True) -> torch.amp.GradScaler:
    """A scaler that is enabled only for fp16 autocast (bf16 and fp32 need none)."""
    enabled = amp_dtype(device, amp) == torch.float16
    return torch.amp.GradScaler(device.type if enabled else "cpu", enabled=enabled)


def memory_format(ndim: int, device: torch.device, channels_last: bool | None) -> Any:
    """channels_last_3d for 5D always (3-4x faster conv3d on CPU); channels_last for 4D on CUDA."""
    if channels_last is None:
        channels_last = ndim == 5 or device.type == "cuda"
    if not channels_last:
        return torch.contiguous_format
    return {4: torch.channels_last, 5: torch.channels_last_3d}.get(ndim, torch.contiguous_format)


def storage_dtype(device: torch.device) -> torch.dtype:
    """How a dataset in [0, 1] is held on ``device``: float16 on CUDA (half the memory; batches
    are cast to float32 when drawn), float32 on CPU."""
    return torch.float16 if device.type == "cuda" else torch.float32


def release_cuda_memory() -> None:
    """Collect garbage, then return cached CUDA blocks; a no-op without CUDA."""
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
