"""An image backbone that takes pixels: its own input size and normalization travel with it."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def fit_to_square(images: Tensor, size: int) -> Tensor:
    """Resize (B, C, H, W) float images so the shorter side is ``size``, then center-crop.

    Bilinear, antialiased when shrinking (32 px CIFAR images are upscaled, 200 px photos
    shrunk). Square inputs of the right size pass through untouched.

    Example:
        >>> fit_to_square(torch.rand(2, 3, 32, 48), 16).shape
        torch.Size([2, 3, 16, 16])
    """
    height, width = images.shape[-2:]
    if height == width == size:
        return images
    scale = size / min(height, width)
    new_size = (max(size, round(height * scale)), max(size, round(width * scale)))
    resized = F.interpolate(
        images, size=new_size, mode="bilinear", align_corners=False, antialias=scale < 1
    )
    top, left = (new_size[0] - size) // 2, (new_size[1] - size) // 2
    return resized[..., top : top + size, left : left + size]


class ImageTower(nn.Module):
    """Pixels in, (B, feature_dim) features out: resize, normalize, run the backbone.

    A two-tower model (CLIP, LiT) pairs towers trained on different data, each with its own
    input size and normalization; keeping both inside the tower means any image batch (200 px
    photos, 32 px CIFAR-10 for zero-shot) can be fed as it is.

    Args:
        backbone: maps normalized (B, 3, input_size, input_size) images to (B, feature_dim).
        feature_dim: the backbone's output width.
        input_size: the side the images are resized (shorter side) and center-cropped to.
        mean: per-channel mean subtracted from images in [0, 1].
        std: per-channel standard deviation the images are divided by.
        channels_last: feed the backbone channels-last (NHWC) tensors; with the backbone's
            weights converted too, depthwise convolutions run 2-3x faster on a CPU.

    Shapes: images (B, C, H, W), uint8 or float in [0, 1], C = 3 (or 1: repeated to RGB);
    output (B, feature_dim).

    Example:
        >>> backbone = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(12, 8))
        >>> tower = ImageTower(backbone, feature_dim=8, input_size=16)
        >>> tower(torch.randint(0, 256, (2, 3, 40, 30), dtype=torch.uint8)).shape
        torch.Size([2, 8])
    """

    def __init__(
        self,
        backbone: nn.Module,
        *,
        feature_dim: int,
        input_size: int,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.5, 0.5, 0.5),
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if feature_dim < 1 or input_size < 1:
            raise ValueError(
                f"feature_dim and input_size must be >= 1, got {feature_dim} and {input_size}"
            )
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values (std > 0), got {mean} and {std}")
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.input_size = input_size
        self.channels_last = channels_last
        self.mean: Tensor
        self.std: Tensor
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
            shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"ImageTower expects images (B, 3 or 1, H, W), got {shape}")
        if images.dtype == torch.uint8:
            x = images.float() / 255.0
        elif images.is_floating_point():
            x = images.float()
        else:
            raise ValueError(f"images must be uint8 or float in [0, 1], got {images.dtype}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (fit_to_square(x, self.input_size) - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.backbone(x)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, feature_dim={self.feature_dim}"
