"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (gzip'd idx files)."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.root import check_split, require_file

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049  # idx: 0x0000 0x08 (uint8) ndim


def read_idx(path: Path, *, magic: int) -> np.ndarray:
    """Parse a (gzip'd if the name ends in .gz) idx file of uint8 values.

    Args:
        path: the file.
        magic: the expected magic number: 2051 for (n, rows, cols) images, 2049 for (n,) labels.

    Returns:
        The uint8 array, shaped by the header's dimensions.

    Raises:
        ValueError: bad gzip stream, wrong magic number, or a size that disagrees with the header.
    """
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                raw = handle.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: corrupt gzip stream ({error}); reinstall the data") from error
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        raise ValueError(
            f"{path}: not an idx file of uint8 with {ndim} dims (magic number {found}, "
            f"expected {magic}); the file is corrupt or not the one expected"
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) < header or len(raw) - header != int(np.prod(dims)):
        raise ValueError(
            f"{path}: header says {'x'.join(map(str, dims))} values but the file holds "
            f"{max(len(raw) - header, 0)} bytes of data; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims).copy()


def _idx_file(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    return require_file(
        root / f"{stem}.gz",
        what="Fashion-MNIST",
        fix="Install it with `apt-get install dataset-fashion-mnist` (Debian package, files in "
        f"{FASHION_MNIST_ROOT}); from Python, load_fashion_mnist(root=...) reads the idx files "
        "from another folder.",
    )


def load_fashion_mnist(
    split: str = "train", *, root: str | os.PathLike[str] = FASHION_MNIST_ROOT
) -> ImageDataset:
    """Fashion-MNIST: 60,000 train / 10,000 test 28x28 gray images of clothes, 10 classes.

    Reads ``train-images-idx3-ubyte.gz`` / ``train-labels-idx1-ubyte.gz`` (``t10k-*`` for the
    test split) from ``root``, as installed by the Debian package ``dataset-fashion-mnist``
    (MIT licence). Uncompressed files of the same names without ``.gz`` work too.

    Args:
        split: ``"train"`` or ``"test"``.
        root: the folder holding the idx files.

    Returns:
        An :class:`ImageDataset` with images (N, 1, 28, 28) uint8 and the class names
        (``"T-shirt/top"`` .. ``"Ankle boot"``), named ``"fashion_mnist/<split>"``.

    Raises:
        ValueError: unknown split, missing file (with the install command), or a corrupt file
            (bad gzip stream, magic number or size).

    Example:
        >>> test = load_fashion_mnist("test")  # doctest: +SKIP
        >>> tuple(test.images.shape), test.classes[9]  # doctest: +SKIP
        ((10000, 1, 28, 28), 'Ankle boot')
    """
    check_split(split, ("train", "test"), what="fashion_mnist")
    folder = Path(root).expanduser()
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"), magic=_IMAGES_MAGIC)
    labels_path = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    labels = read_idx(labels_path, magic=_LABELS_MAGIC).astype(np.int64)
    if len(labels) != len(images) or (labels.size and labels.max() >= 10):
        raise ValueError(
            f"{labels_path}: {len(labels)} labels (max {labels.max(initial=0)}) do not match "
            f"{len(images)} images in 10 classes"
        )
    return ImageDataset(
        torch.from_numpy(images[:, None]),
        torch.from_numpy(labels),
        list(FASHION_MNIST_CLASSES),
        f"fashion_mnist/{split}",
    )
