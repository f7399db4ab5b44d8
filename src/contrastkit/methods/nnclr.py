"""NNCLR: the nearest neighbour of a view in a support set of past embeddings is its positive."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad
from contrastkit.losses import info_nce
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import FeatureQueue, make_head
from contrastkit.types import ViewBatch, check_in_range, check_positive


class NNCLR(nn.Module):
    """NNCLR (Dwibedi et al., arXiv 2104.14548): nearest-neighbour contrastive learning.

    Projector g (3 layers, BN), predictor h (2 layers, BN), support set Q (a FIFO queue)::

        z_a, z_b = g(f(x_a)), g(f(x_b));  p_a, p_b = h(z_a), h(z_b)
        NN(z, Q) = argmax_{q in Q} cos(z, q)                 # no gradient
        L(u, v) = InfoNCE(u, v; t)                           # u_i against v_i, v_k (k != i)
        loss = [L(NN(z_a), p_b) + L(p_b, NN(z_a)) + L(NN(z_b), p_a) + L(p_a, NN(z_b))] / 4
        Q <- enqueue(z_a from every process)

    The loss is symmetrized as in the paper's implementation details (Sec. 3.2): over the two
    views and over the rows and columns of the similarity matrix; the support set is updated
    with the first view only, as the authors do. Gradients reach the encoder through the
    predictions only. While the support set is empty (first step), each projection is its own
    neighbour, without gradient. ``embeddings`` are (z_a, z_b); ``logs`` hold ``queue_fill``.

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_dim: projector and predictor output width d (256).
        proj_hidden_dim: projector hidden width (2048).
        pred_hidden_dim: predictor hidden width (4096).
        queue_size: support set size (98,304).
        temperature: softmax temperature t (0.1).
        gather_distributed: use the embeddings of all processes as negatives.

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = NNCLR(encoder, proj_dim=8, proj_hidden_dim=8, pred_hidden_dim=8, queue_size=8)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> method(batch, progress=0.0).logs["queue_fill"]
        0.5
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_dim: int = 256,
        proj_hidden_dim: int = 2048,
        pred_hidden_dim: int = 4096,
        queue_size: int = 98304,
        temperature: float = 0.1,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(
            proj_dim=proj_dim, proj_hidden_dim=proj_hidden_dim, pred_hidden_dim=pred_hidden_dim
        )
        check_in_range("queue_size", queue_size, 1)
        check_positive("temperature", temperature)
        self.temperature, self.gather_distributed = temperature, gather_distributed
        self.encoder = encoder
        self.projector = make_head(
            "nnclr_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.predictor = make_head(
            "nnclr_prediction", proj_dim, hidden_dim=pred_hidden_dim, out_dim=proj_dim
        )
        self.queue = FeatureQueue(queue_size, proj_dim)

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="NNCLR")
        z_a = self.projector(self.encoder(batch.views[0]))
        z_b = self.projector(self.encoder(batch.views[1]))
        p_a, p_b = self.predictor(z_a), self.predictor(z_b)
        nn_a, nn_b = self.nearest_neighbour(z_a), self.nearest_neighbour(z_b)
        loss = (
            self._contrast(nn_a, p_b)
            + self._contrast(p_b, nn_a)
            + self._contrast(nn_b, p_a)
            + self._contrast(p_a, nn_b)
        ) / 4
        self.queue.enqueue(gather_with_grad(z_a.detach()))
        logs = {"queue_fill": len(self.queue) / self.queue.size}
        return MethodOutput(loss=loss, embeddings=(z_a.detach(), z_b.detach()), logs=logs)

    @torch.no_grad()
    def nearest_neighbour(self, z: Tensor) -> Tensor:
        """Each row's most cosine-similar support set entry (B, d); ``z`` itself if Q is empty."""
        if not len(self.queue):
            return z.detach()
        support = self.queue.negatives()
        similarity = F.normalize(z, dim=1) @ F.normalize(support, dim=1).T
        return support[similarity.argmax(dim=1)].to(z.dtype)

    def _contrast(self, query: Tensor, key: Tensor) -> Tensor:
        return info_nce(
            query, key, temperature=self.temperature, gather_distributed=self.gather_distributed
        )

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)
