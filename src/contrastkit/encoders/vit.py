"""A small Vision Transformer (ViT, arXiv 2010.11929) whose feature is the CLS token."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Attention(nn.Module):
    """Multi-head self-attention with PyTorch's fused ``scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, D / heads)
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SmallViT(nn.Module):
    """ViT with a CLS token; the feature is the CLS output after the final LayerNorm.

    The image is cut into ``(image_size / patch_size)^2`` patches, embedded linearly, prefixed
    with a learned CLS token, given learned position embeddings and passed through ``depth``
    pre-norm blocks. The defaults are ViT-Tiny's width (192, 3 heads) at depth 6.

    Args:
        image_size: side H = W of the (square) input images.
        patch_size: side of a patch; must divide ``image_size``.
        in_channels: input channels C.
        dim: token width, the output ``feature_dim``.
        depth: number of transformer blocks.
        heads: attention heads; must divide ``dim``.
        mlp_ratio: MLP hidden width as a multiple of ``dim``.

    Shapes: (B, C, image_size, image_size) -> (B, dim).

    Example:
        >>> import torch
        >>> vit = SmallViT(32, 8, 3, dim=48, depth=2, heads=3)
        >>> vit(torch.randn(2, 3, 32, 32)).shape
        torch.Size([2, 48])
    """

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        in_channels: int = 3,
        *,
        dim: int = 192,
        depth: int = 6,
        heads: int = 3,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        sizes = {"image_size": image_size, "patch_size": patch_size, "in_channels": in_channels}
        for name, value in {**sizes, "dim": dim, "depth": depth, "heads": heads}.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if image_size % patch_size:
            raise ValueError(f"patch_size {patch_size} must divide image_size {image_size}")
        if dim % heads:
            raise ValueError(f"heads {heads} must divide dim {dim}")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {mlp_ratio}")
        self.image_size, self.in_channels, self.feature_dim = image_size, in_channels, dim
        self.patch_embed = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (image_size // patch_size) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp_ratio) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"SmallViT expects (B, *{expected}) images, got {tuple(x.shape)}")
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, dim)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        return self.norm(self.blocks(tokens))[:, 0]
