"""Solarization (invert the pixels above a threshold), applied with a probability per sample."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator, check_images, check_probability
from contrastkit.transforms.sampling import bernoulli


@dataclass(frozen=True)
class SolarizeParams:
    """Which samples are solarized: (B,) bool CPU tensor."""

    applied: Tensor


@dataclass(frozen=True, kw_only=True)
class RandomSolarize:
    """Replace every pixel ``x >= threshold`` by ``1 - x``, in each sample with probability ``p``.

    Same definition as torchvision's ``solarize`` on float images. BYOL (arXiv 2006.07733)
    solarizes its second view with p=0.2; DINO (2104.14294) its second global crop.

    Attributes:
        p: probability of solarizing a sample.
        threshold: pixels at or above it are inverted.

    Example:
        >>> solarize = RandomSolarize(p=1.0)
        >>> solarize(torch.tensor([0.2, 0.7]).reshape(1, 1, 1, 2),
        ...          torch.Generator().manual_seed(0)).flatten().tolist()
        [0.20000000298023224, 0.30000001192092896]
    """

    p: float = 0.2
    threshold: float = 0.5

    def __post_init__(self) -> None:
        check_probability(self.p, "p")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")

    def sample_params(self, images: Tensor, generator: torch.Generator) -> SolarizeParams:
        """Draw one decision per sample."""
        check_images(images)
        check_generator(generator)
        return SolarizeParams(bernoulli(images.shape[0], self.p, generator))

    def apply(self, images: Tensor, params: SolarizeParams) -> Tensor:
        """Solarize the chosen samples."""
        check_images(images)
        applied = params.applied.to(images.device)[:, None, None, None]
        return torch.where(applied & (images >= self.threshold), 1 - images, images)

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
