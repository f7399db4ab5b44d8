"""``fit``: set up a training run (device, optimizer, data order, resume, processes) and loop."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from contrastkit.data.batches import BatchOrder
from contrastkit.distributed import private_group, rank, world_size
from contrastkit.methods.base import Method
from contrastkit.modules.global_batch_norm import convert_global_batch_norm
from contrastkit.train.config import TrainConfig
from contrastkit.train.loop import (
    BatchSource,
    FitResult,
    StepObserver,
    TrainingDivergedError,
    TrainingLoop,
)
from contrastkit.train.optim import build_optimizer
from contrastkit.train.state import CHECKPOINT_NAME, Position, read_checkpoint

__all__ = [
    "BatchSource",
    "FitResult",
    "StepObserver",
    "TrainingDivergedError",
    "fit",
    "planned_steps",
    "resolve_device",
]


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available; use device='cpu'")
    return device


def _batch_order(data: BatchSource, config: TrainConfig) -> BatchOrder:
    """This process's batch order, as the source decides it (shuffled, length-grouped, ...)."""
    shard = {"rank": rank(), "world_size": world_size()}
    return data.batch_order(config.batch_size, seed=config.seed, **shard)


def _steps_per_epoch(order: BatchOrder, config: TrainConfig) -> int:
    steps = order.batches_per_epoch // config.accumulate
    if steps < 1:
        raise ValueError(
            f"accumulate={config.accumulate} exceeds the "
            f"{order.batches_per_epoch} batches per epoch"
        )
    return steps


def planned_steps(source: BatchSource, config: TrainConfig) -> int:
    """The optimizer steps :func:`fit` runs on ``source`` from the start: ``epochs`` x
    (batches per epoch // ``accumulate``), capped at ``max_steps``.

    Batches per epoch come from the source's own batch order for this process (with several
    processes each step takes ``batch_size`` samples on every process). A ``time_budget_s``
    or Ctrl-C may stop training earlier.

    Raises:
        ValueError: the source has fewer samples than one batch, or fewer batches per epoch
            than ``accumulate``.
    """
    total = config.epochs * _steps_per_epoch(_batch_order(source, config), config)
    return min(total, config.max_steps) if config.max_steps is not None else total


def fit(
    method: nn.Module,
    data: BatchSource,
    config: TrainConfig,
    *,
    run_dir: str | Path | None = None,
    resume: bool = True,
    observer: StepObserver | None = None,
) -> FitResult:
    """Train ``method`` on ``data``; resume from ``run_dir`` when it holds a checkpoint.

    Every ``checkpoint_every`` steps, at the end, on a stop (``max_steps``, ``time_budget_s``,
    Ctrl-C) and never after a non-finite loss, the full state is written atomically to
    ``run_dir/checkpoint.pt``: model (with EMA teachers, queues, centers), optimizer, data
    position and random states, so that a resumed run repeats exactly the losses an
    uninterrupted one would have had (on CPU). Metrics go to ``run_dir/metrics.jsonl``;
    ``observer`` (e.g. the health monitor) adds its own after each step. The source decides
    the batch order (its ``batch_order``: shuffled, or length-grouped for text), a pure
    function of seed and epoch.

    Raises:
        TrainingDivergedError: the loss became nan or inf (the last good checkpoint is kept).
        ValueError: the dataset is smaller than one batch, or a resumed run changed settings.
    """
    if not isinstance(method, Method):
        raise ValueError(
            f"{type(method).__name__} is not a method: it needs forward(batch, *, progress) "
            "returning a MethodOutput and encode(x)"
        )
    if not isinstance(data, BatchSource):
        raise ValueError(
            f"{type(data).__name__} is not a batch source: it needs __len__, "
            "__call__(indices, generator, device) and batch_order(batch_size, *, seed, rank, "
            "world_size) (contrastkit.data.ShuffledSource gives uniformly shuffled batches)"
        )
    device = resolve_device(config.device)
    stream = config.seed + 1_000_003 * rank()  # dropout and augmentation differ across processes
    torch.manual_seed(stream)
    if world_size() > 1 and config.global_batch_norm:
        convert_global_batch_norm(method)
    method.to(device)
    if config.channels_last:
        method.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(
        method,
        config.optimizer,
        lr=config.lr,
        weight_decay=config.weight_decay,
        momentum=config.optimizer_momentum,
    )
    order = _batch_order(data, config)
    steps_per_epoch = _steps_per_epoch(order, config)
    generator = torch.Generator().manual_seed(stream)
    directory = Path(run_dir) if run_dir is not None else None
    position = Position()
    if directory is not None and resume and (directory / CHECKPOINT_NAME).exists():
        position, saved_random = read_checkpoint(directory, method, optimizer, config, observer)
        saved_random.restore(generator)
    loop = TrainingLoop(
        method, data, config, optimizer, generator, device, directory, steps_per_epoch
    )
    loop.observer = observer
    if world_size() == 1:
        return loop.run(order, position)
    with private_group() as group:
        with warnings.catch_warnings():
            # broadcast_buffers=False is deprecated in favour of forward_sync_buffers=False,
            # which would still broadcast the buffers once at construction; torch's own
            # warning says to keep broadcast_buffers=False until init_sync_buffers exists
            warnings.filterwarnings("ignore", "`broadcast_buffers` is deprecated", FutureWarning)
            loop.model = DistributedDataParallel(
                method,
                device_ids=[device.index] if device.type == "cuda" else None,
                broadcast_buffers=False,  # queues, centers and global BN statistics stay in sync
                process_group=group,
                find_unused_parameters=True,  # e.g. SwAV's prototypes while frozen
            )
        return loop.run(order, position)
