"""Any torchvision classification model as an image tower (random or local weights)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from contrastkit.encoders.image_tower import ImageTower

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_HEADS = ("fc", "classifier", "heads", "head")  # where torchvision models keep their classifier


def _strip_classifier(model: nn.Module, name: str) -> int:
    """Replace the classifier by an identity; return the width of the features it received."""
    for attribute in _HEADS:
        head = getattr(model, attribute, None)
        if not isinstance(head, nn.Module):
            continue
        linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
        if isinstance(head, nn.Linear) or linears:
            width = (head if isinstance(head, nn.Linear) else linears[0]).in_features
            setattr(model, attribute, nn.Identity())
            return int(width)
    raise ValueError(
        f"torchvision model {name!r} has no linear classifier in {', '.join(_HEADS)}; wrap it "
        "yourself with contrastkit.encoders.ImageTower(backbone, feature_dim=..., input_size=...)"
    )


def torchvision_tower(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = None,
    image_size: int = 224,
) -> ImageTower:
    """A torchvision model (``torchvision.models.get_model(name)``) without its classifier.

    Nothing is downloaded: the model starts from random weights unless ``weights`` names a
    local file holding the model's state dict (e.g. one saved from ``torchvision.models.
    resnet18(weights=...)`` on a machine with internet). Images are normalized with the
    ImageNet mean and standard deviation torchvision's weights expect.

    Args:
        name: a torchvision model name ("resnet18", "mobilenet_v3_small", "convnext_tiny", ...).
        weights: a local state-dict file (with the classifier, as torchvision saves it).
        image_size: input side in pixels (ViTs need 224).

    Returns:
        An :class:`ImageTower` whose ``feature_dim`` is the classifier's input width.

    Raises:
        ValueError: an unknown name, a missing or mismatched weights file, or a model without a
            linear classifier.

    Example:
        >>> tower = torchvision_tower("resnet18", image_size=32)
        >>> tower.feature_dim, tower(torch.rand(2, 3, 32, 32)).shape
        (512, torch.Size([2, 512]))
    """
    import torchvision

    if name not in torchvision.models.list_models(module=torchvision.models):
        raise ValueError(
            f"unknown torchvision model {name!r}; see torchvision.models.list_models() "
            "(e.g. resnet18, mobilenet_v3_small)"
        )
    model = torchvision.models.get_model(name, weights=None)
    if weights is not None:
        path = Path(weights).expanduser()
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (OSError, RuntimeError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path}: not a readable state dict of torchvision's {name} ({error})"
            ) from error
    feature_dim = _strip_classifier(model, name)
    return ImageTower(
        model,
        feature_dim=feature_dim,
        input_size=image_size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
