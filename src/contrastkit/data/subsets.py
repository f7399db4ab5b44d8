"""Subsets of a labelled data set that keep its class proportions."""

from __future__ import annotations

import torch
from torch import Tensor

from contrastkit.types.values import check_number


def stratified_indices(labels: Tensor, limit: int, *, seed: int = 0) -> Tensor:
    """A seeded, class-stratified random subset of ``limit`` samples, as sorted indices.

    Taking the first ``limit`` samples of a data set stored sorted by class (the CIFAR-10 test
    set, for one) keeps only the first classes; this draws every class in proportion instead.
    Class ``c`` with ``n_c`` of the N samples gets ``floor(limit * n_c / N)`` samples, and the
    ``limit`` minus their sum left over go one each to the classes with the largest remainders
    (ties to the smaller label), so each class gets the floor or the ceiling of its share.
    Within a class the samples are drawn uniformly at random with a ``torch.Generator`` seeded
    with ``seed``: the same labels, limit and seed always give the same subset.

    Args:
        labels: (N,) integer class labels (any values, e.g. 0..9).
        limit: how many samples to keep; ``limit >= N`` keeps all of them.
        seed: seed of the draw.

    Returns:
        (min(limit, N),) int64 indices into ``labels``, sorted ascending.

    Raises:
        ValueError: ``labels`` is not a 1-D integer tensor, or ``limit`` is not an integer >= 0.

    Example:
        >>> labels = torch.arange(10).repeat_interleave(100)  # sorted by class, like CIFAR-10
        >>> subset = stratified_indices(labels, 50, seed=0)
        >>> torch.bincount(labels[subset]).tolist()
        [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
        >>> torch.equal(subset, stratified_indices(labels, 50, seed=0))
        True
    """
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.is_floating_point():
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"labels must be a 1-D integer tensor (N,), got {shape}")
    check_number("limit", limit, integer=True, minimum=0)
    total = labels.shape[0]
    if limit >= total:
        return torch.arange(total, dtype=torch.int64)
    classes, inverse, counts = torch.unique(labels.cpu(), return_inverse=True, return_counts=True)
    # integer arithmetic: exact floors and remainders, no float rounding
    floors = counts * limit // total
    remainders = counts * limit - floors * total
    left_over = limit - int(floors.sum())
    # largest remainder first; a stable sort keeps the smaller label first among ties
    order = torch.sort(remainders, descending=True, stable=True).indices
    shares = floors.clone()
    shares[order[:left_over]] += 1
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for index in range(len(classes)):
        members = torch.nonzero(inverse == index).squeeze(1)
        draw = torch.randperm(len(members), generator=generator)[: int(shares[index])]
        chosen.append(members[draw])
    return torch.sort(torch.cat(chosen)).values.to(torch.int64)
