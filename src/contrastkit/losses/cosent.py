"""CoSENT: rank the cosine similarities of scored pairs in the order of their scores."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad
from contrastkit.types import check_batch, check_pair, check_positive


def _check_scores(scores: Tensor, batch: int) -> None:
    if not isinstance(scores, Tensor) or scores.ndim != 1 or scores.shape[0] != batch:
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"scores must have shape ({batch},), one score per pair, got {shape}")
    if not scores.is_floating_point() or not bool(torch.isfinite(scores).all()):
        raise ValueError(f"scores must be finite floating-point values, got dtype {scores.dtype}")


def cosent(
    z_a: Tensor,
    z_b: Tensor,
    scores: Tensor,
    *,
    temperature: float = 0.05,
    gather_distributed: bool = False,
) -> Tensor:
    """CoSENT loss of scored pairs; see :class:`CoSENTLoss`."""
    check_positive("temperature", temperature)
    check_pair("z_a", z_a, "z_b", z_b)
    _check_scores(scores, z_a.shape[0])
    cosine = F.cosine_similarity(z_a, z_b, dim=1)
    if gather_distributed:
        cosine, scores = gather_with_grad(cosine), gather_with_grad(scores.detach())
    check_batch(cosine.shape[0], 2, "cosent (pairs are ranked against each other)")
    # differences[i, j] = (cos_j - cos_i) / t, a term wherever pair i should rank above pair j
    differences = (cosine[None, :] - cosine[:, None]) / temperature
    ranked = scores.to(cosine.device)[:, None] > scores.to(cosine.device)[None, :]
    terms = differences.masked_fill(~ranked, float("-inf")).flatten()
    return torch.logsumexp(torch.cat([terms.new_zeros(1), terms]), dim=0)


class CoSENTLoss(nn.Module):
    """CoSENT (Su 2022; the cosine objective of AnglE, Li & Li, arXiv 2309.12871).

    For B sentence pairs with embeddings ``z_a[i], z_b[i]`` and gold similarity scores ``s_i``
    (any scale, e.g. STS-B's 0-5), with ``c_i = cos(z_a[i], z_b[i])``::

        L = log(1 + sum over (i, j) with s_i > s_j of exp((c_j - c_i) / t))

    a smooth hinge that asks every pair to have a higher cosine than every pair scored lower,
    at temperature t = 0.05 (the "scale" of 20 in sentence-transformers). Only the order of
    the scores matters, which suits Spearman correlation; ties give no term. CoSENT is the
    ranking counterpart of sentence-transformers' CosineSimilarityLoss (a regression of the
    cosine on the score) and needs graded scores, where :class:`InfoNCELoss` (also called
    MultipleNegativesRankingLoss) needs positive pairs and takes the batch as negatives.

    Args:
        temperature: t; the paper's scale 20 is t = 0.05.
        gather_distributed: rank the pairs of every process together. Every process then
            computes the same loss on the gathered cosines (a scalar over all pairs, not a
            mean of per-pair terms), and the gather's summed backward makes the averaged
            gradients equal those of one process on the whole batch.

    Shapes: ``z_a``, ``z_b``: (B, D); ``scores``: (B,) floats. Returns a scalar.

    Example:
        >>> import torch
        >>> z_a, z_b = torch.randn(8, 16), torch.randn(8, 16)
        >>> CoSENTLoss()(z_a, z_b, torch.linspace(0, 5, 8)).shape
        torch.Size([])
    """

    def __init__(self, *, temperature: float = 0.05, gather_distributed: bool = False) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        self.temperature = temperature
        self.gather_distributed = gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor, scores: Tensor) -> Tensor:
        return cosent(
            z_a,
            z_b,
            scores,
            temperature=self.temperature,
            gather_distributed=self.gather_distributed,
        )
