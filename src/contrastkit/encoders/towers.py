"""Towers by name, for two-tower recipes: image backbones, text encoders, MLPs on vectors."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.encoders.build import ENCODERS, build_encoder
from contrastkit.encoders.efficientnet_lite import efficientnet_lite0
from contrastkit.encoders.image_tower import ImageTower
from contrastkit.encoders.text import TEXT_ENCODERS, build_text_encoder
from contrastkit.encoders.torchvision_model import torchvision_tower
from contrastkit.modules.heads import MLP

TORCHVISION_PREFIX = "torchvision:"
IMAGE_TOWERS = ("efficientnet_lite0", *ENCODERS, f"{TORCHVISION_PREFIX}<name>")
TEXT_TOWERS = (*TEXT_ENCODERS, "<a local Hugging Face model folder>")
VECTOR_TOWERS = ("mlp",)


def mlp_tower(
    *, in_dim: int, hidden_dim: int = 256, feature_dim: int = 128, layers: int = 2
) -> Encoder:
    """An MLP (Linear-ReLU blocks, no BatchNorm) on (B, in_dim) vectors: a tower for any
    modality already given as numbers (tabular features, precomputed embeddings).

    Example:
        >>> import torch
        >>> mlp_tower(in_dim=10, hidden_dim=16, feature_dim=8)(torch.randn(3, 10)).shape
        torch.Size([3, 8])
    """
    if layers < 1:
        raise ValueError(f"layers must be >= 1, got {layers}")
    dims = [in_dim, *[hidden_dim] * (layers - 1), feature_dim]
    return Encoder(MLP(dims, batch_norm=False), feature_dim=feature_dim)


def _small_image_tower(name: str, options: dict[str, Any]) -> ImageTower:
    options = dict(options)
    image_size = int(options.pop("image_size", 32))
    backbone = build_encoder(name, **options)
    return ImageTower(backbone, feature_dim=backbone.feature_dim, input_size=image_size)  # type: ignore[arg-type]


def _check_options(name: str, builder: Any, options: dict[str, Any]) -> None:
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"tower {name!r} does not take {', '.join(unknown)}; it takes {', '.join(accepted)}"
        )


def build_tower(name: str, /, **options: Any) -> nn.Module:
    """Build one tower of a two-tower model; every tower carries an integer ``feature_dim``.

    Names:
        * images (an :class:`ImageTower`: pixels in, own size and normalization):
          ``"efficientnet_lite0"`` (ImageNet weights, offline; options of
          :func:`efficientnet_lite0`), ``"torchvision:<model>"`` (:func:`torchvision_tower`),
          and the small from-scratch encoders ``"small_convnet"``, ``"small_vit"``,
          ``"resnet18"``, ``"resnet50"`` (their options plus ``image_size``, default 32);
        * text (a :class:`~contrastkit.encoders.text.TextEncoder`): ``"minilm"``,
          ``"small_transformer"`` or a local Hugging Face model folder (options of
          ``build_text_encoder``: ``pooler``, ``layers``, ``width``...);
        * vectors: ``"mlp"`` (:func:`mlp_tower`, needs ``in_dim``).

    Raises:
        ValueError: an unknown name or option, or a missing optional extra (naming the fix).

    Example:
        >>> build_tower("small_convnet", width=8, feature_dim=16, image_size=16).feature_dim
        16
    """
    if name == "efficientnet_lite0":
        _check_options(name, efficientnet_lite0, options)
        return efficientnet_lite0(**options)
    if name.startswith(TORCHVISION_PREFIX):
        _check_options(name, torchvision_tower, options)
        return torchvision_tower(name[len(TORCHVISION_PREFIX) :], **options)
    if name == "mlp":
        _check_options(name, mlp_tower, options)
        return mlp_tower(**options)
    if name in ENCODERS:
        return _small_image_tower(name, options)
    if name in TEXT_ENCODERS or "/" in name or name.startswith(".") or Path(name).exists():
        return build_text_encoder(name, **options)
    raise ValueError(
        f"unknown tower {name!r}; image towers: {', '.join(IMAGE_TOWERS)}; text towers: "
        f"{', '.join(TEXT_TOWERS)}; vector towers: {', '.join(VECTOR_TOWERS)}"
    )


def is_text_tower(tower: nn.Module) -> bool:
    """Whether ``tower`` takes tokenized text (it has ``tokenize``, as every TextEncoder does).

    Example:
        >>> is_text_tower(mlp_tower(in_dim=4))
        False
    """
    return callable(getattr(tower, "tokenize", None))
