"""The batch types that data sources produce, view makers transform and methods consume."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class ViewBatch:
    """V augmented views of the same B samples, plus their labels when the data has them.

    Attributes:
        views: V float tensors (B, C, H, W), normalized for the encoder. Views of one batch may
            differ in size (multi-crop: the global crops come first, then the local ones).
        labels: (B,) integer labels, or None for unlabeled data. Only supervised methods
            (SupCon) read them; self-supervised methods ignore them.
    """

    views: list[Tensor]
    labels: Tensor | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("ViewBatch needs at least one view")
        batch = self.views[0].shape[0]
        for index, view in enumerate(self.views):
            if view.shape[0] != batch:
                raise ValueError(
                    f"view {index} has batch size {view.shape[0]}, view 0 has {batch}: "
                    "every view must hold the same samples"
                )

    @property
    def batch_size(self) -> int:
        """Samples per view (B)."""
        return self.views[0].shape[0]

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> ViewBatch:
        """The same batch on ``device`` (views optionally in channels-last memory format)."""
        memory = torch.channels_last if channels_last else torch.contiguous_format
        views = [v.to(device, non_blocking=True, memory_format=memory) for v in self.views]
        labels = self.labels.to(device) if self.labels is not None else None
        return ViewBatch(views, labels)

    def split(self, size: int) -> list[ViewBatch]:
        """Consecutive sub-batches of ``size`` samples, views and labels sliced together.

        The last sub-batch holds the remainder when ``size`` does not divide B. The slices share
        memory with this batch (no copies). Gradient caching
        (:mod:`contrastkit.train.gradcache`) embeds a batch in these pieces.

        Example:
            >>> batch = ViewBatch([torch.zeros(5, 3, 2, 2)] * 2, labels=torch.arange(5))
            >>> [(part.batch_size, part.labels.tolist()) for part in batch.split(2)]
            [(2, [0, 1]), (2, [2, 3]), (1, [4])]
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"split size must be an integer >= 1, got {size!r}")
        pieces = [view.split(size) for view in self.views]
        labels = self.labels.split(size) if self.labels is not None else None
        return [
            ViewBatch([piece[i] for piece in pieces], None if labels is None else labels[i])
            for i in range(len(pieces[0]))
        ]
