"""Which tokens a text view changes: random or contiguous subsets of each sentence's words.

Every text op edits only *editable* positions: attended tokens that are not special ([CLS],
[SEP]); padding and special tokens are never touched (:meth:`Tokens.protected`). A sentence
with ``n`` editable tokens gets exactly ``floor(rate * n + 0.5)`` of them chosen.
"""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.types import Tokens, check_in_range


def check_rate(rate: float) -> None:
    """Raise a ``ValueError`` naming ``rate`` unless ``0 <= rate < 1``."""
    check_in_range("rate", rate, 0.0, 1.0)


def chosen_count(editable: Tensor, rate: float) -> Tensor:
    """(B,) tokens to choose per sentence: ``floor(rate * n + 0.5)``, n its editable tokens."""
    check_rate(rate)
    return torch.floor(editable.sum(dim=1) * rate + 0.5).long()


def choose_tokens(
    tokens: Tokens, *, rate: float, generator: torch.Generator, contiguous: bool = False
) -> Tensor:
    """(B, L) bool: the positions an op changes, drawn independently per sentence.

    Args:
        tokens: the batch.
        rate: the fraction of each sentence's editable tokens to choose, in [0, 1).
        generator: the CPU generator for the draws.
        contiguous: choose one run of consecutive editable tokens (a span) instead of a
            scattered subset.

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102, 0]])
        >>> tokens = Tokens(ids, (ids != 0).long())
        >>> chosen = choose_tokens(tokens, rate=0.5, generator=torch.Generator().manual_seed(0),
        ...                        contiguous=True)
        >>> chosen.long().tolist()
        [[0, 0, 1, 1, 0, 0, 0]]
    """
    editable = (~tokens.protected()).cpu()
    count = chosen_count(editable, rate).unsqueeze(1)
    if contiguous:
        rank = editable.long().cumsum(dim=1) - 1  # index among the sentence's editable tokens
        room = (editable.sum(dim=1, keepdim=True) - count + 1).clamp(min=1)
        start = (torch.rand(count.shape, generator=generator) * room).floor().long()
        chosen = editable & (rank >= start) & (rank < start + count)
    else:
        scores = torch.rand(editable.shape, generator=generator)
        scores = scores.masked_fill(~editable, 2.0)  # protected positions rank last
        rank = scores.argsort(dim=1).argsort(dim=1)
        chosen = editable & (rank < count)
    return chosen.to(tokens.device)


def check_mask_id(mask_id: int | None) -> int:
    """The [MASK] id, or a ``ValueError`` when the vocabulary has none."""
    if mask_id is None or isinstance(mask_id, bool) or not isinstance(mask_id, int):
        raise ValueError(
            f"token masking needs the integer id of the [MASK] token, got {mask_id!r}; "
            "pass mask_id=encoder.tokenizer.mask_id"
        )
    return mask_id
