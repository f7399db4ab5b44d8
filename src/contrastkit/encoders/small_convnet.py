"""A small 4-block ConvNet for 8x8 to 32x32 images, fast enough to train on a CPU."""

from __future__ import annotations

from torch import Tensor, nn


class SmallConvNet(nn.Module):
    """Four conv-BN-ReLU blocks, 2x2 max-pooling after the first three, global average pool.

    Channel widths are ``width, 2*width, 4*width, feature_dim``. Three poolings take 32x32
    (CIFAR) to 4x4, 28x28 (Fashion-MNIST) to 3x3 and 8x8 (digits) to 1x1 before the last block,
    so one network serves all three sizes.

    Args:
        in_channels: input channels C (3 for RGB, 1 for grayscale).
        width: channels of the first block.
        feature_dim: channels of the last block, the output dimension.

    Shapes: (B, C, H, W) with H, W >= 8 -> (B, feature_dim).

    Example:
        >>> import torch
        >>> net = SmallConvNet(1, width=8, feature_dim=32)
        >>> net(torch.randn(4, 1, 28, 28)).shape
        torch.Size([4, 32])
    """

    def __init__(self, in_channels: int = 3, *, width: int = 32, feature_dim: int = 256) -> None:
        super().__init__()
        for name, value in {"in_channels": in_channels, "width": width}.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if feature_dim < 1:
            raise ValueError(f"feature_dim must be >= 1, got {feature_dim}")
        widths = [in_channels, width, 2 * width, 4 * width, feature_dim]
        layers: list[nn.Module] = []
        for index in range(4):
            layers += [
                nn.Conv2d(widths[index], widths[index + 1], 3, padding=1, bias=False),
                nn.BatchNorm2d(widths[index + 1]),
                nn.ReLU(inplace=True),
            ]
            if index < 3:
                layers.append(nn.MaxPool2d(2))
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.feature_dim = feature_dim

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or min(x.shape[-2:]) < 8:
            raise ValueError(
                f"SmallConvNet expects (B, C, H, W) images with H, W >= 8, got {tuple(x.shape)}"
            )
        return self.layers(x)
