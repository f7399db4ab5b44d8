"""Horizontal flip, decided independently for each sample."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator, check_images, check_probability
from contrastkit.transforms.sampling import bernoulli


@dataclass(frozen=True)
class FlipParams:
    """Which samples are flipped: (B,) bool CPU tensor."""

    flipped: Tensor


@dataclass(frozen=True, kw_only=True)
class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``, independently per sample.

    Attributes:
        p: probability of flipping a sample.

    Example:
        >>> flip = RandomHorizontalFlip(p=1.0)
        >>> x = torch.arange(4.0).reshape(1, 1, 1, 4) / 4
        >>> flip(x, torch.Generator().manual_seed(0)).flatten().tolist()
        [0.75, 0.5, 0.25, 0.0]
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        check_probability(self.p, "p")

    def sample_params(self, images: Tensor, generator: torch.Generator) -> FlipParams:
        """Draw one flip decision per sample."""
        check_images(images)
        check_generator(generator)
        return FlipParams(bernoulli(images.shape[0], self.p, generator))

    def apply(self, images: Tensor, params: FlipParams) -> Tensor:
        """Flip the chosen samples."""
        check_images(images)
        flipped = params.flipped.to(images.device)[:, None, None, None]
        return torch.where(flipped, images.flip(-1), images)

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
