"""A sentence encoder: tokenizer + Transformer backbone + pooler, with fast batched encoding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import Tensor, nn

from contrastkit.encoders.text.pooling import check_pooler, pool
from contrastkit.encoders.text.tokenizer import TextTokenizer
from contrastkit.types import Tokens


class TokenBackbone(Protocol):
    """A Transformer that maps token ids to the token states of every layer.

    ``forward(input_ids (B, L), attention_mask (B, L))`` returns the list of (B, L, D)
    states: index 0 the embedding layer's output, then one per layer. ``bert_pooler`` is
    BERT's dense + tanh over [CLS] or None, ``hidden_size`` is D, ``max_positions`` the
    longest sequence the position embeddings allow.
    """

    hidden_size: int
    max_positions: int
    bert_pooler: nn.Module | None

    def __call__(self, input_ids: Tensor, attention_mask: Tensor) -> list[Tensor]: ...


class TextEncoder(nn.Module):
    """Sentences to (B, feature_dim) features: tokenize, run the backbone, pool.

    Build one with :func:`~contrastkit.encoders.text.build_text_encoder`. In training mode the
    backbone's dropout is active: two forward passes of the same :class:`Tokens` give two
    different views, the only augmentation unsupervised SimCSE (arXiv 2104.08821) uses.

    Args:
        backbone: the Transformer (a :class:`TokenBackbone` ``nn.Module``).
        tokenizer: the backbone's tokenizer.
        pooler: one of :data:`~contrastkit.encoders.text.pooling.POOLERS`.

    Attributes:
        feature_dim: D, the width of the pooled features.
        max_positions: the longest input ``tokenize`` accepts.

    Shapes: ``forward(Tokens (B, L)) -> (B, feature_dim)``.

    Example:
        >>> encoder = build_text_encoder("small_transformer", layers=1, width=32)  # doctest: +SKIP
        >>> encoder(encoder.tokenize(["a cat", "a dog sleeps"])).shape  # doctest: +SKIP
        torch.Size([2, 32])
    """

    def __init__(self, backbone: nn.Module, tokenizer: TextTokenizer, *, pooler: str = "mean"):
        super().__init__()
        check_pooler(pooler)
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.pooler = pooler
        self.feature_dim = int(backbone.hidden_size)  # type: ignore[arg-type]
        self.max_positions = int(backbone.max_positions)  # type: ignore[arg-type]

    def tokenize(self, texts: Sequence[str], *, max_length: int = 32) -> Tokens:
        """Tokenize ``texts`` (truncated to ``max_length`` tokens, padded to the longest): CPU."""
        self._check_length(max_length)
        return self.tokenizer(texts, max_length=max_length)

    def forward(self, tokens: Tokens) -> Tensor:
        """(B, feature_dim) pooled features of a :class:`Tokens` batch (on the model's device)."""
        if not isinstance(tokens, Tokens):
            raise ValueError(
                f"TextEncoder expects Tokens (from encoder.tokenize(texts)), got "
                f"{type(tokens).__name__}"
            )
        if tokens.input_ids.shape[1] > self.max_positions:
            raise ValueError(
                f"tokens have length {tokens.input_ids.shape[1]}, more than the "
                f"{self.max_positions} positions of this encoder; tokenize with a smaller "
                "max_length"
            )
        states = self.backbone(tokens.input_ids, tokens.attention_mask)
        bert_pooler = getattr(self.backbone, "bert_pooler", None)
        return pool(self.pooler, states, tokens.attention_mask, bert_pooler=bert_pooler)

    @torch.no_grad()
    def encode_texts(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 256,
        device: torch.device | str | None = "cpu",
        max_length: int = 128,
    ) -> Tensor:
        """Features of many sentences, in eval mode, without gradients.

        Sentences are sorted by token length and batched, so each batch pads only to its own
        longest sentence; the rows come back in input order. The encoder runs on ``device``
        (None: where its parameters are); if it lives elsewhere it is moved there for the call
        and back afterwards. Its training mode is restored afterwards.

        Args:
            texts: N sentences.
            batch_size: sentences per forward pass.
            device: where to compute.
            max_length: truncate longer sentences to this many tokens (capped at
                ``max_positions``; training uses 32, evaluation keeps more of the sentence).

        Returns:
            (N, feature_dim) float32 features on the CPU.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        encoded = self.tokenizer.encode(texts, max_length=min(max_length, self.max_positions))
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
        home = next(self.parameters()).device
        target = torch.device(device) if device is not None else home
        was_training = self.training
        features = torch.empty(len(encoded), self.feature_dim)
        try:
            self.to(target).eval()
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                tokens = self.tokenizer.pad([encoded[i] for i in rows]).to(target)
                features[rows] = self(tokens).float().cpu()
        finally:
            self.to(home).train(was_training)
        return features

    def _check_length(self, max_length: int) -> None:
        if isinstance(max_length, int) and max_length > self.max_positions:
            raise ValueError(
                f"max_length={max_length} exceeds the encoder's {self.max_positions} positions; "
                f"use max_length <= {self.max_positions}"
            )
