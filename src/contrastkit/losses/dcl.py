"""Decoupled contrastive learning: NT-Xent without the positive in the denominator."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import global_mean
from contrastkit.losses.tiled import blockwise_logsumexp, check_chunk_size, mean_of_sum
from contrastkit.losses.two_views import two_view_batch, two_view_similarities
from contrastkit.types import check_pair, check_positive

WeightFn = Callable[[Tensor, Tensor], Tensor]


def vmf_weights(z_a: Tensor, z_b: Tensor, *, sigma: float = 0.5) -> Tensor:
    """DCLW's von Mises-Fisher weights of the B positive pairs, shape (B,).

    ``w_i = 2 - B * softmax_i(cos(z_a_i, z_b_i) / sigma)``: pairs that already agree more than the
    batch average get a weight below 1, harder pairs above 1. The weights average to 1.
    """
    check_positive("sigma", sigma)
    check_pair("z_a", z_a, "z_b", z_b)
    agreement = F.cosine_similarity(z_a, z_b, dim=1) / sigma
    return 2 - z_a.shape[0] * torch.softmax(agreement, dim=0)


def dcl(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float = 0.1,
    weight_fn: WeightFn | None = None,
    gather_distributed: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """Decoupled contrastive loss; see :class:`DCLLoss`."""
    return _dcl(z_a, z_b, temperature, weight_fn, gather_distributed, chunk_size, "dcl")


def _dcl(
    z_a: Tensor,
    z_b: Tensor,
    temperature: float,
    weight_fn: WeightFn | None,
    gather_distributed: bool,
    chunk_size: int | None,
    loss_name: str,
) -> Tensor:
    """DCL, with ``loss_name`` (dcl or dclw) named in batch-size errors."""
    check_positive("temperature", temperature)
    check_chunk_size(chunk_size)
    if chunk_size is not None:
        return _tiled_dcl(
            z_a, z_b, temperature, weight_fn, gather_distributed, chunk_size, loss_name
        )
    views = two_view_similarities(
        z_a, z_b, gather_distributed=gather_distributed, loss_name=loss_name
    )
    logits = views.similarity / temperature
    negatives = logits.masked_fill(~views.negatives_mask(), float("-inf")).logsumexp(dim=1)
    positive = views.positive_similarity() / temperature
    if weight_fn is not None:
        positive = positive * _pair_weights(weight_fn, views.pairs_a, views.pairs_b, views.anchor)
    return global_mean(negatives - positive, gather_distributed=gather_distributed)


def _pair_weights(weight_fn: WeightFn, pairs_a: Tensor, pairs_b: Tensor, anchor: Tensor) -> Tensor:
    """(2B,) weight of each anchor's positive pair, checked to be one per pair."""
    pair_weights = weight_fn(pairs_a, pairs_b)
    total = pairs_a.shape[0]
    if pair_weights.shape != (total,):
        raise ValueError(
            f"weight_fn must return one weight per pair, shape ({total},), "
            f"got {tuple(pair_weights.shape)}"
        )
    return pair_weights[anchor % total]


def _tiled_dcl(
    z_a: Tensor,
    z_b: Tensor,
    temperature: float,
    weight_fn: WeightFn | None,
    gather_distributed: bool,
    chunk: int,
    loss_name: str,
) -> Tensor:
    """The same loss, block by block: negatives' log-sum-exps from the tiled engine."""
    batch = two_view_batch(z_a, z_b, gather_distributed=gather_distributed, loss_name=loss_name)
    positive = (batch.anchors * batch.candidates[batch.positive]).sum(dim=1) / temperature
    if weight_fn is not None:
        positive = positive * _pair_weights(weight_fn, batch.pairs_a, batch.pairs_b, batch.anchor)
    total = blockwise_logsumexp(
        batch.anchors,
        batch.candidates if batch.gathered else None,
        scale=1 / temperature,
        chunk_size=chunk,
        targets=positive,
        exclude=torch.stack([batch.anchor, batch.positive], dim=1),
    )
    count = batch.anchors.shape[0]
    return mean_of_sum(total, count, gather_distributed=gather_distributed)


def dclw(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float = 0.1,
    sigma: float = 0.5,
    gather_distributed: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """DCL with von Mises-Fisher weighting of the positives; see :class:`DCLWLoss`."""
    check_positive("sigma", sigma)
    return _dcl(
        z_a,
        z_b,
        temperature,
        lambda a, b: vmf_weights(a, b, sigma=sigma),
        gather_distributed,
        chunk_size,
        "dclw",
    )


class DCLLoss(nn.Module):
    """Decoupled contrastive loss (DCL, arXiv 2110.06848).

    As :class:`NTXentLoss` (2B anchors, the 2B - 2 other embeddings as negatives) with the
    positive removed from the denominator, which removes the negative-positive coupling that
    makes NT-Xent sensitive to batch size:
    ``l_i = -w_i * s_ip / t + log sum_{k not in {i, p}} exp(s_ik / t)``, mean over 2B anchors.
    ``weight_fn(z_a, z_b) -> (B,)`` weights each positive pair (normalized inputs, global batch
    when gathering); :class:`DCLWLoss` is DCL with :func:`vmf_weights`.

    Args:
        temperature: softmax temperature (0.1 in the paper).
        weight_fn: optional positive-pair weighting; ``None`` gives w_i = 1.
        gather_distributed: use the embeddings of every process as negatives.
        chunk_size: None computes the (2B, 2B) similarity matrix; an int gives the same loss
            and gradients over blocks of ``chunk_size`` rows (:mod:`contrastkit.losses.tiled`).

    Shapes: ``z_a``, ``z_b``: (B, D), L2-normalized inside. Returns a scalar (it can be
    negative: the positive term is not bounded by the denominator).

    Example:
        >>> import torch
        >>> loss = DCLLoss(temperature=0.1)
        >>> loss(torch.randn(8, 32), torch.randn(8, 32)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        weight_fn: WeightFn | None = None,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.weight_fn = weight_fn
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return dcl(
            z_a,
            z_b,
            temperature=self.temperature,
            weight_fn=self.weight_fn,
            gather_distributed=self.gather_distributed,
            chunk_size=self.chunk_size,
        )


class DCLWLoss(nn.Module):
    """DCLW (arXiv 2110.06848): :class:`DCLLoss` with von Mises-Fisher weights (sigma = 0.5).

    Args:
        temperature: softmax temperature (0.1 in the paper).
        sigma: concentration of the weighting, see :func:`vmf_weights`.
        gather_distributed: use the embeddings of every process as negatives.
        chunk_size: None (untiled) or rows per block, as in :class:`DCLLoss`.

    Example:
        >>> import torch
        >>> loss = DCLWLoss(temperature=0.1, sigma=0.5)
        >>> loss(torch.randn(8, 32), torch.randn(8, 32)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        sigma: float = 0.5,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_positive("sigma", sigma)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.sigma = sigma
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return dclw(
            z_a,
            z_b,
            temperature=self.temperature,
            sigma=self.sigma,
            gather_distributed=self.gather_distributed,
            chunk_size=self.chunk_size,
        )
