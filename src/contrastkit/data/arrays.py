"""In-memory arrays to an :class:`ImageDataset`: layout detection and uint8 conversion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset

LAYOUTS = ("NHW", "NHWC", "NCHW")


def _guess_layout(shape: tuple[int, ...], name: str) -> str:
    if len(shape) == 3:
        return "NHW"
    if len(shape) != 4:
        raise ValueError(
            f"{name}: images must be (N, H, W), (N, H, W, C) or (N, C, H, W), got shape {shape}"
        )
    first, last = shape[1] in (1, 3), shape[3] in (1, 3)
    if first and not last:
        return "NCHW"
    if last and not first:
        return "NHWC"
    if first and last:
        raise ValueError(
            f"{name}: cannot tell the channel axis of shape {shape}: both axis 1 and the last "
            "axis could hold 1 or 3 channels; pass layout='NCHW' or layout='NHWC'"
        )
    raise ValueError(
        f"{name}: images must have 1 or 3 channels on axis 1 (N, C, H, W) or last (N, H, W, C), "
        f"got shape {shape}" + ("; drop the alpha channel of RGBA images" if 4 in shape else "")
    )


def _to_uint8(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(
            f"{name}: images must be uint8 (0..255) or float in [0, 1], got dtype {array.dtype}; "
            "for integers in 0..255 use images.astype(numpy.uint8)"
        )
    if array.size:
        low, high = float(np.min(array)), float(np.max(array))
        if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
            raise ValueError(
                f"{name}: float images must lie in [0, 1], got values in [{low}, {high}]; "
                "divide 0..255 values by 255 or rescale before calling from_numpy"
            )
    return np.rint(array.astype(np.float64) * 255.0).astype(np.uint8)


def _labels(labels: Any, n: int, name: str) -> torch.Tensor | None:
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name}: labels must have shape ({n},), got {array.shape}")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: labels must be integer class indices, got dtype {array.dtype}")
    if n and int(array.min()) < 0:
        raise ValueError(f"{name}: labels must be >= 0, got {int(array.min())}")
    return torch.from_numpy(array.astype(np.int64))


def from_numpy(
    images: Any,
    labels: Any = None,
    *,
    name: str = "array",
    classes: Sequence[str] | None = None,
    layout: str | None = None,
) -> ImageDataset:
    """Wrap image arrays as an :class:`ImageDataset` (uint8, N x C x H x W).

    Args:
        images: an array (numpy, or anything ``numpy.asarray`` takes, e.g. a CPU tensor) of shape
            (N, H, W), (N, H, W, C) or (N, C, H, W) with C = 1 or 3, either uint8 (0..255) or
            float with values in [0, 1] (scaled by 255 and rounded).
        labels: optional (N,) non-negative integer class indices.
        name: the dataset's name for logs and errors.
        classes: optional class names, indexed by label.
        layout: ``"NHW"``, ``"NHWC"`` or ``"NCHW"``; by default guessed from where the axis of
            size 1 or 3 is (needed only when both axis 1 and the last axis have size 1 or 3).

    Returns:
        The dataset; its images are a new contiguous tensor, not a view of ``images``.

    Raises:
        ValueError: wrong rank, ambiguous or unsupported channel count, wrong dtype, float values
            outside [0, 1], or labels of the wrong shape or dtype.

    Example:
        >>> import numpy as np
        >>> ds = from_numpy(np.zeros((5, 8, 8, 3), np.uint8), np.arange(5))
        >>> tuple(ds.images.shape), ds.images.dtype
        ((5, 3, 8, 8), torch.uint8)
    """
    array = np.asarray(images)
    if layout is None:
        layout = _guess_layout(array.shape, name)
    elif layout not in LAYOUTS:
        raise ValueError(f"{name}: layout must be one of {LAYOUTS}, got {layout!r}")
    if array.ndim != len(layout):
        raise ValueError(f"{name}: layout {layout!r} needs {len(layout)} dims, got {array.shape}")
    array = _to_uint8(array, name)
    if layout == "NHW":
        array = array[:, None]
    elif layout == "NHWC":
        array = array.transpose(0, 3, 1, 2)
    if array.shape[1] not in (1, 3):
        raise ValueError(f"{name}: images must have 1 or 3 channels, got shape {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(array).copy())
    return ImageDataset(tensor, _labels(labels, array.shape[0], name), list(classes or []), name)
