"""SimCLR: two views, a projection head and NT-Xent with in-batch negatives."""

from __future__ import annotations

from torch import Tensor, nn

from contrastkit.losses import NTXentLoss, nt_xent
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import LearnableTemperature, make_head
from contrastkit.types import ViewBatch


class SimCLR(nn.Module):
    """SimCLR (Chen et al., arXiv 2002.05709).

    For a batch of N images with two augmented views x_a, x_b::

        h = f(x)                     # encoder, (N, F)
        z = g(h)                     # projection head: Linear-BN-ReLU-Linear, (N, proj_dim)
        L = NT-Xent(z_a, z_b; t)     # 2N anchors; each view's positive is the other view of its
                                     # image, the 2N - 2 other embeddings are its negatives

    Only views 0 and 1 of the batch are used. The two views go through the encoder separately
    (BatchNorm statistics per view). ``embeddings`` are (z_a, z_b); ``encode`` returns h.
    Supports gradient caching (:class:`~contrastkit.methods.base.CachedMethod`): ``embed``
    gives (h_a, h_b), the head and the loss run on the whole batch.

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_hidden_dim: hidden width of the projection head (2048 in the paper).
        proj_dim: output width of the projection head (128).
        temperature: NT-Xent temperature t (0.5 for CIFAR-10; 0.1 at ImageNet batch sizes);
            the starting value when ``learnable_temperature``.
        learnable_temperature: learn t by gradient descent, as CLIP learns its logit scale
            (:class:`~contrastkit.modules.LearnableTemperature`, clamped to [0.01, 1]); its value
            is logged as ``temperature``.
        gather_distributed: use the embeddings of all processes as negatives.

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = SimCLR(encoder, proj_hidden_dim=32, proj_dim=8)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> method(batch, progress=0.0).loss.shape
        torch.Size([])
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_hidden_dim: int = 2048,
        proj_dim: int = 128,
        temperature: float = 0.5,
        learnable_temperature: bool = False,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(proj_hidden_dim=proj_hidden_dim, proj_dim=proj_dim)
        self.encoder = encoder
        self.projector = make_head(
            "simclr_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.gather_distributed = gather_distributed
        self.criterion = NTXentLoss(temperature=temperature, gather_distributed=gather_distributed)
        self.temperature = LearnableTemperature(temperature) if learnable_temperature else None

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        return self.loss_from_embeddings(
            self.embed(batch, progress=progress), batch, progress=progress
        )

    def embed(self, batch: ViewBatch, *, progress: float) -> tuple[Tensor, Tensor]:
        """Encoder features (h_a, h_b), each (B, F), of views 0 and 1 (run separately)."""
        check_step(batch, progress, method="SimCLR")
        return self.encoder(batch.views[0]), self.encoder(batch.views[1])

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: ViewBatch, *, progress: float
    ) -> MethodOutput:
        """Projection head (per view) and NT-Xent on the whole batch's features (h_a, h_b)."""
        h_a, h_b = embeddings
        z_a, z_b = self.projector(h_a), self.projector(h_b)
        detached = (z_a.detach(), z_b.detach())
        if self.temperature is None:
            return MethodOutput(loss=self.criterion(z_a, z_b), embeddings=detached)
        temperature = self.temperature()
        loss = nt_xent(
            z_a, z_b, temperature=temperature, gather_distributed=self.gather_distributed
        )
        return MethodOutput(loss, detached, logs={"temperature": float(temperature.detach())})

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)
