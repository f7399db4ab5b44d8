"""CLIP's symmetric cross-entropy over image-text logits, with UniCL's label-aware targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad, global_mean
from contrastkit.losses.two_towers import two_tower_batch
from contrastkit.losses.validation import check_labels


def _soft_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-row cross-entropy against a target distribution (rows of ``targets`` sum to 1)."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)


def clip_loss(
    image_emb: Tensor,
    text_emb: Tensor,
    *,
    logit_scale: float | Tensor,
    labels: Tensor | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """CLIP / UniCL contrastive loss; see :class:`CLIPLoss`."""
    batch = two_tower_batch(
        image_emb,
        text_emb,
        logit_scale,
        gather_distributed=gather_distributed,
        loss_name="clip_loss",
    )
    image_to_text = logit_scale * batch.image_emb @ batch.all_text_emb.T
    text_to_image = logit_scale * batch.text_emb @ batch.all_image_emb.T
    if labels is None:
        local = image_to_text.shape[0]
        target = torch.arange(local, device=image_to_text.device) + batch.offset
        terms = F.cross_entropy(image_to_text, target, reduction="none")
        terms = terms + F.cross_entropy(text_to_image, target, reduction="none")
    else:
        check_labels(labels, image_emb.shape[0])
        all_labels = gather_with_grad(labels) if gather_distributed else labels
        same = (labels[:, None] == all_labels[None, :]).to(image_to_text.dtype)
        targets = same / same.sum(dim=1, keepdim=True)
        terms = _soft_cross_entropy(image_to_text, targets)
        terms = terms + _soft_cross_entropy(text_to_image, targets)
    return global_mean(terms / 2, gather_distributed=gather_distributed)


class CLIPLoss(nn.Module):
    """CLIP's contrastive loss (arXiv 2103.00020), with UniCL's targets (arXiv 2204.03610).

    ``logits = logit_scale * image_emb @ text_emb.T`` (cosine similarities, B x B); the loss is
    the mean of the image-to-text and text-to-image cross-entropies with the matching pair as
    target. With ``labels`` (B,), every pair with the same label is a positive and the target
    of a row is uniform over its positives (UniCL); distinct labels give plain CLIP. This is
    :func:`info_nce` applied in both directions between two towers; :class:`SigLIPLoss` replaces
    the softmax by independent sigmoids.

    The learnable ``logit_scale`` (1/temperature, CLIP initialises it to 1/0.07 and clamps it
    at 100) is owned by the model and passed to ``forward``.

    Args:
        gather_distributed: use the embeddings of every process as negatives; each process
            scores its own rows against the global batch (exact gradients under DDP).

    Shapes: ``image_emb``, ``text_emb``: (B, D), L2-normalized inside; ``logit_scale``: float
    or 0-d tensor > 0; ``labels``: (B,) integers or None. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = CLIPLoss()
        >>> image_emb, text_emb = torch.randn(8, 64), torch.randn(8, 64)
        >>> loss(image_emb, text_emb, torch.tensor(1 / 0.07)).shape
        torch.Size([])
    """

    def __init__(self, *, gather_distributed: bool = False) -> None:
        super().__init__()
        self.gather_distributed = gather_distributed

    def forward(
        self,
        image_emb: Tensor,
        text_emb: Tensor,
        logit_scale: float | Tensor,
        labels: Tensor | None = None,
    ) -> Tensor:
        return clip_loss(
            image_emb,
            text_emb,
            logit_scale=logit_scale,
            labels=labels,
            gather_distributed=self.gather_distributed,
        )
