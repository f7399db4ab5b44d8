"""Gaussian blur with an independent sigma per sample, applied with a probability."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.transforms.checks import (
    check_generator,
    check_images,
    check_interval,
    check_probability,
)
from contrastkit.transforms.sampling import apply_to, bernoulli, uniform


def blur_kernel_size(image_size: int) -> int:
    """SimCLR's kernel size: 10% of the image side, rounded down to an int and made odd (>= 3).

    Example:
        >>> blur_kernel_size(224), blur_kernel_size(96), blur_kernel_size(32)
        (23, 9, 3)
    """
    size = int(0.1 * image_size)
    return max(3, size + 1 if size % 2 == 0 else size)


def gaussian_kernels(sigma: Tensor, kernel_size: int) -> Tensor:
    """(n, kernel_size) normalized 1-D Gaussian kernels, one per sigma (n,).

    Example:
        >>> gaussian_kernels(torch.tensor([1.0]), 3).sum().item()
        1.0
    """
    radius = kernel_size // 2
    offsets = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)
    weights = torch.exp(-0.5 * (offsets / sigma[:, None]) ** 2)
    return weights / weights.sum(dim=1, keepdim=True)


def gaussian_blur(images: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Blur each sample with its own sigma: separable, reflect padding (torchvision's border).

    Args:
        images: (n, C, H, W) float.
        sigma: (n,) standard deviations in pixels (any device).
        kernel_size: odd kernel side, smaller than twice the image side.

    Returns:
        (n, C, H, W) blurred images.
    """
    n, channels, height, width = images.shape
    radius = kernel_size // 2
    if radius >= min(height, width):
        raise ValueError(
            f"kernel_size {kernel_size} is too large for {height}x{width} images (reflect "
            f"padding needs kernel_size // 2 < {min(height, width)}); use blur_kernel_size()"
        )
    sigma = sigma.to(device=images.device, dtype=images.dtype)
    kernels = gaussian_kernels(sigma, kernel_size).repeat_interleave(channels, dim=0)
    groups = n * channels
    padded = F.pad(images, (radius, radius, radius, radius), mode="reflect")
    padded = padded.reshape(1, groups, height + 2 * radius, width + 2 * radius)
    rows = F.conv2d(padded, kernels[:, None, None, :], groups=groups)
    blurred = F.conv2d(rows, kernels[:, None, :, None], groups=groups)
    return blurred.reshape(n, channels, height, width).clamp_(0.0, 1.0)


@dataclass(frozen=True)
class BlurParams:
    """Per-sample blur: (B,) bool ``applied`` and (B,) float64 ``sigma``, on CPU."""

    applied: Tensor
    sigma: Tensor


@dataclass(frozen=True, kw_only=True)
class RandomGaussianBlur:
    """Blur each image with probability ``p`` and its own sigma drawn uniformly from ``sigma``.

    SimCLR (arXiv 2002.05709) blurs ImageNet views with p=0.5, sigma in [0.1, 2.0] and a kernel
    of 10% of the image side (:func:`blur_kernel_size`); BYOL (2006.07733) uses p=1.0 and 0.1
    for its two views.

    Attributes:
        kernel_size: odd kernel side in pixels.
        sigma: range of the standard deviation in pixels.
        p: probability of blurring a sample.

    Example:
        >>> blur = RandomGaussianBlur(kernel_size=3, p=0.5)
        >>> blur(torch.rand(4, 3, 32, 32), torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 32, 32])
    """

    kernel_size: int
    sigma: tuple[float, float] = (0.1, 2.0)
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {self.kernel_size}")
        check_interval(self.sigma, "sigma")
        if self.sigma[0] <= 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        check_probability(self.p, "p")

    def sample_params(self, images: Tensor, generator: torch.Generator) -> BlurParams:
        """Draw the per-sample decision and sigma."""
        check_images(images)
        check_generator(generator)
        batch = images.shape[0]
        applied = bernoulli(batch, self.p, generator)
        return BlurParams(applied, uniform(batch, self.sigma[0], self.sigma[1], generator))

    def apply(self, images: Tensor, params: BlurParams) -> Tensor:
        """Blur the chosen samples with their sigmas."""
        check_images(images)
        return apply_to(
            images,
            params.applied,
            lambda chosen, index: gaussian_blur(chosen, params.sigma[index], self.kernel_size),
        )

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
