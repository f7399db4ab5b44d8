"""View makers: batched image augmentation with independent random parameters per sample.

Every op takes float images (B, C, H, W) in [0, 1] on any device and a CPU ``torch.Generator``
(parameters are drawn on CPU, then moved to the images' device), so an augmentation stream is
reproducible and resumable from the generator state. :class:`MultiView` turns per-view
pipelines into V normalized views; :mod:`~contrastkit.transforms.recipes` holds the papers'
recipes (SimCLR, BYOL, multi-crop, digits), named in :data:`RECIPES`.

Example:
    >>> import torch
    >>> from contrastkit.transforms import simclr
    >>> images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    >>> view_a, view_b = simclr(32)(images, torch.Generator().manual_seed(0))
"""

from contrastkit.transforms.blur import RandomGaussianBlur, blur_kernel_size
from contrastkit.transforms.color import ColorJitter
from contrastkit.transforms.compose import BatchTransform, Compose
from contrastkit.transforms.crop import RandomResizedCrop
from contrastkit.transforms.flip import RandomHorizontalFlip
from contrastkit.transforms.grayscale import RandomGrayscale
from contrastkit.transforms.grid import save_view_grid
from contrastkit.transforms.multiview import MultiView, to_float_images
from contrastkit.transforms.recipes import (
    RECIPES,
    byol,
    digits,
    multi_crop,
    simclr,
    simclr_imagenet,
)
from contrastkit.transforms.solarize import RandomSolarize
from contrastkit.types import ViewBatch

__all__ = [
    "RECIPES",
    "BatchTransform",
    "ColorJitter",
    "Compose",
    "MultiView",
    "RandomGaussianBlur",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomSolarize",
    "ViewBatch",
    "blur_kernel_size",
    "byol",
    "digits",
    "multi_crop",
    "save_view_grid",
    "simclr",
    "simclr_imagenet",
    "to_float_images",
]
