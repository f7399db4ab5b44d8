"""Schedules, parameter groups, LARS and the optimizer factory."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

from contrastkit.train import LARS, build_optimizer, parameter_groups, warmup_cosine


def test_warmup_cosine_shape() -> None:
    values = [warmup_cosine(s, 100, base=1.0, warmup_steps=10, final=0.1) for s in range(101)]
    assert values[0] == pytest.approx(0.1) and values[9] == pytest.approx(1.0)
    assert values[10] == pytest.approx(1.0) and values[100] == pytest.approx(0.1)
    assert values[55] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 0.5)) / 2)
    decay = values[10:]
    assert all(a >= b for a, b in itertools.pairwise(decay))


def test_warmup_cosine_rejects_bad_lengths() -> None:
    with pytest.raises(ValueError, match="warmup_steps"):
        warmup_cosine(0, 10, base=1.0, warmup_steps=11)


def test_parameter_groups_skip_biases_norms_and_frozen() -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    model[2].weight.requires_grad_(False)
    decayed, plain = parameter_groups(model, weight_decay=0.1)
    assert [p.shape for p in decayed["params"]] == [torch.Size([3, 4])]
    assert len(plain["params"]) == 4 and plain["weight_decay"] == 0.0 and plain["lars_exclude"]


def test_lars_step_matches_the_formula() -> None:
    weight = nn.Parameter(torch.tensor([[3.0, 4.0]]))
    bias = nn.Parameter(torch.tensor([1.0]))
    optimizer = LARS(
        [
            {"params": [weight], "weight_decay": 0.1, "lars_exclude": False},
            {"params": [bias], "weight_decay": 0.0, "lars_exclude": True},
        ],
        lr=0.5,
        momentum=0.9,
        eta=0.01,
    )
    weight.grad, bias.grad = torch.tensor([[1.0, 0.0]]), torch.tensor([2.0])
    optimizer.step()
    grad = torch.tensor([[1.0, 0.0]]) + 0.1 * torch.tensor([[3.0, 4.0]])
    trust = 0.01 * 5.0 / torch.linalg.norm(grad)
    torch.testing.assert_close(weight.data, torch.tensor([[3.0, 4.0]]) - 0.5 * trust * grad)
    torch.testing.assert_close(bias.data, torch.tensor([0.0]))  # plain SGD: 1 - 0.5 * 2


@pytest.mark.parametrize("name", ["sgd", "lars", "adamw"])
def test_build_optimizer_makes_two_groups(name: str) -> None:
    optimizer = build_optimizer(nn.Linear(3, 2), name, lr=0.1, weight_decay=1e-4)
    assert [len(group["params"]) for group in optimizer.param_groups] == [1, 1]


def test_build_optimizer_errors() -> None:
    with pytest.raises(ValueError, match="optimizer must be one of"):
        build_optimizer(nn.Linear(3, 2), "adam", lr=0.1, weight_decay=0.0)
    with pytest.raises(ValueError, match="no trainable"):
        build_optimizer(nn.Linear(3, 2).requires_grad_(False), "sgd", lr=0.1, weight_decay=0.0)
