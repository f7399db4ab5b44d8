"""load_fashion_mnist: the Debian package's files when installed, and corrupt idx files."""

import gzip
import struct
from pathlib import Path

import pytest
import torch

from contrastkit.data import FASHION_MNIST_CLASSES, load_fashion_mnist
from contrastkit.data.fashion_mnist import FASHION_MNIST_ROOT

installed = pytest.mark.skipif(
    not (Path(FASHION_MNIST_ROOT) / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"Fashion-MNIST not in {FASHION_MNIST_ROOT}: apt-get install dataset-fashion-mnist",
)


@installed
@pytest.mark.parametrize(("split", "size"), [("test", 10_000), ("train", 60_000)])
def test_real_files(split: str, size: int) -> None:
    dataset = load_fashion_mnist(split)
    assert tuple(dataset.images.shape) == (size, 1, 28, 28) and dataset.images.dtype == torch.uint8
    assert dataset.labels is not None
    assert torch.bincount(dataset.labels).tolist() == [size // 10] * 10
    assert dataset.classes == FASHION_MNIST_CLASSES and dataset.name == f"fashion_mnist/{split}"
    assert 60 < dataset.images.float().mean().item() < 80  # Fashion-MNIST's mean is about 72.9


def _write(folder: Path, images: bytes, labels: bytes) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))


IMAGES = struct.pack(">IIII", 2051, 2, 3, 3) + bytes(range(18))
LABELS = struct.pack(">II", 2049, 2) + bytes([9, 0])


def test_tiny_idx_files(tmp_path: Path) -> None:
    _write(tmp_path, IMAGES, LABELS)
    dataset = load_fashion_mnist("test", root=tmp_path)
    assert dataset.images.flatten().tolist() == list(range(18))
    assert dataset.labels is not None and dataset.labels.tolist() == [9, 0]


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (
            struct.pack(">IIII", 2049, 2, 3, 3) + bytes(18),
            LABELS,
            "magic number 2049, expected 2051",
        ),
        (IMAGES[:-1], LABELS, "2x3x3 values but the file holds 17 bytes"),
        (IMAGES, struct.pack(">II", 2049, 3) + bytes(3), r"3 labels .* do not match 2 images"),
        (IMAGES, struct.pack(">II", 2049, 2) + bytes([0, 10]), "max 10"),
    ],
)
def test_corrupt_idx(tmp_path: Path, images: bytes, labels: bytes, match: str) -> None:
    _write(tmp_path, images, labels)
    with pytest.raises(ValueError, match=match):
        load_fashion_mnist("test", root=tmp_path)


def test_bad_gzip_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist") as error:
        load_fashion_mnist("test", root=tmp_path)
    assert str(tmp_path / "t10k-images-idx3-ubyte.gz") in str(error.value)
    assert "pass root=" not in str(error.value)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"plain bytes")
    with pytest.raises(ValueError, match="corrupt gzip"):
        load_fashion_mnist("test", root=tmp_path)
    with pytest.raises(ValueError, match="'train', 'test'"):
        load_fashion_mnist("validation", root=tmp_path)
