"""Shared fixtures: small random image batches and seeded CPU generators."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def rgb() -> torch.Tensor:
    """(6, 3, 32, 32) float images in [0, 1]."""
    return torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def gray() -> torch.Tensor:
    """(6, 1, 8, 8) float images in [0, 1] (digits-sized)."""
    return torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2))


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)
