"""Batch sources of paired samples for two-tower training: image-caption pairs, tensor pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from contrastkit.data.batches import ShuffledSource
from contrastkit.data.image_text import ImageCaptionDataset
from contrastkit.types import PairBatch

ImageAugment = Callable[[Tensor, torch.Generator], Tensor]
Tokenize = Callable[[list[str]], Any]


class CaptionPairSource(ShuffledSource):
    """Image-caption pairs as :class:`PairBatch` es: one caption per image per step.

    For each image of a batch one of its captions is drawn uniformly with the engine's
    ``torch.Generator`` (so a run, and a resumed run, see the same captions); every caption is
    used over the epochs. Either side may come as precomputed features of a locked tower:
    ``image_features`` (N, F) in image order, ``caption_features`` (M, F) in the order of
    ``dataset.flat_captions()``.

    Args:
        dataset: the images and their captions.
        tokenize: turns the drawn captions into the text tower's input (``Tokens``); unused
            when ``caption_features`` is given.
        image_features: the locked image tower's features, or None to send pixels.
        caption_features: the locked text tower's features of every caption, or None.
        augment: optional augmentation of float [0, 1] images with the generator (ignored
            with ``image_features``).

    Example:
        >>> data = ImageCaptionDataset(torch.zeros(3, 3, 8, 8, dtype=torch.uint8),
        ...                            [["a", "b"], ["c"], ["d"]], ["x", "y", "z"])
        >>> source = CaptionPairSource(data, tokenize=lambda texts: torch.zeros(len(texts), 4))
        >>> batch = source(torch.tensor([0, 2]), torch.Generator(), torch.device("cpu"))
        >>> tuple(batch.a.shape), tuple(batch.b.shape)
        ((2, 3, 8, 8), (2, 4))
    """

    def __init__(
        self,
        dataset: ImageCaptionDataset,
        *,
        tokenize: Tokenize | None = None,
        image_features: Tensor | None = None,
        caption_features: Tensor | None = None,
        augment: ImageAugment | None = None,
    ) -> None:
        self.dataset = dataset
        self.texts, owners = dataset.flat_captions()
        self.counts = torch.bincount(owners, minlength=len(dataset))
        self.offsets = torch.cumsum(self.counts, 0) - self.counts
        if caption_features is None and tokenize is None:
            raise ValueError("CaptionPairSource needs tokenize= or caption_features=")
        for name, features, rows in (
            ("image_features", image_features, len(dataset)),
            ("caption_features", caption_features, len(self.texts)),
        ):
            if features is not None and (features.ndim != 2 or features.shape[0] != rows):
                raise ValueError(
                    f"{name} must be ({rows}, F), got {tuple(features.shape)}: one row per "
                    f"{'image' if name == 'image_features' else 'caption'}"
                )
        self.tokenize, self.augment = tokenize, augment
        self.image_features, self.caption_features = image_features, caption_features

    def __len__(self) -> int:
        return len(self.dataset)

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> PairBatch:
        indices = indices.long().cpu()
        draws = torch.rand(len(indices), generator=generator)
        chosen = self.offsets[indices] + (draws * self.counts[indices]).long()
        if self.caption_features is not None:
            text_side: dict[str, Any] = {"features_b": self.caption_features[chosen]}
        else:
            assert self.tokenize is not None
            text_side = {"b": self.tokenize([self.texts[i] for i in chosen.tolist()])}
        if self.image_features is not None:
            image_side: dict[str, Any] = {"features_a": self.image_features[indices]}
        else:
            images = self.dataset.images[indices].to(device, non_blocking=True)
            if self.augment is not None:
                images = self.augment(images.float() / 255.0, generator)
            image_side = {"a": images}
        return PairBatch(**image_side, **text_side).to(device)


class TensorPairSource(ShuffledSource):
    """Two aligned tensors (two views or two modalities of the same N samples) as pairs.

    Example:
        >>> source = TensorPairSource(torch.randn(10, 6), torch.randn(10, 4))
        >>> source(torch.tensor([1, 3]), torch.Generator(), torch.device("cpu")).batch_size
        2
    """

    def __init__(self, a: Tensor, b: Tensor, *, labels: Tensor | None = None) -> None:
        rows: Sequence[int] = [a.shape[0], b.shape[0], *([] if labels is None else [len(labels)])]
        if len(set(rows)) != 1:
            raise ValueError(f"a, b (and labels) must hold the same samples, got {rows} rows")
        self.a, self.b, self.labels = a, b, labels

    def __len__(self) -> int:
        return self.a.shape[0]

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> PairBatch:
        labels = self.labels[indices] if self.labels is not None else None
        return PairBatch(a=self.a[indices], b=self.b[indices], labels=labels).to(device)
