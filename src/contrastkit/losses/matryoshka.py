"""Matryoshka representation learning: one loss applied to nested prefixes of the embedding."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from contrastkit.types import check_embeddings


def check_matryoshka_dims(
    dims: Sequence[int], weights: Sequence[float] | None = None, *, embedding_dim: int | None = None
) -> tuple[list[int], list[float]]:
    """``(dims, weights)`` checked: dims strictly descending positive integers (at most
    ``embedding_dim`` when given), weights finite and >= 0, one per dim (default 1 each).

    Raises:
        ValueError: naming ``matryoshka_dims`` or ``matryoshka_weights`` and what is expected.
    """
    if isinstance(dims, str | bytes) or not isinstance(dims, Sequence) or not dims:
        raise ValueError(f"matryoshka_dims must be a non-empty list of integers, got {dims!r}")
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise ValueError(f"matryoshka_dims must hold positive integers, got {list(dims)}")
    if any(a <= b for a, b in itertools.pairwise(dims)):
        raise ValueError(
            f"matryoshka_dims must be strictly descending (e.g. [384, 256, 128, 64, 32]), "
            f"got {list(dims)}"
        )
    if embedding_dim is not None and dims[0] > embedding_dim:
        raise ValueError(
            f"matryoshka_dims {list(dims)} exceed the embedding dimension {embedding_dim}; "
            f"use dims of at most {embedding_dim}"
        )
    if weights is None:
        return list(dims), [1.0] * len(dims)
    if isinstance(weights, str | bytes) or not isinstance(weights, Sequence):
        raise ValueError(f"matryoshka_weights must be a list of numbers, got {weights!r}")
    if len(weights) != len(dims):
        raise ValueError(
            f"matryoshka_weights must hold one weight per dim ({len(dims)}), got {list(weights)}"
        )
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValueError(f"matryoshka_weights must hold numbers, got {list(weights)}")
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"matryoshka_weights must be finite and >= 0, got {list(weights)}")
    return list(dims), [float(w) for w in weights]


def matryoshka_loss(
    loss_fn: Callable[..., Tensor],
    embeddings: Sequence[Tensor],
    *,
    dims: Sequence[int],
    weights: Sequence[float] | None = None,
) -> Tensor:
    """The weighted sum of ``loss_fn`` on nested prefixes of the embeddings; see
    :class:`MatryoshkaLoss`.

    ``sum_m weights[m] * loss_fn(*(e[:, :dims[m]] for e in embeddings))``.
    """
    if not embeddings:
        raise ValueError("embeddings must hold at least one (B, D) tensor")
    for index, embedding in enumerate(embeddings):
        check_embeddings(f"embeddings[{index}]", embedding)
    width = embeddings[0].shape[1]
    for index, embedding in enumerate(embeddings):
        if embedding.shape[1] != width:
            raise ValueError(
                f"embeddings[{index}] must have shape (N, {width}) to match embeddings[0], "
                f"got {tuple(embedding.shape)}"
            )
    dims, weights = check_matryoshka_dims(dims, weights, embedding_dim=width)
    total: Tensor | None = None
    for dim, weight in zip(dims, weights, strict=True):
        term = weight * loss_fn(*(embedding[:, :dim] for embedding in embeddings))
        total = term if total is None else total + term
    assert total is not None
    return total


class MatryoshkaLoss(nn.Module):
    """Matryoshka representation learning (Kusupati et al., arXiv 2205.13147).

    Wraps any embedding loss ``L`` and applies it to nested prefixes of the embedding
    dimension, so that the first m coordinates of an embedding are a good embedding on their
    own::

        loss = sum_m weights[m] * L(z_a[:, :dims[m]], z_b[:, :dims[m]], ...)

    Every tensor passed to ``forward`` is truncated the same way (e.g. queries, keys and hard
    negatives); keyword arguments go to ``L`` unchanged. Losses that compare cosine
    similarities (InfoNCE, NT-Xent, CLIP, CoSENT, ...) L2-normalize their inputs, so each
    prefix is re-normalized there, which is how a truncated embedding is used afterwards
    (``contrastkit embed --dim K``). The terms are summed, each with weight 1 by default, as in
    the paper and sentence-transformers' ``MatryoshkaLoss``. It is not a contrastive loss of its
    own: the siblings it wraps (:class:`InfoNCELoss`, :class:`NTXentLoss`,
    :class:`CoSENTLoss`, ...) define the objective; :func:`matryoshka_loss` is the function.

    Across processes it behaves as the loss it wraps: each prefix's term makes the inner
    loss's own collectives, so with ``gather_distributed=True`` inside, gradients on W
    processes equal those of one process on the whole batch.

    Args:
        loss: the inner loss, a module or function of (B, D) tensors returning a scalar.
        dims: strictly descending prefix sizes, e.g. ``[384, 256, 128, 64, 32]``; the first
            is usually the full embedding dimension D (it may be smaller, never larger).
        weights: one weight per dim (default 1 each).

    Shapes: each embedding (B, D) with D >= ``dims[0]``. Returns a scalar.

    Example:
        >>> import torch
        >>> from contrastkit.losses import InfoNCELoss
        >>> loss = MatryoshkaLoss(InfoNCELoss(temperature=0.05), dims=[32, 16, 8])
        >>> query, key = torch.randn(8, 32), torch.randn(8, 32)
        >>> loss(query, key).shape
        torch.Size([])
    """

    def __init__(
        self,
        loss: Callable[..., Tensor],
        *,
        dims: Sequence[int],
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if not callable(loss):
            raise ValueError(f"loss must be a loss module or function, got {type(loss).__name__}")
        self.dims, self.weights = check_matryoshka_dims(dims, weights)
        self.loss = loss

    def forward(self, *embeddings: Tensor, **kwargs: object) -> Tensor:
        return matryoshka_loss(
            lambda *prefixes: self.loss(*prefixes, **kwargs),
            embeddings,
            dims=self.dims,
            weights=self.weights,
        )
