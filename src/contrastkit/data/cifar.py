"""CIFAR-10 from the shared data folder's packed JPEG files, decoded once and cached."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from contrastkit.data.cache import cached_array
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.packed import decode_packed, read_labels
from contrastkit.data.root import check_split, require_file, shared_file

CIFAR10_DIR = "image/cifar10-jpeg"


def load_cifar10(
    split: str = "train", *, root: str | os.PathLike[str] | None = None, cache: bool = True
) -> ImageDataset:
    """CIFAR-10: 50,000 train / 10,000 test 32x32 RGB images in 10 classes.

    Reads ``<data root>/image/cifar10-jpeg/{split}.npz`` (the packed JPEG format, see
    :mod:`contrastkit.data.packed`; the data root is ``CONTRASTKIT_DATA``, default
    ``../shared/data``). The JPEGs are re-encodings of the original release, so pixels are close
    to, not identical with, the original binary files. Decoding the train split takes a few
    seconds; the decoded array is then cached under ``CONTRASTKIT_CACHE`` (default
    ``~/.cache/contrastkit``), keyed by the file's path, size and mtime, so later loads take well
    under a second. Nothing is ever written to the data folder.

    Args:
        split: ``"train"`` or ``"test"``.
        root: the folder holding ``train.npz`` and ``test.npz``, instead of the shared one.
        cache: read and write the decoded-array cache (``False``: always decode, write nothing).

    Returns:
        An :class:`ImageDataset` with images (N, 3, 32, 32) uint8 and the ten class names
        (``"airplane"`` .. ``"truck"``), named ``"cifar10/<split>"``.

    Raises:
        ValueError: unknown split, missing file (naming the path and ``CONTRASTKIT_DATA``), or a
            corrupt file.

    Example:
        >>> test = load_cifar10("test")  # doctest: +SKIP
        >>> tuple(test.images.shape), test.classes[0]  # doctest: +SKIP
        ((10000, 3, 32, 32), 'airplane')
    """
    check_split(split, ("train", "test"), what="cifar10")
    what = f"CIFAR-10 {split} split"
    if root is None:
        path = shared_file(f"{CIFAR10_DIR}/{split}.npz", what=what)
    else:
        path = require_file(
            Path(root).expanduser() / f"{split}.npz",
            what=what,
            fix=f"The root folder given to load_cifar10 must hold train.npz and test.npz in the "
            f"packed JPEG format; leave root out to use $CONTRASTKIT_DATA/{CIFAR10_DIR}",
        )
    meta = read_labels(path)
    n = len(meta.labels)
    images = cached_array(
        path, f"cifar10-{split}", lambda: decode_packed(path), enabled=cache, expected_len=n
    )
    if images.shape[0] != n:
        raise ValueError(f"{path}: {images.shape[0]} images but {n} labels")
    return ImageDataset(
        torch.from_numpy(images), torch.from_numpy(meta.labels), meta.classes, f"cifar10/{split}"
    )
