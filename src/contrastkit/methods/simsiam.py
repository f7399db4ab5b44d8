"""SimSiam: a Siamese network, a predictor and a stop-gradient, no negatives, no momentum."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses import negative_cosine
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import make_head
from contrastkit.types import ViewBatch


class SimSiam(nn.Module):
    """SimSiam (Chen & He, arXiv 2011.10566).

    Encoder f (backbone + 3-layer projector with BN on its output), predictor h::

        z_a, z_b = f(x_a), f(x_b);  p_a, p_b = h(z_a), h(z_b)
        D(p, z) = -cos(p, stopgrad(z))
        L = D(p_a, z_b) / 2 + D(p_b, z_a) / 2          # in [-1, 1]

    ``stop_gradient=False`` is the paper's ablation (Sec. 4.1, Fig. 2): D becomes
    ``-cos(p, z)`` with gradient into z as well (written as ``-F.cosine_similarity(p, z)``,
    since :func:`~contrastkit.losses.negative_cosine` always detaches z), and the
    representation collapses to a constant; it exists to test collapse monitoring.
    ``embeddings`` are the projections (z_a, z_b), whose per-dimension std of the normalized
    output the paper tracks to detect collapse.

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_dim: projector output width, also the predictor's (2048).
        proj_hidden_dim: projector hidden width (2048).
        pred_hidden_dim: predictor bottleneck width (512).
        stop_gradient: detach the target z in D (True; False collapses).

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = SimSiam(encoder, proj_dim=8, proj_hidden_dim=32, pred_hidden_dim=4)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> -1.0 <= method(batch, progress=0.0).loss.item() <= 1.0
        True
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_dim: int = 2048,
        proj_hidden_dim: int = 2048,
        pred_hidden_dim: int = 512,
        stop_gradient: bool = True,
    ) -> None:
        super().__init__()
        check_sizes(
            proj_dim=proj_dim, proj_hidden_dim=proj_hidden_dim, pred_hidden_dim=pred_hidden_dim
        )
        self.stop_gradient = stop_gradient
        self.encoder = encoder
        self.projector = make_head(
            "simsiam_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.predictor = make_head(
            "simsiam_prediction", proj_dim, hidden_dim=pred_hidden_dim, out_dim=proj_dim
        )

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="SimSiam")
        z_a = self.projector(self.encoder(batch.views[0]))
        z_b = self.projector(self.encoder(batch.views[1]))
        p_a, p_b = self.predictor(z_a), self.predictor(z_b)
        loss = (self._distance(p_a, z_b) + self._distance(p_b, z_a)) / 2
        return MethodOutput(loss=loss, embeddings=(z_a.detach(), z_b.detach()))

    def _distance(self, p: Tensor, z: Tensor) -> Tensor:
        """The paper's D(p, z): negative cosine, with the stop-gradient unless ablated."""
        if self.stop_gradient:
            return negative_cosine(p, z)
        return -F.cosine_similarity(p, z, dim=1).mean()

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)
