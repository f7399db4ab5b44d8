"""Supervised contrastive learning: every same-label view is a positive."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses import SupConLoss
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.methods.multi_crop import multi_crop_features
from contrastkit.modules import make_head
from contrastkit.types import ViewBatch


class SupCon(nn.Module):
    """Supervised contrastive learning (SupCon, arXiv 2004.11362), the L_out loss.

    ::

        z_i = normalize(g(f(x_i)))       every view of every sample; g: Linear-ReLU-Linear
        P(i) = {p != i : y_p = y_i}      all other views with the same label
        L = mean_i -1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p / t) / sum_{a != i} exp(z_i.z_a / t))

    All V views of ``batch.views`` are anchors; same-size views run through the encoder as one
    batch. Needs ``batch.labels`` (B,): train it on a labelled dataset. With distinct labels it
    is SimCLR's NT-Xent. ``MethodOutput.embeddings`` are the normalized projections of views 0
    and 1. Supports gradient caching (:class:`~contrastkit.methods.base.CachedMethod`):
    ``embed`` gives one (B, F) feature tensor per view; head and loss run on the whole batch.

    Args:
        encoder: backbone with a ``feature_dim`` attribute.
        proj_hidden_dim: projection head hidden width (2048).
        proj_dim: projection width (128).
        temperature: softmax temperature t (0.1).
        gather_distributed: use the views and labels of every process as candidates.

    Example:
        >>> import torch
        >>> from contrastkit.encoders.base import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = SupCon(encoder, proj_hidden_dim=32, proj_dim=16)
        >>> views = [torch.randn(4, 3, 4, 4), torch.randn(4, 3, 4, 4)]
        >>> batch = ViewBatch(views, labels=torch.tensor([0, 1, 0, 1]))
        >>> method(batch, progress=0.0).loss.shape
        torch.Size([])
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
        temperature: float = 0.1,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim)
        self.loss = SupConLoss(temperature=temperature, gather_distributed=gather_distributed)
        self.encoder = encoder
        self.projector = make_head(
            "supcon_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        return self.loss_from_embeddings(
            self.embed(batch, progress=progress), batch, progress=progress
        )

    def embed(self, batch: ViewBatch, *, progress: float) -> tuple[Tensor, ...]:
        """Encoder features of every view: V tensors (B, F), same-size views run as one batch."""
        check_step(batch, progress, method="SupCon")
        if batch.labels is None:
            raise ValueError(
                "SupCon is supervised: the batch has no labels (batch.labels is None); "
                "train it on a labelled dataset"
            )
        return multi_crop_features(self.encoder, batch.views).split(batch.batch_size)

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: ViewBatch, *, progress: float
    ) -> MethodOutput:
        """Projection, normalization and the SupCon loss over all views of the whole batch."""
        if batch.labels is None:
            raise ValueError("SupCon is supervised: the batch has no labels (batch.labels is None)")
        views, batch_size = len(embeddings), embeddings[0].shape[0]
        z = F.normalize(self.projector(torch.cat(embeddings)), dim=1)
        features = z.reshape(views, batch_size, -1).transpose(0, 1)  # (B, V, D)
        loss = self.loss(features, batch.labels)
        return MethodOutput(loss, (features[:, 0].detach(), features[:, 1].detach()))

    def encode(self, x: Tensor) -> Tensor:
        """Backbone features (B, F), without the projection head."""
        return self.encoder(x)
