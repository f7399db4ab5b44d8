"""MoCo's feature queue: a ring buffer of past keys used as negatives."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class FeatureQueue(nn.Module):
    """A first-in first-out ring buffer of ``size`` feature vectors (MoCo, arXiv 1911.05722).

    ``enqueue`` writes keys at the write pointer, wrapping around; ``negatives()`` returns the
    filled part. The contents, the write pointer and the fill count are buffers, so they are in
    ``state_dict`` and checkpoints: a restored queue is exactly the saved one, not an empty one.
    In a distributed run, enqueue the keys gathered from every process so that all queues stay
    identical.

    Args:
        size: number of stored features K (65,536 in MoCo).
        dim: feature dimension D.

    Example:
        >>> import torch
        >>> queue = FeatureQueue(size=4, dim=2)
        >>> queue.enqueue(torch.ones(3, 2))
        >>> queue.negatives().shape
        torch.Size([3, 2])
    """

    features: Tensor
    pointer: Tensor
    filled: Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise ValueError(f"size and dim must be >= 1, got size={size}, dim={dim}")
        self.size, self.dim = size, dim
        self.register_buffer("features", torch.zeros(size, dim))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Write ``keys`` (B, D), detached, overwriting the oldest entries when full."""
        if keys.ndim != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must have shape (B, {self.dim}), got {tuple(keys.shape)}")
        keys = keys.detach()[-self.size :].to(self.features.dtype)
        count = keys.shape[0]
        start = int(self.pointer)
        positions = (torch.arange(count, device=self.features.device) + start) % self.size
        self.features[positions] = keys
        self.pointer.fill_((start + count) % self.size)
        self.filled.fill_(min(int(self.filled) + count, self.size))

    def negatives(self) -> Tensor:
        """The stored features (filled, D), without gradient."""
        return self.features[: int(self.filled)].detach()

    def __len__(self) -> int:
        return int(self.filled)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        saved = state_dict.get(prefix + "features")
        if saved is not None and tuple(saved.shape) != (self.size, self.dim):
            raise ValueError(
                f"checkpoint queue has shape {tuple(saved.shape)} but this FeatureQueue is "
                f"({self.size}, {self.dim}); build it with the checkpoint's size and dim"
            )
        super()._load_from_state_dict(state_dict, prefix, *args)
