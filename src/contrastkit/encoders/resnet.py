"""torchvision ResNets as feature encoders, with SimCLR's CIFAR stem."""

from __future__ import annotations

from torch import nn
from torchvision import models

from contrastkit.encoders.base import Encoder

RESNET_FEATURE_DIMS = {"resnet18": 512, "resnet50": 2048}


def resnet(name: str = "resnet18", *, cifar_stem: bool = False, in_channels: int = 3) -> Encoder:
    """A randomly initialized torchvision ResNet without its classifier (``fc`` is Identity).

    ``cifar_stem`` replaces the 7x7 stride-2 ``conv1`` by a 3x3 stride-1 conv and removes the
    max-pool, as SimCLR does for 32x32 CIFAR images (arXiv 2002.05709, Appendix B.9).
    ``in_channels`` other than 3 (grayscale) rebuilds ``conv1`` for that many channels.

    Args:
        name: "resnet18" (feature_dim 512) or "resnet50" (feature_dim 2048).
        cifar_stem: use the CIFAR stem for small images.
        in_channels: input channels C.

    Returns:
        An :class:`Encoder` mapping (B, C, H, W) to (B, feature_dim); the torchvision network is
        its ``module``.

    Example:
        >>> import torch
        >>> encoder = resnet("resnet18", cifar_stem=True)
        >>> encoder(torch.randn(2, 3, 32, 32)).shape, encoder.feature_dim
        (torch.Size([2, 512]), 512)
    """
    if name not in RESNET_FEATURE_DIMS:
        raise ValueError(f"unknown resnet {name!r}; choose one of {sorted(RESNET_FEATURE_DIMS)}")
    if in_channels < 1:
        raise ValueError(f"in_channels must be >= 1, got {in_channels}")
    net = models.resnet18(weights=None) if name == "resnet18" else models.resnet50(weights=None)
    if cifar_stem:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    if cifar_stem or in_channels != 3:  # torchvision's initialization for the new conv1
        nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.fc = nn.Identity()
    return Encoder(net, feature_dim=RESNET_FEATURE_DIMS[name])
