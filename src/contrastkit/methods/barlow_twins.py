"""Barlow Twins: redundancy reduction between two views' projections."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.losses import BarlowTwinsLoss
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import make_head
from contrastkit.types import ViewBatch


class BarlowTwins(nn.Module):
    """Barlow Twins (arXiv 2103.03230): the cross-correlation of two views is the identity.

    ::

        z_a = g(f(x_a)),  z_b = g(f(x_b))      projector g: (Linear-BN-ReLU) x 2, Linear
        C_ij = sum_b zh_a[b, i] zh_b[b, j] / B  zh: standardized over the batch
        L = sum_i (1 - C_ii)^2 + lambda_offdiag sum_{i != j} C_ij^2

    The two views go through the network separately (BatchNorm statistics per view, as in the
    paper); views beyond the first two are ignored. ``MethodOutput.embeddings`` are
    ``(z_a, z_b)``.

    Args:
        encoder: backbone with a ``feature_dim`` attribute.
        proj_hidden_dim: projector hidden width (8192).
        proj_dim: projector output width D (8192).
        lambda_offdiag: weight of the redundancy term (5e-3).
        gather_distributed: batch statistics over the embeddings of every process.

    Example:
        >>> import torch
        >>> from contrastkit.encoders.base import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = BarlowTwins(encoder, proj_hidden_dim=32, proj_dim=32)
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
        lambda_offdiag: float = 5e-3,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim)
        self.loss = BarlowTwinsLoss(
            lambda_offdiag=lambda_offdiag, gather_distributed=gather_distributed
        )
        self.encoder = encoder
        self.projector = make_head(
            "barlow_twins_projection",
            feature_dim(encoder),
            hidden_dim=proj_hidden_dim,
            out_dim=proj_dim,
        )

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="BarlowTwins")
        z_a = self.projector(self.encoder(batch.views[0]))
        z_b = self.projector(self.encoder(batch.views[1]))
        return MethodOutput(self.loss(z_a, z_b), (z_a.detach(), z_b.detach()))

    def encode(self, x: Tensor) -> Tensor:
        """Backbone features (B, F), without the projector."""
        return self.encoder(x)
