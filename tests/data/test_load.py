"""load_dataset: built-in names, paths (folders, .npy/.npz), explicit splits, unknown names."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data import load_arrays, load_dataset


def _folder(root: Path, classes: tuple[str, ...] = ("a", "b")) -> None:
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        Image.fromarray(np.full((3, 3, 3), index, np.uint8)).save(root / name / "x.png")


def test_builtin_names_and_kwargs() -> None:
    assert len(load_dataset("digits", "test")) == 450
    assert load_dataset("digits", "all").name == "digits/all"
    a, b = load_dataset("digits", "test", seed=1), load_dataset("digits", "test", seed=2)
    assert not torch.equal(a.images, b.images)


def test_option_of_another_loader_is_named() -> None:
    with pytest.raises(
        ValueError, match="load_digits does not take skip_corrupt; its options are seed"
    ):
        load_dataset("digits", "train", skip_corrupt=True)


def test_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"cifar10, digits, fashion_mnist.*no such path: mnist"):
        load_dataset("mnist", "train")


def test_arrays(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, (4, 5, 5, 3), dtype=np.uint8)
    np.savez(
        tmp_path / "train.npz", images=images, labels=np.array([0, 1, 1, 0]), classes=["u", "v"]
    )
    np.save(tmp_path / "unlabeled.npy", images)
    dataset = load_dataset(str(tmp_path / "{split}.npz"), "train")
    assert tuple(dataset.images.shape) == (4, 3, 5, 5) and dataset.classes == ["u", "v"]
    assert dataset.labels is not None and dataset.labels.tolist() == [0, 1, 1, 0]
    unlabeled = load_dataset(tmp_path / "unlabeled.npy", "all")
    assert unlabeled.labels is None and torch.equal(unlabeled.images, dataset.images)


def test_array_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", pixels=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="no 'images' key"):
        load_arrays(tmp_path / "x.npz")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"objects\.npy"):
        load_arrays(tmp_path / "objects.npy")
    (tmp_path / "garbage.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_arrays(tmp_path / "garbage.npz")


def test_folder_splits_are_explicit(tmp_path: Path) -> None:
    _folder(tmp_path / "split" / "train")
    _folder(tmp_path / "split" / "test", ("a", "b", "c"))
    assert len(load_dataset(tmp_path / "split", "test")) == 3
    assert load_dataset(tmp_path / "split", "train").classes == ["a", "b"]
    _folder(tmp_path / "flat")
    with pytest.raises(ValueError, match="set train_split=all --set test_split=all"):
        load_dataset(tmp_path / "flat", "train")
    assert len(load_dataset(tmp_path / "flat", "all", size=2)) == 2
    with pytest.raises(ValueError, match="set train_split=all --set test_split=all"):
        load_dataset(tmp_path / "flat" / "a" / "x.png", "train")
    with pytest.raises(ValueError, match=r"a \.npy/\.npz file"):
        load_dataset(tmp_path / "flat" / "a" / "x.png", "all")
