"""Token masking: replace random words by [MASK] (as BERT's input corruption, arXiv 1810.04805)."""

from __future__ import annotations

import torch

from contrastkit.transforms.text.selection import check_mask_id, check_rate, choose_tokens
from contrastkit.types import Tokens


def token_masking(
    tokens: Tokens, *, rate: float, mask_id: int, generator: torch.Generator
) -> Tokens:
    """Replace ``floor(rate * n + 0.5)`` random editable tokens of each sentence by ``mask_id``.

    Args:
        tokens: the batch; special tokens and padding are never masked.
        rate: fraction of each sentence's editable tokens, in [0, 1).
        mask_id: the tokenizer's [MASK] id (``encoder.tokenizer.mask_id``; 103 for BERT).
        generator: the CPU generator for the draws.

    Returns:
        New :class:`Tokens` with the same attention and special-token masks.

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102]])
        >>> out = token_masking(Tokens(ids, torch.ones_like(ids)), rate=0.5, mask_id=103,
        ...                     generator=torch.Generator().manual_seed(0))
        >>> int((out.input_ids == 103).sum())
        2
    """
    mask_id = check_mask_id(mask_id)
    chosen = choose_tokens(tokens, rate=rate, generator=generator)
    input_ids = tokens.input_ids.masked_fill(chosen, mask_id)
    return Tokens(input_ids, tokens.attention_mask, tokens.special_tokens_mask)


class TokenMasking:
    """:func:`token_masking` as a view op: ``TokenMasking(rate=0.15, mask_id=103)``."""

    def __init__(self, *, rate: float = 0.15, mask_id: int) -> None:
        check_rate(rate)
        self.rate = rate
        self.mask_id = check_mask_id(mask_id)

    def __call__(self, tokens: Tokens, generator: torch.Generator) -> Tokens:
        return token_masking(tokens, rate=self.rate, mask_id=self.mask_id, generator=generator)

    def __repr__(self) -> str:
        return f"TokenMasking(rate={self.rate}, mask_id={self.mask_id})"
