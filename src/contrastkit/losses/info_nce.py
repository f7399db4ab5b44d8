"""InfoNCE: a query against its key, with the batch's other keys (and a queue) as negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.distributed import batch_offset, gather_with_grad, global_mean
from contrastkit.losses.tiled import blockwise_logsumexp, check_chunk_size, mean_of_sum
from contrastkit.types import check_batch, check_embeddings, check_pair, check_positive


def info_nce(
    query: Tensor,
    key: Tensor,
    *,
    temperature: float = 0.07,
    negatives: Tensor | None = None,
    gather_distributed: bool = False,
    query_ids: Tensor | None = None,
    key_ids: Tensor | None = None,
    negative_ids: Tensor | None = None,
    chunk_size: int | None = None,
) -> Tensor:
    """InfoNCE loss of queries against keys; see :class:`InfoNCELoss`.

    False negatives: with ``query_ids`` (B,) (and ``key_ids`` (B,), by default the same, and
    ``negative_ids`` (K,) for ``negatives``), a key or negative whose id equals the query's id,
    other than the query's own positive, is left out of its negatives (its logit is -inf), so
    identical texts of one batch are never each other's negatives. With
    ``gather_distributed`` the key ids are gathered with the keys.
    """
    check_positive("temperature", temperature)
    check_chunk_size(chunk_size)
    check_pair("query", query, "key", key)
    query, key = F.normalize(query, dim=1), F.normalize(key, dim=1)
    if gather_distributed:
        keys = gather_with_grad(key)
        target = torch.arange(query.shape[0], device=query.device)
        target = target + batch_offset(query.shape[0], query.device)
    else:
        keys, target = key, torch.arange(query.shape[0], device=query.device)
    if negatives is not None:
        _check_negatives(negatives, query)
    if chunk_size is not None:
        if query_ids is not None or key_ids is not None or negative_ids is not None:
            raise ValueError("query_ids, key_ids and negative_ids need chunk_size=None (untiled)")
        return _tiled_info_nce(
            query, keys, target, negatives, temperature, gather_distributed, chunk_size
        )
    logits = query @ keys.T
    if negatives is not None:
        logits = torch.cat([logits, query @ F.normalize(negatives, dim=1).T], dim=1)
    check_batch(logits.shape[1], 2, "info_nce without negatives (other keys are the negatives)")
    if query_ids is not None or key_ids is not None or negative_ids is not None:
        same = _same_id_mask(
            query_ids, key_ids, negative_ids, logits, negatives, gather_distributed
        )
        same[torch.arange(logits.shape[0], device=logits.device), target] = False
        logits = logits.masked_fill(same, float("-inf"))
    return global_mean(
        F.cross_entropy(logits / temperature, target, reduction="none"),
        gather_distributed=gather_distributed,
    )


def _check_negatives(negatives: Tensor, query: Tensor) -> None:
    check_embeddings("negatives", negatives)
    if negatives.shape[1] != query.shape[1]:
        raise ValueError(
            f"negatives must have shape (K, {query.shape[1]}) to match query, "
            f"got {tuple(negatives.shape)}"
        )


def _tiled_info_nce(
    query: Tensor,
    keys: Tensor,
    target: Tensor,
    negatives: Tensor | None,
    temperature: float,
    gather_distributed: bool,
    chunk: int,
) -> Tensor:
    """The same loss, block by block: log-sum-exps from the tiled engine, positives here."""
    candidates = keys if negatives is None else torch.cat([keys, F.normalize(negatives, dim=1)])
    check_batch(candidates.shape[0], 2, "info_nce without negatives (other keys are the negatives)")
    scale = 1 / temperature
    positives = scale * (query * keys[target]).sum(dim=1)
    total = blockwise_logsumexp(query, candidates, scale=scale, chunk_size=chunk, targets=positives)
    return mean_of_sum(total, query.shape[0], gather_distributed=gather_distributed)


def _check_ids(name: str, ids: Tensor, size: int) -> None:
    if not isinstance(ids, Tensor) or ids.ndim != 1 or ids.shape[0] != size:
        shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"{name} must have shape ({size},), one id per row, got {shape}")
    if ids.is_floating_point() or ids.is_complex():
        raise ValueError(f"{name} must be an integer tensor, got dtype {ids.dtype}")


def _same_id_mask(
    query_ids: Tensor | None,
    key_ids: Tensor | None,
    negative_ids: Tensor | None,
    logits: Tensor,
    negatives: Tensor | None,
    gather_distributed: bool,
) -> Tensor:
    """(B, N [+ K]) True where a key (or negative) has the query's id, positives included."""
    if query_ids is None:
        raise ValueError("key_ids and negative_ids need query_ids (B,), the ids of the queries")
    if negative_ids is not None and negatives is None:
        raise ValueError("negative_ids were given without negatives; pass negatives (K, D)")
    batch = logits.shape[0]
    _check_ids("query_ids", query_ids, batch)
    key_ids = query_ids if key_ids is None else key_ids
    _check_ids("key_ids", key_ids, batch)
    all_key_ids = gather_with_grad(key_ids) if gather_distributed else key_ids
    same = query_ids[:, None] == all_key_ids.to(query_ids.device)[None, :]
    if negatives is None:
        return same
    if negative_ids is None:
        return torch.cat([same, same.new_zeros((batch, negatives.shape[0]))], dim=1)
    _check_ids("negative_ids", negative_ids, negatives.shape[0])
    return torch.cat([same, query_ids[:, None] == negative_ids.to(query_ids.device)[None, :]], 1)


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
        chunk_size: None computes the (B, B + K) logits; an int gives the same loss and
            gradients over blocks of ``chunk_size`` rows (:mod:`contrastkit.losses.tiled`).

    False negatives: ``forward(..., query_ids=, key_ids=, negative_ids=)`` leaves out of a
    query's negatives every key (and negative) with the query's id, e.g. a hash of its text
    (see :func:`info_nce`); the query's own positive always stays.

    Shapes: ``query``, ``key``: (B, D); ``negatives``: (K, D); ids: (B,), (B,), (K,) integers.
    Returns a scalar.

    Example:
        >>> import torch
        >>> loss = InfoNCELoss(temperature=0.2)
        >>> query, key, queue = torch.randn(8, 16), torch.randn(8, 16), torch.randn(64, 16)
        >>> loss(query, key, negatives=queue).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.07,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_positive("temperature", temperature)
        check_chunk_size(chunk_size)
        self.temperature = temperature
        self.gather_distributed = gather_distributed
        self.chunk_size = chunk_size

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        negatives: Tensor | None = None,
        *,
        query_ids: Tensor | None = None,
        key_ids: Tensor | None = None,
        negative_ids: Tensor | None = None,
    ) -> Tensor:
        return info_nce(
            query,
            key,
            temperature=self.temperature,
            negatives=negatives,
            gather_distributed=self.gather_distributed,
            query_ids=query_ids,
            key_ids=key_ids,
            negative_ids=negative_ids,
            chunk_size=self.chunk_size,
        )
