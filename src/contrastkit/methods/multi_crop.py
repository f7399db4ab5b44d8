"""Multi-crop forward: run a list of views through an encoder, same-size crops as one batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def multi_crop_features(encoder: nn.Module, views: list[Tensor]) -> Tensor:
    """Encoder features of every view, (V * B, F), view-major (row ``v * B + i``).

    Consecutive views of the same shape run through the encoder as one batch (SwAV's and
    DINO's multi-crop forward): the global crops together, then the local crops together.
    """
    outputs, start = [], 0
    while start < len(views):
        end = start + 1
        while end < len(views) and views[end].shape == views[start].shape:
            end += 1
        outputs.append(encoder(torch.cat(views[start:end])))
        start = end
    return torch.cat(outputs)
