"""Random resized crop with independent boxes per sample, as separable batched bilinear gathers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from contrastkit.transforms.checks import check_generator, check_images, check_interval

_TRIES = 10  # torchvision's number of rejection-sampling attempts per image


@dataclass(frozen=True)
class CropParams:
    """Integer crop boxes, one per sample, as (B,) int64 CPU tensors (torchvision's order)."""

    top: Tensor
    left: Tensor
    height: Tensor
    width: Tensor


def sample_crop_boxes(
    batch: int,
    image_height: int,
    image_width: int,
    *,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator,
) -> CropParams:
    """Draw one box per sample with torchvision's ``RandomResizedCrop.get_params`` rule.

    Each sample gets 10 tries of (area fraction ~ U(scale), log aspect ratio ~ U(log ratio));
    the first box that fits is kept, otherwise the sample falls back to the largest central box
    whose aspect ratio lies in ``ratio``. The position is uniform over the valid offsets.

    Example:
        >>> boxes = sample_crop_boxes(4, 32, 32, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
        ...                           generator=torch.Generator().manual_seed(0))
        >>> boxes.height.shape
        torch.Size([4])
    """
    area = image_height * image_width
    shape = (batch, _TRIES)
    target = area * (scale[0] + (scale[1] - scale[0]) * _rand(shape, generator))
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * _rand(shape, generator))
    widths = torch.sqrt(target * aspect).round().long()
    heights = torch.sqrt(target / aspect).round().long()
    fits = (widths > 0) & (widths <= image_width) & (heights > 0) & (heights <= image_height)
    first = fits.long().argmax(dim=1, keepdim=True)  # index of the first box that fits
    height = heights.gather(1, first).squeeze(1)
    width = widths.gather(1, first).squeeze(1)
    fallback_height, fallback_width = _central_box(image_height, image_width, ratio)
    found = fits.any(dim=1)
    height = torch.where(found, height, fallback_height)
    width = torch.where(found, width, fallback_width)
    top_draw, left_draw = _rand((batch,), generator), _rand((batch,), generator)
    top = (top_draw * (image_height - height + 1)).floor().long()
    left = (left_draw * (image_width - width + 1)).floor().long()
    top = torch.where(found, top, (image_height - height) // 2)
    left = torch.where(found, left, (image_width - width) // 2)
    return CropParams(top, left, height, width)


def _rand(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def _central_box(height: int, width: int, ratio: tuple[float, float]) -> tuple[int, int]:
    """torchvision's fallback: the whole image, trimmed to the nearest allowed aspect ratio."""
    in_ratio = width / height
    if in_ratio < ratio[0]:
        return round(width / ratio[0]), width
    if in_ratio > ratio[1]:
        return height, round(height * ratio[1])
    return height, width


def bilinear_taps(start: Tensor, length: Tensor, out_size: int) -> tuple[Tensor, Tensor, Tensor]:
    """The two source pixels and the weight of each output pixel when [start, start + length)
    is resized to ``out_size``.

    Exactly the rule of ``torch.nn.functional.interpolate(mode="bilinear",
    align_corners=False, antialias=False)`` on the cropped image: source coordinate
    ``(i + 0.5) * length / out_size - 0.5`` clamped at 0, upper neighbour clamped at the crop's
    last pixel, in float32 as PyTorch computes it.

    Args:
        start: (B,) int64 first pixel of each crop along the axis.
        length: (B,) int64 crop length along the axis.
        out_size: output length.

    Returns:
        lower and upper absolute pixel indices (B, out_size) int64, and the weight of the upper
        one (B, out_size) float32.

    Example:
        >>> lower, upper, weight = bilinear_taps(torch.tensor([2]), torch.tensor([4]), 2)
        >>> lower.tolist(), upper.tolist(), weight.tolist()
        ([[2, 4]], [[3, 5]], [[0.5, 0.5]])
    """
    step = length.to(torch.float32) / out_size
    position = torch.arange(out_size, dtype=torch.float32, device=start.device)
    source = ((position + 0.5) * step[:, None] - 0.5).clamp(min=0)  # (B, out) in crop pixels
    floor = source.floor()
    last = (length - 1)[:, None]
    lower = torch.minimum(floor.long(), last)
    upper = torch.minimum(lower + 1, last)
    return start[:, None] + lower, start[:, None] + upper, source - floor


def _resize_rows(rows: Tensor, start: Tensor, length: Tensor, out_size: int) -> Tensor:
    """Resize the middle axis of (B, C, N, R) rows, each sample its own window, to out_size.

    Returns (B * C * out_size, R): every output row is the lerp of two gathered source rows.
    """
    batch, channels, size, width = rows.shape
    lower, upper, weight = bilinear_taps(start, length, out_size)  # (B, out)
    base = torch.arange(batch * channels, device=rows.device).view(batch, channels, 1) * size
    flat = rows.reshape(batch * channels * size, width)
    low = flat.index_select(0, (base + lower[:, None]).flatten())
    high = flat.index_select(0, (base + upper[:, None]).flatten())
    weight = weight.to(rows.dtype)[:, None].expand(batch, channels, out_size).reshape(-1, 1)
    return torch.lerp(low, high, weight)


def resized_crop(images: Tensor, params: CropParams, size: tuple[int, int]) -> Tensor:
    """Crop each sample to its own box and resize it to ``size`` (bilinear, no antialiasing).

    Separable and exact: every output pixel blends the two source rows, then the two source
    columns, that torchvision's ``resized_crop(..., antialias=False)`` blends, gathered for the
    whole batch at once (two ``index_select`` + ``lerp`` per axis, O(1) work per pixel).

    Args:
        images: (B, C, H, W) float.
        params: the boxes (any device; moved to the images' device).
        size: output (height, width).

    Returns:
        (B, C, size[0], size[1]) tensor of the images' dtype and device.
    """
    batch, channels, _, width = images.shape
    out_height, out_width = size
    device = images.device
    top, left = params.top.to(device), params.left.to(device)
    rows = _resize_rows(images, top, params.height.to(device), out_height)  # (B*C*oh, W)
    columns = rows.view(batch, channels, out_height, width).mT.contiguous()  # (B, C, W, oh)
    out = _resize_rows(columns, left, params.width.to(device), out_width)  # (B*C*ow, oh)
    return out.view(batch, channels, out_width, out_height).mT.contiguous()


@dataclass(frozen=True, kw_only=True)
class RandomResizedCrop:
    """Crop a random box of each image (independent per sample) and resize it to ``size``.

    The box rule is torchvision's ``RandomResizedCrop`` (area fraction in ``scale``, aspect
    ratio in ``ratio``, 10 tries then a central fallback); resizing is bilinear without
    antialiasing. Used by SimCLR (arXiv 2002.05709), BYOL (2006.07733) and multi-crop
    (SwAV 2006.09882, DINO 2104.14294).

    Attributes:
        size: output side (int) or (height, width).
        scale: range of the box area as a fraction of the image area.
        ratio: range of the box aspect ratio (width / height).

    Example:
        >>> crop = RandomResizedCrop(size=16, scale=(0.2, 1.0))
        >>> crop(torch.rand(4, 3, 32, 32), torch.Generator().manual_seed(0)).shape
        torch.Size([4, 3, 16, 16])
    """

    size: int | tuple[int, int]
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __post_init__(self) -> None:
        height, width = self.output_size
        if height < 1 or width < 1:
            raise ValueError(f"size must be positive, got {self.size}")
        check_interval(self.scale, "scale", high=1.0)
        if self.scale[1] <= 0:
            raise ValueError(f"scale must allow a non-empty box, got {self.scale}")
        check_interval(self.ratio, "ratio")
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio must be positive, got {self.ratio}")

    @property
    def output_size(self) -> tuple[int, int]:
        """The output (height, width)."""
        if isinstance(self.size, int):
            return self.size, self.size
        return int(self.size[0]), int(self.size[1])

    def sample_params(self, images: Tensor, generator: torch.Generator) -> CropParams:
        """Draw one box per sample of ``images`` (CPU tensors)."""
        check_images(images)
        check_generator(generator)
        batch, _, height, width = images.shape
        return sample_crop_boxes(
            batch, height, width, scale=self.scale, ratio=self.ratio, generator=generator
        )

    def apply(self, images: Tensor, params: CropParams) -> Tensor:
        """Crop and resize with the given boxes."""
        check_images(images)
        return resized_crop(images, params, self.output_size)

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        return self.apply(images, self.sample_params(images, generator))
