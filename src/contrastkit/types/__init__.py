"""Types and checks every layer may import: batch types, tensor checks, configuration-value
checks. Nothing here imports anything else from contrastkit."""

from contrastkit.types.batches import PairBatch, TextBatch, Tokens, ViewBatch
from contrastkit.types.checks import (
    check_batch,
    check_embeddings,
    check_in_range,
    check_labels,
    check_pair,
    check_positive,
)

__all__ = [
    "PairBatch",
    "TextBatch",
    "Tokens",
    "ViewBatch",
    "check_batch",
    "check_embeddings",
    "check_in_range",
    "check_labels",
    "check_pair",
    "check_positive",
]
