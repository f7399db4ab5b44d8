"""Tests for DINO's Center: running mean against a naive reference, state, errors."""

import io

import pytest
import torch
from torch.testing import assert_close

from contrastkit.modules import Center


def _batch(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _reference_update(center: list[float], batch: torch.Tensor, m: float) -> list[float]:
    """Naive loop: mean over every sample and view, then center = m*center + (1-m)*mean."""
    rows = batch.reshape(-1, batch.shape[-1]).tolist()
    means = [sum(row[k] for row in rows) / len(rows) for k in range(len(center))]
    return [m * c + (1 - m) * mean for c, mean in zip(center, means, strict=True)]


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_update_matches_naive_running_mean(momentum: float) -> None:
    dim = 5
    center, reference = Center(dim, momentum=momentum), [0.0] * dim
    for step, (batch, views) in enumerate([(4, 2), (3, 6), (8, 1), (2, 2)]):
        teacher_out = _batch(batch, views, dim, seed=step)
        center.update(teacher_out)
        reference = _reference_update(reference, teacher_out, momentum)
        assert_close(center.value, torch.tensor(reference))


def test_momentum_semantics() -> None:
    ones = torch.ones(4, 2, 3)
    center = Center(3, momentum=0.9)
    assert torch.equal(center.value, torch.zeros(3))
    center.update(ones)
    assert_close(center.value, torch.full((3,), 0.1))
    center.update(ones)
    assert_close(center.value, torch.full((3,), 0.19))

    frozen = Center(3, momentum=1.0)
    frozen.update(ones)
    assert torch.equal(frozen.value, torch.zeros(3))

    copy = Center(3, momentum=0.0)
    teacher_out = _batch(4, 2, 3, seed=0)
    copy.update(teacher_out)
    assert_close(copy.value, teacher_out.mean(dim=(0, 1)))


def test_update_records_no_gradient() -> None:
    center = Center(4)
    teacher_out = _batch(3, 2, 4, seed=1).requires_grad_()
    center.update(teacher_out * 2)
    assert not center.value.requires_grad and center.value.grad_fn is None


def test_value_is_a_state_dict_buffer_round_trip() -> None:
    center = Center(6, momentum=0.8)
    for step in range(3):
        center.update(_batch(5, 2, 6, seed=step))
    buffer = io.BytesIO()
    torch.save(center.state_dict(), buffer)
    buffer.seek(0)
    restored = Center(6, momentum=0.8)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert torch.equal(restored.value, center.value)
    assert list(center.state_dict()) == ["value"]
    next_batch = _batch(5, 2, 6, seed=9)
    center.update(next_batch)
    restored.update(next_batch)
    assert torch.equal(restored.value, center.value)


@pytest.mark.parametrize("shape", [(4, 2, 5), (4, 7), (3,)])
def test_wrong_last_dimension_raises(shape: tuple[int, ...]) -> None:
    center = Center(6)
    with pytest.raises(ValueError, match="dimension 6"):
        center.update(torch.zeros(shape))
    assert torch.equal(center.value, torch.zeros(6))


@pytest.mark.parametrize("momentum", [-0.1, 1.5])
def test_momentum_out_of_range_raises(momentum: float) -> None:
    with pytest.raises(ValueError, match="momentum"):
        Center(4, momentum=momentum)
