"""Colour jitter with independent factors per sample: brightness, contrast, saturation, hue."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator, check_images, check_probability
from contrastkit.transforms.colorspace import LUMA_WEIGHTS, rgb_to_grayscale, rotate_hue
from contrastkit.transforms.sampling import apply_to, bernoulli, uniform


def _per_sample(factor: Tensor, images: Tensor) -> Tensor:
    """(B,) factors as a (B, 1, 1, 1) tensor on the images' device and dtype."""
    return factor.to(device=images.device, dtype=images.dtype)[:, None, None, None]


def _blend(images: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """``factor * images + (1 - factor) * other`` per sample, clamped to [0, 1]."""
    return torch.lerp(other, images, _per_sample(factor, images)).clamp_(0.0, 1.0)


def adjust_brightness(images: Tensor, factor: Tensor) -> Tensor:
    """Multiply each sample by its factor (B,), clamped to [0, 1] (torchvision's definition).

    Example:
        >>> adjust_brightness(torch.full((1, 1, 1, 1), 0.4), torch.tensor([2.0])).item()
        0.800000011920929
    """
    return (images * _per_sample(factor, images)).clamp_(0.0, 1.0)


def adjust_contrast(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each sample with the mean of its grayscale image (torchvision's definition).

    Example:
        >>> adjust_contrast(torch.tensor([0.0, 1.0]).reshape(1, 1, 1, 2),
        ...                 torch.tensor([0.0])).flatten().tolist()
        [0.5, 0.5]
    """
    channel_means = images.mean(dim=(2, 3))  # (B, C): the mean of the luma, without the luma
    if images.shape[1] == 3:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device)
        mean = channel_means @ weights
    else:
        mean = channel_means[:, 0]
    return _blend(images, mean[:, None, None, None], factor)


def adjust_saturation(images: Tensor, factor: Tensor) -> Tensor:
    """Blend each RGB sample with its grayscale image; a no-op on 1-channel images.

    Example:
        >>> out = adjust_saturation(torch.rand(2, 3, 4, 4), torch.tensor([0.0, 0.0]))
        >>> bool(torch.allclose(out[:, 0], out[:, 2]))
        True
    """
    if images.shape[1] == 1:
        return images
    return _blend(images, rgb_to_grayscale(images), factor)


def adjust_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate each RGB sample's hue by its shift (B,) in turns, in HSV; no-op on 1 channel.

    Example:
        >>> red = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
        >>> adjust_hue(red, torch.tensor([1 / 3])).flatten().tolist()
        [0.0, 1.0, 0.0]
    """
    if images.shape[1] == 1:
        return images
    return rotate_hue(images, shift)


@dataclass(frozen=True)
class JitterParams:
    """Per-sample jitter: (B,) bool ``applied`` and (B,) float64 factors, all on CPU."""

    applied: Tensor
    brightness: Tensor
    contrast: Tensor
    saturation: Tensor
    hue: Tensor


@dataclass(frozen=True, kw_only=True)
class ColorJitter:
    """Randomly change brightness, contrast, saturation and hue, with probability ``p`` per sample.

    Factors are drawn independently for every sample: brightness, contrast and saturation
    factors uniformly from ``[max(0, 1 - x), 1 + x]`` and the hue shift from ``[-hue, hue]``
    (as torchvision's ``ColorJitter``). Each adjustment follows torchvision's per-image
    definition: brightness multiplies; contrast blends with the mean of the grayscale image;
    saturation blends with the grayscale image; hue shifts H in HSV.

    Order: always brightness, then contrast, then saturation, then hue. torchvision draws a
    random order per call (shared by the whole batch); a fixed order keeps the op batched and
    its reference test exact. SimCLR (arXiv 2002.05709) uses (0.8s, 0.8s, 0.8s, 0.2s) with
    p=0.8; BYOL (2006.07733) uses (0.4, 0.4, 0.2, 0.1) with p=0.8. On 1-channel images
    saturation and hue are no-ops.

    Attributes:
        brightness: strength of the brightness change (>= 0; 0 disables it).
        contrast: strength of the contrast change (>= 0).
        saturation: strength of the saturation change (>= 0).
        hue: largest hue shift in turns, in [0, 0.5].
        p: probability of jittering a sample.

    Example:
        >>> jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=0.8)
        >>> jitter(torch.rand(4, 3, 8, 8), torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 8, 8])
    """

    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    p: float = 1.0

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.hue <= 0.5:
            raise ValueError(f"hue must be in [0, 0.5], got {self.hue}")
        check_probability(self.p, "p")

    def sample_params(self, images: Tensor, generator: torch.Generator) -> JitterParams:
        """Draw the per-sample decision and factors (always all five, for a stable stream)."""
        check_images(images)
        check_generator(generator)
        batch = images.shape[0]
        applied = bernoulli(batch, self.p, generator)
        factors = [
            uniform(batch, max(0.0, 1.0 - strength), 1.0 + strength, generator)
            for strength in (self.brightness, self.contrast, self.saturation)
        ]
        hue = uniform(batch, -self.hue, self.hue, generator)
        brightness, contrast, saturation = factors
        return JitterParams(applied, brightness, contrast, saturation, hue)

    def apply(self, images: Tensor, params: JitterParams) -> Tensor:
        """Jitter the chosen samples with their factors, in the documented order."""
        check_images(images)

        def jitter(chosen: Tensor, index: Tensor) -> Tensor:
            if self.brightness > 0:
                chosen = adjust_brightness(chosen, params.brightness[index])
            if self.contrast > 0:
                chosen = adjust_contrast(chosen, params.contrast[index])
            if self.saturation > 0:
                chosen = adjust_saturation(chosen, params.saturation[index])
            if self.hue > 0:
                chosen = adjust_hue(chosen, params.hue[index])
            return chosen

        return apply_to(images, params.applied, jitter)

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
