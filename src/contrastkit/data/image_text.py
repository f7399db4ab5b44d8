"""Image-caption pairs: a CSV of ``image,caption`` rows and a folder of images, decoded once.

The shared data folder holds Flickr8k-1k (``image-text/flickr8k-1k``: 1,000 Flickr8k photos,
long side <= 200 px, with 5 human captions each). Its fixed split: the images sorted by file
name, the first 800 to train, the last 200 to test (``test_fraction=0.2`` of any such CSV).
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from contrastkit.data.root import data_root, shared_file

FLICKR8K_1K = "image-text/flickr8k-1k"
BUILTIN_IMAGE_TEXT = {"flickr8k_1k": FLICKR8K_1K}
CAPTION_FILES = ("captions.txt", "captions.csv")
SPLITS = ("train", "test", "all")
_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageCaptionDataset:
    """Images decoded to one uint8 tensor, each with its captions.

    Attributes:
        images: (N, 3, S, S) uint8, shorter side resized to S and center-cropped.
        captions: N lists of captions (5 per image for Flickr8k), in file order.
        names: the N image file names, sorted.
        name: a short name for logs ("flickr8k-1k/train").
        skipped: image files of the CSV left out as missing or unreadable (``skip_missing``).
    """

    images: Tensor
    captions: list[list[str]]
    names: list[str]
    name: str = "image-captions"
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.dtype != torch.uint8:
            raise ValueError(f"{self.name}: images must be uint8 (N, 3, S, S)")
        if not len(self.captions) == len(self.names) == self.images.shape[0]:
            raise ValueError(f"{self.name}: images, captions and names differ in length")
        if any(not group for group in self.captions):
            raise ValueError(f"{self.name}: every image needs at least one caption")

    def __len__(self) -> int:
        return self.images.shape[0]

    def flat_captions(self) -> tuple[list[str], Tensor]:
        """All captions in image order, and the (M,) image index of each (for retrieval).

        Example:
            >>> data = ImageCaptionDataset(torch.zeros(2, 3, 4, 4, dtype=torch.uint8),
            ...                            [["a", "b"], ["c"]], ["x.jpg", "y.jpg"])
            >>> data.flat_captions()
            (['a', 'b', 'c'], tensor([0, 0, 1]))
        """
        texts = [text for group in self.captions for text in group]
        owners = [i for i, group in enumerate(self.captions) for _ in group]
        return texts, torch.tensor(owners, dtype=torch.long)

    def subset(self, indices: Sequence[int]) -> ImageCaptionDataset:
        """The images at ``indices`` with their captions, as a new dataset."""
        rows = list(indices)
        return replace(
            self,
            images=self.images[torch.tensor(rows, dtype=torch.long)],
            captions=[self.captions[i] for i in rows],
            names=[self.names[i] for i in rows],
        )


def read_captions(path: Path) -> dict[str, list[str]]:
    """``image,caption`` CSV rows (header row first) grouped by image, in first-seen order.

    Raises:
        ValueError: the header is not ``image,caption``, a row does not have two fields, or an
            image name or caption is empty (naming the line).
    """
    groups: dict[str, list[str]] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = csv.reader(handle)
            header = next(rows, None)
            if header is None or [h.strip().lower() for h in header[:2]] != ["image", "caption"]:
                raise ValueError(f"{path}: the first row must be the header 'image,caption'")
            for line, row in enumerate(rows, start=2):
                if not row:
                    continue
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    raise ValueError(
                        f"{path}, line {line}: expected 'image,caption' (quote captions that "
                        f"hold commas), got {row!r}"
                    )
                groups.setdefault(row[0].strip(), []).append(row[1].strip())
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error})") from error
    if not groups:
        raise ValueError(f"{path}: no caption rows after the header")
    return groups


def split_names(names: Sequence[str], split: str, *, test_fraction: float = 0.2) -> list[str]:
    """The image names of a split: sorted, the last ``round(test_fraction * N)`` are the test set.

    Example:
        >>> split_names(["c", "a", "e", "b", "d"], "test", test_fraction=0.4)
        ['d', 'e']
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    ordered = sorted(names)
    cut = len(ordered) - round(test_fraction * len(ordered))
    return {"train": ordered[:cut], "test": ordered[cut:], "all": ordered}[split]


