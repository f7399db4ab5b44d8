"""Augmented views of an in-memory image dataset, as the training engine's batch source."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.data.batches import ShuffledSource
from contrastkit.data.dataset import ImageDataset
from contrastkit.transforms.multiview import MultiView
from contrastkit.types import ViewBatch


class ViewSource(ShuffledSource):
    """Index a dataset, move the uint8 images to the device, and make the views there.

    Batches are uniformly shuffled (:class:`~contrastkit.data.batches.ShuffledSource`).
    Augmentation runs in the main process on whole batches (on the GPU when training on one),
    so no worker processes compete with the model for the CPU cores.

    Args:
        dataset: the in-memory images (and labels, passed on for supervised methods).
        views: the view maker (a recipe from :mod:`contrastkit.transforms`).
        channels_last: emit views in channels-last memory format.

    Example:
        >>> from contrastkit.data import load_dataset
        >>> from contrastkit.transforms import digits
        >>> source = ViewSource(load_dataset("digits", "train"), digits(8))
        >>> batch = source(torch.arange(4), torch.Generator(), torch.device("cpu"))
        >>> [tuple(v.shape) for v in batch.views]
        [(4, 1, 8, 8), (4, 1, 8, 8)]
    """

    def __init__(self, dataset: ImageDataset, views: MultiView, *, channels_last: bool = False):
        self.dataset = dataset
        self.views = views
        self.channels_last = channels_last

    def __len__(self) -> int:
        return len(self.dataset)

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> ViewBatch:
        images = self.dataset.images[indices].to(device, non_blocking=True)
        labels = self.dataset.labels[indices] if self.dataset.labels is not None else None
        batch = ViewBatch(self.views(images, generator), labels)
        return batch.to(device, channels_last=self.channels_last)


__all__ = ["ViewSource"]
