"""A dynamically padded batch of token ids: what text encoders and text views consume."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Tokens:
    """B tokenized sentences, right-padded to the longest sequence of the batch.

    Attributes:
        input_ids: (B, L) int64 token ids (padding positions hold the tokenizer's pad id).
        attention_mask: (B, L) int64, 1 for a token the encoder attends to, 0 for padding (and
            for tokens a view removed with token cutoff).
        special_tokens_mask: (B, L) int64, 1 for tokens the tokenizer added ([CLS], [SEP]),
            or None; text views never modify those positions. When None, the first and the
            last attended token of each row are taken as the special ones.

    Example:
        >>> import torch
        >>> tokens = Tokens(torch.tensor([[101, 7, 102, 0], [101, 7, 8, 102]]),
        ...                 torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]))
        >>> tokens.batch_size, [t.input_ids.shape[1] for t in tokens.split(1)]
        (2, [3, 4])
    """

    input_ids: Tensor
    attention_mask: Tensor
    special_tokens_mask: Tensor | None = None

    def __post_init__(self) -> None:
        fields = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.special_tokens_mask is not None:
            fields["special_tokens_mask"] = self.special_tokens_mask
        for name, value in fields.items():
            if not isinstance(value, Tensor) or value.ndim != 2:
                shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
                raise ValueError(f"Tokens.{name} must be a (B, L) tensor, got {shape}")
            if value.is_floating_point() or value.is_complex():
                raise ValueError(f"Tokens.{name} must hold integers, got dtype {value.dtype}")
            if value.shape != self.input_ids.shape:
                raise ValueError(
                    f"Tokens.{name} has shape {tuple(value.shape)} but input_ids has "
                    f"{tuple(self.input_ids.shape)}: every field must be (B, L)"
                )

    @property
    def batch_size(self) -> int:
        """The number of sentences B."""
        return int(self.input_ids.shape[0])

    @property
    def device(self) -> torch.device:
        """The device of the tensors."""
        return self.input_ids.device

    def lengths(self) -> Tensor:
        """(B,) attended tokens per sentence (special tokens included)."""
        return self.attention_mask.sum(dim=1)

    def to(self, device: torch.device | str) -> Tokens:
        """The same batch on ``device``."""
        special = self.special_tokens_mask
        return Tokens(
            self.input_ids.to(device, non_blocking=True),
            self.attention_mask.to(device, non_blocking=True),
            special.to(device, non_blocking=True) if special is not None else None,
        )

    def index(self, indices: Tensor) -> Tokens:
        """The rows ``indices`` (a 1-D index tensor), re-trimmed to their longest sequence."""
        indices = torch.as_tensor(indices, device=self.input_ids.device)
        if indices.ndim != 1:
            raise ValueError(f"indices must be 1-D, got shape {tuple(indices.shape)}")
        special = self.special_tokens_mask
        return Tokens(
            self.input_ids[indices],
            self.attention_mask[indices],
            special[indices] if special is not None else None,
        ).trimmed()

    def split(self, size: int) -> list[Tokens]:
        """Chunks of at most ``size`` rows along B (for gradient caching), each re-trimmed.

        Trimming drops trailing columns that no row of the chunk attends to, so a chunk of
        short sentences costs less; an encoder that honours the attention mask gives the same
        features either way.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"split size must be an integer >= 1, got {size!r}")
        return [self.index(rows) for rows in torch.arange(self.batch_size).split(size)]

    def trimmed(self) -> Tokens:
        """Drop the trailing columns where every row is padding (attention mask 0)."""
        attended = self.attention_mask.any(dim=0).nonzero()
        length = int(attended.max()) + 1 if attended.numel() else 0
        if length == self.input_ids.shape[1]:
            return self
        special = self.special_tokens_mask
        return Tokens(
            self.input_ids[:, :length],
            self.attention_mask[:, :length],
            special[:, :length] if special is not None else None,
        )

    def protected(self) -> Tensor:
        """(B, L) bool: positions no text view may change (special tokens and padding)."""
        attended = self.attention_mask.bool()
        if self.special_tokens_mask is not None:
            return self.special_tokens_mask.bool() | ~attended
        positions = torch.arange(self.input_ids.shape[1], device=self.input_ids.device)
        last = torch.where(attended, positions, -1).amax(dim=1, keepdim=True)
        first = torch.where(attended, positions, self.input_ids.shape[1]).amin(dim=1, keepdim=True)
        return ~attended | (positions == first) | (positions == last)
