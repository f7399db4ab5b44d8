"""from_numpy: the three layouts, float conversion, and the errors."""

import numpy as np
import pytest
import torch

from contrastkit.data import from_numpy

RNG = np.random.default_rng(0)
NCHW = RNG.integers(0, 256, (4, 3, 5, 6), dtype=np.uint8)


def test_layouts_agree() -> None:
    nchw = from_numpy(NCHW)
    nhwc = from_numpy(NCHW.transpose(0, 2, 3, 1))
    assert torch.equal(nchw.images, torch.from_numpy(NCHW)) and torch.equal(
        nhwc.images, nchw.images
    )
    gray = from_numpy(NCHW[:, 0])
    assert tuple(gray.images.shape) == (4, 1, 5, 6)
    assert torch.equal(gray.images[:, 0], torch.from_numpy(NCHW[:, 0]))
    assert from_numpy(NCHW[:, :1].transpose(0, 2, 3, 1)).images.shape == (4, 1, 5, 6)


def test_result_does_not_alias_input() -> None:
    array = NCHW.copy()
    dataset = from_numpy(array)
    array[:] = 0
    assert torch.equal(dataset.images, torch.from_numpy(NCHW))


def test_float_in_unit_range_is_scaled_and_rounded() -> None:
    floats = NCHW.astype(np.float32) / 255.0
    assert torch.equal(from_numpy(floats).images, torch.from_numpy(NCHW))
    assert from_numpy(np.full((1, 2, 2), 0.5, np.float64)).images.flatten().tolist() == [128] * 4


def test_labels_classes_and_name() -> None:
    dataset = from_numpy(
        NCHW, np.array([0, 1, 1, 2], np.int32), name="mine", classes=["a", "b", "c"]
    )
    assert dataset.labels is not None and dataset.labels.dtype == torch.int64
    assert dataset.labels.tolist() == [0, 1, 1, 2] and dataset.name == "mine"
    assert dataset.classes == ["a", "b", "c"] and from_numpy(NCHW).labels is None


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((4, 5), np.uint8), r"\(N, H, W\), \(N, H, W, C\) or \(N, C, H, W\)"),
        (np.zeros((2, 1, 4, 4, 3), np.uint8), "got shape"),
        (np.zeros((2, 5, 4, 2), np.uint8), "1 or 3 channels on axis 1"),
        (np.zeros((2, 3, 4, 3), np.uint8), "layout='NCHW'"),
        (np.zeros((2, 4, 4, 4), np.uint8), "alpha"),
        (np.zeros((2, 4, 4), np.int64), "uint8.*float in \\[0, 1\\].*int64"),
        (np.full((2, 4, 4), 2.0, np.float32), r"\[0, 1\].*2\.0"),
        (np.full((2, 4, 4), np.nan, np.float32), r"\[0, 1\]"),
    ],
)
def test_bad_images(images: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        from_numpy(images, name="bad")


def test_explicit_layout_resolves_ambiguity() -> None:
    array = RNG.integers(0, 256, (2, 3, 4, 3), dtype=np.uint8)
    assert torch.equal(from_numpy(array, layout="NCHW").images, torch.from_numpy(array))
    assert from_numpy(array, layout="NHWC").images.shape == (2, 3, 3, 4)
    with pytest.raises(ValueError, match="layout must be one of"):
        from_numpy(array, layout="CHW")


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.arange(3), r"labels must have shape \(4,\)"),
        (np.zeros(4, np.float32), "integer class indices"),
        (np.array([0, -1, 0, 0]), ">= 0"),
    ],
)
def test_bad_labels(labels: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        from_numpy(NCHW, labels)
