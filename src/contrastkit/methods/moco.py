"""MoCo v2 (momentum key encoder + queue of keys) and MoCo v3 (momentum encoder + predictor)."""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from contrastkit.distributed import gather_with_grad
from contrastkit.losses import info_nce
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.modules import FeatureQueue, cosine_momentum, make_head, update_ema
from contrastkit.types import ViewBatch, check_in_range, check_positive


class MoCoV2(nn.Module):
    """MoCo v2 (Chen et al., arXiv 2003.04297; MoCo, He et al., arXiv 1911.05722).

    Query network f_q = projector(encoder), key network f_k its momentum copy::

        f_k <- m f_k + (1 - m) f_q             # before computing the keys, under no_grad
        q = f_q(x_a);  k = f_k(x_b)            # (B, proj_dim); k has no gradient
        L = InfoNCE(q, k; negatives = queue, t)
        queue <- enqueue(k from every process)

    Negatives: query i is scored against its key, the queue, *and the other keys of the batch*
    (:func:`~contrastkit.losses.info_nce` semantics: SimCLR/MoCo v3-style in-batch negatives
    plus MoCo's queue). The paper's form is "positive + queue only"; the B - 1 extra negatives
    (fresh keys, soon in the queue anyway) change little beside a queue of thousands. Until the
    queue holds anything the in-batch keys are the only negatives. ``symmetric`` (from the MoCo
    CIFAR demo) adds the swapped pair (q_b, k_a), averages the two losses, enqueues both keys.
    The queue always holds the keys of every process, as in MoCo, so queues stay identical
    under DDP; ``gather_distributed`` adds the other processes' current keys as in-batch
    negatives.
    Shuffling BN (the paper's multi-GPU defence against BN leaking batch information) is not
    done. ``embeddings`` are (q, k); ``logs`` hold ``momentum`` and ``queue_fill`` (fraction).

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_dim: output width of the 2-layer MLP head without BatchNorm (128).
        proj_hidden_dim: its hidden width (2048).
        queue_size: number of stored keys K (65,536).
        momentum: key encoder momentum m, constant (0.999).
        temperature: softmax temperature t (0.2).
        symmetric: also contrast view b's query with view a's key.
        gather_distributed: use the current keys of all processes as negatives.

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = MoCoV2(encoder, proj_dim=8, proj_hidden_dim=32, queue_size=16)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> method(batch, progress=0.0).logs["queue_fill"]
        0.25
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_dim: int = 128,
        proj_hidden_dim: int = 2048,
        queue_size: int = 65536,
        momentum: float = 0.999,
        temperature: float = 0.2,
        symmetric: bool = False,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(proj_dim=proj_dim, proj_hidden_dim=proj_hidden_dim)
        check_in_range("queue_size", queue_size, 1)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        check_positive("temperature", temperature)
        self.momentum, self.temperature = momentum, temperature
        self.symmetric, self.gather_distributed = symmetric, gather_distributed
        self.encoder = encoder
        self.projector = make_head(
            "moco_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.key_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.key_projector = copy.deepcopy(self.projector).requires_grad_(False)
        self.queue = FeatureQueue(queue_size, proj_dim)

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(batch, progress, method="MoCoV2")
        x_a, x_b = batch.views[0], batch.views[1]
        with torch.no_grad():
            update_ema(self.encoder, self.key_encoder, self.momentum)
            update_ema(self.projector, self.key_projector, self.momentum)
            k_b = self.key_projector(self.key_encoder(x_b))
        q_a = self.projector(self.encoder(x_a))
        loss, keys = self._contrast(q_a, k_b), [k_b]
        if self.symmetric:
            with torch.no_grad():
                k_a = self.key_projector(self.key_encoder(x_a))
            q_b = self.projector(self.encoder(x_b))
            loss, keys = (loss + self._contrast(q_b, k_a)) / 2, [k_b, k_a]
        self.queue.enqueue(gather_with_grad(torch.cat(keys).detach()))
        logs = {"momentum": self.momentum, "queue_fill": len(self.queue) / self.queue.size}
        return MethodOutput(loss=loss, embeddings=(q_a.detach(), k_b), logs=logs)

    def _contrast(self, query: Tensor, key: Tensor) -> Tensor:
        negatives = self.queue.negatives() if len(self.queue) else None
        return info_nce(
            query,
            key,
            temperature=self.temperature,
            negatives=negatives,
            gather_distributed=self.gather_distributed,
        )

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)


class MoCoV3(nn.Module):
    """MoCo v3 (Chen, Xie, He, arXiv 2104.02057): no queue, a predictor, a symmetric loss.

    Online f_q = predictor(projector(encoder)), momentum f_k = copy of projector(encoder)::

        q_a, q_b = f_q(x_a), f_q(x_b)
        m = 1 - (1 - base_momentum) (cos(pi progress) + 1) / 2     # cosine schedule to 1
        f_k <- m f_k + (1 - m) f_q   (encoder and projector, under no_grad)
        k_a, k_b = f_k(x_a), f_k(x_b)
        L = ctr(q_a, k_b) + ctr(q_b, k_a),   ctr(q, k) = 2t * InfoNCE(q, k; t)

    ``ctr`` uses the batch's other keys as negatives (of every process with
    ``gather_distributed``). The ``2t`` factor is the paper's (its ``contrastive_loss``
    multiplies by ``2 * T``), which makes the gradient scale insensitive to t; the sum over the
    two directions is also the paper's, so L is the official code's loss. Heads follow its
    ResNet variant: projector Linear-BN-ReLU-Linear-BN (affine-free BN on the output),
    predictor Linear-BN-ReLU-Linear. ``embeddings`` are the online projections (z_a, z_b);
    ``logs`` hold ``momentum``.

    Supports gradient caching (:class:`~contrastkit.methods.base.CachedMethod`): ``embed``
    gives the online features (h_a, h_b); heads, EMA update, keys and loss run once per step on
    the whole batch. The keys are a no-grad forward of the momentum encoder on the whole batch
    (no activations kept, but each layer's output for all B samples exists at once).

    Args:
        encoder: backbone with an integer ``feature_dim``.
        proj_dim: output width of projector and predictor (256).
        proj_hidden_dim: projector hidden width (4096).
        pred_hidden_dim: predictor hidden width (4096).
        temperature: softmax temperature t (0.2 for ViT; the paper's ResNet runs use 1.0).
        base_momentum: momentum at the start of training (0.99), rising to 1.
        gather_distributed: use the keys of all processes as negatives.

    Example:
        >>> import torch
        >>> from contrastkit.encoders import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(192, 16)), feature_dim=16)
        >>> method = MoCoV3(encoder, proj_dim=8, proj_hidden_dim=32, pred_hidden_dim=32)
        >>> batch = ViewBatch([torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)])
        >>> method(batch, progress=1.0).logs["momentum"]
        1.0
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        proj_dim: int = 256,
        proj_hidden_dim: int = 4096,
        pred_hidden_dim: int = 4096,
        temperature: float = 0.2,
        base_momentum: float = 0.99,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        check_sizes(
            proj_dim=proj_dim, proj_hidden_dim=proj_hidden_dim, pred_hidden_dim=pred_hidden_dim
        )
        if not 0.0 <= base_momentum <= 1.0:
            raise ValueError(f"base_momentum must be in [0, 1], got {base_momentum}")
        check_positive("temperature", temperature)
        self.temperature, self.base_momentum = temperature, base_momentum
        self.gather_distributed = gather_distributed
        self.encoder = encoder
        self.projector = make_head(
            "mocov3_projection", feature_dim(encoder), hidden_dim=proj_hidden_dim, out_dim=proj_dim
        )
        self.predictor = make_head(
            "mocov3_prediction", proj_dim, hidden_dim=pred_hidden_dim, out_dim=proj_dim
        )
        self.momentum_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.momentum_projector = copy.deepcopy(self.projector).requires_grad_(False)

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        return self.loss_from_embeddings(
            self.embed(batch, progress=progress), batch, progress=progress
        )

    def embed(self, batch: ViewBatch, *, progress: float) -> tuple[Tensor, Tensor]:
        """Online encoder features (h_a, h_b), each (B, F), of views 0 and 1."""
        check_step(batch, progress, method="MoCoV3")
        return self.encoder(batch.views[0]), self.encoder(batch.views[1])

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: ViewBatch, *, progress: float
    ) -> MethodOutput:
        """Heads, the EMA update, the momentum keys of ``batch`` (no_grad) and the loss."""
        h_a, h_b = embeddings
        z_a, z_b = self.projector(h_a), self.projector(h_b)
        q_a, q_b = self.predictor(z_a), self.predictor(z_b)
        momentum = cosine_momentum(progress, base=self.base_momentum)
        with torch.no_grad():
            update_ema(self.encoder, self.momentum_encoder, momentum)
            update_ema(self.projector, self.momentum_projector, momentum)
            k_a = self.momentum_projector(self.momentum_encoder(batch.views[0]))
            k_b = self.momentum_projector(self.momentum_encoder(batch.views[1]))
        loss = self._ctr(q_a, k_b) + self._ctr(q_b, k_a)
        return MethodOutput(
            loss=loss, embeddings=(z_a.detach(), z_b.detach()), logs={"momentum": momentum}
        )

    def _ctr(self, query: Tensor, key: Tensor) -> Tensor:
        loss = info_nce(
            query, key, temperature=self.temperature, gather_distributed=self.gather_distributed
        )
        return 2 * self.temperature * loss

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)
