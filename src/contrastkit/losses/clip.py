"""CLIP's symmetric cross-entropy over image-text logits, with UniCL's label-aware targets."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad, global_mean
from contrastkit.losses.label_positives import same_label_sums
from contrastkit.losses.tiled import blockwise_logsumexp, check_chunk_size, mean_of_sum
from contrastkit.losses.two_towers import TwoTowerBatch, two_tower_batch
from contrastkit.types import check_labels


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
    chunk_size: int | None = None,
) -> Tensor:
    """CLIP / UniCL contrastive loss; see :class:`CLIPLoss`."""
    check_chunk_size(chunk_size)
    batch = two_tower_batch(
        image_emb,
        text_emb,
        logit_scale,
        gather_distributed=gather_distributed,
        loss_name="clip_loss",
    )
    if chunk_size is not None:
        return _tiled_clip(batch, logit_scale, labels, gather_distributed, chunk_size)
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


def _tiled_clip(
    batch: TwoTowerBatch,
    logit_scale: float | Tensor,
    labels: Tensor | None,
    gather_distributed: bool,
    chunk: int,
) -> Tensor:
    """The same loss, block by block: log-sum-exps from the tiled engine, targets here."""
    images, texts, scale = batch.image_emb, batch.text_emb, logit_scale
    if labels is None:
        target = torch.arange(images.shape[0], device=images.device) + batch.offset
        image_to_text = scale * (images * batch.all_text_emb[target]).sum(dim=1)
        text_to_image = scale * (texts * batch.all_image_emb[target]).sum(dim=1)
    else:
        check_labels(labels, images.shape[0])
        all_labels = gather_with_grad(labels) if gather_distributed else labels
        same_text, count = same_label_sums(images, labels, batch.all_text_emb, all_labels)
        same_image, _ = same_label_sums(texts, labels, batch.all_image_emb, all_labels)
        image_to_text, text_to_image = scale * same_text / count, scale * same_image / count
    summed = partial(blockwise_logsumexp, scale=scale, chunk_size=chunk)
    if batch.all_image_emb is images:  # one process: text-to-image are the columns
        total = summed(
            images, texts, targets=image_to_text, columns=True, column_targets=text_to_image
        )
    else:  # this process's rows, in both directions
        total = summed(images, batch.all_text_emb, targets=image_to_text)
        total = total + summed(texts, batch.all_image_emb, targets=text_to_image)
    return mean_of_sum(total / 2, images.shape[0], gather_distributed=gather_distributed)


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
        chunk_size: None computes the (B, B) logits; an int gives the same loss and gradients
            (``logit_scale``'s included) over blocks of ``chunk_size`` rows
            (:mod:`contrastkit.losses.tiled`).

    Shapes: ``image_emb``, ``text_emb``: (B, D), L2-normalized inside; ``logit_scale``: float
    or 0-d tensor > 0; ``labels``: (B,) integers or None. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = CLIPLoss()
        >>> image_emb, text_emb = torch.randn(8, 64), torch.randn(8, 64)
        >>> loss(image_emb, text_emb, torch.tensor(1 / 0.07)).shape
        torch.Size([])
    """

    def __init__(self, *, gather_distributed: bool = False, chunk_size: int | None = None) -> None:
        super().__init__()
        check_chunk_size(chunk_size)
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

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
            chunk_size=self.chunk_size,
        )
