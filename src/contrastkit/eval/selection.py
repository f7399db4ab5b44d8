"""Choosing a linear probe's weight decay: holdout, few-label cross-validation, or train fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.eval.fractions import stratified_folds, stratified_split
from contrastkit.eval.logistic import LinearClassifier, fit_logistic_regression


def select_weight_decay(
    features: Tensor,
    labels: Tensor,
    weight_decays: Sequence[float],
    *,
    val_fraction: float,
    num_folds: int,
    seed: int,
    fit_options: dict[str, Any],
) -> tuple[float, str]:
    """The weight decay with the best validation accuracy, and how it was validated.

    The mode depends on how many labels each class has:

    - ``"none"``: a single candidate, returned without fitting;
    - ``"holdout"``: every class gets at least one sample in a stratified ``val_fraction``
      holdout; fit on the rest, score on the holdout;
    - ``"cross_validation"``: otherwise, if some class has two samples or more, stratified
      ``num_folds``-fold cross-validation (single-sample classes are never held out);
    - ``"train_fit"``: every class has one sample; nothing can be held out, so the candidates
      are scored on the subset itself and ties go to the largest weight decay (the strongest
      regularization that still fits the labels).

    Validation ties go to the lower summed cross-entropy. Candidates are fitted from the
    largest weight decay down, each warm-started from the previous one.

    Args:
        features: (N, D) standardized features of the labelled subset.
        labels: (N,) int64 labels on the device of ``features``.
        weight_decays: candidates, each >= 0.
        val_fraction: holdout share of each class, in (0, 1).
        num_folds: number of folds of the cross-validation fallback, >= 2.
        seed: seed of the split or folds (and of SGD shuffling).
        fit_options: keyword arguments of :func:`fit_logistic_regression` (``num_classes``,
            ``solver`` and the solver's settings).

    Returns:
        ``(weight_decay, mode)``.

    Example:
        >>> import torch
        >>> labels = torch.arange(2).repeat(10)
        >>> features = torch.eye(2)[labels] + 0.1 * torch.randn(20, 2)
        >>> select_weight_decay(features, labels, [0.1], val_fraction=0.2, num_folds=5,
        ...                     seed=0, fit_options={"num_classes": 2})
        (0.1, 'none')
    """
    if len(weight_decays) == 1:
        return float(weight_decays[0]), "none"
    cpu_labels = labels.cpu()
    train, val = stratified_split(cpu_labels, val_fraction, seed=seed)
    counts = torch.bincount(cpu_labels)
    if torch.equal(torch.bincount(cpu_labels[val], minlength=len(counts)) > 0, counts > 0):
        mode, folds = "holdout", [(train, val)]
    elif int(counts.max()) >= 2:
        mode = "cross_validation"
        everything = torch.ones(len(labels), dtype=torch.bool)
        folds = []
        for held_out in stratified_folds(cpu_labels, num_folds, seed=seed):
            if len(held_out) > 0:
                keep = everything.clone()
                keep[held_out] = False
                folds.append((torch.nonzero(keep).flatten(), held_out))
    else:
        mode, all_index = "train_fit", torch.arange(len(labels))
        folds = [(all_index, all_index)]

    candidates = sorted({float(wd) for wd in weight_decays}, reverse=True)
    correct = dict.fromkeys(candidates, 0.0)
    loss = dict.fromkeys(candidates, 0.0)
    for fit_index, score_index in folds:
        fit_index, score_index = fit_index.to(features.device), score_index.to(features.device)
        fit_features, fit_labels = features[fit_index], labels[fit_index]
        score_features, target = features[score_index], labels[score_index]
        model: LinearClassifier | None = None
        for weight_decay in candidates:
            model = fit_logistic_regression(
                fit_features, fit_labels, weight_decay=weight_decay, init=model, seed=seed,
                **fit_options,
            )  # fmt: skip
            logits = model.logits(score_features)
            correct[weight_decay] += float((logits.argmax(dim=1) == target).sum())
            loss[weight_decay] += float(F.cross_entropy(logits, target, reduction="sum"))

    if mode == "train_fit":
        best = max(candidates, key=lambda wd: (correct[wd], wd))
    else:
        best = max(candidates, key=lambda wd: (correct[wd], -loss[wd]))
    return best, mode
