"""Encoders by name, for recipes and the CLI."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import nn

from contrastkit.encoders.resnet import resnet
from contrastkit.encoders.small_convnet import SmallConvNet
from contrastkit.encoders.vit import SmallViT

# name -> (builder, the keywords the name fixes); "_cifar": SimCLR's stem for 32x32 images
ENCODERS: dict[str, tuple[Callable[..., nn.Module], dict[str, Any]]] = {
    "resnet18": (resnet, {"name": "resnet18"}),
    "resnet18_cifar": (resnet, {"name": "resnet18", "cifar_stem": True}),
    "resnet50": (resnet, {"name": "resnet50"}),
    "resnet50_cifar": (resnet, {"name": "resnet50", "cifar_stem": True}),
    "small_convnet": (SmallConvNet, {}),
    "small_vit": (SmallViT, {}),
}


def build_encoder(name: str, /, **kwargs: Any) -> nn.Module:
    """Build a built-in encoder by name; every one carries an integer ``feature_dim``.

    Names: "resnet18", "resnet50" (keywords of :func:`resnet`: ``cifar_stem``,
    ``in_channels``), "resnet18_cifar", "resnet50_cifar" (the same with ``cifar_stem=True``:
    SimCLR's stem for 32x32 images; keyword ``in_channels``), "small_convnet"
    (:class:`SmallConvNet`), "small_vit" (:class:`SmallViT`). Keywords are a recipe's
    ``encoder_options``; one the encoder does not take raises a ``ValueError`` that lists those
    it does, so that any encoder of a recipe can be swapped for another with ``--set encoder=``.

    Example:
        >>> build_encoder("small_convnet", in_channels=1, width=8, feature_dim=16).feature_dim
        16
        >>> build_encoder("resnet18_cifar").module.conv1.kernel_size
        (3, 3)
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    builder, fixed = ENCODERS[name]
    parameters = [p for p in inspect.signature(builder).parameters.values() if p.name not in fixed]
    accepted = ", ".join(p.name for p in parameters) or "none"
    unknown = [key for key in kwargs if key not in {p.name for p in parameters}]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ValueError(
            f"encoder {name!r} does not take the option{plural} {', '.join(unknown)} "
            f"(encoder_options in a recipe); its options are {accepted}"
        )
    try:
        inspect.Signature(parameters).bind(**kwargs)
    except TypeError as error:
        raise ValueError(
            f"bad arguments for encoder {name!r}: {error}; its options are {accepted}"
        ) from None
    return builder(**fixed, **kwargs)
