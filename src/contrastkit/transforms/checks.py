"""Validation shared by the batched transforms: images, probabilities, ranges, generators."""

from __future__ import annotations

import torch
from torch import Tensor


def check_images(images: Tensor, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is a float batch (B, C, H, W) with C in {1, 3}.

    Example:
        >>> check_images(torch.rand(2, 3, 8, 8))
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a 4-D tensor (B, C, H, W), got {shape}")
    if not images.is_floating_point():
        raise ValueError(
            f"{name} must be float in [0, 1], got {images.dtype}; convert uint8 with "
            "images.float() / 255 (MultiView does this for you)"
        )
    if images.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels, got {images.shape[1]}")


def check_probability(p: float, name: str = "p") -> None:
    """Raise ``ValueError`` unless ``0 <= p <= 1``.

    Example:
        >>> check_probability(0.8, "p")
    """
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")


def check_interval(
    interval: tuple[float, float], name: str, *, low: float = 0.0, high: float = float("inf")
) -> None:
    """Raise ``ValueError`` unless ``interval`` is (a, b) with ``low <= a <= b <= high``.

    Example:
        >>> check_interval((0.08, 1.0), "scale", high=1.0)
    """
    if len(interval) != 2 or not low <= interval[0] <= interval[1] <= high:
        raise ValueError(
            f"{name} must be a pair (min, max) with {low} <= min <= max <= {high}, got {interval}"
        )


def check_generator(generator: torch.Generator) -> None:
    """Raise ``ValueError`` unless ``generator`` is a CPU ``torch.Generator``.

    Parameters are always drawn on CPU so that the augmentation stream does not depend on the
    device the images live on, and the trainer can save and restore the generator state.

    Example:
        >>> check_generator(torch.Generator().manual_seed(0))
    """
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError(
            "generator must be a CPU torch.Generator (torch.Generator().manual_seed(seed)); "
            f"got {generator!r}"
        )
