"""Length-grouped batch order: a permutation, seeded per epoch, resumable, sharded, less padding."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.batches import BatchOrder
from contrastkit.data.text_batches import LengthGroupedOrder, length_grouped_order, padding_fraction

LENGTHS = torch.randint(4, 33, (1000,), generator=torch.Generator().manual_seed(0))


def test_order_is_a_permutation_with_the_partial_batch_last() -> None:
    order = length_grouped_order(LENGTHS[:103], 10, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(103))
    again = length_grouped_order(LENGTHS[:103], 10, torch.Generator().manual_seed(0))
    assert torch.equal(order, again)


def test_batches_have_similar_lengths() -> None:
    grouped = LengthGroupedOrder(LENGTHS, 32, seed=0)
    plain = BatchOrder(len(LENGTHS), 32, seed=0)
    grouped_padding = padding_fraction(LENGTHS, list(grouped.epoch_batches(0)))
    plain_padding = padding_fraction(LENGTHS, list(plain.epoch_batches(0)))
    assert grouped_padding < 0.1 < 0.3 < plain_padding


def test_pure_function_of_seed_and_epoch_and_resumable() -> None:
    order = LengthGroupedOrder(LENGTHS, 32, seed=3)
    epoch_1 = [b.tolist() for b in order.epoch_batches(1)]
    assert epoch_1 == [b.tolist() for b in LengthGroupedOrder(LENGTHS, 32, seed=3).epoch_batches(1)]
    assert epoch_1 != [b.tolist() for b in order.epoch_batches(2)]
    assert [b.tolist() for b in order.epoch_batches(1, start_batch=5)] == epoch_1[5:]
    assert len(epoch_1) == order.batches_per_epoch == 1000 // 32


def test_ranks_split_each_global_batch() -> None:
    single = [b.tolist() for b in LengthGroupedOrder(LENGTHS, 64, seed=0).epoch_batches(0)]
    ranks = [
        [
            b.tolist()
            for b in LengthGroupedOrder(LENGTHS, 32, seed=0, rank=r, world_size=2).epoch_batches(0)
        ]
        for r in range(2)
    ]
    assert [a + b for a, b in zip(*ranks, strict=True)] == single


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="1-D"):
        length_grouped_order(LENGTHS.view(10, 100), 4, torch.Generator())
    with pytest.raises(ValueError, match="group_batches"):
        length_grouped_order(LENGTHS, 4, torch.Generator(), group_batches=0)
    with pytest.raises(ValueError, match="epoch"):
        LengthGroupedOrder(LENGTHS, 4).permutation(-1)
