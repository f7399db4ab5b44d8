"""InfoNCE: a query against its key, with the batch's other keys (and a queue) as negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import batch_offset, gather_with_grad, global_mean
from contrastkit.losses.validation import check_batch, check_embeddings, check_pair, check_positive


def info_nce(
    query: Tensor,
    key: Tensor,
    *,
    temperature: float = 0.07,
    negatives: Tensor | None = None,
    gather_distributed: bool = False,
) -> Tensor:
    """InfoNCE loss of queries against keys; see :class:`InfoNCELoss`."""
    check_positive("temperature", temperature)
    check_pair("query", query, "key", key)
    query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
    if gather_distributed:
        keys = gather_with_grad(key)
        target = torch.arange(query.shape[0], device=query.device)
        target = target + batch_offset(query.shape[0], query.device)
    else:
        keys, target = key, torch.arange(query.shape[0], device=query.device)
    logits = query @ keys.T
    if negatives is not None:
        check_embeddings("negatives", negatives)
        if negatives.shape[1] != query.shape[1]:
            raise ValueError(
                f"negatives must have shape (K, {query.shape[1]}) to match query, "
                f"got {tuple(negatives.shape)}"
            )
        logits = torch.cat([logits, query @ F.normalize(negatives, dim=1).T], dim=1)
    check_batch(logits.shape[1], 2, "info_nce without negatives (other keys are the negatives)")
    return global_mean(
        F.cross_entropy(logits / temperature, target, reduction="none"),
        gather_distributed=gather_distributed,
    )


class InfoNCELoss(nn.Module):
    """InfoNCE (CPC, arXiv 1807.03748; MoCo, arXiv 1911.05722): query i must pick out key i.

    Query i scores ``-log(exp(q_i.k_i / t) / (sum_j exp(q_i.k_j / t) + sum_k exp(q_i.n_k / t)))``
    with cosine similarities: the other keys of the batch are negatives, plus ``negatives``
    (K, D) when given, such as a MoCo :class:`~contrastkit.modules.FeatureQueue`. Mean over the
    B queries. InfoNCE is also called NT-Xent's one-directional form and, in
    sentence-transformers, MultipleNegativesRankingLoss; :func:`nt_xent` uses both views as
    anchors, :func:`clip_loss` is its symmetric two-tower form.

    Args:
        temperature: softmax temperature (0.07 in MoCo, 0.2 in MoCo v2, 0.05 in SimCSE).
        gather_distributed: use the keys of every process as negatives; queue negatives are not
            gathered (a MoCo queue already holds keys from every process).

    Shapes: ``query``, ``key``: (B, D); ``negatives``: (K, D). Returns a scalar.

    Example:
        >>> import torch
        >>> loss = InfoNCELoss(temperature=0.2)
        >>> query, key, queue = torch.randn(8, 16), torch.randn(8, 16), torch.randn(64, 16)
        >>> loss(query, key, negatives=queue).shape
        torch.Size([])
    """

    def __init__(self, *, temperature: float = 0.07, gather_distributed: bool = False) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        self.temperature = temperature
        self.gather_distributed = gather_distributed

    def forward(self, query: Tensor, key: Tensor, negatives: Tensor | None = None) -> Tensor:
        return info_nce(
            query,
            key,
            temperature=self.temperature,
            negatives=negatives,
            gather_distributed=self.gather_distributed,
        )
