"""Backbones that map raw input to a (B, feature_dim) feature vector."""

from contrastkit.encoders.base import Encoder
from contrastkit.encoders.build import ENCODERS, build_encoder
from contrastkit.encoders.efficientnet_lite import efficientnet_lite0
from contrastkit.encoders.image_tower import ImageTower
from contrastkit.encoders.resnet import resnet
from contrastkit.encoders.small_convnet import SmallConvNet
from contrastkit.encoders.torchvision_model import torchvision_tower
from contrastkit.encoders.towers import build_tower
from contrastkit.encoders.vit import SmallViT

__all__ = [
    "ENCODERS",
    "Encoder",
    "ImageTower",
    "SmallConvNet",
    "SmallViT",
    "build_encoder",
    "build_tower",
    "efficientnet_lite0",
    "resnet",
    "torchvision_tower",
]
