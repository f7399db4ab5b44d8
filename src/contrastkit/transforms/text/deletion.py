"""Span deletion: cut a run of consecutive words out of each sentence and close the gap."""

from __future__ import annotations

import torch

from contrastkit.transforms.text.selection import check_rate, choose_tokens
from contrastkit.types import Tokens


def span_deletion(
    tokens: Tokens, *, rate: float, generator: torch.Generator, pad_id: int = 0
) -> Tokens:
    """Delete one span of ``floor(rate * n + 0.5)`` consecutive editable tokens per sentence.

    Unlike token cutoff, the span really goes: later tokens move left (taking new positions),
    the row is re-padded with ``pad_id``, and the batch is trimmed to its new longest
    sentence. A word-deletion augmentation as in CLEAR (Wu et al. 2020, arXiv 2012.15466).

    Args:
        tokens: the batch; special tokens are never deleted.
        rate: fraction of each sentence's editable tokens, in [0, 1).
        generator: the CPU generator for the draws.
        pad_id: the tokenizer's padding id (``encoder.tokenizer.pad_id``; 0 for BERT).

    Returns:
        New, possibly shorter :class:`Tokens`.

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102]])
        >>> out = span_deletion(Tokens(ids, torch.ones_like(ids)), rate=0.5,
        ...                     generator=torch.Generator().manual_seed(0))
        >>> out.input_ids.tolist()
        [[101, 5, 8, 102]]
    """
    deleted = choose_tokens(tokens, rate=rate, generator=generator, contiguous=True)
    length = deleted.shape[1]
    positions = torch.arange(length, device=deleted.device).expand_as(deleted)
    order = torch.where(deleted, length + positions, positions).argsort(dim=1)
    gone = deleted.gather(1, order)  # the deleted tokens now sit at the end of each row
    input_ids = tokens.input_ids.gather(1, order).masked_fill(gone, pad_id)
    attention_mask = tokens.attention_mask.gather(1, order).masked_fill(gone, 0)
    special = tokens.special_tokens_mask
    if special is not None:
        special = special.gather(1, order).masked_fill(gone, 0)
    return Tokens(input_ids, attention_mask, special).trimmed()


class SpanDeletion:
    """:func:`span_deletion` as a view op: ``SpanDeletion(rate=0.1, pad_id=0)``."""

    def __init__(self, *, rate: float = 0.1, pad_id: int = 0) -> None:
        check_rate(rate)
        self.rate = rate
        self.pad_id = pad_id

    def __call__(self, tokens: Tokens, generator: torch.Generator) -> Tokens:
        return span_deletion(tokens, rate=self.rate, generator=generator, pad_id=self.pad_id)

    def __repr__(self) -> str:
        return f"SpanDeletion(rate={self.rate}, pad_id={self.pad_id})"
