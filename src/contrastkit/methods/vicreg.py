"""VICReg: variance-invariance-covariance regularization of two views' embeddings."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.losses import VICRegLoss
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import make_head
from contrastkit.types import ViewBatch


class VICReg(nn.Module):
    """VICReg (arXiv 2105.04906): invariance plus variance and covariance regularization.

    ::

        z = h(f(x)),  z' = h(f(x'))             expander h: (Linear-BN-ReLU) x 2, Linear
        s(z, z') = mean (z - z')^2               invariance
        v(z) = mean_j relu(1 - sqrt(Var(z_j) + eps))
        c(z) = sum_{i != j} Cov(z)_ij^2 / d
        L = lambda s(z, z') + mu [v(z) + v(z')] / 2 + nu [c(z) + c(z')]

    with lambda = ``sim_weight``, mu = ``var_weight``, nu = ``cov_weight``. The two views go
    through the network separately (BatchNorm statistics per view, as in the paper); views
    beyond the first two are ignored. ``MethodOutput.embeddings`` are ``(z, z')``.

    Args:
        encoder: backbone with a ``feature_dim`` attribute.
        proj_hidden_dim: expander hidden width (8192).
        proj_dim: expander output width d (8192).
        sim_weight: lambda (25).
        var_weight: mu (25).
        cov_weight: nu (1).
        gather_distributed: batch statistics over the embeddings of every process.

    Example:
        >>> import torch
        >>> from contrastkit.encoders.base import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = VICReg(encoder, proj_hidden_dim=32, proj_dim=32)
        >>> batch = ViewBatch([torch.randn(8, 3, 4, 4), torch.randn(8, 3, 4, 4)])
        >>> method(batch, progress=0.0).embeddings[0].shape
        torch.Size([8, 32])
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_hidden_dim: int = 8192,
        proj_dim: int = 8192,
        sim_weight: float = 25.0,
        var_weight: float = 25.0,
        cov_weight: float = 1.0,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim)
        self.loss = VICRegLoss(
            sim_weight=sim_weight,
            var_weight=var_weight,
            cov_weight=cov_weight,
            gather_distributed=gather_distributed,
        )
        self.encoder = encoder
        self.expander = make_head(
            "vicreg_expander", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="VICReg")
        z_a = self.expander(self.encoder(batch.views[0]))
        z_b = self.expander(self.encoder(batch.views[1]))
        return MethodOutput(self.loss(z_a, z_b), (z_a.detach(), z_b.detach()))

    def encode(self, x: Tensor) -> Tensor:
        """Backbone features (B, F), without the expander."""
        return self.encoder(x)
