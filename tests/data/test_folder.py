"""load_image_folder on a tiny tree of PNGs: labels, pixels, resizing, corrupt files, sizes."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data import load_image_folder

RNG = np.random.default_rng(0)


def _png(path: Path, height: int = 4, width: int = 5, mode: str = "RGB") -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 3 if mode == "RGB" else 1
    pixels = RNG.integers(0, 256, (height, width, channels), dtype=np.uint8)
    Image.fromarray(pixels if mode == "RGB" else pixels[..., 0], mode).save(path)
    return np.repeat(pixels, 3 // channels, axis=2)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "pets"
    pixels = {
        "cat/a.png": _png(root / "cat" / "a.png"),
        "cat/b.png": _png(root / "cat" / "b.png", mode="L"),
        "dog/sub/c.png": _png(root / "dog" / "sub" / "c.png"),
    }
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root, pixels


def test_classes_labels_and_exact_pixels(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, pixels = tree
    dataset = load_image_folder(root)
    assert dataset.classes == ["cat", "dog"] and dataset.name == "pets"
    assert dataset.labels is not None and dataset.labels.tolist() == [0, 0, 1]
    assert tuple(dataset.images.shape) == (3, 3, 4, 5) and dataset.skipped == []
    for row, key in enumerate(sorted(pixels)):
        assert torch.equal(dataset.images[row], torch.from_numpy(pixels[key]).permute(2, 0, 1))


def test_resize(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = tree
    _png(root / "dog" / "big.png", 9, 7)
    assert tuple(load_image_folder(root, size=(3, 8)).images.shape) == (4, 3, 3, 8)
    assert tuple(load_image_folder(root, size=2).images.shape) == (4, 3, 2, 2)
    with pytest.raises(ValueError, match="positive int or"):
        load_image_folder(root, size=0)


def test_size_mismatch_names_file_and_fix(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = tree
    _png(root / "dog" / "big.png", 9, 7)
    with pytest.raises(ValueError, match=r"big\.png is 9x7 .*a\.png is 4x5.*size=") as error:
        load_image_folder(root)
    assert str(root / "dog" / "big.png") in str(error.value)
    assert "set load_size = 4 in the recipe (or --set load_size=4)" in str(error.value)


def test_corrupt_file_raises_naming_it(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = tree
    bad = root / "dog" / "bad.png"
    bad.write_bytes(b"\x89PNG this is not a png")
    with pytest.raises(ValueError, match="skip_corrupt") as error:
        load_image_folder(root)
    assert str(bad) in str(error.value)
    assert "skip_corrupt = true in the recipe (or --skip-corrupt)" in str(error.value)


def test_skip_corrupt_reports_skipped(tree: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = tree
    bad = root / "cat" / "0bad.jpg"
    bad.write_bytes(b"")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        dataset = load_image_folder(root, skip_corrupt=True)
    assert dataset.skipped == [str(bad)] and len(dataset) == 3
    assert dataset.subset(torch.tensor([0])).skipped == [str(bad)]


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no class subfolders"):
        load_image_folder(tmp_path)
    (tmp_path / "cat").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_image_folder(tmp_path)
