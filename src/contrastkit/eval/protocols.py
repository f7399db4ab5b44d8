"""The image protocols (kNN, linear probe) on features you already have, as JSON-ready records.

Each record is ``{"protocol": name, "params": {...}, "metrics": {...}}`` so that every number
carries the parameters that produced it. Runs evaluate through the registered protocols
(:data:`contrastkit.registry.PROTOCOLS`); this is the same for raw pixels, a baseline encoder or
features computed elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from contrastkit.eval.knn import KNN, KNNParams
from contrastkit.eval.linear import LINEAR, LinearParams

PROTOCOLS = ("knn", "linear")


class FeatureSplits:
    """Given features as a :class:`~contrastkit.eval.protocol.LabelledFeatures` context."""

    def __init__(self, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor]) -> None:
        self.splits = {"train": train, "test": test}

    def labelled_features(self, split: str) -> tuple[Tensor, Tensor]:
        return self.splits[split]


def evaluate_features(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    protocols: Sequence[str] = PROTOCOLS,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
    label_fractions: Sequence[float] = (1.0,),
    probe_seeds: Sequence[int] = (0, 1, 2),
) -> list[dict[str, Any]]:
    """kNN (top-1/top-5) and a linear probe per label fraction (mean and std over seeds).

    Example:
        >>> import torch
        >>> x, y = torch.eye(4).repeat(5, 1), torch.arange(4).repeat(5)
        >>> [r["protocol"] for r in evaluate_features(x, y, x, y, knn_k=3, probe_seeds=[0])]
        ['knn', 'linear']
    """
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(
            f"unknown protocols {unknown} for image features; choose from {', '.join(PROTOCOLS)}"
        )
    context = FeatureSplits((train_features, train_labels), (test_features, test_labels))
    records: list[dict[str, Any]] = []
    if "knn" in protocols:
        records += KNN.run(context, KNNParams(knn_k=knn_k, knn_temperature=knn_temperature))
    if "linear" in protocols:
        params = LinearParams(label_fractions=list(label_fractions), probe_seeds=list(probe_seeds))
        records += LINEAR.run(context, params)
    return records
