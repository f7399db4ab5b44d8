"""Tests for FeatureQueue: FIFO order against a list reference, state round-trip, errors."""

import io
import random

import pytest
import torch
from torch.testing import assert_close

from contrastkit.modules import FeatureQueue


def _keys(batch: int, dim: int, *, seed: int) -> torch.Tensor:
    return torch.randn(batch, dim, generator=torch.Generator().manual_seed(seed))


class ListFIFO:
    """Naive reference: a Python list of rows, oldest first, holding at most ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.rows: list[list[float]] = []

    def enqueue(self, keys: torch.Tensor) -> None:
        self.rows.extend(keys.tolist())
        self.rows = self.rows[-self.size :]


def _oldest_first(queue: FeatureQueue) -> torch.Tensor:
    """The queue's contents ordered oldest -> newest (the next write overwrites the oldest)."""
    filled = len(queue)
    if filled < queue.size:
        return queue.features[:filled]
    return torch.roll(queue.features, shifts=-int(queue.pointer), dims=0)


def _round_trip(queue: FeatureQueue) -> dict[str, torch.Tensor]:
    buffer = io.BytesIO()
    torch.save(queue.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_enqueue_matches_list_fifo_over_random_sizes() -> None:
    rng = random.Random(0)
    size, dim = 7, 3
    queue, reference = FeatureQueue(size, dim), ListFIFO(size)
    total = 0
    for step in range(60):
        batch = rng.choice([0, 1, 2, 3, 5, 7, 8, 11, 20])  # includes batches larger than size
        keys = _keys(batch, dim, seed=step)
        queue.enqueue(keys)
        reference.enqueue(keys)
        total += batch
        assert len(queue) == len(reference.rows) == min(total, size)
        assert int(queue.filled) == min(total, size)
        assert_close(_oldest_first(queue), torch.tensor(reference.rows).reshape(-1, dim))
        # negatives() holds exactly the reference's rows (as a multiset, storage order aside)
        assert sorted(queue.negatives().tolist()) == sorted(reference.rows)


def test_pointer_and_filled_counts_with_wrap_around() -> None:
    queue = FeatureQueue(size=5, dim=2)
    expected = [(3, 3), (0, 5), (4, 5), (1, 5)]  # (pointer, filled) after 3, 2, 4, 2 keys
    for batch, (pointer, filled) in zip([3, 2, 4, 2], expected, strict=True):
        queue.enqueue(torch.ones(batch, 2))
        assert (int(queue.pointer), int(queue.filled)) == (pointer, filled)


def test_wrap_around_overwrites_oldest_positions() -> None:
    queue = FeatureQueue(size=4, dim=1)
    queue.enqueue(torch.tensor([[0.0], [1.0], [2.0]]))
    queue.enqueue(torch.tensor([[3.0], [4.0]]))  # 3 -> slot 3, 4 wraps to slot 0
    assert queue.features.flatten().tolist() == [4.0, 1.0, 2.0, 3.0]
    assert int(queue.pointer) == 1


def test_batch_larger_than_queue_keeps_last_size_keys() -> None:
    queue = FeatureQueue(size=4, dim=1)
    queue.enqueue(torch.arange(10.0).reshape(10, 1))
    assert sorted(queue.negatives().flatten().tolist()) == [6.0, 7.0, 8.0, 9.0]
    assert _oldest_first(queue).flatten().tolist() == [6.0, 7.0, 8.0, 9.0]
    assert len(queue) == 4


def test_negatives_returns_only_filled_part() -> None:
    queue = FeatureQueue(size=10, dim=3)
    assert queue.negatives().shape == (0, 3)
    keys = _keys(4, 3, seed=1)
    queue.enqueue(keys)
    assert queue.negatives().shape == (4, 3)
    assert_close(queue.negatives(), keys)


def test_keys_are_detached() -> None:
    queue = FeatureQueue(size=4, dim=3)
    keys = _keys(2, 3, seed=2).requires_grad_()
    queue.enqueue(keys * 2)
    negatives = queue.negatives()
    assert not negatives.requires_grad and negatives.grad_fn is None
    assert not queue.features.requires_grad


def test_state_round_trip_continues_identically() -> None:
    rng = random.Random(1)
    size, dim = 6, 4
    queue = FeatureQueue(size, dim)
    for step in range(5):
        queue.enqueue(_keys(rng.randint(1, 4), dim, seed=step))
    restored = FeatureQueue(size, dim)
    restored.load_state_dict(_round_trip(queue))
    assert len(restored) == len(queue) > 0  # not an empty queue
    for step in range(5, 25):
        keys = _keys(rng.randint(0, 9), dim, seed=step)
        queue.enqueue(keys)
        restored.enqueue(keys)
        assert_close(restored.features, queue.features, rtol=0, atol=0)
        assert int(restored.pointer) == int(queue.pointer)
        assert int(restored.filled) == int(queue.filled)
        assert_close(restored.negatives(), queue.negatives(), rtol=0, atol=0)


def test_state_dict_holds_pointer_and_fill_count() -> None:
    queue = FeatureQueue(size=5, dim=2)
    queue.enqueue(torch.ones(3, 2))
    state = _round_trip(queue)
    assert set(state) == {"features", "pointer", "filled"}
    assert (int(state["pointer"]), int(state["filled"])) == (3, 3)


@pytest.mark.parametrize(("size", "dim"), [(8, 4), (4, 5)])
def test_loading_different_shape_raises_naming_it(size: int, dim: int) -> None:
    saved = FeatureQueue(size, dim)
    saved.enqueue(torch.ones(2, dim))
    with pytest.raises(ValueError, match=rf"\({size}, {dim}\)"):
        FeatureQueue(4, 4).load_state_dict(_round_trip(saved))


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 5), (1, 2, 4)])
def test_bad_key_shape_raises(shape: tuple[int, ...]) -> None:
    queue = FeatureQueue(size=4, dim=4)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        queue.enqueue(torch.zeros(shape))
    assert len(queue) == 0


@pytest.mark.parametrize(("size", "dim"), [(0, 4), (-1, 4), (4, 0)])
def test_bad_size_or_dim_raises(size: int, dim: int) -> None:
    with pytest.raises(ValueError, match="size and dim must be >= 1"):
        FeatureQueue(size, dim)
