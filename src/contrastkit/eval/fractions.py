"""Stratified label fractions, validation splits and folds (semi-supervised evaluation).

The 1% / 10% label-fraction protocol (SimCLR, arXiv 2002.05709; BYOL, arXiv 2006.07733) trains a
classifier on a class-balanced subset of the labelled training set. Everything here is
deterministic for a given ``seed`` and independent of the device of ``labels``: sampling runs on
CPU with its own ``torch.Generator``, so the same seed picks the same samples everywhere.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _check_labels(labels: Tensor) -> Tensor:
    if labels.ndim != 1 or labels.is_floating_point() or labels.is_complex():
        raise ValueError(
            f"labels must be a 1-D integer tensor, got shape {tuple(labels.shape)} "
            f"and dtype {labels.dtype}"
        )
    if labels.numel() == 0:
        raise ValueError("labels must not be empty")
    if int(labels.min()) < 0:
        raise ValueError(f"labels must be >= 0, got a minimum of {int(labels.min())}")
    return labels.detach().to("cpu", torch.long)


def _round_half_up(value: float) -> int:
    # Python's round() rounds half to even (round(2.5) == 2); a fraction of a class of 5 at
    # 50% should give 3 samples on every platform, so round half up (with a tolerance for
    # products such as 0.1 * 25 == 2.5000000000000004).
    return math.floor(value + 0.5 + 1e-9)


def _class_members(labels: Tensor, generator: torch.Generator) -> list[Tensor]:
    """Indices of each present class, shuffled by ``generator``, in increasing class order."""
    members = []
    for cls in torch.unique(labels).tolist():
        index = torch.nonzero(labels == cls).flatten()
        members.append(index[torch.randperm(len(index), generator=generator)])
    return members


def stratified_fraction(labels: Tensor, fraction: float, *, seed: int) -> Tensor:
    """Indices of a class-stratified random subset holding ``fraction`` of each class.

    Each class present in ``labels`` keeps ``round(fraction * count)`` samples (rounded half up),
    and at least one, so that no class disappears at 1% labels. ``fraction=1.0`` returns every
    index. The result is sorted, on CPU, and the same for the same ``seed``.

    Args:
        labels: (N,) integer class labels, any device.
        fraction: share of each class to keep, in (0, 1].
        seed: seed of the sampling.

    Returns:
        (M,) int64 indices into ``labels``, sorted ascending.

    Raises:
        ValueError: if ``fraction`` is outside (0, 1] or ``labels`` is not a 1-D integer tensor.

    Example:
        >>> import torch
        >>> labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 2)
        >>> subset = stratified_fraction(labels, 0.1, seed=0)
        >>> torch.bincount(labels[subset]).tolist()
        [5, 3, 1]
    """
    if isinstance(fraction, bool) or not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    labels = _check_labels(labels)
    if fraction == 1.0:
        return torch.arange(len(labels))
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for index in _class_members(labels, generator):
        keep = max(1, _round_half_up(fraction * len(index)))
        chosen.append(index[:keep])
    return torch.cat(chosen).sort().values


def stratified_split(labels: Tensor, val_fraction: float, *, seed: int) -> tuple[Tensor, Tensor]:
    """Split indices into stratified (train, val) parts with ``val_fraction`` of each class in val.

    Each class sends ``round(val_fraction * count)`` samples (rounded half up) to validation, but
    always leaves at least one for training; classes too small for that put nothing in
    validation. Check the validation part for the classes you need (see :func:`linear_probe
    <contrastkit.eval.linear.linear_probe>` for what it does when some class has none).

    Args:
        labels: (N,) integer class labels, any device.
        val_fraction: share of each class that goes to validation, in (0, 1).
        seed: seed of the split.

    Returns:
        ``(train_index, val_index)``, sorted int64 tensors on CPU that partition ``range(N)``.

    Example:
        >>> import torch
        >>> train, val = stratified_split(torch.tensor([0] * 10 + [1] * 5), 0.2, seed=0)
        >>> len(train), len(val)
        (12, 3)
    """
    if isinstance(val_fraction, bool) or not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    labels = _check_labels(labels)
    generator = torch.Generator().manual_seed(seed)
    train, val = [], []
    for index in _class_members(labels, generator):
        held_out = min(_round_half_up(val_fraction * len(index)), len(index) - 1)
        val.append(index[:held_out])
        train.append(index[held_out:])
    return torch.cat(train).sort().values, torch.cat(val).sort().values


def stratified_folds(labels: Tensor, num_folds: int, *, seed: int) -> list[Tensor]:
    """Validation indices of ``num_folds`` stratified cross-validation folds for few labels.

    Samples of each class are dealt round-robin over the folds (starting where the previous
    class stopped, so folds have equal sizes up to one). A class with a single sample is never
    held out: it stays in the training part of every fold, since no model could predict it
    without seeing it. With ``num_folds >= 2``, every class keeps at least one training sample in
    every fold. Folds may be empty when there are fewer held-out samples than folds.

    Args:
        labels: (N,) integer class labels, any device.
        num_folds: number of folds, at least 2.
        seed: seed of the assignment.

    Returns:
        ``num_folds`` sorted int64 index tensors (the held-out part of each fold), disjoint.

    Example:
        >>> import torch
        >>> folds = stratified_folds(torch.tensor([0, 0, 1, 1, 2]), 2, seed=0)
        >>> sorted(len(fold) for fold in folds)
        [2, 2]
    """
    if isinstance(num_folds, bool) or int(num_folds) != num_folds or num_folds < 2:
        raise ValueError(f"num_folds must be an integer >= 2, got {num_folds!r}")
    labels = _check_labels(labels)
    generator = torch.Generator().manual_seed(seed)
    folds: list[list[Tensor]] = [[] for _ in range(num_folds)]
    start = 0
    for index in _class_members(labels, generator):
        if len(index) < 2:
            continue
        for position, sample in enumerate(index):
            folds[(start + position) % num_folds].append(sample)
        start += len(index)
    return [
        torch.stack(fold).sort().values if fold else torch.zeros(0, dtype=torch.long)
        for fold in folds
    ]
