"""MultiView and the recipes: view shapes, normalization, eval, uint8 input, errors."""

from __future__ import annotations

import pytest
import torch

from contrastkit.transforms import (
    RECIPES,
    Compose,
    MultiView,
    RandomHorizontalFlip,
    byol,
    digits,
    multi_crop,
    simclr,
    simclr_imagenet,
)
from contrastkit.transforms.recipes import CIFAR10_MEAN


def _uint8(batch: int, channels: int, side: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(
        0, 256, (batch, channels, side, side), dtype=torch.uint8, generator=generator
    )


@pytest.mark.parametrize(
    ("view_maker", "channels", "side", "sizes"),
    [
        (simclr(32), 3, 32, [32, 32]),
        (simclr(8, channels=1), 1, 8, [8, 8]),
        (simclr(28, channels=1), 1, 28, [28, 28]),
        (digits(8), 1, 8, [8, 8]),
        (digits(28), 1, 28, [28, 28]),
        (simclr_imagenet(64), 3, 80, [64, 64]),
        (byol(48), 3, 64, [48, 48]),
        (multi_crop(48, 16, num_local=3), 3, 64, [48, 48, 16, 16, 16]),
    ],
)
def test_recipe_view_shapes(view_maker: MultiView, channels: int, side: int, sizes: list) -> None:
    images = _uint8(4, channels, side)
    views = view_maker(images, torch.Generator().manual_seed(0))
    assert [tuple(v.shape) for v in views] == [(4, channels, s, s) for s in sizes]
    assert all(v.dtype == torch.float32 for v in views)
    evaluated = view_maker.eval(images)
    assert evaluated.shape == (4, channels, sizes[0], sizes[0])
    torch.testing.assert_close(view_maker.eval(images), evaluated, rtol=0, atol=0)
    for view in views:
        shown = view_maker.denormalize(view)
        assert shown.min() >= 0 and shown.max() <= 1


def test_two_simclr_views_differ_and_are_normalized() -> None:
    images = _uint8(64, 3, 32)
    view_a, view_b = simclr(32)(images, torch.Generator().manual_seed(0))
    assert not torch.equal(view_a, view_b)
    mean = torch.tensor(CIFAR10_MEAN)[:, None, None]
    # normalized: a pixel of value 0 maps to -mean/std, which is negative
    assert view_a.min() < -1.0 and view_a.max() > 1.0
    assert torch.isfinite(view_a).all() and mean.shape == (3, 1, 1)


def test_uint8_and_float_input_give_the_same_views() -> None:
    images = _uint8(8, 3, 32)
    from_uint8 = simclr(32)(images, torch.Generator().manual_seed(3))
    from_float = simclr(32)(images.float() / 255, torch.Generator().manual_seed(3))
    for a, b in zip(from_uint8, from_float, strict=True):
        torch.testing.assert_close(a, b)


def test_eval_at_native_size_only_normalizes() -> None:
    images = _uint8(2, 3, 32)
    view_maker = simclr(32)
    expected = view_maker.normalize(images.float() / 255)
    torch.testing.assert_close(view_maker.eval(images), expected)


def test_imagenet_eval_resizes_then_center_crops() -> None:
    images = torch.rand(2, 3, 100, 150)
    evaluated = simclr_imagenet(64).eval(images)
    assert evaluated.shape == (2, 3, 64, 64)


def test_byol_views_are_asymmetric() -> None:
    first, second = byol(64).views
    assert [type(t).__name__ for t in first.transforms][-1] == "RandomGaussianBlur"  # type: ignore[attr-defined]
    assert [type(t).__name__ for t in second.transforms][-1] == "RandomSolarize"  # type: ignore[attr-defined]
    assert first.transforms[-1].p == 1.0 and second.transforms[-2].p == 0.1  # type: ignore[attr-defined]


def test_recipe_registry_names() -> None:
    assert {"simclr", "simclr_imagenet", "byol", "multi_crop", "digits"} <= set(RECIPES)
    assert all(isinstance(build(32), MultiView) for build in RECIPES.values())


def test_channel_mismatch_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"views_options = \{channels = 1\} in the recipe"):
        simclr(32)(_uint8(2, 1, 32), torch.Generator())


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: simclr(32, variant="stl"), "variant"),
        (lambda: simclr(32, channels=2), "channels"),
        (lambda: multi_crop(32, 16, num_local=-1), "num_local"),
        (lambda: multi_crop(32, 16, local_scale=(0.5, 0.1)), "scale"),
        (lambda: MultiView(views=[], mean=(0.5,), std=(0.5,)), "views"),
        (lambda: MultiView(views=[Compose(transforms=[])], mean=(0.5,), std=(0.0,)), "std"),
        (lambda: MultiView(views=[RandomHorizontalFlip()], mean=(0.5, 0.5), std=(1, 1)), "mean"),
    ],
)
def test_invalid_recipes_raise(build, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        build()


def test_bad_input_dtype_and_ndim_raise() -> None:
    with pytest.raises(ValueError, match="images"):
        simclr(32)(torch.zeros(3, 32, 32, dtype=torch.uint8), torch.Generator())
    with pytest.raises(ValueError, match="uint8 or float"):
        simclr(32).eval(torch.zeros(1, 3, 32, 32, dtype=torch.int64))


@pytest.mark.parametrize("size", [8, 28, 32])
def test_small_images_are_evaluated_whole_by_every_recipe(size: int) -> None:
    from contrastkit.transforms import RECIPES

    for name, recipe in RECIPES.items():
        channels = 1 if name == "digits" else 3
        images = torch.randint(0, 256, (3, channels, size, size), dtype=torch.uint8)
        views = recipe(size)
        expected = views.normalize(images.float() / 255)
        torch.testing.assert_close(views.eval(images), expected, msg=name)
