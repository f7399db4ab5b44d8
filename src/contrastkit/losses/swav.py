"""SwAV: swapped prediction of Sinkhorn-Knopp cluster codes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.distributed import batch_offset, gather_with_grad, global_mean
from contrastkit.types import (
    check_batch,
    check_embeddings,
    check_in_range,
    check_pair,
    check_positive,
)


def sinkhorn_knopp(
    scores: Tensor, *, iters: int = 3, epsilon: float = 0.05, gather_distributed: bool = False
) -> Tensor:
    """Equipartitioned soft cluster assignments (codes) of prototype scores, without gradient.

    ``Q = exp(scores / epsilon).T`` (K x N) is alternately normalized so that prototypes get
    equal total mass (rows sum to 1/K) and samples a unit of mass (columns 1/N), ``iters``
    times, as in SwAV's online Sinkhorn-Knopp. With ``gather_distributed`` the scores of every
    process form the batch, as in the paper. Returns codes (B, K) whose rows sum to 1.
    """
    check_embeddings("scores", scores)
    check_positive("epsilon", epsilon)
    check_in_range("iters", iters, 1)
    with torch.no_grad():
        batch = scores.shape[0]
        offset = 0
        if gather_distributed:
            offset = batch_offset(batch, scores.device)
            scores = gather_with_grad(scores.detach())
        total, prototypes = scores.shape
        check_batch(total, 2, "swav (Sinkhorn-Knopp spreads the batch over the prototypes)")
        # Subtracting the max is exact (the first normalization removes any constant factor).
        q = torch.exp((scores - scores.max()) / epsilon).T
        q = q / q.sum()
        for _ in range(iters):
            q = q / q.sum(dim=1, keepdim=True) / prototypes
            q = q / q.sum(dim=0, keepdim=True) / total
        codes = (q * total).T
        return codes[offset : offset + batch]


def swapped_prediction(
    scores_a: Tensor,
    scores_b: Tensor,
    codes_a: Tensor,
    codes_b: Tensor,
    *,
    temperature: float = 0.1,
    gather_distributed: bool = False,
) -> Tensor:
    """``-(1/2) mean_b [codes_a . log_softmax(scores_b/t) + codes_b . log_softmax(scores_a/t)]``."""
    check_positive("temperature", temperature)
    check_pair("scores_a", scores_a, "scores_b", scores_b)
    check_pair("codes_a", codes_a, "scores_a", scores_a)
    check_pair("codes_b", codes_b, "scores_b", scores_b)
    predict_a = (codes_a * torch.log_softmax(scores_b / temperature, dim=1)).sum(dim=1)
    predict_b = (codes_b * torch.log_softmax(scores_a / temperature, dim=1)).sum(dim=1)
    return global_mean(-(predict_a + predict_b) / 2, gather_distributed=gather_distributed)


def swav(
    scores_a: Tensor,
    scores_b: Tensor,
    *,
    temperature: float = 0.1,
    sinkhorn_iters: int = 3,
    epsilon: float = 0.05,
    gather_distributed: bool = False,
) -> Tensor:
    """SwAV loss of two views' prototype scores; see :class:`SwAVLoss`."""
    check_in_range("sinkhorn_iters", sinkhorn_iters, 1)
    check_pair("scores_a", scores_a, "scores_b", scores_b)
    codes = [
        sinkhorn_knopp(
            scores.detach(),
            iters=sinkhorn_iters,
            epsilon=epsilon,
            gather_distributed=gather_distributed,
        )
        for scores in (scores_a, scores_b)
    ]
    return swapped_prediction(
        scores_a,
        scores_b,
        codes[0],
        codes[1],
        temperature=temperature,
        gather_distributed=gather_distributed,
    )


class SwAVLoss(nn.Module):
    """SwAV (arXiv 2006.09882): predict one view's cluster code from the other view.

    ``scores_a``, ``scores_b`` (B, K) are each view's scores against K prototypes (the caller
    computes normalized embeddings times normalized prototypes). Codes come from
    :func:`sinkhorn_knopp` without gradient; the loss is the swapped prediction
    ``-(1/2) mean_b [q_a . log softmax(scores_b / t) + q_b . log softmax(scores_a / t)]``.
    Clustering replaces explicit negatives; the equipartition constraint prevents collapse.

    Args:
        temperature: softmax temperature of the prediction (0.1 in the paper).
        sinkhorn_iters: Sinkhorn-Knopp iterations (3).
        epsilon: entropic regularization of the codes (0.05).
        gather_distributed: compute codes over the scores of every process, as in the paper.

    Shapes: ``scores_a``, ``scores_b``: (B, K), not normalized inside. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = SwAVLoss()
        >>> loss(torch.randn(16, 10), torch.randn(16, 10)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        sinkhorn_iters: int = 3,
        epsilon: float = 0.05,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_in_range("sinkhorn_iters", sinkhorn_iters, 1)
        check_positive("epsilon", epsilon)
        self.temperature = temperature
        self.sinkhorn_iters = sinkhorn_iters
        self.epsilon = epsilon
        self.gather_distributed = gather_distributed

    def forward(self, scores_a: Tensor, scores_b: Tensor) -> Tensor:
        return swav(
            scores_a,
            scores_b,
            temperature=self.temperature,
            sinkhorn_iters=self.sinkhorn_iters,
            epsilon=self.epsilon,
            gather_distributed=self.gather_distributed,
        )
