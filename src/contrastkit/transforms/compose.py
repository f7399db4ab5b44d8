"""The protocol every batched transform follows, and a sequence of them (one view's pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class BatchTransform(Protocol):
    """A random transform of a float batch (B, C, H, W) in [0, 1], independent per sample.

    Built-in transforms also expose ``sample_params(images, generator)`` (draws on the CPU
    generator) and ``apply(images, params)`` (deterministic), and ``__call__`` is their
    composition; any callable with this signature can join a pipeline.
    """

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor: ...


@dataclass(frozen=True, kw_only=True)
class Compose:
    """Apply transforms in order, each drawing its parameters from the same generator.

    Attributes:
        transforms: the pipeline of one view.

    Example:
        >>> from contrastkit.transforms import RandomHorizontalFlip, RandomResizedCrop
        >>> view = Compose(transforms=[RandomResizedCrop(size=16), RandomHorizontalFlip()])
        >>> view(torch.rand(2, 3, 32, 32), torch.Generator().manual_seed(0)).shape
        torch.Size([2, 3, 16, 16])
    """

    transforms: Sequence[BatchTransform]

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        for transform in self.transforms:
            images = transform(images, generator)
        return images
