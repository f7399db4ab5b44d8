"""Weighted k-nearest-neighbour classification on frozen features (InstDisc / DINO protocol)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def knn_scores(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> Tensor:
    """Class scores (N_test, C) from the k most cosine-similar training features.

    Each neighbour votes for its label with weight ``exp(similarity / temperature)`` (Wu et al.
    2018, arXiv 1805.01978; DINO's evaluation). Test features are processed ``chunk_size`` at a
    time, so memory grows as chunk_size x N_train, not N_test x N_train.
    """
    if train_features.ndim != 2 or test_features.ndim != 2:
        raise ValueError(
            "train_features and test_features must be (N, D) tensors, got "
            f"{tuple(train_features.shape)} and {tuple(test_features.shape)}"
        )
    if train_labels.shape != (train_features.shape[0],):
        raise ValueError(
            f"train_labels must have shape ({train_features.shape[0]},), "
            f"got {tuple(train_labels.shape)}"
        )
    if k < 1 or temperature <= 0:
        raise ValueError(
            f"k must be >= 1 and temperature > 0, got k={k}, temperature={temperature}"
        )
    classes = num_classes if num_classes is not None else int(train_labels.max()) + 1
    k = min(k, train_features.shape[0])
    bank = F.normalize(train_features.float(), dim=1)
    scores = []
    for chunk in F.normalize(test_features.float(), dim=1).split(chunk_size):
        similarity, index = (chunk @ bank.T).topk(k, dim=1)
        votes = torch.zeros(chunk.shape[0], classes, device=chunk.device)
        votes.scatter_add_(1, train_labels[index].long(), torch.exp(similarity / temperature))
        scores.append(votes)
    return torch.cat(scores)


def knn_accuracy(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    k: int = 20,
    temperature: float = 0.07,
    chunk_size: int = 1024,
) -> dict[str, float]:
    """Top-1 and top-5 accuracy of weighted kNN; see :func:`knn_scores`.

    Example:
        >>> import torch
        >>> features, labels = torch.eye(4), torch.tensor([0, 1, 2, 3])
        >>> knn_accuracy(features, labels, features, labels, k=1)["top1"]
        1.0
    """
    classes = int(max(train_labels.max(), test_labels.max())) + 1
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
