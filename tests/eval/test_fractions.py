"""Stratified label fractions, holdout splits and few-label folds."""

from __future__ import annotations

import pytest
import torch

from contrastkit.eval import stratified_folds, stratified_fraction, stratified_split

LABELS = torch.tensor([0] * 500 + [1] * 300 + [2] * 150 + [3] * 40 + [4] * 3)


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.01, [5, 3, 2, 1, 1]), (0.1, [50, 30, 15, 4, 1]), (0.5, [250, 150, 75, 20, 2])],
)
def test_keeps_class_proportions_and_one_per_class(fraction: float, expected: list[int]) -> None:
    subset = stratified_fraction(LABELS, fraction, seed=0)
    assert subset.dtype == torch.long
    assert torch.equal(subset, subset.sort().values)
    assert len(set(subset.tolist())) == len(subset)
    assert torch.bincount(LABELS[subset], minlength=5).tolist() == expected


def test_full_fraction_is_everything_and_absent_classes_stay_absent() -> None:
    assert torch.equal(stratified_fraction(LABELS, 1.0, seed=3), torch.arange(len(LABELS)))
    sparse = torch.tensor([0, 0, 7, 7, 7, 7])
    assert torch.bincount(sparse[stratified_fraction(sparse, 0.5, seed=0)]).tolist() == (
        [1] + [0] * 6 + [2]
    )


def test_deterministic_per_seed() -> None:
    shuffled = LABELS[torch.randperm(len(LABELS), generator=torch.Generator().manual_seed(0))]
    first = stratified_fraction(shuffled, 0.1, seed=7)
    assert torch.equal(first, stratified_fraction(shuffled, 0.1, seed=7))
    assert not torch.equal(first, stratified_fraction(shuffled, 0.1, seed=8))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5, float("nan"), True])
def test_bad_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="fraction"):
        stratified_fraction(LABELS, fraction, seed=0)


def test_bad_labels() -> None:
    with pytest.raises(ValueError, match="labels"):
        stratified_fraction(torch.zeros(4, 2, dtype=torch.long), 0.5, seed=0)
    with pytest.raises(ValueError, match="labels"):
        stratified_fraction(torch.zeros(4), 0.5, seed=0)
    with pytest.raises(ValueError, match="labels"):
        stratified_fraction(torch.tensor([0, -1]), 0.5, seed=0)


def test_split_partitions_with_proportional_validation() -> None:
    train, val = stratified_split(LABELS, 0.2, seed=0)
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(len(LABELS)))
    assert torch.bincount(LABELS[val], minlength=5).tolist() == [100, 60, 30, 8, 1]
    # A class of one keeps its sample for training.
    train, val = stratified_split(torch.tensor([0, 0, 0, 0, 0, 1]), 0.2, seed=0)
    assert val.tolist() != [5] and 5 in train.tolist() and len(val) == 1
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_split(LABELS, 1.0, seed=0)


def test_folds_hold_out_each_sample_once_and_keep_a_training_sample() -> None:
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3])
    folds = stratified_folds(labels, 5, seed=0)
    held_out = torch.cat(folds).sort().values
    assert torch.equal(held_out, torch.tensor([i for i in range(len(labels)) if i != 5]))
    for fold in folds:
        counts = torch.bincount(labels[fold], minlength=4)
        assert (counts < torch.bincount(labels)).all()
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    with pytest.raises(ValueError, match="num_folds"):
        stratified_folds(labels, 1, seed=0)
