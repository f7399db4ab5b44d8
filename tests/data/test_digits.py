"""load_digits: split sizes, stratification, determinism, pixel scaling."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_digits

from contrastkit.data import load_digits


def _rows(images: torch.Tensor) -> list[bytes]:
    return sorted(bytes(row) for row in images.reshape(len(images), -1).numpy())


def test_split_sizes_and_layout() -> None:
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    assert (len(train), len(test), len(everything)) == (1347, 450, 1797)
    assert tuple(train.images.shape[1:]) == (1, 8, 8) and train.images.dtype == torch.uint8
    assert train.classes == [str(d) for d in range(10)] and train.name == "digits/train"
    assert train.labels is not None and train.labels.dtype == torch.int64


def test_split_is_stratified_and_partitions_all() -> None:
    train, test, everything = load_digits("train"), load_digits("test"), load_digits("all")
    assert train.labels is not None and test.labels is not None and everything.labels is not None
    totals = torch.bincount(everything.labels, minlength=10)
    test_counts = torch.bincount(test.labels, minlength=10)
    assert torch.all((test_counts - 0.25 * totals).abs() <= 1)
    assert _rows(torch.cat([train.images, test.images])) == _rows(everything.images)


def test_seed_fixes_the_split() -> None:
    assert torch.equal(load_digits("test", seed=0).images, load_digits("test", seed=0).images)
    assert not torch.equal(load_digits("test", seed=0).images, load_digits("test", seed=1).images)


def test_pixels_scaled_from_0_16_to_0_255() -> None:
    raw = sklearn_digits().images
    images = load_digits("all").images[:, 0].numpy()
    np.testing.assert_array_equal(images, np.rint(raw * 255 / 16).astype(np.uint8))
    assert images.max() == 255 and images.min() == 0


def test_unknown_split() -> None:
    with pytest.raises(ValueError, match=r"'val'.*'train', 'test', 'all'"):
        load_digits("val")
