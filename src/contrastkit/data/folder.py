"""A user's ImageFolder tree (one subfolder of images per class) decoded to an ImageDataset."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from contrastkit.data.dataset import ImageDataset

IMAGE_EXTENSIONS = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".pgm",
    ".png",
    ".ppm",
    ".tif",
    ".tiff",
    ".webp",
)
_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _size_hw(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(f"size must be a positive int or (height, width), got {size!r}")
    return (pair[0], pair[1])


def _scan(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    if not root.is_dir():
        raise ValueError(f"image folder not found: {root} (expected a folder of class subfolders)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(
            f"{root}: no class subfolders; an image folder holds one subfolder of images per "
            "class (root/cat/1.png, root/dog/2.png, ...)"
        )
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(root / name, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                if not filename.startswith(".") and filename.lower().endswith(IMAGE_EXTENSIONS):
                    files.append((Path(dirpath) / filename, label))
    if not files:
        raise ValueError(f"{root}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in {classes}")
    return classes, files


def _decode(path: Path, size_hw: tuple[int, int] | None) -> np.ndarray:
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    if size_hw is not None and rgb.size != (size_hw[1], size_hw[0]):
        rgb = rgb.resize((size_hw[1], size_hw[0]), Image.Resampling.BILINEAR)
    return np.asarray(rgb)


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    size: int | tuple[int, int] | None = None,
    skip_corrupt: bool = False,
) -> ImageDataset:
    """Decode an ImageFolder tree (``path/<class>/<image>``) to RGB uint8 in memory.

    Classes are the sorted names of ``path``'s subfolders (hidden ones ignored); each class takes
    the image files below its folder, recursively, in sorted order. Files of other extensions
    (see ``IMAGE_EXTENSIONS``) are ignored. Every image is converted to RGB.

    Args:
        path: the root folder.
        size: resize every image to ``size`` x ``size`` (int) or ``(height, width)``, bilinear
            (antialiased when shrinking). Without it all images must already share one size.
        skip_corrupt: leave out files that PIL cannot read, warn with their count, and list them
            in the returned dataset's ``skipped`` attribute, instead of raising.

    Returns:
        An :class:`ImageDataset` (N, 3, H, W) named after the folder, with ``skipped`` holding
        the paths of the files left out (empty unless ``skip_corrupt=True``).

    Raises:
        ValueError: a missing folder, no class subfolders or images, an unreadable file (naming
            it; unless ``skip_corrupt``), or images of different sizes without ``size=``
            (naming the first mismatching file).

    Example:
        >>> ds = load_image_folder("my_photos", size=64, skip_corrupt=True)  # doctest: +SKIP
        >>> len(ds.skipped)  # doctest: +SKIP
        0
    """
    root = Path(path).expanduser()
    size_hw = _size_hw(size)
    classes, files = _scan(root)
    pixels: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[str] = []
    first = root
    for file, label in files:
        try:
            array = _decode(file, size_hw)
        except _UNREADABLE as error:
            if not skip_corrupt:
                raise ValueError(
                    f"{file}: unreadable image ({error}); remove it, or leave unreadable files "
                    "out with skip_corrupt = true in the recipe (or --skip-corrupt)"
                ) from error
            skipped.append(str(file))
            continue
        if not pixels:
            first = file
        elif array.shape != pixels[0].shape:
            raise ValueError(
                f"{file} is {array.shape[0]}x{array.shape[1]} (HxW) but {first} is "
                f"{pixels[0].shape[0]}x{pixels[0].shape[1]}; images must share one size: set "
                f"load_size = {pixels[0].shape[0]} in the recipe (or --set "
                f"load_size={pixels[0].shape[0]}) to decode every image resized to that square "
                "size (in Python: size=...)"
            )
        pixels.append(array)
        labels.append(label)
    if skipped:
        warnings.warn(
            f"{root}: skipped {len(skipped)} unreadable file(s), e.g. {skipped[0]}", stacklevel=2
        )
    if not pixels:
        raise ValueError(f"{root}: none of the {len(files)} image files could be read")
    images = torch.from_numpy(np.ascontiguousarray(np.stack(pixels).transpose(0, 3, 1, 2)))
    name = root.resolve().name or str(root)
    return ImageDataset(images, torch.tensor(labels, dtype=torch.int64), classes, name, skipped)
