"""Backbones that map raw input to a (B, feature_dim) feature vector."""

from contrastkit.encoders.base import Encoder
from contrastkit.encoders.build import ENCODERS, build_encoder
from contrastkit.encoders.resnet import resnet
from contrastkit.encoders.small_convnet import SmallConvNet
from contrastkit.encoders.vit import SmallViT

__all__ = ["ENCODERS", "Encoder", "SmallConvNet", "SmallViT", "build_encoder", "resnet"]
