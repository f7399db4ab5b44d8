"""ColorJitter, RandomGrayscale and the colour-space helpers against torchvision per sample."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from contrastkit.transforms import ColorJitter, RandomGrayscale
from contrastkit.transforms.colorspace import rotate_hue

# Same formulas up to float32 operation order: differences are rounding (~1e-7). Hue is
# computed without materializing HSV (see rotate_hue), which is the same piecewise-linear map
# written differently; on a sector boundary both pieces agree, so 1e-5 still holds.
ATOL = 1e-5


def _reference_jitter(image: torch.Tensor, params, index: int, jitter: ColorJitter) -> torch.Tensor:
    if not params.applied[index]:
        return image
    image = TF.adjust_brightness(image, float(params.brightness[index]))
    image = TF.adjust_contrast(image, float(params.contrast[index]))
    if jitter.saturation > 0:
        image = TF.adjust_saturation(image, float(params.saturation[index]))
    if jitter.hue > 0:
        image = TF.adjust_hue(image, float(params.hue[index]))
    return image


@pytest.mark.parametrize("channels", [3, 1])
def test_jitter_matches_torchvision_per_sample(channels: int) -> None:
    images = torch.rand(16, channels, 12, 10, generator=torch.Generator().manual_seed(5))
    jitter = ColorJitter(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, p=0.8)
    params = jitter.sample_params(images, torch.Generator().manual_seed(6))
    assert 0 < int(params.applied.sum()) < 16  # both branches are exercised
    out = jitter.apply(images, params)
    for index, image in enumerate(images):
        expected = _reference_jitter(image, params, index, jitter)
        torch.testing.assert_close(out[index], expected, atol=ATOL, rtol=0)


def test_jitter_factor_ranges() -> None:
    jitter = ColorJitter(brightness=0.4, contrast=1.5, saturation=0.2, hue=0.1)
    params = jitter.sample_params(torch.rand(2000, 3, 2, 2), torch.Generator().manual_seed(0))
    assert params.brightness.min() >= 0.6 and params.brightness.max() <= 1.4
    assert params.contrast.min() >= 0.0 and params.contrast.max() <= 2.5
    assert params.saturation.min() >= 0.8 and params.saturation.max() <= 1.2
    assert params.hue.abs().max() <= 0.1 and params.hue.min() < -0.09


def test_rotate_hue_matches_torchvision_on_ties_gray_and_extremes() -> None:
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    images[0, :, :4] = 1.0  # white
    images[0, :2, 4:8] = 1.0  # red = green = max: ties between the maximal channels
    images[1] = images[1, :1]  # gray pixels
    images[2, :, :3] = 0.0  # black
    torch.testing.assert_close(rotate_hue(images, torch.zeros(4)), images, atol=1e-6, rtol=0)
    for shift in (-0.5, -0.13, 0.27, 0.5):
        ours = rotate_hue(images, torch.full((4,), shift))
        for index, image in enumerate(images):
            expected = TF.adjust_hue(image, shift)
            torch.testing.assert_close(ours[index], expected, atol=ATOL, rtol=0)


def test_grayscale_matches_torchvision(rgb: torch.Tensor) -> None:
    gray = RandomGrayscale(p=0.5)
    params = gray.sample_params(rgb, torch.Generator().manual_seed(1))
    out = gray.apply(rgb, params)
    for index, image in enumerate(rgb):
        expected = (
            TF.rgb_to_grayscale(image, num_output_channels=3) if params.applied[index] else image
        )
        torch.testing.assert_close(out[index], expected, atol=ATOL, rtol=0)


def test_one_channel_saturation_hue_grayscale_are_no_ops(gray: torch.Tensor) -> None:
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(ColorJitter(saturation=0.9, hue=0.5)(gray, generator), gray)
    assert torch.equal(RandomGrayscale(p=1.0)(gray, generator), gray)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"brightness": -0.1}, "brightness"),
        ({"contrast": -1}, "contrast"),
        ({"saturation": -2}, "saturation"),
        ({"hue": 0.6}, "hue"),
        ({"hue": -0.1}, "hue"),
        ({"p": 1.5}, "p"),
        ({"p": -0.1}, "p"),
    ],
)
def test_invalid_jitter_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ColorJitter(**kwargs)
