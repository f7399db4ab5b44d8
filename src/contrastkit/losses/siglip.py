"""SigLIP's pairwise sigmoid loss for two towers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import global_mean
from contrastkit.losses.tiled import blockwise_softplus, check_chunk_size, mean_of_sum
from contrastkit.losses.two_towers import two_tower_batch
from contrastkit.types import check_embeddings


def siglip_loss(
    image_emb: Tensor,
    text_emb: Tensor,
    *,
    logit_scale: float | Tensor,
    logit_bias: float | Tensor,
    gather_distributed: bool = False,
    chunk_size: int | None = None,
) -> Tensor:
    """Pairwise sigmoid loss; see :class:`SigLIPLoss`."""
    check_chunk_size(chunk_size)
    if isinstance(logit_bias, Tensor):
        check_embeddings("logit_bias", logit_bias.reshape(1, -1))
    batch = two_tower_batch(
        image_emb,
        text_emb,
        logit_scale,
        gather_distributed=gather_distributed,
        loss_name="siglip_loss",
    )
    if chunk_size is not None:
        local = batch.image_emb.shape[0]
        positive = torch.arange(local, device=batch.image_emb.device) + batch.offset
        total = blockwise_softplus(
            batch.image_emb,
            batch.all_text_emb,
            scale=logit_scale,
            bias=logit_bias,
            chunk_size=chunk_size,
            positive=positive[:, None],
        )
        return mean_of_sum(total, local, gather_distributed=gather_distributed)
    logits = logit_scale * batch.image_emb @ batch.all_text_emb.T + logit_bias
    local = logits.shape[0]
    rows = torch.arange(local, device=logits.device)
    signs = -torch.ones_like(logits)
    signs[rows, rows + batch.offset] = 1.0
    terms = -F.logsigmoid(signs * logits).sum(dim=1)
    return global_mean(terms, gather_distributed=gather_distributed)


class SigLIPLoss(nn.Module):
    """SigLIP's pairwise sigmoid loss (arXiv 2303.15343).

    Every image-text pair of the batch is an independent binary problem:
    ``loss = -sum_ij log sigmoid(z_ij * (t * x_i . y_j + b)) / B`` with ``z_ij = +1`` for the
    matching pair and -1 otherwise, cosine similarities ``x_i . y_j``, scale ``t`` and bias
    ``b``. Unlike :class:`CLIPLoss` there is no softmax over the batch, so no global
    normalization; the paper finds it better at small batch sizes.

    The learnable ``logit_scale`` (t = exp(t'), t' initialised to log 10) and ``logit_bias``
    (initialised to -10) are owned by the model and passed to ``forward``.

    Args:
        gather_distributed: score this process's images against the texts of every process
            (exact gradients under DDP).
        chunk_size: None computes the (B, B) logits; an int gives the same loss and gradients
            (scale's and bias's included) over blocks of ``chunk_size`` rows and columns
            (:mod:`contrastkit.losses.tiled`).

    Shapes: ``image_emb``, ``text_emb``: (B, D), L2-normalized inside. Returns a scalar.

    Example:
        >>> import torch
        >>> loss = SigLIPLoss()
        >>> image_emb, text_emb = torch.randn(8, 64), torch.randn(8, 64)
        >>> loss(image_emb, text_emb, torch.tensor(10.0), torch.tensor(-10.0)).shape
        torch.Size([])
    """

    def __init__(self, *, gather_distributed: bool = False, chunk_size: int | None = None) -> None:
        super().__init__()
        check_chunk_size(chunk_size)
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(
        self,
        image_emb: Tensor,
        text_emb: Tensor,
        logit_scale: float | Tensor,
        logit_bias: float | Tensor,
    ) -> Tensor:
        return siglip_loss(
            image_emb,
            text_emb,
            logit_scale=logit_scale,
            logit_bias=logit_bias,
            gather_distributed=self.gather_distributed,
            chunk_size=self.chunk_size,
        )