def locate_captions(source: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The caption CSV and the image folder of a built-in name, a folder or a CSV path.

    A folder holds ``captions.txt`` (or ``captions.csv``) and its images in ``images/`` (or
    beside the CSV); a CSV path finds its images the same way.
    """
    key = str(source)
    if key in BUILTIN_IMAGE_TEXT:
        csv_path = shared_file(f"{BUILTIN_IMAGE_TEXT[key]}/captions.txt", what=key)
    else:
        path = Path(key).expanduser()
        found = [path / name for name in CAPTION_FILES if (path / name).is_file()]
        if path.is_file():
            csv_path = path
        elif path.is_dir() and found:
            csv_path = found[0]
        else:
            raise ValueError(
                f"image-caption data {key!r}: expected {', '.join(BUILTIN_IMAGE_TEXT)}, a "
                f"folder holding {' or '.join(CAPTION_FILES)} and images/, or an "
                f"'image,caption' CSV file (data root: {data_root()})"
            )
    folder = csv_path.parent / "images"
    return csv_path, folder if folder.is_dir() else csv_path.parent


def decode_square(path: Path, size: int) -> np.ndarray:
    """An RGB image resized (shorter side to ``size``, bilinear) and center-cropped: (S, S, 3)."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    scale = size / min(width, height)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    rgb = rgb.resize(new, Image.Resampling.BILINEAR)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return np.asarray(rgb.crop((left, top, left + size, top + size)))


def load_image_captions(
    source: str | os.PathLike[str] = "flickr8k_1k",
    split: str = "train",
    *,
    image_size: int = 160,
    skip_missing: bool = False,
    test_fraction: float = 0.2,
) -> ImageCaptionDataset:
    """Image-caption pairs decoded to memory, one split of the sorted image names.

    Args:
        source: ``"flickr8k_1k"`` (the shared data folder's Flickr8k-1k), a folder holding
            ``captions.txt`` and ``images/``, or an ``image,caption`` CSV (header row).
        split: ``"train"`` (the first ``1 - test_fraction`` of the sorted names), ``"test"``
            (the rest) or ``"all"``. Flickr8k-1k: 800 / 200 images.
        image_size: decoded side S: the shorter side is resized to S, then center-cropped.
        skip_missing: leave out images the CSV names that are missing or unreadable (listed in
            ``skipped``) instead of raising.
        test_fraction: the share of images in the test split.

    A split is decoded once per process: later calls with the same arguments (and an
    unchanged CSV) return the same dataset object, whose tensors must not be modified.

    Raises:
        ValueError: a malformed CSV, or missing / unreadable images without ``skip_missing``
            (listing the first few), or no readable image at all.

    Example:
        >>> test = load_image_captions("flickr8k_1k", "test")  # doctest: +SKIP
        >>> len(test), len(test.captions[0]), tuple(test.images.shape[1:])  # doctest: +SKIP
        (200, 5, (3, 160, 160))
    """
    if image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    csv_path, folder = locate_captions(source)
    stamp = csv_path.stat().st_mtime_ns
    return _load(
        csv_path.resolve(), folder.resolve(), stamp, split, image_size, skip_missing, test_fraction
    )


@functools.lru_cache(maxsize=8)
def _load(
    csv_path: Path,
    folder: Path,
    stamp: int,
    split: str,
    image_size: int,
    skip_missing: bool,
    test_fraction: float,
) -> ImageCaptionDataset:
    """Decode a split once per process (keyed by the CSV's path and mtime and the options)."""
    groups = read_captions(csv_path)
    names = split_names(list(groups), split, test_fraction=test_fraction)
    pixels, kept, skipped = [], [], []
    for name in names:
        try:
            pixels.append(decode_square(folder / name, image_size))
            kept.append(name)
        except _UNREADABLE:
            skipped.append(name)
    if skipped and not skip_missing:
        raise ValueError(
            f"{csv_path}: {len(skipped)} of the {len(names)} {split} images are missing or "
            f"unreadable in {folder}, e.g. {', '.join(skipped[:5])}; restore them or pass "
            "--skip-missing (skip_missing=true) to leave those pairs out"
        )
    if not kept:
        raise ValueError(f"{csv_path}: none of the {len(names)} {split} images could be read")
    images = torch.from_numpy(np.ascontiguousarray(np.stack(pixels).transpose(0, 3, 1, 2)))
    label = f"{csv_path.parent.name}/{split}"
    return ImageCaptionDataset(images, [groups[n] for n in kept], kept, label, skipped)
