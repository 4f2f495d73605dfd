"""Small torch helpers shared by the deep models: device choice, seeding, autocast, DDP rank.

This module may be imported by light code (for example a ``doctor`` command that reports the
device): it imports torch only inside its functions, and :func:`require_torch` turns a missing
torch into a :class:`~mmemo.errors.MissingDependencyError` that says what to install.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from mmemo.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    import torch

__all__ = [
    "autocast",
    "class_indices",
    "uses_bf16_autocast",
    "dist_info",
    "is_main_process",
    "require_torch",
    "resolve_device",
    "seed_everything",
]

logger = logging.getLogger(__name__)

_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def require_torch() -> ModuleType:
    """Import torch, or say exactly what to install.

    Returns:
        The ``torch`` module.

    Raises:
        MissingDependencyError: torch is not installed (``pip install 'mmemo[ml]'``).
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is installed where tests run
        raise MissingDependencyError("torch", "ml") from exc
    return torch


def class_indices(y: object, n: int, n_classes: int, what: str, items: str) -> np.ndarray:
    """``y`` as int64 class indices ``0..n_classes-1``, one per each of ``n`` ``items`` (the
    deep models' label check: ``"sequences"``, ``"clips"``).

    Raises:
        InputError: another number of labels, labels that are not integers, or out of range;
            the message starts with ``what`` (``"training labels"``).
    """
    labels = np.asarray(y)
    if labels.shape != (n,):
        got = labels.shape[0] if labels.ndim else 0
        raise InputError(f"{what}: {got} labels for {n} {items}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{what}: labels must be class indices (integers), got {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= n_classes):
        raise InputError(f"{what}: labels must lie in 0..{n_classes - 1}")
    return labels.astype(np.int64)


def resolve_device(spec: str = "auto") -> torch.device:
    """Turn a device name into a ``torch.device``.

    Args:
        spec: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns:
        The device. Choosing CUDA also makes sure cuDNN is enabled.

    Raises:
        InputError: the name is not one of the above, or CUDA is asked for but not available.
    """
    torch = require_torch()
    spec = spec.strip().lower()
    if not _DEVICE_RE.match(spec):
        raise InputError(f"unknown device '{spec}'; expected one of auto, cpu, cuda, cuda:N")
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device '{spec}' asked for, but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(
                f"device '{spec}' asked for, but only {torch.cuda.device_count()} CUDA device(s) "
                "are visible"
            )
        torch.backends.cudnn.enabled = True
    return device


def seed_everything(
    seed: int, *, device: torch.device | None = None, deterministic: bool | None = None
) -> None:
    """Seed Python, NumPy and torch (CPU and all CUDA devices).

    Deterministic kernels are asked for where that is safe: for CPU work (``device`` None or
    CPU) ``torch.use_deterministic_algorithms(True, warn_only=True)`` is set, so two runs with
    the same seed give bit-identical results; an operation without a deterministic version
    warns instead of failing. The setting is process-wide and stays on. For CUDA work it is
    left alone by default (deterministic CUDA kernels are slower, and some ops lack them); only
    cuDNN's autotuner is switched off, since it picks kernels by timing. cuDNN stays enabled.

    Args:
        seed: The seed.
        device: The device the work runs on; None means CPU.
        deterministic: Force deterministic algorithms on (True) or leave them alone (False);
            None decides by device as described above.
    """
    torch = require_torch()
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)  # seeds every CUDA device too
    on_cuda = device is not None and device.type == "cuda"
    if deterministic is None:
        deterministic = not on_cuda
    if deterministic:
        if on_cuda:
            # cuBLAS needs this to be deterministic; it must be set before its first use.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False


@contextlib.contextmanager
def autocast(device: torch.device, *, enabled: bool = True) -> Iterator[None]:
    """Mixed precision where it pays: bf16 autocast on CUDA, nothing on CPU.

    Args:
        device: The device the model runs on.
        enabled: Set False to run in full precision everywhere.

    Yields:
        Nothing; use as ``with autocast(device): ...``.
    """
    torch = require_torch()
    if uses_bf16_autocast(device, enabled=enabled):
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def uses_bf16_autocast(device: torch.device, *, enabled: bool = True) -> bool:
    """Whether :func:`autocast` runs ``device`` in bf16: on CUDA unless switched off."""
    return enabled and device.type == "cuda"


def dist_info() -> tuple[bool, int, int]:
    """Where this process stands in a ``torchrun`` job.

    Returns:
        ``(distributed, rank, world_size)``; ``(False, 0, 1)`` when torch.distributed is not
        initialised.
    """
    torch = require_torch()
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return True, dist.get_rank(), dist.get_world_size()
    return False, 0, 1


def is_main_process() -> bool:
    """True on rank 0 of a distributed job, and always when not distributed."""
    return dist_info()[1] == 0


def init_distributed_from_env() -> tuple[bool, int, int]:
    """Join the process group a ``torchrun`` launcher describes in the environment
    (``WORLD_SIZE`` > 1): NCCL on CUDA, gloo on CPU. Returns :func:`dist_info`."""
    import os

    torch = require_torch()
    dist = torch.distributed
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        on_cuda = resolve_device("auto").type == "cuda"
        dist.init_process_group(backend="nccl" if on_cuda else "gloo")
        if on_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist_info()


def broadcast_from_rank0(value):
    """``value`` as rank 0 has it, on every process of a distributed job (``value`` itself
    otherwise). Any picklable object."""
    torch = require_torch()
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    """Wait for every process of a distributed job (no-op otherwise)."""
    torch = require_torch()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
