"""Sentences to :class:`Tokens`: a fast tokenizer with truncation and dynamic padding."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from contrastkit.encoders.text.optional import import_text_dependency
from contrastkit.types import Tokens

# the names special tokens go by in BERT-style and RoBERTa-style vocabularies
_PAD_NAMES = ("[PAD]", "<pad>")
_MASK_NAMES = ("[MASK]", "<mask>")


class TextTokenizer:
    """Tokenize sentences into (B, L) ids padded to the batch's longest sentence.

    Wraps a ``tokenizers.Tokenizer`` (Rust, fast) read from a model folder's
    ``tokenizer.json``; the padding configured in that file is switched off, so every batch
    is padded only to its own longest sentence (dynamic padding), and sentences are truncated
    to ``max_length`` tokens, special tokens included (SimCSE trains with 32).

    Args:
        backend: the ``tokenizers.Tokenizer``.
        pad_id: the padding token's id.
        mask_id: the [MASK] token's id (used by token masking), or None if the vocabulary has
            none.

    Example:
        >>> tokenizer = TextTokenizer.from_directory(minilm_dir())  # doctest: +SKIP
        >>> tokenizer(["A dog runs.", "Hi"]).input_ids.tolist()  # doctest: +SKIP
        [[101, 1037, 3899, 3216, 1012, 102], [101, 7632, 102, 0, 0, 0]]
    """

    def __init__(self, backend: Any, *, pad_id: int, mask_id: int | None) -> None:
        backend.no_padding()
        backend.no_truncation()
        self.backend = backend
        self.pad_id = pad_id
        self.mask_id = mask_id
        self.vocab_size = int(backend.get_vocab_size())

    @classmethod
    def from_directory(cls, path: str | Path) -> TextTokenizer:
        """Load ``path/tokenizer.json`` (a Hugging Face model folder); no network access.

        A folder without ``tokenizer.json`` (only ``vocab.txt`` or ``vocab.json``) is converted
        by ``transformers.AutoTokenizer(use_fast=True, local_files_only=True)``.

        Raises:
            ValueError: the folder holds no tokenizer, or its vocabulary has no padding token;
                or the ``text`` extra is not installed.
        """
        path = Path(path)
        file = path / "tokenizer.json"
        if file.is_file():
            tokenizers = import_text_dependency("tokenizers")
            backend = tokenizers.Tokenizer.from_file(str(file))
        else:
            backend = _converted_backend(path)
        named = _special_token_names(path)
        pad_id = _token_id(backend, named.get("pad_token"), _PAD_NAMES)
        if pad_id is None:
            raise ValueError(f"the tokenizer in {path} has no padding token ([PAD] or <pad>)")
        return cls(
            backend, pad_id=pad_id, mask_id=_token_id(backend, named.get("mask_token"), _MASK_NAMES)
        )

    def encode(
        self, texts: Sequence[str], *, max_length: int = 32
    ) -> list[tuple[list[int], list[int]]]:
        """Per sentence, ``(ids, special_tokens_mask)`` truncated to ``max_length``, unpadded."""
        texts = _check_texts(texts)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
            raise ValueError(
                f"max_length must be an integer >= 2 (room for [CLS] and [SEP]), got {max_length!r}"
            )
        self.backend.enable_truncation(max_length=max_length)
        encodings = self.backend.encode_batch(texts)
        return [(e.ids, e.special_tokens_mask) for e in encodings]

    def pad(self, encoded: Sequence[tuple[list[int], list[int]]]) -> Tokens:
        """Right-pad encoded sentences to the longest one: a CPU :class:`Tokens`."""
        length = max((len(ids) for ids, _ in encoded), default=0)
        input_ids = torch.full((len(encoded), length), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(encoded), length), dtype=torch.long)
        special = torch.zeros((len(encoded), length), dtype=torch.long)
        for row, (ids, special_mask) in enumerate(encoded):
            input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
            special[row, : len(ids)] = torch.tensor(special_mask, dtype=torch.long)
        return Tokens(input_ids, attention_mask, special)

    def __call__(self, texts: Sequence[str], *, max_length: int = 32) -> Tokens:
        """Tokenize, truncate to ``max_length`` and pad to the longest sentence of ``texts``."""
        return self.pad(self.encode(texts, max_length=max_length))


def _converted_backend(path: Path) -> Any:
    transformers = import_text_dependency("transformers")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            str(path), use_fast=True, local_files_only=True
        )
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(
            f"no usable tokenizer in {path} (no tokenizer.json, and transformers could not "
            f"load one: {error}); point at a Hugging Face model folder saved with "
            "save_pretrained, which holds tokenizer.json"
        ) from None
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ValueError(
            f"the tokenizer in {path} has no fast (Rust) version; save one with use_fast=True"
        )
    return backend


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, got a single string; wrap it: [text]")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty: give at least one sentence")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"texts[{index}] must be a str, got {type(text).__name__}")
    return texts


def _special_token_names(path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for file in ("tokenizer_config.json", "special_tokens_map.json"):
        if (path / file).is_file():
            content = json.loads((path / file).read_text(encoding="utf-8"))
            for key in ("pad_token", "mask_token"):
                value = content.get(key)
                value = value.get("content") if isinstance(value, dict) else value
                if isinstance(value, str):
                    names[key] = value
    return names


def _token_id(backend: Any, name: str | None, fallbacks: tuple[str, ...]) -> int | None:
    for candidate in (name, *fallbacks):
        if candidate is not None and backend.token_to_id(candidate) is not None:
            return int(backend.token_to_id(candidate))
    return None
