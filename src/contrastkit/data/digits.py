"""scikit-learn's bundled 8x8 handwritten digits as an :class:`ImageDataset`."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits as _sklearn_digits
from sklearn.model_selection import train_test_split

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.root import check_split

DIGIT_CLASSES = [str(d) for d in range(10)]


def load_digits(split: str = "train", *, seed: int = 0) -> ImageDataset:
    """The 1,797 8x8 gray digits bundled with scikit-learn (no file or download needed).

    Pixel values 0..16 are scaled to 0..255 (``round(v * 255 / 16)``). The train/test split is a
    fixed stratified 75/25 split (``sklearn.model_selection.train_test_split`` with
    ``random_state=seed``): 1,347 train and 450 test images, every class in both.

    Args:
        split: ``"train"``, ``"test"`` or ``"all"`` (all 1,797 in scikit-learn's order).
        seed: the split's random state; the same seed always gives the same split.

    Returns:
        An :class:`ImageDataset` with images (N, 1, 8, 8) uint8 and classes ``"0"``..``"9"``.

    Raises:
        ValueError: unknown split.

    Example:
        >>> ds = load_digits("test")
        >>> len(ds), tuple(ds.images.shape[1:]), ds.classes[:3]
        (450, (1, 8, 8), ['0', '1', '2'])
    """
    check_split(split, ("train", "test", "all"), what="digits")
    bunch = _sklearn_digits()
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    target = bunch.target.astype(np.int64)
    indices = np.arange(len(target))
    if split != "all":
        train, test = train_test_split(indices, test_size=0.25, stratify=target, random_state=seed)
        indices = np.sort(train if split == "train" else test)
    return ImageDataset(
        torch.from_numpy(np.ascontiguousarray(pixels[indices])),
        torch.from_numpy(target[indices]),
        list(DIGIT_CLASSES),
        f"digits/{split}",
    )
