"""Validation, normalization and gathering shared by the two-tower losses (CLIP, SigLIP)."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

from contrastkit.distributed import batch_offset, gather_with_grad
from contrastkit.types import check_batch, check_pair, check_positive


@dataclass(frozen=True)
class TwoTowerBatch:
    """Normalized local embeddings of both towers and those of the global batch.

    Attributes:
        image_emb: (B, D) this process's normalized image embeddings.
        text_emb: (B, D) this process's normalized text embeddings.
        all_image_emb: (N, D) every process's, in rank order (the local ones in one process).
        all_text_emb: (N, D) every process's.
        offset: row of this process's first pair in the global batch.
    """

    image_emb: Tensor
    text_emb: Tensor
    all_image_emb: Tensor
    all_text_emb: Tensor
    offset: int


def two_tower_batch(
    image_emb: Tensor,
    text_emb: Tensor,
    logit_scale: float | Tensor,
    *,
    gather_distributed: bool,
    loss_name: str,
) -> TwoTowerBatch:
    """Validate two towers' (B, D) embeddings, L2-normalize them and gather them if asked."""
    check_pair("image_emb", image_emb, "text_emb", text_emb)
    check_positive("logit_scale", logit_scale)
    image_emb, text_emb = F.normalize(image_emb, dim=1), F.normalize(text_emb, dim=1)
    all_image, all_text, offset = image_emb, text_emb, 0
    if gather_distributed:
        all_image, all_text = gather_with_grad(image_emb), gather_with_grad(text_emb)
        offset = batch_offset(image_emb.shape[0], image_emb.device)
    check_batch(all_image.shape[0], 2, f"{loss_name} (other pairs of the batch are negatives)")
    return TwoTowerBatch(image_emb, text_emb, all_image, all_text, offset)
