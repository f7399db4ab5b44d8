"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import global_mean
from contrastkit.losses.tiled import blockwise_logsumexp, check_chunk_size, mean_of_sum
from contrastkit.losses.two_views import two_view_batch, two_view_similarities
from contrastkit.types import check_positive


def nt_xent(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float | Tensor = 0.5,
    gather_distributed: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """NT-Xent loss of two views; see :class:`NTXentLoss`."""
    check_positive("temperature", temperature)
    check_chunk_size(chunk_size)
    if chunk_size is not None:
        return _tiled_nt_xent(z_a, z_b, temperature, gather_distributed, chunk_size)
    views = two_view_similarities(
        z_a, z_b, gather_distributed=gather_distributed, loss_name="nt_xent"
    )
    logits = (views.similarity / temperature).masked_fill(views.self_mask(), float("-inf"))
    return global_mean(
        F.cross_entropy(logits, views.positive, reduction="none"),
        gather_distributed=gather_distributed,
    )


def _tiled_nt_xent(
    z_a: Tensor, z_b: Tensor, temperature: float | Tensor, gather_distributed: bool, chunk: int
) -> Tensor:
    """The same loss, block by block: log-sum-exps from the tiled engine, positives here."""
    batch = two_view_batch(z_a, z_b, gather_distributed=gather_distributed, loss_name="nt_xent")
    scale = 1 / temperature
    total = blockwise_logsumexp(
        batch.anchors,
        batch.candidates if batch.gathered else None,
        scale=scale,
        chunk_size=chunk,
        targets=scale * (batch.anchors * batch.candidates[batch.positive]).sum(dim=1),
        exclude=batch.anchor[:, None],
    )
    count = batch.anchors.shape[0]
    return mean_of_sum(total, count, gather_distributed=gather_distributed)


class NTXentLoss(nn.Module):
    """NT-Xent (SimCLR, arXiv 2002.05709): each view's positive is the other view of its sample.

    The 2B embeddings ``cat([z_a, z_b])`` are all anchors. Anchor i scores
    ``-log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))`` with ``s`` the cosine similarity and p
    its other view, so its negatives are the 2B - 2 other embeddings. The loss is the mean over
    the 2B anchors. NT-Xent is InfoNCE with both views as anchors and the other view's batch as
    negatives as well; it is also called the "normalized temperature-scaled cross-entropy" and,
    symmetrized, MultipleNegativesRanking. :class:`DCLLoss` removes the positive from the
    denominator.

    Args:
        temperature: softmax temperature t (0.5 in SimCLR's CIFAR runs, 0.1 to 0.2 at large batch).
        gather_distributed: use the embeddings of every process as negatives. Each process
            scores its own anchors against the global batch; gradients are exact under DDP.
        chunk_size: None computes the (2B, 2B) similarity matrix; an int computes the same
            loss and gradients exactly over blocks of ``chunk_size`` rows (see
            :mod:`contrastkit.losses.tiled`), for batches whose matrix does not fit in memory.

    Shapes: ``z_a``, ``z_b``: (B, D), L2-normalized inside. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = NTXentLoss(temperature=0.5)
        >>> z_a, z_b = torch.randn(8, 32), torch.randn(8, 32)
        >>> loss(z_a, z_b).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.5,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return nt_xent(
            z_a,
            z_b,
            temperature=self.temperature,
            gather_distributed=self.gather_distributed,
            chunk_size=self.chunk_size,
        )
