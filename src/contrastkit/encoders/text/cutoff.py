"""ConSERT's feature cutoff: zero random embedding dimensions of every token (arXiv 2105.11741)."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.types import check_in_range


def feature_cutoff(
    embeddings: Tensor, *, rate: float, generator: torch.Generator | None = None
) -> Tensor:
    """Zero ``round(rate * D)`` randomly chosen feature dimensions per sentence.

    ConSERT (Yan et al. 2021) calls it feature cutoff: for each sentence the same dimensions
    are zeroed at every token position, so a whole column of its (L, D) token-embedding
    matrix disappears. Unlike dropout, nothing is rescaled. Text encoders apply it to the
    embedding layer's output in training mode (``build_text_encoder(..., feature_cutoff=0.1)``).

    Args:
        embeddings: (B, L, D) token embeddings.
        rate: fraction of the D dimensions to zero, in [0, 1).
        generator: a CPU generator for reproducible draws; the global RNG when None.

    Returns:
        (B, L, D) embeddings with the chosen dimensions zeroed (a new tensor; gradients flow
        through the kept dimensions).

    Example:
        >>> x = torch.ones(2, 3, 10)
        >>> y = feature_cutoff(x, rate=0.2, generator=torch.Generator().manual_seed(0))
        >>> (y[:, 0] == 0).sum(dim=1).tolist(), bool((y == y[:, :1]).all())
        ([2, 2], True)
    """
    check_in_range("rate", rate, 0.0, 1.0)
    if embeddings.ndim != 3:
        raise ValueError(
            f"embeddings must be (B, L, D) token embeddings, got shape {tuple(embeddings.shape)}"
        )
    batch, _, dim = embeddings.shape
    count = round(rate * dim)
    if count == 0:
        return embeddings
    scores = torch.rand(batch, dim, generator=generator)
    dropped = scores.argsort(dim=1)[:, :count]
    keep = torch.ones(batch, dim, dtype=embeddings.dtype)
    keep.scatter_(1, dropped, 0.0)
    return embeddings * keep.to(embeddings.device).unsqueeze(1)
