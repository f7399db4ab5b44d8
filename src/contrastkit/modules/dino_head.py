"""DINO's projection head: MLP, L2-normalized bottleneck, weight-normalized prototypes."""

from __future__ import annotations

import itertools

import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import weight_norm


class DINOHead(nn.Module):
    """The DINO head (arXiv 2104.14294): MLP -> L2-normalize -> weight-normalized Linear.

    A ``num_layers`` MLP with GELU (hidden ``hidden_dim``) maps features to a
    ``bottleneck_dim`` vector, which is L2-normalized and scored against ``out_dim``
    prototypes by a weight-normalized Linear layer without bias whose norm is fixed to 1
    (the paper's ``norm_last_layer=True``).

    Args:
        in_dim: feature dimension of the encoder.
        out_dim: number of prototypes K (65,536 in the paper; a few thousand for small data).
        hidden_dim: MLP width (2048).
        bottleneck_dim: width before the prototypes (256).
        num_layers: MLP layers (3).

    Shapes: input (B, in_dim) -> output (B, out_dim).

    Example:
        >>> import torch
        >>> head = DINOHead(64, out_dim=100, hidden_dim=128, bottleneck_dim=32)
        >>> head(torch.randn(4, 64)).shape
        torch.Size([4, 100])
    """

    def __init__(
        self,
        in_dim: int,
        *,
        out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        num_layers: int = 3,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        dims = [in_dim, *([hidden_dim] * (num_layers - 1)), bottleneck_dim]
        layers: list[nn.Module] = []
        for i, (width_in, width_out) in enumerate(itertools.pairwise(dims)):
            layers.append(nn.Linear(width_in, width_out))
            if i < num_layers - 1:
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.prototypes = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        original = self.prototypes.parametrizations.weight.original0
        original.data.fill_(1.0)
        original.requires_grad = False

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.prototypes(F.normalize(self.mlp(x), dim=-1))
