"""A small Transformer encoder trained from random initialization, sized for a CPU."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.encoders.text.cutoff import feature_cutoff as cut_features
from contrastkit.types import check_in_range


class SmallTransformer(nn.Module):
    """Token + learned position embeddings, pre-LN ``nn.TransformerEncoder`` layers, final norm.

    The token-state backbone of ``build_text_encoder("small_transformer")``: a BERT-like
    encoder (arXiv 1810.04805) with pre-layer-norm blocks (arXiv 2002.04745), which train
    stably from scratch without warm-up tricks. It reuses a pretrained tokenizer's vocabulary
    (MiniLM's 30,522 WordPieces), not its weights.

    Args:
        vocab_size: number of token ids.
        layers: Transformer blocks.
        width: model width D (also the feature dimension).
        heads: attention heads (must divide ``width``).
        ffn_dim: hidden width of the feed-forward blocks (default ``4 * width``).
        dropout: dropout on embeddings, attention and feed-forward outputs (SimCSE's noise).
        max_positions: learned positions, the longest accepted input.
        feature_cutoff: ConSERT feature cutoff rate on the embeddings, in training mode only.

    Shapes: ``(input_ids (B, L), attention_mask (B, L)) -> layers + 1`` states (B, L, D).

    Example:
        >>> net = SmallTransformer(100, layers=2, width=16, heads=2)
        >>> ids = torch.tensor([[1, 5, 2, 0]])
        >>> [tuple(s.shape) for s in net(ids, torch.tensor([[1, 1, 1, 0]]))]
        [(1, 4, 16), (1, 4, 16), (1, 4, 16)]
    """

    bert_pooler: nn.Module | None = None

    def __init__(
        self,
        vocab_size: int,
        *,
        layers: int = 4,
        width: int = 128,
        heads: int = 4,
        ffn_dim: int | None = None,
        dropout: float = 0.1,
        max_positions: int = 128,
        feature_cutoff: float = 0.0,
    ) -> None:
        super().__init__()
        sizes = {"vocab_size": vocab_size, "layers": layers, "width": width, "heads": heads}
        sizes["max_positions"] = max_positions
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if width % heads:
            raise ValueError(f"width={width} must be divisible by heads={heads}")
        check_in_range("dropout", dropout, 0.0, 1.0)
        check_in_range("feature_cutoff", feature_cutoff, 0.0, 1.0)
        self.hidden_size = width
        self.max_positions = max_positions
        self.feature_cutoff = feature_cutoff
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(max_positions, width)
        self.dropout = nn.Dropout(dropout)
        block = nn.TransformerEncoderLayer(
            width,
            heads,
            dim_feedforward=ffn_dim or 4 * width,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.position_embedding.weight, std=0.02)

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> list[Tensor]:
        length = input_ids.shape[1]
        if length > self.max_positions:
            raise ValueError(f"input length {length} exceeds max_positions={self.max_positions}")
        positions = torch.arange(length, device=input_ids.device)
        x = self.token_embedding(input_ids) + self.position_embedding(positions)
        if self.training and self.feature_cutoff > 0:
            x = cut_features(x, rate=self.feature_cutoff)
        x = self.dropout(x)
        padding = attention_mask == 0
        states = [x]
        for layer in self.encoder.layers:
            x = layer(x, src_key_padding_mask=padding)
            states.append(x)
        states[-1] = self.norm(x)
        return states
