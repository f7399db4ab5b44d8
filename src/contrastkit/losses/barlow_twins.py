"""Barlow Twins: make the cross-correlation of two views' embeddings the identity."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad
from contrastkit.types import check_batch, check_in_range, check_pair

BATCH_NORM_EPS = 1e-5


def _standardize(z: Tensor) -> Tensor:
    """Per-dimension batch standardization as BatchNorm1d(affine=False) in training mode."""
    mean = z.mean(dim=0)
    var = z.var(dim=0, unbiased=False)
    return (z - mean) / torch.sqrt(var + BATCH_NORM_EPS)


def off_diagonal(matrix: Tensor) -> Tensor:
    """The off-diagonal entries of a square matrix, flattened."""
    size = matrix.shape[0]
    return matrix[~torch.eye(size, dtype=torch.bool, device=matrix.device)]


def barlow_twins(
    z_a: Tensor, z_b: Tensor, *, lambda_offdiag: float = 5e-3, gather_distributed: bool = False
) -> Tensor:
    """Barlow Twins redundancy-reduction loss; see :class:`BarlowTwinsLoss`."""
    check_in_range("lambda_offdiag", lambda_offdiag, 0.0)
    check_pair("z_a", z_a, "z_b", z_b)
    if gather_distributed:
        z_a, z_b = gather_with_grad(z_a), gather_with_grad(z_b)
    check_batch(z_a.shape[0], 2, "barlow_twins (per-dimension batch statistics)")
    correlation = _standardize(z_a).T @ _standardize(z_b) / z_a.shape[0]
    on_diagonal = (torch.diagonal(correlation) - 1).pow(2).sum()
    return on_diagonal + lambda_offdiag * off_diagonal(correlation).pow(2).sum()


class BarlowTwinsLoss(nn.Module):
    """Barlow Twins (arXiv 2103.03230): cross-correlation of the two views close to identity.

    Each embedding dimension is standardized over the batch (as BatchNorm without affine
    parameters, biased variance, eps 1e-5), ``C = zh_a.T @ zh_b / B`` is the D x D
    cross-correlation, and ``loss = sum_i (1 - C_ii)^2 + lambda_offdiag * sum_{i != j} C_ij^2``.
    No negatives: redundancy reduction replaces them (see also :class:`VICRegLoss`).
    Embeddings are not L2-normalized.

    Args:
        lambda_offdiag: weight of the redundancy (off-diagonal) term, 5e-3 in the paper.
        gather_distributed: compute batch statistics over the embeddings of every process
            (every process computes the same global loss; exact gradients under DDP).

    Shapes: ``z_a``, ``z_b``: (B, D), B >= 2. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = BarlowTwinsLoss(lambda_offdiag=5e-3)
        >>> loss(torch.randn(16, 32), torch.randn(16, 32)).shape
        torch.Size([])
    """

    def __init__(self, *, lambda_offdiag: float = 5e-3, gather_distributed: bool = False) -> None:
        super().__init__()
        check_in_range("lambda_offdiag", lambda_offdiag, 0.0)
        self.lambda_offdiag = lambda_offdiag
        self.gather_distributed = gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return barlow_twins(
            z_a,
            z_b,
            lambda_offdiag=self.lambda_offdiag,
            gather_distributed=self.gather_distributed,
        )
