"""``backbone``: an image run's encoder as safetensors, a JSON that rebuilds it, and its
preprocessing.

Files: ``backbone.safetensors`` (a torchvision ResNet's weights under torchvision's own names;
the library's own encoders under theirs), ``backbone.json`` (the registered encoder name and
options that rebuild it with :func:`contrastkit.registry.build_encoder`) and
``preprocessing.json`` (channels, evaluation size and crop, normalization mean and std).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.encoders.build import ENCODERS, build_encoder
from contrastkit.encoders.resnet import resnet
from contrastkit.export.weights import load_into, save_weights
from contrastkit.transforms.multiview import MultiView, to_float_images
from contrastkit.transforms.resize import center_crop, resize_shorter_side

WEIGHTS_NAME = "backbone.safetensors"
CONFIG_NAME = "backbone.json"
PREPROCESSING_NAME = "preprocessing.json"


def image_encoder(method: nn.Module) -> nn.Module:
    """The encoder behind ``method.encode``: DINO's teacher, every other method's ``encoder``."""
    encoder = getattr(method, "teacher_encoder", None)
    if encoder is None:
        encoder = getattr(method, "encoder", None)
    if not isinstance(encoder, nn.Module):
        raise ValueError(f"{type(method).__name__} has no image encoder to export")
    return encoder


def preprocessing(views: MultiView, channels: int, image_size: int) -> dict[str, Any]:
    """What an image goes through before the encoder (the run's evaluation transform)."""
    return {
        "input": "uint8 (B, C, H, W) images, or float in [0, 1]",
        "channels": channels,
        "image_size": image_size,
        "eval_size": views.eval_size,
        "eval_crop_fraction": views.eval_crop_fraction,
        "mean": list(views.mean),
        "std": list(views.std),
    }


def preprocess(images: Tensor, config: dict[str, Any]) -> Tensor:
    """Images to the encoder's input by ``preprocessing.json``: to float, resize and
    center-crop (when ``eval_size`` is set), normalize."""
    x = to_float_images(images)
    if config["eval_size"] is not None:
        short = round(config["eval_size"] / config["eval_crop_fraction"])
        x = center_crop(resize_shorter_side(x, short), config["eval_size"])
    mean = torch.tensor(config["mean"], dtype=x.dtype).view(1, -1, 1, 1)
    std = torch.tensor(config["std"], dtype=x.dtype).view(1, -1, 1, 1)
    return (x - mean) / std


def write_backbone(run: Any, folder: Path) -> str:
    """Write an image run's backbone into ``folder``; returns the card's "how to load"."""
    from contrastkit.modalities.image.modality import build_views

    model = run.recipe.model
    channels = int(run.spec["in_channels"])
    method = run.method.cpu().eval()
    encoder: Any = image_encoder(method)
    size = run.recipe.data.image_size
    probe = torch.randn(2, channels, size, size)
    with torch.no_grad():
        if not torch.equal(encoder(probe), method.encode(probe)):
            raise RuntimeError(f"{type(method).__name__}.encode is not its encoder's output")
    torchvision_names = ENCODERS[model.encoder][0] is resnet
    weights = encoder.module if torchvision_names else encoder
    save_weights(weights.state_dict(), folder / WEIGHTS_NAME)
    builder_fixed = ENCODERS[model.encoder][1]
    config = {
        "encoder": model.encoder,
        "encoder_options": {"in_channels": channels, **model.encoder_options},
        "feature_dim": int(encoder.feature_dim),
        "weight_names": "torchvision" if torchvision_names else "contrastkit",
        "torchvision_model": builder_fixed.get("name") if torchvision_names else None,
        "cifar_stem": bool(builder_fixed.get("cifar_stem", False)),
    }
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    views = build_views(run.recipe.data, channels)
    prep = preprocessing(views, channels, run.recipe.data.image_size)
    (folder / PREPROCESSING_NAME).write_text(json.dumps(prep, indent=2) + "\n")
    return _how_to_load(config)


def _how_to_load(config: dict[str, Any]) -> str:
    python = [
        "```python",
        "import contrastkit",
        "",
        "backbone = contrastkit.load_model('THIS_FOLDER')",
        "features = backbone.encode_image(images)   # uint8 (B, C, H, W) -> "
        f"(B, {config['feature_dim']})",
        "```",
    ]
    if config["weight_names"] != "torchvision":
        return "\n".join(python)
    stem = (
        [
            f"net.conv1 = nn.Conv2d({config['encoder_options']['in_channels']}, 64, 3, 1, 1, "
            "bias=False)",
            "net.maxpool = nn.Identity()",
        ]
        if config["cifar_stem"]
        else []
    )
    channels = config["encoder_options"]["in_channels"]
    if not config["cifar_stem"] and channels != 3:
        stem = [f"net.conv1 = nn.Conv2d({channels}, 64, 7, 2, 3, bias=False)"]
    plain = [
        "",
        "Without contrastkit (torchvision; normalize as `preprocessing.json` says):",
        "",
        "```python",
        "import torchvision",
        "from safetensors.torch import load_file",
        "from torch import nn",
        "",
        f"net = torchvision.models.{config['torchvision_model']}(weights=None)",
        "net.fc = nn.Identity()",
        *stem,
        f"net.load_state_dict(load_file('THIS_FOLDER/{WEIGHTS_NAME}'), strict=True)",
        "```",
    ]
    return "\n".join(python + plain)


class ImageBackbone:
    """An exported image backbone: the rebuilt encoder and its preprocessing.

    Attributes:
        encoder: the encoder (``nn.Module``, eval mode): normalized (B, C, S, S) -> (B, F).
        preprocessing: the contents of ``preprocessing.json``.
    """

    def __init__(self, encoder: nn.Module, preprocessing: dict[str, Any]) -> None:
        self.encoder = encoder.eval()
        self.preprocessing = preprocessing

    @torch.no_grad()
    def encode_image(self, images: Tensor) -> Tensor:
        """(B, F) features of uint8 (or float in [0, 1]) images (B, C, H, W), as the run's
        ``embed`` computes them."""
        return self.encoder(preprocess(images, self.preprocessing))


def load_backbone(folder: Path) -> ImageBackbone:
    """The backbone exported to ``folder`` (:func:`write_backbone`)."""
    config = json.loads((folder / CONFIG_NAME).read_text())
    encoder: Any = build_encoder(config["encoder"], **config["encoder_options"])
    target = encoder.module if config["weight_names"] == "torchvision" else encoder
    load_into(target, folder / WEIGHTS_NAME)
    return ImageBackbone(encoder, json.loads((folder / PREPROCESSING_NAME).read_text()))
