"""MultiView: V per-view pipelines plus normalization, and the deterministic eval transform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator
from contrastkit.transforms.compose import BatchTransform
from contrastkit.transforms.resize import center_crop, resize_shorter_side


def to_float_images(images: Tensor) -> Tensor:
    """uint8 (B, C, H, W) to float in [0, 1] (divided by 255); float images pass through.

    Example:
        >>> to_float_images(torch.full((1, 1, 1, 1), 255, dtype=torch.uint8)).item()
        1.0
    """
    if not isinstance(images, Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a 4-D tensor (B, C, H, W), got {shape}")
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    if images.is_floating_point():
        return images
    raise ValueError(f"images must be uint8 or float in [0, 1], got {images.dtype}")


@dataclass(frozen=True, kw_only=True)
class MultiView:
    """Make V augmented, normalized views of a batch; the eval transform of the same recipe.

    Every view pipeline sees the same input batch and draws its own parameters from the shared
    generator, in order, so the stream is reproducible from the generator state. Views may have
    different output sizes (multi-crop: global crops first, then local ones).

    Attributes:
        views: one pipeline per view (a :class:`Compose` or any :class:`BatchTransform`).
        mean: per-channel normalization mean (length C).
        std: per-channel normalization standard deviation (length C).
        eval_size: side of the evaluation images, or None to keep the input size.
        eval_crop_fraction: for evaluation, resize the shorter side to
            ``eval_size / eval_crop_fraction`` and center-crop ``eval_size`` (0.875 is the
            ImageNet 256 -> 224 convention; 1.0 resizes straight to ``eval_size``).

    Example:
        >>> from contrastkit.transforms import recipes
        >>> view_maker = recipes.simclr(32)
        >>> images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
        >>> [v.shape for v in view_maker(images, torch.Generator().manual_seed(0))]
        [torch.Size([4, 3, 32, 32]), torch.Size([4, 3, 32, 32])]
        >>> view_maker.eval(images).shape
        torch.Size([4, 3, 32, 32])
    """

    views: Sequence[BatchTransform]
    mean: Sequence[float]
    std: Sequence[float]
    eval_size: int | None = None
    eval_crop_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("views must hold at least one pipeline")
        if len(self.mean) != len(self.std) or len(self.mean) not in (1, 3):
            raise ValueError(
                f"mean and std must both have 1 or 3 values, got {self.mean} and {self.std}"
            )
        if any(value <= 0 for value in self.std):
            raise ValueError(f"std must be positive, got {self.std}")
        if self.eval_size is not None and self.eval_size < 1:
            raise ValueError(f"eval_size must be positive, got {self.eval_size}")
        if not 0.0 < self.eval_crop_fraction <= 1.0:
            raise ValueError(f"eval_crop_fraction must be in (0, 1], got {self.eval_crop_fraction}")

    @property
    def num_views(self) -> int:
        """V, the number of views per sample."""
        return len(self.views)

    def __call__(self, images: Tensor, generator: torch.Generator) -> list[Tensor]:
        """V normalized float views (B, C, h_v, w_v) of uint8 or float (B, C, H, W) images."""
        check_generator(generator)
        images = self._checked(images)
        return [self.normalize(view(images, generator)) for view in self.views]

    def eval(self, images: Tensor) -> Tensor:
        """The deterministic evaluation transform: to float, resize and center-crop, normalize."""
        images = self._checked(images)
        if self.eval_size is not None:
            short = round(self.eval_size / self.eval_crop_fraction)
            images = center_crop(resize_shorter_side(images, short), self.eval_size)
        return self.normalize(images)

    def normalize(self, images: Tensor) -> Tensor:
        """(images - mean) / std per channel, on the images' device and dtype."""
        mean = torch.tensor(self.mean, dtype=images.dtype, device=images.device)
        std = torch.tensor(self.std, dtype=images.dtype, device=images.device)
        return (images - mean[:, None, None]) / std[:, None, None]

    def denormalize(self, views: Tensor) -> Tensor:
        """Undo :meth:`normalize` (for display), clamped to [0, 1]."""
        mean = torch.tensor(self.mean, dtype=views.dtype, device=views.device)
        std = torch.tensor(self.std, dtype=views.dtype, device=views.device)
        return (views * std[:, None, None] + mean[:, None, None]).clamp(0.0, 1.0)

    def _checked(self, images: Tensor) -> Tensor:
        images = to_float_images(images)
        if images.shape[1] != len(self.mean):
            raise ValueError(
                f"images have {images.shape[1]} channels but these views normalize "
                f"{len(self.mean)}: set views_options = {{channels = {images.shape[1]}}} in the "
                f"recipe, or leave channels out of it (in Python: channels={images.shape[1]})"
            )
        return images
