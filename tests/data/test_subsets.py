"""stratified_indices: seeded subsets that keep the class proportions."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data import stratified_indices


def sorted_by_class(counts: list[int]) -> torch.Tensor:
    """Labels stored sorted by class, as in the packed CIFAR-10 test set."""
    return torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])


def test_cifar_like_sorted_labels_give_every_class_its_share() -> None:
    labels = sorted_by_class([1000] * 10)
    subset = stratified_indices(labels, 2000, seed=0)
    assert torch.bincount(labels[subset], minlength=10).tolist() == [200] * 10
    assert subset.dtype == torch.int64 and torch.equal(subset, subset.sort().values)
    assert len(subset.unique()) == 2000


@pytest.mark.parametrize("limit", [1, 7, 33, 99, 149])
def test_each_class_gets_the_floor_or_ceiling_of_its_share(limit: int) -> None:
    counts = [50, 30, 20, 7, 43]
    shuffle = torch.randperm(150, generator=torch.Generator().manual_seed(1))
    labels = sorted_by_class(counts)[shuffle]
    subset = stratified_indices(labels, limit, seed=3)
    got = torch.bincount(labels[subset], minlength=len(counts)).tolist()
    assert sum(got) == limit
    for have, count in zip(got, counts, strict=True):
        share = limit * count / len(labels)
        assert int(share) <= have <= -int(-share // 1)


def test_labels_need_not_start_at_zero_or_be_contiguous() -> None:
    labels = torch.tensor([7, 7, 7, 7, -2, -2, 40, 40])
    subset = stratified_indices(labels, 4, seed=0)
    assert sorted(labels[subset].tolist()) == [-2, 7, 7, 40]


def test_same_seed_same_subset_and_other_seeds_differ() -> None:
    labels = sorted_by_class([100] * 5)
    first = stratified_indices(labels, 50, seed=0)
    assert torch.equal(first, stratified_indices(labels, 50, seed=0))
    others = [stratified_indices(labels, 50, seed=seed) for seed in (1, 2, 3)]
    assert all(not torch.equal(first, other) for other in others)
    assert all(
        torch.equal(torch.bincount(labels[o]), torch.bincount(labels[first])) for o in others
    )


@pytest.mark.parametrize("limit", [12, 13, 1000])
def test_a_limit_of_n_or_more_keeps_everything(limit: int) -> None:
    labels = sorted_by_class([5, 4, 3])
    assert torch.equal(stratified_indices(labels, limit), torch.arange(12))


def test_limit_zero_is_empty() -> None:
    subset = stratified_indices(sorted_by_class([3, 3]), 0)
    assert subset.shape == (0,) and subset.dtype == torch.int64


@pytest.mark.parametrize(
    ("labels", "limit", "match"),
    [
        (torch.zeros(4, 2, dtype=torch.int64), 2, "1-D integer tensor"),
        (torch.zeros(4), 2, "1-D integer tensor"),
        ([0, 1, 1], 2, "1-D integer tensor"),
        (torch.zeros(4, dtype=torch.int64), -1, "limit must be an integer >= 0"),
        (torch.zeros(4, dtype=torch.int64), 2.5, "limit must be an integer >= 0"),
        (torch.zeros(4, dtype=torch.int64), True, "limit must be an integer >= 0"),
    ],
)
def test_bad_input(labels: object, limit: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stratified_indices(labels, limit)  # type: ignore[arg-type]
