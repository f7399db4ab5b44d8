"""Random grayscale conversion, decided independently for each sample."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator, check_images, check_probability
from contrastkit.transforms.colorspace import rgb_to_grayscale
from contrastkit.transforms.sampling import bernoulli


@dataclass(frozen=True)
class GrayscaleParams:
    """Which samples become gray: (B,) bool CPU tensor."""

    applied: Tensor


@dataclass(frozen=True, kw_only=True)
class RandomGrayscale:
    """Replace each RGB image by its luma (repeated to 3 channels) with probability ``p``.

    A no-op on 1-channel images (the decisions are still drawn, so the random stream does not
    depend on the number of channels). SimCLR (arXiv 2002.05709) and BYOL use p=0.2.

    Attributes:
        p: probability of converting a sample.

    Example:
        >>> gray = RandomGrayscale(p=1.0)
        >>> out = gray(torch.rand(2, 3, 8, 8), torch.Generator().manual_seed(0))
        >>> bool((out[:, 0] == out[:, 1]).all())
        True
    """

    p: float = 0.2

    def __post_init__(self) -> None:
        check_probability(self.p, "p")

    def sample_params(self, images: Tensor, generator: torch.Generator) -> GrayscaleParams:
        """Draw one decision per sample."""
        check_images(images)
        check_generator(generator)
        return GrayscaleParams(bernoulli(images.shape[0], self.p, generator))

    def apply(self, images: Tensor, params: GrayscaleParams) -> Tensor:
        """Convert the chosen samples."""
        check_images(images)
        if images.shape[1] == 1:
            return images
        applied = params.applied.to(images.device)[:, None, None, None]
        return torch.where(applied, rgb_to_grayscale(images).expand_as(images), images)

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
