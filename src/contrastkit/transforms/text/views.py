"""Two (or more) views of a batch of sentences, for contrastive sentence embeddings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from contrastkit.encoders.text.tokenizer import TextTokenizer
from contrastkit.transforms.text.cutoff import TokenCutoff
from contrastkit.transforms.text.deletion import SpanDeletion
from contrastkit.transforms.text.masking import TokenMasking
from contrastkit.transforms.text.shuffle import TokenShuffle
from contrastkit.types import Tokens

TokenOp = Callable[[Tokens, torch.Generator], Tokens]
TEXT_VIEWS = (
    "dropout",
    "token_masking",
    "token_cutoff",
    "span_cutoff",
    "token_shuffle",
    "span_deletion",
)


class TextViews:
    """Make V views of sentences: each view is the tokens passed through its own ops.

    ``TextViews()`` is unsupervised SimCSE's (arXiv 2104.08821) "dropout" views: the identical
    tokens twice, the encoder's dropout making the two embeddings differ. Give ops per view
    for ConSERT-style (arXiv 2105.11741) token-level augmentation; each op draws its own
    random choices per sentence from the generator, so the two views differ even with the
    same ops. Feature cutoff acts on embeddings, not tokens: it is an encoder option
    (``build_text_encoder(..., feature_cutoff=0.2)``).

    Args:
        views: one sequence of ops per view, applied in order (``()`` = the tokens as they
            are). Default: two unchanged views.
        tokenizer: turns a list of strings into :class:`Tokens`; needed only when the
            views are called on strings.
        max_length: truncation length for strings (SimCSE: 32).

    Example:
        >>> ids = torch.tensor([[101, 5, 6, 7, 8, 102]])
        >>> tokens = Tokens(ids, torch.ones_like(ids))
        >>> views = TextViews([[TokenShuffle()], [TokenCutoff(rate=0.25)]])
        >>> a, b = views(tokens, torch.Generator().manual_seed(0))
        >>> a.attention_mask.sum().item(), b.attention_mask.sum().item()
        (6, 5)
    """

    def __init__(
        self,
        views: Sequence[Sequence[TokenOp]] = ((), ()),
        *,
        tokenizer: TextTokenizer | Callable[..., Tokens] | None = None,
        max_length: int = 32,
    ) -> None:
        if isinstance(views, str) or len(views) < 1:
            raise ValueError("views must hold one sequence of ops per view, e.g. [[], []]")
        for index, ops in enumerate(views):
            for op in ops:
                if not callable(op):
                    raise ValueError(f"views[{index}] holds {op!r}, which is not a token op")
        self.views = [list(ops) for ops in views]
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, batch: Tokens | Sequence[str], generator: torch.Generator) -> list[Tokens]:
        """The V views of ``batch`` (a :class:`Tokens`, or strings tokenized first)."""
        tokens = batch if isinstance(batch, Tokens) else self._tokenize(batch)
        outputs = []
        for ops in self.views:
            view = tokens
            for op in ops:
                view = op(view, generator)
            outputs.append(view)
        return outputs

    def _tokenize(self, texts: Sequence[str]) -> Tokens:
        if self.tokenizer is None:
            raise ValueError(
                "TextViews got strings but has no tokenizer; pass tokenizer=encoder.tokenizer "
                "or call it on encoder.tokenize(texts)"
            )
        return self.tokenizer(list(texts), max_length=self.max_length)

    def __repr__(self) -> str:
        return f"TextViews({self.views!r}, max_length={self.max_length})"


def text_views(
    name: str = "dropout",
    *,
    tokenizer: TextTokenizer | None = None,
    rate: float | None = None,
    max_length: int = 32,
) -> TextViews:
    """Two views by name, the same op (with independent draws) on both views.

    Names (:data:`TEXT_VIEWS`): ``"dropout"`` (identical tokens, SimCSE), ``"token_masking"``
    (rate 0.15), ``"token_cutoff"`` and ``"span_cutoff"`` (ConSERT, rate 0.15; scattered or
    one span), ``"token_shuffle"``, ``"span_deletion"`` (rate 0.1).

    Args:
        name: the recipe.
        tokenizer: the encoder's tokenizer (``encoder.tokenizer``): gives the [MASK] and
            padding ids, and tokenizes strings.
        rate: the op's rate, instead of its default.
        max_length: truncation length for strings.

    Example:
        >>> views = text_views("token_cutoff", rate=0.2)
        >>> views.views
        [[TokenCutoff(rate=0.2, contiguous=False)], [TokenCutoff(rate=0.2, contiguous=False)]]
    """
    options: dict[str, Any] = {} if rate is None else {"rate": rate}
    if name == "dropout":
        if rate is not None:
            raise ValueError("the 'dropout' views take no rate: set the encoder's dropout instead")
        ops: list[TokenOp] = []
    elif name == "token_masking":
        mask_id = tokenizer.mask_id if isinstance(tokenizer, TextTokenizer) else None
        ops = [TokenMasking(mask_id=mask_id, **options)]  # type: ignore[arg-type]
    elif name in ("token_cutoff", "span_cutoff"):
        ops = [TokenCutoff(contiguous=name == "span_cutoff", **options)]
    elif name == "token_shuffle":
        if rate is not None:
            raise ValueError("'token_shuffle' takes no rate: it permutes every editable token")
        ops = [TokenShuffle()]
    elif name == "span_deletion":
        pad_id = tokenizer.pad_id if isinstance(tokenizer, TextTokenizer) else 0
        ops = [SpanDeletion(pad_id=pad_id, **options)]
    else:
        raise ValueError(f"unknown text views {name!r}; choose one of {', '.join(TEXT_VIEWS)}")
    return TextViews([ops, list(ops)], tokenizer=tokenizer, max_length=max_length)
