"""BYOL: an online network predicts the projection of a slowly moving target network."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from contrastkit.losses import negative_cosine
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import cosine_momentum, make_head, update_ema
from contrastkit.types import ViewBatch


class BYOL(nn.Module):
    """BYOL (Grill et al., arXiv 2006.07733): bootstrap your own latent, no negatives.

    Online network theta: encoder f, projector g, predictor q; target network xi: EMA copy of
    f and g::

        tau = 1 - (1 - base_momentum) (cos(pi progress) + 1) / 2   # cosine schedule to 1
        xi <- tau xi + (1 - tau) theta         # under no_grad, before the targets
        z_a, z_b = g(f(x_a)), g(f(x_b));  p_a, p_b = q(z_a), q(z_b)
        z'_a, z'_b = g_xi(f_xi(x_a)), g_xi(f_xi(x_b))               # no gradient
        L = (2 - 2 cos(p_a, z'_b)) + (2 - 2 cos(p_b, z'_a))         # in [0, 8]

    ``L`` is the paper's symmetrized loss (its normalized squared error ``2 - 2 cos``, summed
    over both directions), written with :func:`~contrastkit.losses.negative_cosine`
    as ``4 + 2 * (negative_cosine(p_a, z'_b) + negative_cosine(p_b, z'_a))``; its gradient is
    4 times that of the plain mean negative cosine, which the paper's learning rates assume.
    Updating the target at the start of a step equals the paper's update after the previous
    optimizer step. ``embeddings`` are the online projections (z_a, z_b); ``logs`` hold
    ``momentum``.

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_hidden_dim: projector hidden width (4096).
        proj_dim: projector output width (256); also the predictor's output.
        pred_hidden_dim: predictor hidden width (4096).
        base_momentum: target momentum at the start of training (0.996), rising to 1.

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = BYOL(encoder, proj_hidden_dim=32, proj_dim=8, pred_hidden_dim=32)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> 0.0 <= method(batch, progress=0.5).loss.item() <= 8.0
        True
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_hidden_dim: int = 4096,
        proj_dim: int = 256,
        pred_hidden_dim: int = 4096,
        base_momentum: float = 0.996,
    ) -> None:
        super().__init__()
        check_sizes(
            proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim, pred_hidden_dim=pred_hidden_dim
        )
        if not 0.0 <= base_momentum <= 1.0:
            raise ValueError(f"base_momentum must be in [0, 1], got {base_momentum}")
        self.base_momentum = base_momentum
        self.encoder = encoder
        self.projector = make_head(
            "byol_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.predictor = make_head(
            "byol_prediction", proj_dim, hidden_dim=pred_hidden_dim, out_dim=proj_dim
        )
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projector = copy.deepcopy(self.projector).requires_grad_(False)

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="BYOL")
        x_a, x_b = batch.views[0], batch.views[1]
        momentum = cosine_momentum(progress, base=self.base_momentum)
        with torch.no_grad():
            update_ema(self.encoder, self.target_encoder, momentum)
            update_ema(self.projector, self.target_projector, momentum)
            target_a = self.target_projector(self.target_encoder(x_a))
            target_b = self.target_projector(self.target_encoder(x_b))
        z_a, z_b = self.projector(self.encoder(x_a)), self.projector(self.encoder(x_b))
        p_a, p_b = self.predictor(z_a), self.predictor(z_b)
        loss = 4 + 2 * (negative_cosine(p_a, target_b) + negative_cosine(p_b, target_a))
        logs = {"momentum": momentum}
        return MethodOutput(loss=loss, embeddings=(z_a.detach(), z_b.detach()), logs=logs)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)
