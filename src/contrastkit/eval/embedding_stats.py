"""Statistics of a batch of embeddings that reveal collapse: std, effective rank, alignment...

Pure functions on (B, D) tensors of any device and float dtype, computed in float32 without
gradients; each returns a Python float and raises ``ValueError`` for input that is not a
finite floating (B, D) tensor (with B >= 2 where rows are compared).
:mod:`contrastkit.eval.health` gathers them into ``health_metrics`` and watches them during
training.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.types import check_batch, check_embeddings, check_pair

RANKME_EPS = 1e-7  # RankMe's epsilon added to the normalized singular values


def _prepared(name: str, z: Tensor) -> Tensor:
    check_embeddings(name, z)
    check_batch(z.shape[0], 2, f"a statistic over the rows of {name}")
    return z.detach().float()


@torch.no_grad()
def embedding_std(z: Tensor) -> float:
    """Mean over dimensions of the per-dimension std of the L2-normalized embeddings.

    ``mean_d std_i(z_i / ||z_i||)[d]`` (unbiased std over the batch), as tracked by SimSiam
    (Chen & He, arXiv 2011.10566, Sec. 4.1 and Fig. 2). For embeddings spread isotropically on
    the unit sphere it is about ``1/sqrt(D)``; it falls to 0 when every sample maps to the same
    direction (complete collapse). It does not see dimensional collapse (embeddings that spread
    along a single line); :func:`effective_rank` does.

    Args:
        z: (B, D) embeddings, B >= 2.

    Example:
        >>> round(embedding_std(torch.eye(4)), 4)  # 1/sqrt(4)
        0.5
    """
    z = _prepared("z", z)
    return float(F.normalize(z, dim=1).std(dim=0).mean())


@torch.no_grad()
def effective_rank(z: Tensor, *, eps: float = RANKME_EPS) -> float:
    """RankMe: the exponential of the entropy of the normalized singular values.

    With ``s_k`` the singular values of the (B, D) embedding matrix (not centered, not
    normalized) and ``p_k = s_k / sum_j s_j + eps``, the effective rank is
    ``exp(-sum_k p_k log p_k)`` (Garrido et al., arXiv 2210.02885, with their ``eps = 1e-7``;
    after Roy & Vetterli 2007). It lies in [1, min(B, D)] up to eps: about 1 when all rows are
    parallel (collapse), ``min(B, D)`` when all singular values are equal. A zero matrix has
    effective rank 0 by convention.

    Args:
        z: (B, D) embeddings, B >= 2.
        eps: added to each normalized singular value, as in RankMe.

    Example:
        >>> round(effective_rank(torch.eye(8)), 3)
        8.0
    """
    z = _prepared("z", z)
    singular = torch.linalg.svdvals(z)
    total = singular.sum()
    if float(total) <= 0.0:
        return 0.0
    p = singular / total + eps
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def alignment(z_a: Tensor, z_b: Tensor, *, alpha: float = 2.0) -> float:
    """Alignment of positive pairs: ``E ||f(x) - f(y)||_2^alpha`` on L2-normalized embeddings.

    Wang & Isola (arXiv 2005.10242), ``L_align`` with their default ``alpha = 2``. Row i of
    ``z_a`` and row i of ``z_b`` are a positive pair. 0 when every pair coincides, 4 at most
    (antipodal pairs, alpha=2); lower is better aligned.

    Args:
        z_a: (B, D) embeddings of the first views.
        z_b: (B, D) embeddings of the second views.
        alpha: exponent of the distance, > 0.

    Example:
        >>> alignment(torch.eye(3), -torch.eye(3))
        4.0
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    check_pair("z_a", z_a, "z_b", z_b)
    a = F.normalize(z_a.detach().float(), dim=1)
    b = F.normalize(z_b.detach().float(), dim=1)
    return float((a - b).norm(dim=1).pow(alpha).mean())


@torch.no_grad()
def uniformity(z: Tensor, *, t: float = 2.0) -> float:
    """Uniformity: ``log E exp(-t ||f(x) - f(y)||_2^2)`` over distinct pairs of normalized rows.

    Wang & Isola (arXiv 2005.10242), ``L_uniform`` with their default ``t = 2``, averaged over
    the ``B (B - 1) / 2`` pairs ``i < j``. Lower (more negative) is more uniform; 0 when all
    rows coincide (collapse); ``-4 t`` for a single antipodal pair. :func:`health_metrics`
    applies it to both views' embeddings concatenated (2B rows), so it measures the spread of
    everything the loss saw; the paper's code averages the two views' values instead.

    Args:
        z: (B, D) embeddings, B >= 2.
        t: temperature of the Gaussian potential, > 0.

    Example:
        >>> uniformity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))
        -8.0
    """
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    z = F.normalize(_prepared("z", z), dim=1)
    squared = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)
    upper = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
    pairs = squared[upper[0], upper[1]]
    # log-mean-exp, stable even when the distances are large
    return float(torch.logsumexp(-t * pairs, dim=0) - math.log(pairs.numel()))


@torch.no_grad()
def positive_negative_similarity(z_a: Tensor, z_b: Tensor) -> tuple[float, float, float]:
    """Mean cosine of positive pairs, of negative pairs, and their gap.

    With ``S = normalize(z_a) @ normalize(z_b).T`` (B, B): positive = mean of the diagonal (the
    B pairs of views of one sample), negative = mean of the ``B (B - 1)`` off-diagonal entries
    (views of different samples), gap = positive - negative. A healthy contrastive model has a
    large gap; a collapsed one has both similarities near 1 and a gap near 0.

    Args:
        z_a: (B, D) embeddings of the first views, B >= 2.
        z_b: (B, D) embeddings of the second views.

    Returns:
        (positive, negative, gap) as floats in [-1, 1], [-1, 1] and [-2, 2].

    Example:
        >>> positive_negative_similarity(torch.eye(2), torch.eye(2))
        (1.0, 0.0, 1.0)
    """
    check_pair("z_a", z_a, "z_b", z_b)
    check_batch(z_a.shape[0], 2, "negative similarity")
    a = F.normalize(z_a.detach().float(), dim=1)
    b = F.normalize(z_b.detach().float(), dim=1)
    similarity = a @ b.T
    size = similarity.shape[0]
    positive = similarity.diagonal().sum()
    negative = (similarity.sum() - positive) / (size * (size - 1))
    pos, neg = float(positive / size), float(negative)
    return pos, neg, pos - neg
