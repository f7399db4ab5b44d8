"""``fit``: set up a training run (device, optimizer, data order, resume, processes) and loop."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from contrastkit.data.batches import BatchOrder
from contrastkit.data.text_batches import LengthGroupedOrder
from contrastkit.distributed import rank, world_size
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
    """Shuffled batches; length-grouped when the source gives per-sample ``lengths`` (text),
    so that dynamic padding pads little."""
    seed, size, shard = config.seed, config.batch_size, (rank(), world_size())
    lengths = getattr(data, "lengths", None)
    if lengths is not None:
        return LengthGroupedOrder(lengths, size, seed=seed, rank=shard[0], world_size=shard[1])
    return BatchOrder(len(data), size, seed=seed, rank=shard[0], world_size=shard[1])


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
    ``observer`` (e.g. the health monitor) adds its own after each step. A source with a
    ``lengths`` attribute (per-sample token counts, as text sources have) gets length-grouped
    batches (:class:`~contrastkit.data.text_batches.LengthGroupedOrder`), still a pure function
    of seed and epoch.

    Raises:
        TrainingDivergedError: the loss became nan or inf (the last good checkpoint is kept).
        ValueError: the dataset is smaller than one batch, or a resumed run changed settings.
    """
    if not isinstance(method, Method):
        raise ValueError(
            f"{type(method).__name__} is not a method: it needs forward(batch, *, progress) "
            "returning a MethodOutput and encode(x)"
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
    steps_per_epoch = order.batches_per_epoch // config.accumulate
    if steps_per_epoch < 1:
        raise ValueError(
            f"accumulate={config.accumulate} exceeds the "
            f"{order.batches_per_epoch} batches per epoch"
        )
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
    # its own group: gradient all-reduces must not interleave with the collectives of the
    # backward pass itself (gathered negatives, global BatchNorm)
    group = torch.distributed.new_group()
    try:
        loop.model = DistributedDataParallel(
            method,
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=False,  # queues, centers and global BN statistics stay in sync
            process_group=group,
            find_unused_parameters=True,  # e.g. SwAV's prototypes while frozen
        )
        return loop.run(order, position)
    finally:
        torch.distributed.destroy_process_group(group)
