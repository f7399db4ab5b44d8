"""The batch of views that view makers produce and vision methods consume."""

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
