"""VICReg: variance-invariance-covariance regularization of two views' embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad
from contrastkit.losses.barlow_twins import off_diagonal
from contrastkit.types import check_batch, check_in_range, check_pair

VARIANCE_EPS = 1e-4


def _variance_term(z: Tensor) -> Tensor:
    """Mean hinge ``relu(1 - std_d)`` over dimensions, std from the unbiased variance."""
    std = torch.sqrt(z.var(dim=0) + VARIANCE_EPS)
    return F.relu(1 - std).mean()


def _covariance_term(z: Tensor) -> Tensor:
    """Sum of squared off-diagonal covariances divided by D."""
    centered = z - z.mean(dim=0)
    covariance = centered.T @ centered / (z.shape[0] - 1)
    return off_diagonal(covariance).pow(2).sum() / z.shape[1]


def _check_weights(sim_weight: float, var_weight: float, cov_weight: float) -> None:
    weights = {"sim_weight": sim_weight, "var_weight": var_weight, "cov_weight": cov_weight}
    for name, weight in weights.items():
        check_in_range(name, weight, 0.0)


def vicreg(
    z_a: Tensor,
    z_b: Tensor,
    *,
    sim_weight: float = 25.0,
    var_weight: float = 25.0,
    cov_weight: float = 1.0,
    gather_distributed: bool = False,
) -> Tensor:
    """VICReg loss; see :class:`VICRegLoss`."""
    _check_weights(sim_weight, var_weight, cov_weight)
    check_pair("z_a", z_a, "z_b", z_b)
    if gather_distributed:
        z_a, z_b = gather_with_grad(z_a), gather_with_grad(z_b)
    check_batch(z_a.shape[0], 2, "vicreg (per-dimension batch variance)")
    invariance = F.mse_loss(z_a, z_b)
    variance = (_variance_term(z_a) + _variance_term(z_b)) / 2
    covariance = _covariance_term(z_a) + _covariance_term(z_b)
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance


class VICRegLoss(nn.Module):
    """VICReg (arXiv 2105.04906): invariance, variance and covariance terms, no negatives.

    ``invariance = mean((z_a - z_b)^2)``; ``variance`` = mean over dimensions of
    ``relu(1 - sqrt(Var_d + 1e-4))`` (unbiased variance over the batch), averaged over the two
    branches; ``covariance`` = sum of squared off-diagonal entries of each branch's covariance
    matrix divided by D, summed over branches. The loss is
    ``sim_weight * invariance + var_weight * variance + cov_weight * covariance``. Like
    :class:`BarlowTwinsLoss` it prevents collapse by decorrelation instead of negatives.
    Embeddings are not L2-normalized.

    Args:
        sim_weight: weight of the invariance term (lambda = 25 in the paper).
        var_weight: weight of the variance term (mu = 25).
        cov_weight: weight of the covariance term (nu = 1).
        gather_distributed: compute batch statistics over the embeddings of every process
            (every process computes the same global loss; exact gradients under DDP).

    Shapes: ``z_a``, ``z_b``: (B, D), B >= 2. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = VICRegLoss()
        >>> loss(torch.randn(16, 32), torch.randn(16, 32)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        _check_weights(sim_weight, var_weight, cov_weight)
        self.sim_weight = sim_weight
        self.var_weight = var_weight
        self.cov_weight = cov_weight
        self.gather_distributed = gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return vicreg(
            z_a,
            z_b,
            sim_weight=self.sim_weight,
            var_weight=self.var_weight,
            cov_weight=self.cov_weight,
            gather_distributed=self.gather_distributed,
        )
