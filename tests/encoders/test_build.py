"""build_encoder: names, the CIFAR-stem names, and options an encoder does not take."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.encoders import build_encoder, resnet
from contrastkit.recipe import load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
CIFAR10_RECIPES = sorted(RECIPES.glob("*_cifar10.toml"))


@pytest.mark.parametrize("depth", ["resnet18", "resnet50"])
def test_cifar_names_build_the_same_network_as_the_cifar_stem_option(depth: str) -> None:
    torch.manual_seed(0)
    named = build_encoder(f"{depth}_cifar", in_channels=3)
    torch.manual_seed(0)
    option = resnet(depth, cifar_stem=True)
    assert repr(named) == repr(option)
    assert named.feature_dim == option.feature_dim
    assert all(
        torch.equal(a, b)
        for a, b in zip(named.state_dict().values(), option.state_dict().values(), strict=True)
    )
    torch.manual_seed(0)  # the option keeps working by name too
    assert repr(build_encoder(depth, cifar_stem=True)) == repr(option)


def test_an_option_the_encoder_does_not_take_names_the_encoder_and_its_options() -> None:
    with pytest.raises(
        ValueError,
        match=r"encoder 'small_convnet' does not take the option cifar_stem .*"
        r"its options are in_channels, width, feature_dim",
    ):
        build_encoder("small_convnet", cifar_stem=True)
    with pytest.raises(ValueError, match=r"'resnet18_cifar' does not take .*options are in_chan"):
        build_encoder("resnet18_cifar", cifar_stem=False)
    with pytest.raises(ValueError, match=r"the options bogus, other"):
        build_encoder("small_vit", bogus=1, other=2)


def test_cifar10_recipes_name_the_cifar_resnet_without_options() -> None:
    assert len(CIFAR10_RECIPES) == 11
    for path in CIFAR10_RECIPES:
        recipe = load_recipe(path)
        assert (recipe.model.encoder, recipe.model.encoder_options) == ("resnet18_cifar", {})


@pytest.mark.parametrize("path", CIFAR10_RECIPES, ids=lambda path: path.stem)
def test_every_cifar10_recipe_can_swap_in_small_convnet(path: Path) -> None:
    model = load_recipe(path, ["encoder=small_convnet"]).model
    encoder = build_encoder(model.encoder, **{"in_channels": 3, **model.encoder_options})
    assert encoder(torch.rand(2, 3, 32, 32)).shape == (2, encoder.feature_dim)
