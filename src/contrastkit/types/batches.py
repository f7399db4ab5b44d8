"""The batch types that data sources produce, view makers transform and methods consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class ViewBatch:
    """V augmented views of the same B samples, plus their labels when the data has them.

    Attributes:
        views: V float tensors (B, C, H, W), normalized for the encoder. Views of one batch may
            differ in size (multi-crop: the global crops come first, then the local ones).
        labels: (B,) integer labels, or None for unlabeled data. Only supervised methods
            (SupCon) read them; self-supervised methods ignore them.
    """

    views: list[Tensor]
    labels: Tensor | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("ViewBatch needs at least one view")
        batch = self.views[0].shape[0]
        for index, view in enumerate(self.views):
            if view.shape[0] != batch:
                raise ValueError(
                    f"view {index} has batch size {view.shape[0]}, view 0 has {batch}: "
                    "every view must hold the same samples"
                )

    @property
    def batch_size(self) -> int:
        """Samples per view (B)."""
        return self.views[0].shape[0]

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> ViewBatch:
        """The same batch on ``device`` (views optionally in channels-last memory format)."""
        memory = torch.channels_last if channels_last else torch.contiguous_format
        views = [v.to(device, non_blocking=True, memory_format=memory) for v in self.views]
        labels = self.labels.to(device) if self.labels is not None else None
        return ViewBatch(views, labels)

    def split(self, size: int) -> list[ViewBatch]:
        """Consecutive sub-batches of ``size`` samples, views and labels sliced together.

        The last sub-batch holds the remainder when ``size`` does not divide B. The slices share
        memory with this batch (no copies). Gradient caching
        (:mod:`contrastkit.train.gradcache`) embeds a batch in these pieces.

        Example:
            >>> batch = ViewBatch([torch.zeros(5, 3, 2, 2)] * 2, labels=torch.arange(5))
            >>> [(part.batch_size, part.labels.tolist()) for part in batch.split(2)]
            [(2, [0, 1]), (2, [2, 3]), (1, [4])]
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"split size must be an integer >= 1, got {size!r}")
        pieces = [view.split(size) for view in self.views]
        labels = self.labels.split(size) if self.labels is not None else None
        return [
            ViewBatch([piece[i] for piece in pieces], None if labels is None else labels[i])
            for i in range(len(pieces[0]))
        ]


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


@dataclass
class TextBatch:
    """B tokenized examples: an anchor sentence, its positive, optionally a hard negative.

    Attributes:
        anchor: (B, L) anchor sentences.
        positive: (B, L') their positives, or None for the anchor again (unsupervised SimCSE:
            the two dropout masks of two forward passes are the only difference).
        negative: (B, L'') one hard negative per anchor, or None.
        ids: (B,) int64 group ids, or None: examples with the same id (the same sentence, the
            captions of one image) are never each other's negatives.
        scores: (B,) float gold similarity of (anchor, positive), NaN where a pair has none;
            or None when no pair is scored. Scored pairs feed CoSENT.

    Example:
        >>> import torch
        >>> tokens = Tokens(torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long))
        >>> [part.batch_size for part in TextBatch(tokens, ids=torch.arange(4)).split(3)]
        [3, 1]
    """

    anchor: Tokens
    positive: Tokens | None = None
    negative: Tokens | None = None
    ids: Tensor | None = None
    scores: Tensor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.anchor, Tokens):
            raise ValueError(f"TextBatch.anchor must be Tokens, got {type(self.anchor).__name__}")
        size = self.anchor.batch_size
        for name in ("positive", "negative"):
            tokens = getattr(self, name)
            if tokens is not None and (not isinstance(tokens, Tokens) or tokens.batch_size != size):
                raise ValueError(f"TextBatch.{name} must be Tokens with the anchor's {size} rows")
        for name in ("ids", "scores"):
            values = getattr(self, name)
            if values is not None and (not isinstance(values, Tensor) or values.shape != (size,)):
                raise ValueError(f"TextBatch.{name} must be a ({size},) tensor, one per anchor")

    @property
    def batch_size(self) -> int:
        """Examples in the batch (B)."""
        return self.anchor.batch_size

    def to(self, device: torch.device | str) -> TextBatch:
        """The same batch on ``device``."""
        move = lambda x: None if x is None else x.to(device)  # noqa: E731
        return TextBatch(
            self.anchor.to(device),
            move(self.positive),
            move(self.negative),
            move(self.ids),
            move(self.scores),
        )

    def split(self, size: int) -> list[TextBatch]:
        """Consecutive sub-batches of at most ``size`` examples (for gradient caching)."""
        anchors = self.anchor.split(size)
        none: list[None] = [None] * len(anchors)
        positives = self.positive.split(size) if self.positive is not None else none
        negatives = self.negative.split(size) if self.negative is not None else none
        ids = self.ids.split(size) if self.ids is not None else none
        scores = self.scores.split(size) if self.scores is not None else none
        return [
            TextBatch(*parts)
            for parts in zip(anchors, positives, negatives, ids, scores, strict=True)
        ]


