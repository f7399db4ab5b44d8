"""Tests for the built-in encoders: shapes, feature_dim, the CIFAR stem, grayscale, factory."""

import pytest
import torch
from torch import nn

from contrastkit.encoders import SmallConvNet, SmallViT, build_encoder, resnet


def test_resnet18_cifar_stem_shape_and_layers() -> None:
    encoder = resnet("resnet18", cifar_stem=True)
    assert encoder.feature_dim == 512
    assert encoder(torch.randn(2, 3, 32, 32)).shape == (2, 512)
    conv1 = encoder.module.conv1
    assert conv1.kernel_size == (3, 3) and conv1.stride == (1, 1)
    assert isinstance(encoder.module.maxpool, nn.Identity)
    assert isinstance(encoder.module.fc, nn.Identity)


def test_resnet18_default_stem_and_grayscale() -> None:
    encoder = resnet("resnet18", in_channels=1)
    conv1 = encoder.module.conv1
    assert conv1.in_channels == 1 and conv1.kernel_size == (7, 7) and conv1.stride == (2, 2)
    assert isinstance(encoder.module.maxpool, nn.MaxPool2d)
    assert encoder(torch.randn(2, 1, 32, 32)).shape == (2, 512)


def test_resnet50_one_forward() -> None:
    encoder = resnet("resnet50", cifar_stem=True, in_channels=1)
    assert encoder.feature_dim == 2048
    with torch.no_grad():
        assert encoder.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 2048)


@pytest.mark.parametrize(("channels", "size"), [(1, 8), (1, 28), (3, 32)])
def test_small_convnet_sizes(channels: int, size: int) -> None:
    net = SmallConvNet(channels, width=4, feature_dim=24)
    assert net.feature_dim == 24
    assert net(torch.randn(2, channels, size, size)).shape == (2, 24)


def test_small_convnet_rejects_tiny_images() -> None:
    with pytest.raises(ValueError, match="H, W >= 8"):
        SmallConvNet(1, width=4)(torch.randn(2, 1, 4, 4))


@pytest.mark.parametrize("channels", [1, 3])
def test_small_vit_shape_and_cls_feature(channels: int) -> None:
    vit = SmallViT(8, 4, channels, dim=12, depth=1, heads=3)
    x = torch.randn(2, channels, 8, 8)
    assert vit.feature_dim == 12 and vit(x).shape == (2, 12)
    tokens = vit.patch_embed(x).flatten(2).transpose(1, 2)
    tokens = torch.cat([vit.cls_token.expand(2, -1, -1), tokens], dim=1) + vit.pos_embed
    torch.testing.assert_close(vit(x), vit.norm(vit.blocks(tokens))[:, 0])


def test_small_vit_attention_matches_naive_softmax() -> None:
    vit = SmallViT(8, 4, 1, dim=6, depth=1, heads=2)
    attention, x = vit.blocks[0].attn, torch.randn(2, 5, 6)
    q, k, v = attention.qkv(x).reshape(2, 5, 3, 2, 3).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-2, -1) / 3**0.5, dim=-1)
    expected = attention.proj((weights @ v).transpose(1, 2).reshape(2, 5, 6))
    torch.testing.assert_close(attention(x), expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_size": 10, "patch_size": 4}, "must divide image_size"),
        ({"image_size": 8, "patch_size": 4, "dim": 10, "heads": 3}, "must divide dim"),
        ({"image_size": 8, "patch_size": 0}, "patch_size must be >= 1"),
    ],
)
def test_small_vit_rejects_bad_sizes(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SmallViT(**kwargs)


def test_small_vit_rejects_wrong_input_size() -> None:
    with pytest.raises(ValueError, match="SmallViT expects"):
        SmallViT(8, 4, 1, dim=6, depth=1, heads=2)(torch.randn(2, 1, 16, 16))


def test_build_encoder_names_and_errors() -> None:
    assert build_encoder("resnet18", cifar_stem=True).feature_dim == 512
    assert build_encoder("small_convnet", in_channels=1, width=4, feature_dim=8).feature_dim == 8
    vit = build_encoder("small_vit", image_size=8, patch_size=4, dim=6, depth=1, heads=2)
    assert vit.feature_dim == 6
    with pytest.raises(ValueError, match="choose one of resnet18, resnet18_cifar, resnet50"):
        build_encoder("vgg16")
    with pytest.raises(ValueError, match=r"bad arguments for encoder 'small_vit'.*patch_size"):
        build_encoder("small_vit", image_size=8)
    with pytest.raises(ValueError, match="unknown resnet"):
        resnet("resnet34")
