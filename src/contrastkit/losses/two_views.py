"""Similarities of a two-view batch's 2B anchors, shared by NT-Xent, DCL and the debiased losses.

The anchors are ``cat([z_a, z_b])``; anchor i's positive is its other view. With
``gather_distributed=True`` the anchors are this process's rows and the candidates are the
embeddings of every process (gathered with gradient), so each process computes the terms of its
own anchors against the global batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.distributed import batch_offset, gather_with_grad
from contrastkit.types import check_batch, check_pair


@dataclass(frozen=True)
class TwoViewSimilarities:
    """Cosine similarities of local anchors to all embeddings of a two-view batch.

    Attributes:
        similarity: (2B, 2N) cosine similarity of the local anchors ``cat([z_a, z_b])`` to all
            embeddings ``cat([Z_a, Z_b])`` of the (global) batch of N pairs.
        positive: (2B,) column of each anchor's other view.
        anchor: (2B,) column of the anchor itself.
        pairs_a: (N, D) normalized first views of the global batch.
        pairs_b: (N, D) normalized second views of the global batch.
    """

    similarity: Tensor
    positive: Tensor
    anchor: Tensor
    pairs_a: Tensor
    pairs_b: Tensor

    @property
    def num_negatives(self) -> int:
        """Negatives per anchor: every embedding but the anchor and its positive (2N - 2)."""
        return self.similarity.shape[1] - 2

    def positive_similarity(self) -> Tensor:
        """(2B,) similarity of each anchor to its positive."""
        return self.similarity.gather(1, self.positive[:, None]).squeeze(1)

    def self_mask(self) -> Tensor:
        """(2B, 2N) True at each anchor's own column."""
        return F.one_hot(self.anchor, self.similarity.shape[1]).bool()

    def negatives_mask(self) -> Tensor:
        """(2B, 2N) True at the 2N - 2 negatives of each anchor."""
        columns = self.similarity.shape[1]
        return ~(self.self_mask() | F.one_hot(self.positive, columns).bool())


@dataclass(frozen=True)
class TwoViewBatch:
    """The normalized anchors and candidates of a two-view batch, before any similarity.

    Attributes:
        anchors: (2B, D) this process's ``cat([z_a, z_b])``, L2-normalized.
        candidates: (2N, D) every process's ``cat([Z_a, Z_b])``; the same values as
            ``anchors`` when ``gathered`` is False.
        positive: (2B,) column of each anchor's other view.
        anchor: (2B,) column of the anchor itself.
        pairs_a: (N, D) normalized first views of the global batch.
        pairs_b: (N, D) normalized second views of the global batch.
        gathered: the candidates include other processes' embeddings.
    """

    anchors: Tensor
    candidates: Tensor
    positive: Tensor
    anchor: Tensor
    pairs_a: Tensor
    pairs_b: Tensor
    gathered: bool


def two_view_batch(
    z_a: Tensor, z_b: Tensor, *, gather_distributed: bool, loss_name: str
) -> TwoViewBatch:
    """Validate and L2-normalize two views (B, D), gather them if asked, index the positives."""
    check_pair("z_a", z_a, "z_b", z_b)
    z_a, z_b = F.normalize(z_a, dim=1), F.normalize(z_b, dim=1)
    if gather_distributed:
        pairs_a, pairs_b = gather_with_grad(z_a), gather_with_grad(z_b)
        offset = batch_offset(z_a.shape[0], z_a.device)
    else:
        pairs_a, pairs_b, offset = z_a, z_b, 0
    total = pairs_a.shape[0]
    check_batch(total, 2, f"{loss_name} (negatives come from other pairs of the batch)")
    index = torch.arange(z_a.shape[0], device=z_a.device) + offset
    return TwoViewBatch(
        anchors=torch.cat([z_a, z_b]),
        candidates=torch.cat([pairs_a, pairs_b]),
        positive=torch.cat([index + total, index]),
        anchor=torch.cat([index, index + total]),
        pairs_a=pairs_a,
        pairs_b=pairs_b,
        gathered=pairs_a is not z_a,
    )


def two_view_similarities(
    z_a: Tensor, z_b: Tensor, *, gather_distributed: bool, loss_name: str
) -> TwoViewSimilarities:
    """Validate and L2-normalize two views (B, D) and compare the local anchors to all of them."""
    batch = two_view_batch(z_a, z_b, gather_distributed=gather_distributed, loss_name=loss_name)
    return TwoViewSimilarities(
        similarity=batch.anchors @ batch.candidates.T,
        positive=batch.positive,
        anchor=batch.anchor,
        pairs_a=batch.pairs_a,
        pairs_b=batch.pairs_b,
    )
