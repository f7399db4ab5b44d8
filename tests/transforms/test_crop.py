"""RandomResizedCrop against torchvision's resized_crop with the same per-sample boxes."""

from __future__ import annotations

import math

import pytest
import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from contrastkit.transforms import RandomResizedCrop
from contrastkit.transforms.crop import CropParams, bilinear_taps, sample_crop_boxes

# Both sides use the same float32 source coordinates and the same two taps per axis; ours
# blends them with lerp (a + w (b - a)), interpolate() as (1 - w) a + w b, so results differ
# only by float rounding (~1e-7). 1e-5 is ~100x that and far below one 8-bit level (3.9e-3).
ATOL = 1e-5


@pytest.mark.parametrize("size", [16, 32, 48, (20, 12)])
def test_matches_torchvision_resized_crop_per_sample(rgb: torch.Tensor, size) -> None:
    crop = RandomResizedCrop(size=size, scale=(0.08, 1.0))
    params = crop.sample_params(rgb, torch.Generator().manual_seed(3))
    out = crop.apply(rgb, params)
    for index, image in enumerate(rgb):
        box = [int(t[index]) for t in (params.top, params.left, params.height, params.width)]
        expected = TF.resized_crop(
            image,
            *box,
            size=list(crop.output_size),
            interpolation=InterpolationMode.BILINEAR,
            antialias=False,
        )
        torch.testing.assert_close(out[index], expected, atol=ATOL, rtol=0)


def test_full_box_at_same_size_is_identity(rgb: torch.Tensor) -> None:
    full = torch.full((6,), 32)
    params = CropParams(
        torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.long), full, full
    )
    torch.testing.assert_close(RandomResizedCrop(size=32).apply(rgb, params), rgb)


def test_taps_stay_inside_each_box() -> None:
    start, length = torch.tensor([3, 0, 7]), torch.tensor([5, 17, 1])
    for out_size in (1, 4, 11, 40):
        lower, upper, weight = bilinear_taps(start, length, out_size)
        assert (lower >= start[:, None]).all() and (upper < (start + length)[:, None]).all()
        assert (upper - lower).le(1).all() and weight.ge(0).all() and weight.lt(1).all()


def test_boxes_follow_scale_and_ratio() -> None:
    boxes = sample_crop_boxes(
        4000, 64, 64, scale=(0.2, 0.6), ratio=(0.5, 2.0), generator=torch.Generator().manual_seed(0)
    )
    area = (boxes.height * boxes.width).double() / 64**2
    # the width and height are rounded to ints, which moves the area by about one row/column
    assert area.min() > 0.2 - 2 * 64 / 64**2 and area.max() < 0.6 + 2 * 64 / 64**2
    assert (boxes.top >= 0).all() and (boxes.top + boxes.height <= 64).all()
    assert (boxes.left >= 0).all() and (boxes.left + boxes.width <= 64).all()
    log_ratio = torch.log(boxes.width.double() / boxes.height)
    assert log_ratio.min() > math.log(0.5) - 0.1 and log_ratio.max() < math.log(2.0) + 0.1


def test_impossible_ratio_falls_back_to_central_box() -> None:
    # aspect 4..5 never fits a 10x10 image at full scale: torchvision's central fallback
    boxes = sample_crop_boxes(
        3, 10, 10, scale=(1.0, 1.0), ratio=(4.0, 5.0), generator=torch.Generator()
    )
    assert boxes.width.tolist() == [10] * 3 and boxes.height.tolist() == [2] * 3
    assert boxes.top.tolist() == [4] * 3 and boxes.left.tolist() == [0] * 3


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"size": 8, "scale": (0.6, 0.2)}, "scale"),
        ({"size": 8, "scale": (0.1, 1.5)}, "scale"),
        ({"size": 8, "scale": (0.0, 0.0)}, "scale"),
        ({"size": 8, "ratio": (2.0, 1.0)}, "ratio"),
        ({"size": 8, "ratio": (0.0, 1.0)}, "ratio"),
        ({"size": 0}, "size"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        RandomResizedCrop(**kwargs)
