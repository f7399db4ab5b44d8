"""Token shuffle: permute the words of each sentence (ConSERT, arXiv 2105.11741)."""

from __future__ import annotations

import torch

from contrastkit.types import Tokens


def token_shuffle(tokens: Tokens, *, generator: torch.Generator) -> Tokens:
    """Randomly permute each sentence's editable tokens among their positions.

    ConSERT shuffles the position ids, which for a Transformer with absolute positions is the
    same as permuting the tokens: the bag of words stays, the order is lost. [CLS], [SEP],
    padding and tokens hidden by token cutoff keep their places.

    Args:
        tokens: the batch.
        generator: the CPU generator for the permutations (one per sentence).

    Returns:
        New :class:`Tokens` with permuted ids and the same masks.

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102, 0]])
        >>> out = token_shuffle(Tokens(ids, (ids != 0).long()),
        ...                     generator=torch.Generator().manual_seed(0))
        >>> out.input_ids[0, [0, 5, 6]].tolist(), sorted(out.input_ids[0, 1:5].tolist())
        ([101, 102, 0], [5, 6, 7, 8])
    """
    editable = (~tokens.protected()).cpu()
    length = editable.shape[1]
    positions = torch.arange(length).expand_as(editable)
    # both orders list the editable positions first and the protected ones after, ascending,
    # so the protected positions map to themselves
    fixed = length + positions
    random_order = torch.where(editable, torch.rand(editable.shape, generator=generator), fixed)
    source = random_order.argsort(dim=1).to(tokens.device)
    target = torch.where(editable, positions, fixed).argsort(dim=1).to(tokens.device)
    moved = tokens.input_ids.gather(1, source)
    input_ids = torch.empty_like(tokens.input_ids).scatter_(1, target, moved)
    return Tokens(input_ids, tokens.attention_mask, tokens.special_tokens_mask)


class TokenShuffle:
    """:func:`token_shuffle` as a view op."""

    def __call__(self, tokens: Tokens, generator: torch.Generator) -> Tokens:
        return token_shuffle(tokens, generator=generator)

    def __repr__(self) -> str:
        return "TokenShuffle()"
