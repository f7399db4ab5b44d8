"""Weighted k-nearest-neighbour classification on frozen features (InstDisc / DINO protocol)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.eval.compression import (
    bytes_per_vector,
    check_eval_dims,
    check_eval_precisions,
    comparable,
    compressed_cells,
    plan_compressed,
    truncate,
)
from contrastkit.eval.protocol import EvalProtocol, LabelledFeatures, Record
from contrastkit.types.values import check_number


def knn_scores(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> Tensor:
    """Class scores (N_test, C) from the k most cosine-similar training features.

    Each neighbour votes for its label with weight ``exp(similarity / temperature)``; the
    defaults are InstDisc's (Wu et al. 2018, arXiv 1805.01978: k=200, temperature 0.1), also
    used by DINO's evaluation. The bank stays (N_train, D) on the device of ``train_features``
    (test features and labels are moved there) and test rows are processed ``chunk_size`` at a
    time, so the peak extra memory is about ``chunk_size x N_train`` similarities (200 MB for
    1024 x 50k in float32), not ``N_test x N_train``.

    Args:
        train_features: (N_train, D) bank features, any float dtype; computed in float32.
        train_labels: (N_train,) integer labels.
        test_features: (N_test, D) query features.
        k: neighbours per query (capped at N_train).
        temperature: vote temperature, > 0.
        num_classes: C; defaults to ``max(train_labels) + 1``.
        chunk_size: test rows per chunk.

    Returns:
        (N_test, C) float32 scores on the device of ``train_features``.

    Example:
        >>> import torch
        >>> bank, labels = torch.eye(3), torch.tensor([0, 1, 2])
        >>> knn_scores(bank, labels, torch.tensor([[1.0, 0.1, 0.0]]), k=1).argmax(dim=1)
        tensor([0])
    """
    if train_features.ndim != 2 or test_features.ndim != 2:
        raise ValueError(
            "train_features and test_features must be (N, D) tensors, got "
            f"{tuple(train_features.shape)} and {tuple(test_features.shape)}"
        )
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(
            f"train_features and test_features must have the same D, got "
            f"{train_features.shape[1]} and {test_features.shape[1]}"
        )
    if train_labels.shape != (train_features.shape[0],) or train_labels.is_floating_point():
        raise ValueError(
            f"train_labels must be an integer tensor of shape ({train_features.shape[0]},), "
            f"got shape {tuple(train_labels.shape)} and dtype {train_labels.dtype}"
        )
    if k < 1 or temperature <= 0:
        raise ValueError(
            f"k must be >= 1 and temperature > 0, got k={k}, temperature={temperature}"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if train_features.shape[0] == 0:
        raise ValueError("train_features must hold at least one row")
    largest = int(train_labels.max())
    classes = num_classes if num_classes is not None else largest + 1
    if int(train_labels.min()) < 0 or largest >= classes:
        raise ValueError(
            f"train_labels must lie in [0, num_classes={classes}), got "
            f"[{int(train_labels.min())}, {largest}]"
        )
    k = min(k, train_features.shape[0])
    bank = F.normalize(train_features.detach().float(), dim=1)  # (N_train, D)
    labels = train_labels.to(bank.device, torch.long)
    scores = []
    for chunk in test_features.detach().split(chunk_size):
        query = F.normalize(chunk.to(bank.device, torch.float32), dim=1)
        similarity, index = (query @ bank.T).topk(k, dim=1)  # (chunk, k)
        votes = torch.zeros(query.shape[0], classes, device=bank.device)
        votes.scatter_add_(1, labels[index], torch.exp(similarity / temperature))
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Top-1 and top-5 accuracy (fractions in [0, 1]) of weighted kNN; see :func:`knn_scores`.

    Example:
        >>> import torch
        >>> features, labels = torch.eye(4), torch.tensor([0, 1, 2, 3])
        >>> knn_accuracy(features, labels, features, labels, k=1)["top1"]
        1.0
    """
    if test_labels.shape != (test_features.shape[0],) or test_labels.is_floating_point():
        raise ValueError(
            f"test_labels must be an integer tensor of shape ({test_features.shape[0]},), "
            f"got shape {tuple(test_labels.shape)} and dtype {test_labels.dtype}"
        )
    classes = int(max(train_labels.max(), test_labels.max().to(train_labels.device))) + 1
    scores = knn_scores(
        train_features,
        train_labels,
        test_features,
        k=k,
        temperature=temperature,
        num_classes=classes,
        chunk_size=chunk_size,
    )
    ranked = scores.topk(min(5, classes), dim=1).indices
    hits = ranked == test_labels.to(ranked.device)[:, None].long()
    return {"top1": float(hits[:, 0].float().mean()), "top5": float(hits.any(dim=1).float().mean())}


@dataclass(frozen=True)
class KNNParams:
    """Recipe keys of the ``knn`` protocol."""

    knn_k: int = 200  # neighbours (InstDisc, arXiv 1805.01978)
    knn_temperature: float = 0.1  # vote temperature (InstDisc)
    # also report these prefix dims of the features (truncated, re-normalized)
    eval_dims: list[int] | None = None
    # also report these precisions (float32, int8, binary) at every dim, with bytes per vector
    eval_precisions: list[str] = field(default_factory=lambda: ["float32"])

    def __post_init__(self) -> None:
        check_number("knn_k", self.knn_k, integer=True, minimum=1)
        check_number("knn_temperature", self.knn_temperature, minimum=0, open_minimum=True)
        check_eval_dims(self.eval_dims)
        check_eval_precisions(self.eval_precisions)


def knn_protocol(context: LabelledFeatures, params: KNNParams) -> list[Record]:
    """Weighted kNN top-1/top-5 of the test split against the training split's features; with
    ``eval_dims`` or ``eval_precisions`` also each truncated dim and precision
    (``metrics["compressed"]``; the vote uses that precision's similarity)."""
    train, train_labels = context.labelled_features("train")
    test, test_labels = context.labelled_features("test")
    settings: dict[str, Any] = {"k": params.knn_k, "temperature": params.knn_temperature}
    options: dict[str, Any] = {"k": params.knn_k, "temperature": params.knn_temperature}
    metrics: dict[str, Any] = knn_accuracy(train, train_labels, test, test_labels, **options)
    record = {"protocol": "knn", "params": settings, "metrics": metrics}
    plan = plan_compressed(
        record, context, train.shape[1], params.eval_dims, params.eval_precisions
    )
    if plan:
        metrics["compressed"] = []
        for dim, precision in plan:
            a, b = comparable([truncate(train, dim), truncate(test, dim)], precision)
            scores = knn_accuracy(a.float(), train_labels, b.float(), test_labels, **options)
            size = bytes_per_vector(dim, precision)
            metrics["compressed"].append(
                {"dim": dim, "precision": precision, "bytes": size} | scores
            )
    return [record]


def _knn_cells(record: Record) -> list[tuple[str, str]]:
    cells = [(f"kNN top-1 (k={record['params']['k']})", f"{record['metrics']['top1']:.4f}")]
    return cells + compressed_cells(record, "kNN top-1", "top1")


KNN = EvalProtocol("knn", ("image",), knn_protocol, KNNParams, _knn_cells)
