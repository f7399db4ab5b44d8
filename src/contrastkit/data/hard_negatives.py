"""Hard negatives mined with a trained sentence encoder, minus the likely false negatives."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

Embeddings = tuple[Tensor, Tensor, Tensor]


@runtime_checkable
class TextEmbedder(Protocol):
    """Anything with ``encode_texts(texts, *, batch_size, device) -> (N, D)``.

    A :class:`~contrastkit.encoders.text.TextEncoder` or a trained
    :class:`~contrastkit.methods.SimCSE`.
    """

    def encode_texts(self, texts: Sequence[str], *, batch_size: int, device: Any) -> Tensor: ...


def _embeddings(
    source: TextEmbedder | Embeddings,
    texts: tuple[Sequence[str], Sequence[str], Sequence[str]],
    batch_size: int,
    device: str,
) -> Embeddings:
    if isinstance(source, TextEmbedder):
        a, p, c = (source.encode_texts(t, batch_size=batch_size, device=device) for t in texts)
        return a, p, c
    if not (isinstance(source, tuple | list) and len(source) == 3):
        raise ValueError(
            "encoder_or_embeddings must have encode_texts(texts) (a TextEncoder or SimCSE) or be "
            "(anchor_embeddings, positive_embeddings, candidate_embeddings)"
        )
    names = ("anchor", "positive", "candidate")
    for name, x, rows in zip(names, source, texts, strict=True):
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[0] != len(rows):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"{name} embeddings must be ({len(rows)}, D), one row per {name} text, got {shape}"
            )
    if len({x.shape[1] for x in source}) != 1:
        raise ValueError("anchor, positive and candidate embeddings must have the same width D")
    return source[0], source[1], source[2]


def mine_hard_negatives(
    encoder_or_embeddings: TextEmbedder | Embeddings,
    anchors: Sequence[str],
    positives: Sequence[str],
    candidates: Sequence[str],
    *,
    margin: float = 0.05,
    k: int = 1,
    batch_size: int = 256,
    device: str = "cpu",
) -> Tensor:
    """The ``k`` candidates most similar to each anchor that are not likely false negatives.

    Positive-aware mining (NV-Retriever, arXiv 2407.15831, "TopK-MarginPos"; used for
    SimCSE-style training, arXiv 2104.08821): a candidate c is a hard negative of anchor a with
    positive p when ``cos(a, c) <= cos(a, p) - margin`` and its text differs from both a and
    p. Candidates that score as high as the positive (within ``margin``) are most likely
    paraphrases the data does not label: they are dropped rather than taught as negatives.
    Among the rest, the ``k`` with the highest ``cos(a, c)`` are returned, hardest first.

    Args:
        encoder_or_embeddings: a trained encoder with ``encode_texts`` (embeds the three text
            lists), or precomputed ``(anchor (N, D), positive (N, D), candidate (M, D))``.
        anchors: N anchor sentences.
        positives: their N positives.
        candidates: M sentences to pick negatives from (e.g. every sentence of the corpus).
        margin: how far below the positive's similarity a negative must stay (>= 0; larger
            drops more likely false negatives, and more true hard negatives with them).
        k: negatives per anchor.
        batch_size: sentences per encoder pass, and anchors per similarity block.
        device: where to embed and compare.

    Returns:
        (N, k) int64 indices into ``candidates``, hardest first; -1 where fewer than k
        candidates qualify.

    Example:
        >>> a = torch.tensor([[1.0, 0.0]])
        >>> p = torch.tensor([[0.9, 0.1]])
        >>> c = torch.tensor([[1.0, 0.01], [0.7, 0.7], [0.0, 1.0]])
        >>> mine_hard_negatives((a, p, c), ["a"], ["p"], ["c0", "c1", "c2"], margin=0.05, k=2)
        tensor([[1, 2]])
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0, got {margin}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if len(anchors) != len(positives):
        raise ValueError(
            f"anchors and positives must pair up: got {len(anchors)} anchors and "
            f"{len(positives)} positives"
        )
    if not candidates:
        raise ValueError("candidates is empty: give the sentences to mine negatives from")
    texts = (anchors, positives, candidates)
    a, p, c = (
        F.normalize(x.float().to(device), dim=1)
        for x in _embeddings(encoder_or_embeddings, texts, batch_size, device)
    )
    index: dict[str, list[int]] = {}
    for i, text in enumerate(candidates):
        index.setdefault(text, []).append(i)
    result = torch.full((len(anchors), k), -1, dtype=torch.long)
    for start in range(0, len(anchors), batch_size):
        rows = slice(start, start + batch_size)
        similarity = a[rows] @ c.T
        limit = (a[rows] * p[rows]).sum(dim=1, keepdim=True) - margin
        excluded = similarity > limit
        for row, (anchor, positive) in enumerate(zip(anchors[rows], positives[rows], strict=True)):
            for text in (anchor, positive):
                excluded[row, index.get(text, [])] = True
        scores = similarity.masked_fill(excluded, float("-inf"))
        best = scores.topk(min(k, c.shape[0]), dim=1)
        chosen = torch.where(torch.isfinite(best.values), best.indices, -1)
        result[rows, : chosen.shape[1]] = chosen.cpu()
    return result
