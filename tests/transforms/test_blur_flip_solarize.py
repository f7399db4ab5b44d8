"""Gaussian blur, horizontal flip and solarization against torchvision per sample."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from contrastkit.transforms import (
    RandomGaussianBlur,
    RandomHorizontalFlip,
    RandomSolarize,
    blur_kernel_size,
)

# Blur: ours is separable (two 1-D passes), torchvision's one 2-D kernel; the products are
# the same up to float rounding (~1e-7 per tap), so 1e-5 is generous and still far below
# one 8-bit level. Flip and solarization are exact.
ATOL = 1e-5


@pytest.mark.parametrize("kernel_size", [3, 9])
def test_blur_matches_torchvision_per_sample(rgb: torch.Tensor, kernel_size: int) -> None:
    blur = RandomGaussianBlur(kernel_size=kernel_size, sigma=(0.1, 2.0), p=0.5)
    params = blur.sample_params(rgb, torch.Generator().manual_seed(4))
    assert 0 < int(params.applied.sum()) < len(rgb)
    out = blur.apply(rgb, params)
    for index, image in enumerate(rgb):
        expected = image
        if params.applied[index]:
            sigma = float(params.sigma[index])
            expected = TF.gaussian_blur(image, [kernel_size, kernel_size], [sigma, sigma])
        torch.testing.assert_close(out[index], expected, atol=ATOL, rtol=0)


def test_blur_kernel_too_large_for_image_raises(gray: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        RandomGaussianBlur(kernel_size=17, p=1.0)(gray, torch.Generator())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"kernel_size": 4}, "kernel_size"),
        ({"kernel_size": 3, "sigma": (0.0, 1.0)}, "sigma"),
        ({"kernel_size": 3, "sigma": (2.0, 1.0)}, "sigma"),
        ({"kernel_size": 3, "p": 2.0}, "p"),
    ],
)
def test_invalid_blur_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        RandomGaussianBlur(**kwargs)


def test_kernel_size_is_ten_percent_and_odd() -> None:
    assert [blur_kernel_size(side) for side in (8, 32, 64, 96, 224)] == [3, 3, 7, 9, 23]


def test_flip_matches_torchvision_per_sample(rgb: torch.Tensor) -> None:
    flip = RandomHorizontalFlip(p=0.5)
    params = flip.sample_params(rgb, torch.Generator().manual_seed(0))
    out = flip.apply(rgb, params)
    for index, image in enumerate(rgb):
        expected = TF.horizontal_flip(image) if params.flipped[index] else image
        assert torch.equal(out[index], expected)


def test_solarize_matches_torchvision_per_sample(rgb: torch.Tensor) -> None:
    solarize = RandomSolarize(p=0.5)
    params = solarize.sample_params(rgb, torch.Generator().manual_seed(0))
    out = solarize.apply(rgb, params)
    for index, image in enumerate(rgb):
        expected = TF.solarize(image, 0.5) if params.applied[index] else image
        assert torch.equal(out[index], expected)


def test_solarize_threshold_is_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        RandomSolarize(threshold=1.5)
