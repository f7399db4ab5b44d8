"""Exponential moving averages of weights (momentum encoders) and their momentum schedule."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def update_ema(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online``, parameter by parameter.

    Floating-point buffers (BatchNorm running statistics) are averaged the same way; integer
    buffers (``num_batches_tracked``) are copied. The two modules must have the same structure.

    Args:
        online: the trained network (student, query encoder).
        target: its moving average (teacher, key encoder); never receives gradients.
        momentum: in [0, 1]; 0 copies ``online``, 1 leaves ``target`` unchanged.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    online_tensors = _named_tensors(online)
    target_tensors = _named_tensors(target)
    if online_tensors.keys() != target_tensors.keys():
        raise ValueError("online and target must have the same structure (tensor names differ)")
    for name, target_value in target_tensors.items():
        online_value = online_tensors[name]
        if online_value.shape != target_value.shape:
            raise ValueError(
                f"online and target differ at {name}: shapes {tuple(online_value.shape)} "
                f"and {tuple(target_value.shape)}"
            )
        if target_value.is_floating_point():
            target_value.lerp_(online_value.to(target_value.dtype), 1.0 - momentum)
        else:
            target_value.copy_(online_value)


def _named_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers by name, each shared (tied) tensor listed once."""
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


def cosine_momentum(progress: float, *, base: float = 0.996, final: float = 1.0) -> float:
    """BYOL's schedule: ``final - (final - base) * (cos(pi * progress) + 1) / 2``.

    ``progress`` runs from 0 (start of training) to 1 (end); the momentum rises from ``base``
    to ``final`` along a half cosine (BYOL 2006.07733, DINO 2104.14294, MoCo v3 2104.02057).

    Example:
        >>> cosine_momentum(0.0), cosine_momentum(1.0)
        (0.996, 1.0)
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    return final - (final - base) * (math.cos(math.pi * progress) + 1) / 2
