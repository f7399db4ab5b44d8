"""The text modality's recipe section: sentence corpora, token views, lengths, dev selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from contrastkit.recipe import DataConfig
from contrastkit.transforms.text import TEXT_VIEWS
from contrastkit.types.values import check_choice, check_number


@dataclass(frozen=True)
class TextData(DataConfig):
    """Recipe keys of text runs (SimCSE)."""

    RESUMABLE: ClassVar[frozenset[str]] = frozenset({"select_every"})

    # a corpus name or file (contrastkit.data.text.load_text_corpus), "unlabeled" (WordNet and
    # NLTK sentences), several joined by "+" (e.g. "stsb+flickr8k_captions")
    dataset: str = "unlabeled"
    views: str = "dropout"  # text views (TEXT_VIEWS): dropout (SimCSE), token_cutoff, ...
    views_options: dict[str, Any] = field(default_factory=dict)  # e.g. {rate = 0.1}
    max_length: int = 32  # tokens per sentence in training (SimCSE's 32)
    max_examples: int | None = None  # train on a seeded random subset of this many examples
    select_every: int = 0  # steps between STS-B dev Spearman checks keeping best.pt (0: off)

    def __post_init__(self) -> None:
        check_choice("views", self.views, TEXT_VIEWS)
        check_number("max_length", self.max_length, integer=True, minimum=1)
        check_number("max_examples", self.max_examples, integer=True, minimum=1, optional=True)
        check_number("select_every", self.select_every, integer=True, minimum=0)
        if not isinstance(self.views_options, dict):
            raise ValueError(f"views_options must be a table, got {self.views_options!r}")
        names = [name.strip() for name in str(self.dataset).split("+")]
        if not all(names):
            raise ValueError(f"dataset {self.dataset!r} has an empty name; join names with '+'")
