"""Per-sample random draws on CPU, and applying a transform to the chosen samples only."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def uniform(batch: int, low: float, high: float, generator: torch.Generator) -> Tensor:
    """(batch,) float64 values drawn uniformly from [low, high) on CPU.

    Example:
        >>> uniform(4, 0.5, 1.5, torch.Generator().manual_seed(0)).shape
        torch.Size([4])
    """
    return low + (high - low) * torch.rand(batch, generator=generator, dtype=torch.float64)


def bernoulli(batch: int, p: float, generator: torch.Generator) -> Tensor:
    """(batch,) booleans, each True with probability ``p`` (one draw per sample, even at p=0 or 1).

    Drawing even when the outcome is certain keeps the number of draws a function of the batch
    size only, so changing one probability does not shift the stream of every later transform.

    Example:
        >>> bernoulli(3, 1.0, torch.Generator().manual_seed(0)).tolist()
        [True, True, True]
    """
    return torch.rand(batch, generator=generator, dtype=torch.float64) < p


def apply_to(
    images: Tensor, chosen: Tensor, transform: Callable[[Tensor, Tensor], Tensor]
) -> Tensor:
    """``images`` with ``transform(images[index], index)`` written over the chosen samples.

    Args:
        images: (B, C, H, W) batch.
        chosen: (B,) booleans on any device: which samples to transform.
        transform: maps the chosen samples (n, C, H, W) and their indices (n,) (on the CPU) to
            (n, C, H, W); the indices select that subset's per-sample parameters.

    Example:
        >>> x = torch.zeros(3, 1, 2, 2)
        >>> apply_to(x, torch.tensor([True, False, True]), lambda s, i: s + 1)[:, 0, 0, 0].tolist()
        [1.0, 0.0, 1.0]
    """
    index = chosen.cpu().nonzero().flatten()
    if index.numel() == 0:
        return images
    if index.numel() * 2 >= images.shape[0]:
        # most samples change: transforming all of them and selecting is cheaper than a gather
        everything = torch.arange(images.shape[0])
        changed = transform(images, everything)
        return torch.where(chosen.to(images.device)[:, None, None, None], changed, images)
    device_index = index.to(images.device)
    out = images.clone()
    out[device_index] = transform(images[device_index], index)
    return out
