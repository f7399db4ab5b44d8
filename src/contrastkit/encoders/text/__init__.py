"""Sentence encoders: tokenizer + Transformer + pooler, loaded offline (the ``text`` extra).

``import contrastkit.encoders.text`` is light: ``transformers`` and ``tokenizers`` are imported
only when an encoder or tokenizer is built, and a missing extra ends in a ``ValueError`` that
says ``pip install 'contrastkit[text]'``.

Example:
    >>> from contrastkit.encoders.text import build_text_encoder
    >>> encoder = build_text_encoder("small_transformer", layers=1, width=32, heads=2)
    >>> encoder.encode_texts(["A cat sleeps.", "Stocks fell sharply."]).shape
    torch.Size([2, 32])
"""

from contrastkit.encoders.text.build import TEXT_ENCODERS, build_text_encoder
from contrastkit.encoders.text.cutoff import feature_cutoff
from contrastkit.encoders.text.encoder import TextEncoder, TokenBackbone
from contrastkit.encoders.text.huggingface import HuggingFaceBackbone
from contrastkit.encoders.text.minilm import minilm_dir
from contrastkit.encoders.text.pooling import (
    POOLERS,
    avg_first_last,
    max_pooling,
    mean_pooling,
    pool,
)
from contrastkit.encoders.text.small import SmallTransformer
from contrastkit.encoders.text.tokenizer import TextTokenizer
from contrastkit.types import Tokens

__all__ = [
    "POOLERS",
    "TEXT_ENCODERS",
    "HuggingFaceBackbone",
    "SmallTransformer",
    "TextEncoder",
    "TextTokenizer",
    "TokenBackbone",
    "Tokens",
    "avg_first_last",
    "build_text_encoder",
    "feature_cutoff",
    "max_pooling",
    "mean_pooling",
    "minilm_dir",
    "pool",
]
