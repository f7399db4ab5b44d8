"""Deterministic resizing for evaluation: shorter side to a size, then a center crop."""

from __future__ import annotations

import torch  # noqa: F401  (used by the doctests)
import torch.nn.functional as F
from torch import Tensor


def resize_shorter_side(images: Tensor, size: int) -> Tensor:
    """Resize (B, C, H, W) so the shorter side is ``size`` (bilinear, antialiased), keeping aspect.

    The longer side becomes ``int(size * long / short)`` as in torchvision. Returns the input
    unchanged when the shorter side already equals ``size``.

    Example:
        >>> resize_shorter_side(torch.rand(1, 3, 40, 80), 20).shape
        torch.Size([1, 3, 20, 40])
    """
    height, width = images.shape[-2:]
    if min(height, width) == size:
        return images
    if height <= width:
        new_size = (size, int(size * width / height))
    else:
        new_size = (int(size * height / width), size)
    resized = F.interpolate(
        images, size=new_size, mode="bilinear", align_corners=False, antialias=True
    )
    return resized.clamp(0.0, 1.0)


def center_crop(images: Tensor, size: int) -> Tensor:
    """The central ``size`` x ``size`` window of (B, C, H, W) images (H, W >= size).

    Example:
        >>> center_crop(torch.rand(1, 3, 10, 12), 8).shape
        torch.Size([1, 3, 8, 8])
    """
    height, width = images.shape[-2:]
    if height < size or width < size:
        raise ValueError(f"cannot center-crop {height}x{width} images to {size}x{size}")
    top = round((height - size) / 2.0)
    left = round((width - size) / 2.0)
    return images[..., top : top + size, left : left + size]
