"""Supervised contrastive loss (SupCon, L_out): every same-label view is a positive."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import all_reduce_sum, batch_offset, gather_with_grad, global_mean
from contrastkit.losses.label_positives import same_label_sums
from contrastkit.losses.tiled import blockwise_logsumexp, check_chunk_size, mean_of_sum
from contrastkit.types import check_embeddings, check_labels, check_positive


def supcon(
    features: Tensor,
    labels: Tensor,
    *,
    temperature: float = 0.1,
    gather_distributed: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """Supervised contrastive loss; see :class:`SupConLoss`."""
    check_positive("temperature", temperature)
    check_chunk_size(chunk_size)
    check_embeddings("features", features, ndim=3)
    batch, views, _ = features.shape
    check_labels(labels, batch)
    features = F.normalize(features, dim=2)
    offset = 0
    all_features, all_labels = features, labels
    if gather_distributed:
        all_features, all_labels = gather_with_grad(features), gather_with_grad(labels)
        offset = batch_offset(batch, features.device)
    total = all_features.shape[0]
    # View-major layout: row v * B + i holds view v of sample i.
    anchors = features.transpose(0, 1).reshape(views * batch, -1)
    candidates = all_features.transpose(0, 1).reshape(views * total, -1)
    view_start = total * torch.arange(views, device=features.device)[:, None]
    own_column = (view_start + offset + torch.arange(batch, device=features.device)).reshape(-1)
    if chunk_size is not None:
        symmetric = all_features is features
        return _tiled_supcon(
            anchors,
            labels.repeat(views),
            None if symmetric else candidates,
            all_labels.repeat(views),
            own_column,
            temperature=temperature,
            gather_distributed=gather_distributed,
            chunk_size=chunk_size,
        )
    is_self = F.one_hot(own_column, views * total).bool()
    logits = (anchors @ candidates.T / temperature).masked_fill(is_self, float("-inf"))
    log_prob = logits - logits.logsumexp(dim=1, keepdim=True)
    positive = (labels.repeat(views)[:, None] == all_labels.repeat(views)[None, :]) & ~is_self
    count = positive.sum(dim=1)
    terms = -log_prob.masked_fill(~positive, 0.0).sum(dim=1) / count.clamp(min=1)
    has_positive = count > 0
    _check_found(has_positive, gather_distributed)
    return global_mean(terms[has_positive], gather_distributed=gather_distributed)


def _check_found(has_positive: Tensor, gather_distributed: bool) -> None:
    """Raise when no anchor of the (global) batch has a positive."""
    found = has_positive.sum()
    if gather_distributed:
        found = all_reduce_sum(found)
    if int(found) == 0:
        raise ValueError(
            "supcon: no anchor has a positive in this batch (every label is distinct and "
            "there is one view); pass at least two views per sample or repeat labels"
        )


def _tiled_supcon(
    anchors: Tensor,
    anchor_labels: Tensor,
    candidates: Tensor | None,
    candidate_labels: Tensor,
    own_column: Tensor,
    *,
    temperature: float,
    gather_distributed: bool,
    chunk_size: int,
) -> Tensor:
    """The same loss, block by block; ``candidates=None``: the anchors themselves."""
    others = anchors if candidates is None else candidates
    positives, count = same_label_sums(anchors, anchor_labels, others, candidate_labels)
    positives = positives - (anchors * others[own_column]).sum(dim=1)  # not itself
    count = count - 1
    has_positive = count > 0
    _check_found(has_positive, gather_distributed)
    total = blockwise_logsumexp(
        anchors,
        candidates,
        scale=1 / temperature,
        chunk_size=chunk_size,
        targets=positives / count.clamp(min=1) / temperature,
        exclude=own_column[:, None],
        row_weight=has_positive.to(anchors.dtype),
    )
    return mean_of_sum(total, has_positive.sum(), gather_distributed=gather_distributed)


class SupConLoss(nn.Module):
    """Supervised contrastive loss, L_out form (SupCon, arXiv 2004.11362).

    Every view-embedding of ``features`` (B, V, D) is an anchor a; its positives P(a) are all
    other view-embeddings with the same label; its denominator runs over every other
    view-embedding: ``l_a = -1/|P(a)| sum_{p in P(a)} log(exp(s_ap/t) / sum_{c != a} exp(s_ac/t))``
    with cosine similarities ``s``. The loss is the mean over anchors that have a positive.
    With V = 2 and distinct labels it is exactly :func:`nt_xent`; the same multi-positive
    targets over image-text pairs are UniCL's (see :func:`clip_loss` with ``labels``). The
    paper's ``base_temperature`` rescaling is not applied.

    Args:
        temperature: softmax temperature (0.1 in the paper).
        gather_distributed: use the features and labels of every process as candidates.
        chunk_size: None computes the (BV, BV) similarity matrix; an int gives the same loss
            and gradients over blocks of ``chunk_size`` rows (:mod:`contrastkit.losses.tiled`).

    Shapes: ``features``: (B, V, D), L2-normalized inside; ``labels``: (B,) integers.

    Example:
        >>> import torch
        >>> loss = SupConLoss(temperature=0.1)
        >>> features, labels = torch.randn(8, 2, 32), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
        >>> loss(features, labels).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        return supcon(
            features,
            labels,
            temperature=self.temperature,
            gather_distributed=self.gather_distributed,
            chunk_size=self.chunk_size,
        )
