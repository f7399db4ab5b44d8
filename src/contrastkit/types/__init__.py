"""Types and checks every layer may import: batch types, tensor checks, configuration-value
checks. Nothing here imports anything else from contrastkit."""

from contrastkit.types.batches import ViewBatch
from contrastkit.types.checks import (
    check_batch,
    check_embeddings,
    check_in_range,
    check_labels,
    check_pair,
    check_positive,
)

__all__ = [
    "ViewBatch",
    "check_batch",
    "check_embeddings",
    "check_in_range",
    "check_labels",
    "check_pair",
    "check_positive",
]
