"""Batched colour-space operations: luma (grayscale) and hue rotation, torchvision's definitions."""

from __future__ import annotations

import torch
from torch import Tensor

LUMA_WEIGHTS = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, as torchvision and Pillow


def rgb_to_grayscale(images: Tensor) -> Tensor:
    """(B, 1, H, W) luma ``0.2989 R + 0.587 G + 0.114 B`` of (B, 3, H, W) images (ITU-R 601-2).

    1-channel images are returned unchanged.

    Example:
        >>> rgb_to_grayscale(torch.ones(2, 3, 4, 4)).shape
        torch.Size([2, 1, 4, 4])
    """
    if images.shape[1] == 1:
        return images
    red, green, blue = images.unbind(dim=1)
    red_weight, green_weight, blue_weight = LUMA_WEIGHTS
    return (red_weight * red + green_weight * green + blue_weight * blue).unsqueeze(1)


def rotate_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Add ``shift`` (B,) turns to the HSV hue of each RGB sample (B, 3, H, W) in [0, 1].

    The same map as torchvision's ``adjust_hue`` (RGB -> HSV, ``h = (h + shift) mod 1``,
    HSV -> RGB), computed without materializing HSV: with ``max``, ``min``, chroma
    ``c = max - min`` (= S * V) and the shifted hue in sixths ``h6`` in [0, 6), each channel is
    ``min + c * ramp(h6)`` where the ramps are ``|h6 - 3| - 1`` (R), ``2 - |h6 - 2|`` (G) and
    ``2 - |h6 - 4|`` (B), clamped to [0, 1]. The hue of a pixel is read from its largest
    channel, ties going to red, then green, as in torchvision and Pillow.

    Example:
        >>> red = torch.tensor([1.0, 0.0, 0.0]).reshape(1, 3, 1, 1)
        >>> rotate_hue(red, torch.tensor([1 / 3])).flatten().tolist()
        [0.0, 1.0, 0.0]
    """
    red, green, blue = images.unbind(dim=1)
    maximum, minimum = images.amax(dim=1), images.amin(dim=1)
    chroma = maximum - minimum
    # one-hot of the channel the hue is read from (ties: red, then green), as 0/1 floats
    red_max = (maximum == red).to(images.dtype)
    green_max = (maximum == green).to(images.dtype).mul_(1.0 - red_max)
    blue_max = 1.0 - red_max - green_max
    numerator = red_max * (green - blue) + green_max * (blue - red) + blue_max * (red - green)
    offset = 2.0 * green_max + 4.0 * blue_max
    safe = chroma + (chroma == 0).to(images.dtype)  # gray pixels: numerator is 0, divide by 1
    sixths = offset.add_(numerator.div_(safe)).add_(6.0 * shift.to(images)[:, None, None])
    sixths = sixths.sub_(torch.floor(sixths / 6.0).mul_(6.0)).unsqueeze(1)  # in [0, 6)
    center, sign, bias = _HUE_RAMPS.to(images).unbind(dim=1)
    ramp = torch.addcmul(
        bias[:, None, None], (sixths - center[:, None, None]).abs_(), sign[:, None, None]
    )
    return torch.addcmul(minimum.unsqueeze(1), chroma.unsqueeze(1), ramp.clamp_(0.0, 1.0))


# Per RGB channel: (center, sign, bias) of the ramp sign * |h6 - center| + bias.
_HUE_RAMPS = torch.tensor([[3.0, 1.0, -1.0], [2.0, -1.0, 2.0], [4.0, -1.0, 2.0]])
