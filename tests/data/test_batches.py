"""BatchOrder: permutations, determinism, exact mid-epoch resume, distributed shards, errors."""

import pytest
import torch

from contrastkit.data import BatchOrder


def _epoch(order: BatchOrder, epoch: int, start_batch: int = 0) -> list[list[int]]:
    return [batch.tolist() for batch in order.epoch_batches(epoch, start_batch)]


@pytest.mark.parametrize("num_samples", [10, 12])
def test_epoch_without_drop_last_covers_every_sample_once(num_samples: int) -> None:
    order = BatchOrder(num_samples, 4, seed=3, drop_last=False)
    batches = _epoch(order, 0)
    assert len(batches) == order.batches_per_epoch == len(order) == -(-num_samples // 4)
    assert sorted(i for batch in batches for i in batch) == list(range(num_samples))
    assert all(len(batch) == 4 for batch in batches[:-1])


def test_drop_last_gives_full_disjoint_batches() -> None:
    order = BatchOrder(10, 4)
    batches = _epoch(order, 0)
    assert order.batches_per_epoch == 2 and [len(b) for b in batches] == [4, 4]
    assert len({i for batch in batches for i in batch}) == 8


def test_order_depends_only_on_seed_and_epoch() -> None:
    assert _epoch(BatchOrder(50, 8, seed=1), 4) == _epoch(BatchOrder(50, 8, seed=1), 4)
    assert _epoch(BatchOrder(50, 8, seed=1), 4) != _epoch(BatchOrder(50, 8, seed=1), 5)
    assert _epoch(BatchOrder(50, 8, seed=1), 4) != _epoch(BatchOrder(50, 8, seed=2), 4)
    generator = torch.Generator().manual_seed(1 * 1_000_003 + 4)
    assert torch.equal(
        BatchOrder(50, 8, seed=1).permutation(4), torch.randperm(50, generator=generator)
    )
    torch.manual_seed(123)  # the global RNG plays no part
    assert _epoch(BatchOrder(50, 8, seed=1), 4) == _epoch(BatchOrder(50, 8, seed=1), 4)


@pytest.mark.parametrize("drop_last", [True, False])
def test_resume_yields_exactly_the_remaining_batches(drop_last: bool) -> None:
    order = BatchOrder(23, 5, seed=7, drop_last=drop_last)
    full = _epoch(order, 2)
    for start in range(order.batches_per_epoch + 1):
        assert _epoch(order, 2, start) == full[start:]
    step = 3 * order.batches_per_epoch + 1
    assert order.position(step) == (3, 1)


@pytest.mark.parametrize(("num_samples", "drop_last"), [(50, True), (50, False), (26, False)])
def test_distributed_shards_partition_the_global_batch(num_samples: int, drop_last: bool) -> None:
    world_size, batch_size = 3, 4
    single = BatchOrder(num_samples, batch_size * world_size, seed=5, drop_last=drop_last)
    ranks = [
        BatchOrder(
            num_samples, batch_size, seed=5, drop_last=drop_last, rank=r, world_size=world_size
        )
        for r in range(world_size)
    ]
    assert {order.batches_per_epoch for order in ranks} == {single.batches_per_epoch}
    shards = [_epoch(order, 1) for order in ranks]
    for step, global_batch in enumerate(_epoch(single, 1)):
        parts = [shard[step] for shard in shards]
        assert sum(len(p) for p in parts) == len({i for p in parts for i in p})  # disjoint
        assert [i for p in parts for i in p] == global_batch  # rank r holds rows r*B:(r+1)*B
        if len(global_batch) == batch_size * world_size:
            assert all(p == global_batch[r * 4 : (r + 1) * 4] for r, p in enumerate(parts))


def test_dataset_smaller_than_global_batch() -> None:
    with pytest.raises(ValueError, match=r"5 samples.*batch_size = 8.*lower"):
        BatchOrder(5, 8)
    with pytest.raises(ValueError, match=r"10 samples.*12 \(batch_size = 4 x 3 processes\)"):
        BatchOrder(10, 4, world_size=3)
    assert _epoch(BatchOrder(5, 8, drop_last=False), 0)[0] != []


def test_too_small_dataset_advice_uses_recipe_keys() -> None:
    with pytest.raises(ValueError) as caught:
        BatchOrder(5, 8)
    message = str(caught.value)
    assert "drop_last" not in message
    assert message.endswith("lower batch_size to at most 5 (--set batch_size=5) or use more data")
    with pytest.raises(ValueError, match=r"use fewer processes or use more data$"):
        BatchOrder(3, 4, world_size=4)  # under 2 samples per process: no batch_size would do


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_samples": 0, "batch_size": 1}, "num_samples must be >= 1"),
        ({"num_samples": 4, "batch_size": 0}, "batch_size must be >= 1"),
        ({"num_samples": 8, "batch_size": 2, "rank": 2, "world_size": 2}, "0 <= rank < world_size"),
        ({"num_samples": 8, "batch_size": 2, "seed": -1}, "seed must be >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BatchOrder(**kwargs)


def test_bad_positions() -> None:
    order = BatchOrder(10, 4)
    with pytest.raises(ValueError, match=r"start_batch must be in \[0, 2\]"):
        order.epoch_batches(0, 3)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        order.epoch_batches(-1)
