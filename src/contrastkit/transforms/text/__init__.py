"""Text views: token-level augmentation of :class:`~contrastkit.types.Tokens` batches.

Every op works per sentence with a CPU ``torch.Generator`` (reproducible, resumable), and never
touches special tokens ([CLS], [SEP]) or padding. :class:`TextViews` makes the views a method
trains on; :func:`text_views` names the usual recipes. Feature cutoff (ConSERT) zeroes
embedding dimensions, so it lives with the encoders (:func:`feature_cutoff`, re-exported here).

Example:
    >>> import torch
    >>> from contrastkit.types import Tokens
    >>> from contrastkit.transforms.text import text_views
    >>> ids = torch.tensor([[101, 5, 6, 7, 102, 0]])
    >>> a, b = text_views("token_shuffle")(Tokens(ids, (ids != 0).long()), torch.Generator())
    >>> a.input_ids[0, [0, 4, 5]].tolist()
    [101, 102, 0]
"""

from contrastkit.encoders.text.cutoff import feature_cutoff
from contrastkit.transforms.text.cutoff import TokenCutoff, token_cutoff
from contrastkit.transforms.text.deletion import SpanDeletion, span_deletion
from contrastkit.transforms.text.masking import TokenMasking, token_masking
from contrastkit.transforms.text.selection import choose_tokens
from contrastkit.transforms.text.shuffle import TokenShuffle, token_shuffle
from contrastkit.transforms.text.views import TEXT_VIEWS, TextViews, TokenOp, text_views

__all__ = [
    "TEXT_VIEWS",
    "SpanDeletion",
    "TextViews",
    "TokenCutoff",
    "TokenMasking",
    "TokenOp",
    "TokenShuffle",
    "choose_tokens",
    "feature_cutoff",
    "span_deletion",
    "text_views",
    "token_cutoff",
    "token_masking",
    "token_shuffle",
]