def _rows(x: Any) -> int:
    """The batch size of a tower input: a tensor's first dim, or ``Tokens.batch_size``."""
    return int(x.batch_size) if hasattr(x, "batch_size") else int(x.shape[0])


@dataclass
class PairBatch:
    """B pairs of two modalities (an image and its caption, two views of a record).

    Each side holds either its tower's inputs or, for a locked tower, its precomputed
    features (LiT: the locked image tower's features, computed once and cached).

    Attributes:
        a: inputs of tower a: a tensor (B, ...) (images) or a ``Tokens`` batch; None when
            ``features_a`` is given.
        b: inputs of tower b, likewise (captions as ``Tokens`` for image-text).
        features_a: (B, F_a) features of a locked tower a, or None.
        features_b: (B, F_b) features of a locked tower b, or None.
        labels: (B,) integer labels or None; pairs with equal labels are all positives
            (UniCL targets, CLIP loss only).

    Example:
        >>> batch = PairBatch(a=torch.randn(5, 3), b=torch.randn(5, 4))
        >>> [part.batch_size for part in batch.split(2)]
        [2, 2, 1]
    """

    a: Any = None
    b: Any = None
    features_a: Tensor | None = None
    features_b: Tensor | None = None
    labels: Tensor | None = None

    def __post_init__(self) -> None:
        sizes = {}
        for side in ("a", "b"):
            inputs, features = getattr(self, side), getattr(self, f"features_{side}")
            if (inputs is None) == (features is None):
                raise ValueError(f"PairBatch needs exactly one of {side} and features_{side}")
            sizes[side] = _rows(inputs if inputs is not None else features)
        if self.labels is not None:
            sizes["labels"] = _rows(self.labels)
        if len(set(sizes.values())) != 1:
            raise ValueError(f"PairBatch sides hold different numbers of samples: {sizes}")

    @property
    def batch_size(self) -> int:
        """The number of pairs B."""
        return _rows(self.a if self.a is not None else self.features_a)

    def to(self, device: torch.device | str) -> PairBatch:
        """The same pairs on ``device``."""
        move = {name: getattr(self, name) for name in ("a", "b", "features_a", "features_b")}
        moved = {k: v.to(device) if v is not None else None for k, v in move.items()}
        labels = self.labels.to(device) if self.labels is not None else None
        return PairBatch(**moved, labels=labels)

    def split(self, size: int) -> list[PairBatch]:
        """Consecutive sub-batches of at most ``size`` pairs (for gradient caching)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"split size must be an integer >= 1, got {size!r}")
        names = ("a", "b", "features_a", "features_b", "labels")
        pieces = {n: getattr(self, n).split(size) for n in names if getattr(self, n) is not None}
        count = len(next(iter(pieces.values())))
        return [PairBatch(**{n: p[i] for n, p in pieces.items()}) for i in range(count)]
