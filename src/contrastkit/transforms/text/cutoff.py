"""ConSERT's token cutoff: hide random tokens from attention (Yan et al. 2021, arXiv 2105.11741)."""

from __future__ import annotations

import torch

from contrastkit.transforms.text.selection import check_rate, choose_tokens
from contrastkit.types import Tokens


def token_cutoff(
    tokens: Tokens, *, rate: float, generator: torch.Generator, contiguous: bool = False
) -> Tokens:
    """Remove ``floor(rate * n + 0.5)`` editable tokens per sentence by zeroing their attention.

    ConSERT erases whole tokens of the input; here they are hidden through the attention mask
    (no token attends to them, and masked pooling skips them), so the ids, positions and
    tensor shapes stay the same. ``contiguous=True`` removes one span of consecutive tokens
    (ConSERT's span cutoff) instead of scattered ones.

    Args:
        tokens: the batch; special tokens and padding are never cut.
        rate: fraction of each sentence's editable tokens, in [0, 1).
        generator: the CPU generator for the draws.
        contiguous: cut one span instead of scattered tokens.

    Returns:
        New :class:`Tokens` with the same ids and a sparser attention mask.

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102]])
        >>> out = token_cutoff(Tokens(ids, torch.ones_like(ids)), rate=0.5,
        ...                    generator=torch.Generator().manual_seed(0))
        >>> out.attention_mask.sum().item()
        4
    """
    chosen = choose_tokens(tokens, rate=rate, generator=generator, contiguous=contiguous)
    attention_mask = tokens.attention_mask.masked_fill(chosen, 0)
    return Tokens(tokens.input_ids, attention_mask, tokens.special_tokens_mask)


class TokenCutoff:
    """:func:`token_cutoff` as a view op: ``TokenCutoff(rate=0.15, contiguous=False)``."""

    def __init__(self, *, rate: float = 0.15, contiguous: bool = False) -> None:
        check_rate(rate)
        self.rate = rate
        self.contiguous = contiguous

    def __call__(self, tokens: Tokens, generator: torch.Generator) -> Tokens:
        return token_cutoff(tokens, rate=self.rate, generator=generator, contiguous=self.contiguous)

    def __repr__(self) -> str:
        return f"TokenCutoff(rate={self.rate}, contiguous={self.contiguous})"
