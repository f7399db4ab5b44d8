"""BatchNorm under gradient caching: which layers ran in training mode, and their statistics.

A BatchNorm layer in training mode normalizes each sub-batch by its own statistics, so
:class:`~contrastkit.train.gradcache.GradCache` gradients are then not the whole batch's; it
watches for such layers to warn, and keeps their running statistics from counting the replayed
sub-batches twice.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextlib.contextmanager
def batch_norm_watch(module: nn.Module) -> Iterator[list[str]]:
    """Collects the names of the BatchNorm layers that run in training mode inside."""
    used: list[str] = []
    handles = [
        layer.register_forward_pre_hook(functools.partial(_record_training, used, name))
        for name, layer in module.named_modules()
        if isinstance(layer, _BatchNorm)
    ]
    try:
        yield used
    finally:
        for handle in handles:
            handle.remove()


def _record_training(used: list[str], name: str, layer: nn.Module, inputs: Any) -> None:
    if layer.training:
        used.append(name)


@contextlib.contextmanager
def running_stats_kept(module: nn.Module) -> Iterator[None]:
    """BatchNorm running statistics as they were before (the replay must not count twice)."""
    buffers = [b for m in module.modules() if isinstance(m, _BatchNorm) for b in m.buffers()]
    saved = [b.clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(buffers, saved, strict=True):
                buffer.copy_(value)
