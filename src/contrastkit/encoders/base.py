"""Any backbone plus its feature dimension."""

from __future__ import annotations

from torch import Tensor, nn


class Encoder(nn.Module):
    """Wrap any ``nn.Module`` that maps a batch to (B, feature_dim) features.

    Methods read ``feature_dim`` to size their heads. Built-in encoders already carry it.

    Example:
        >>> import torch
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(64, 32)), feature_dim=32)
        >>> encoder(torch.randn(4, 1, 8, 8)).shape
        torch.Size([4, 32])
    """

    def __init__(self, module: nn.Module, *, feature_dim: int) -> None:
        super().__init__()
        if feature_dim < 1:
            raise ValueError(f"feature_dim must be >= 1, got {feature_dim}")
        self.module = module
        self.feature_dim = feature_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.module(x)
