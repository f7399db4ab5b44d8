"""An image dataset held in memory as one uint8 tensor."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from torch import Tensor


@dataclass(frozen=True)
class ImageDataset:
    """Images decoded once to a uint8 tensor, so augmentation, not decoding, is the step cost.

    Attributes:
        images: (N, C, H, W) uint8, C = 1 or 3.
        labels: (N,) int64 class indices, or None for unlabeled data.
        classes: class names, indexed by label (empty when unlabeled).
        name: a short name for logs and reports ("cifar10/train").
        skipped: files left out as unreadable while loading (``load_image_folder`` with
            ``skip_corrupt=True``); empty otherwise.
    """

    images: Tensor
    labels: Tensor | None
    classes: list[str] = field(default_factory=list)
    name: str = "images"
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise ValueError(
                f"{self.name}: images must be a uint8 tensor (N, C, H, W), got "
                f"{self.images.dtype} {tuple(self.images.shape)}"
            )
        if self.images.shape[1] not in (1, 3):
            raise ValueError(
                f"{self.name}: images must have 1 or 3 channels, got {self.images.shape[1]}"
            )
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"{self.name}: labels must have shape ({self.images.shape[0]},), "
                f"got {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def num_classes(self) -> int:
        """Number of classes (0 when unlabeled)."""
        if self.classes:
            return len(self.classes)
        return int(self.labels.max()) + 1 if self.labels is not None and len(self) else 0

    def subset(self, indices: Tensor) -> ImageDataset:
        """The samples at ``indices`` (a 1-D index tensor), as a new dataset."""
        labels = self.labels[indices] if self.labels is not None else None
        return replace(self, images=self.images[indices], labels=labels)
