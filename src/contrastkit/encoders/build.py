"""Encoders by name, for recipes and the CLI."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from contrastkit.encoders.resnet import resnet
from contrastkit.encoders.small_convnet import SmallConvNet
from contrastkit.encoders.vit import SmallViT

# name -> (builder, the keywords the name fixes)
ENCODERS: dict[str, tuple[Callable[..., nn.Module], dict[str, Any]]] = {
    "resnet18": (resnet, {"name": "resnet18"}),
    "resnet50": (resnet, {"name": "resnet50"}),
    "small_convnet": (SmallConvNet, {}),
    "small_vit": (SmallViT, {}),
}


def build_encoder(name: str, /, **kwargs: Any) -> nn.Module:
    """Build a built-in encoder by name; every one carries an integer ``feature_dim``.

    Names: "resnet18", "resnet50" (keywords of :func:`resnet`: ``cifar_stem``,
    ``in_channels``), "small_convnet" (:class:`SmallConvNet`), "small_vit" (:class:`SmallViT`).

    Example:
        >>> build_encoder("small_convnet", in_channels=1, width=8, feature_dim=16).feature_dim
        16
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    builder, fixed = ENCODERS[name]
    parameters = [p for p in inspect.signature(builder).parameters.values() if p.name not in fixed]
    try:
        inspect.Signature(parameters).bind(**kwargs)
    except TypeError as error:
        accepted = ", ".join(p.name for p in parameters)
        raise ValueError(
            f"bad arguments for encoder {name!r}: {error}; it takes {accepted}"
        ) from None
    return builder(**fixed, **kwargs)
