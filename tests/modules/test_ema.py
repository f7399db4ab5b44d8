"""Tests for update_ema (against a hand-written reference) and cosine_momentum."""

import copy
import itertools
import math

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from contrastkit.modules import cosine_momentum, update_ema


def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 2))


def _trained_pair() -> tuple[nn.Module, nn.Module]:
    """Online and target with different weights and different BatchNorm statistics."""
    online, target = _net(0), _net(1)
    torch.manual_seed(2)
    for _ in range(3):
        online(torch.randn(8, 4) * 3 + 1)  # train mode: moves running stats, num_batches_tracked
    target(torch.randn(8, 4))
    return online, target


def _reference_ema(online: nn.Module, target: nn.Module, m: float) -> dict[str, torch.Tensor]:
    """target = m * target + (1 - m) * online for floats; integer buffers copied."""
    online_state = online.state_dict()
    expected = {}
    for name, value in target.state_dict().items():
        if value.is_floating_point():
            expected[name] = m * value.clone() + (1 - m) * online_state[name]
        else:
            expected[name] = online_state[name].clone()
    return expected


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9, 0.996, 1.0])
def test_update_matches_reference_with_batchnorm(momentum: float) -> None:
    online, target = _trained_pair()
    expected = _reference_ema(online, target, momentum)
    online_before = copy.deepcopy(online.state_dict())
    update_ema(online, target, momentum)
    state = target.state_dict()
    assert set(state) == set(expected)
    for name, value in expected.items():
        assert_close(state[name], value, msg=name)
    assert int(state["1.num_batches_tracked"]) == 3
    for name, value in online.state_dict().items():  # online is untouched
        assert torch.equal(value, online_before[name])


def test_momentum_zero_copies_online() -> None:
    online, target = _trained_pair()
    update_ema(online, target, 0.0)
    for name, value in online.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name


def test_momentum_one_leaves_floats_unchanged() -> None:
    online, target = _trained_pair()
    before = copy.deepcopy(target.state_dict())
    update_ema(online, target, 1.0)
    for name, value in target.state_dict().items():
        if value.is_floating_point():
            assert torch.equal(value, before[name]), name


def test_repeated_updates_converge_to_online() -> None:
    online, target = _trained_pair()
    for _ in range(200):
        update_ema(online, target, 0.9)
    for name, value in online.state_dict().items():
        assert_close(target.state_dict()[name], value, msg=name)


@pytest.mark.parametrize("momentum", [-0.1, 1.01, float("nan")])
def test_momentum_out_of_range_raises(momentum: float) -> None:
    online, target = _trained_pair()
    with pytest.raises(ValueError, match="momentum"):
        update_ema(online, target, momentum)


def test_mismatched_keys_raise() -> None:
    with pytest.raises(ValueError, match="same structure"):
        update_ema(_net(0), nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2)), 0.5)


def test_mismatched_shapes_raise() -> None:
    # Same keys, different widths; (1, 4) would silently broadcast into (3, 4) under lerp_.
    with pytest.raises(ValueError):
        update_ema(nn.Linear(4, 1), nn.Linear(4, 3), 0.5)


def test_tied_weights_are_averaged_once() -> None:
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

    online, target = Tied(), Tied()
    nn.init.constant_(online.a.weight, 1.0)
    nn.init.constant_(target.a.weight, 0.0)
    update_ema(online, target, 0.5)
    assert_close(target.a.weight.detach(), torch.full((2, 2), 0.5))


def test_no_gradient_is_recorded() -> None:
    online, target = _trained_pair()
    update_ema(online, target, 0.9)
    for parameter in target.parameters():
        assert parameter.is_leaf and parameter.grad_fn is None and parameter.grad is None
    for parameter in online.parameters():
        assert parameter.grad is None
    loss = target(torch.randn(4, 4)).sum()  # target still usable as a leaf-parameter module
    loss.backward()
    assert all(p.grad is not None for p in target.parameters())
    assert all(p.grad is None for p in online.parameters())


def test_cosine_momentum_endpoints_and_midpoint() -> None:
    assert cosine_momentum(0.0) == pytest.approx(0.996)
    assert cosine_momentum(1.0) == pytest.approx(1.0)
    assert cosine_momentum(0.0, base=0.99, final=0.999) == pytest.approx(0.99)
    assert cosine_momentum(1.0, base=0.99, final=0.999) == pytest.approx(0.999)
    assert cosine_momentum(0.5, base=0.99, final=0.999) == pytest.approx((0.99 + 0.999) / 2)


def test_cosine_momentum_matches_formula_and_is_monotone() -> None:
    progress = [i / 100 for i in range(101)]
    values = [cosine_momentum(p, base=0.9, final=1.0) for p in progress]
    for p, value in zip(progress, values, strict=True):
        assert value == pytest.approx(1.0 - 0.1 * (math.cos(math.pi * p) + 1) / 2)
    assert all(a < b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize("progress", [-0.01, 1.01, float("nan")])
def test_cosine_momentum_progress_out_of_range_raises(progress: float) -> None:
    with pytest.raises(ValueError, match="progress"):
        cosine_momentum(progress)
