"""The packed JPEG format of the shared data (.npz of concatenated JPEG bytes), decoded with PIL.

Keys: ``jpeg`` (uint8, all JPEG files concatenated), ``offsets`` (int64, n + 1), ``labels``
(int16, n), ``classes`` (str, class names), ``names`` (str, original file names). Image ``i`` is
``jpeg[offsets[i]:offsets[i + 1]]``. Files are read with ``numpy.load(allow_pickle=False)`` only.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

KEYS = ("jpeg", "offsets", "labels", "classes", "names")


@dataclass(frozen=True)
class PackedLabels:
    """The cheap part of a packed file: everything but the JPEG bytes."""

    labels: np.ndarray
    classes: list[str]
    names: np.ndarray


def _open(path: Path) -> np.lib.npyio.NpzFile:
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from error
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected an .npz archive with keys {KEYS}")
    missing = [key for key in KEYS if key not in npz.files]
    if missing:
        raise ValueError(f"{path}: missing keys {missing} (has {npz.files}); expected {KEYS}")
    return npz


def _member(npz: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(npz[key])
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path}: key {key!r} is unreadable ({error})") from error


def read_labels(path: Path) -> PackedLabels:
    """Labels, class names and file names of a packed file, validated, without the JPEG bytes.

    Raises:
        ValueError: unreadable archive, missing key, or labels outside the class list.
    """
    with _open(path) as npz:
        labels = _member(npz, "labels", path).astype(np.int64)
        classes = [str(c) for c in _member(npz, "classes", path)]
        names = _member(npz, "names", path)
    if labels.ndim != 1 or names.shape != labels.shape:
        raise ValueError(f"{path}: labels {labels.shape} and names {names.shape} must be (n,)")
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise ValueError(f"{path}: labels must lie in [0, {len(classes)}) for classes {classes}")
    return PackedLabels(labels, classes, names)


def decode_packed(path: Path) -> np.ndarray:
    """Decode every JPEG of a packed file to one (n, 3, H, W) uint8 array (RGB).

    Raises:
        ValueError: bad offsets, an undecodable JPEG, or images of different sizes (naming the
            index and original file name).
    """
    with _open(path) as npz:
        jpeg = _member(npz, "jpeg", path)
        offsets = _member(npz, "offsets", path).astype(np.int64)
        names = _member(npz, "names", path)
    n = len(offsets) - 1
    if (
        jpeg.dtype != np.uint8
        or jpeg.ndim != 1
        or offsets.ndim != 1
        or n < 0
        or offsets[0] != 0
        or offsets[-1] != jpeg.size
        or np.any(np.diff(offsets) <= 0)
    ):
        raise ValueError(f"{path}: offsets do not split the jpeg bytes into non-empty images")
    data, bounds = jpeg.tobytes(), offsets.tolist()
    out: np.ndarray | None = None
    for i in range(n):
        try:
            image = Image.open(io.BytesIO(data[bounds[i] : bounds[i + 1]]))
            pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(f"{path}: image {i} ({names[i]}) does not decode: {error}") from error
        if out is None:
            out = np.empty((n, *pixels.shape), np.uint8)
        elif pixels.shape != out.shape[1:]:
            raise ValueError(
                f"{path}: image {i} ({names[i]}) is {pixels.shape[:2]}, image 0 is {out.shape[1:3]}"
            )
        out[i] = pixels
    if out is None:
        return np.empty((0, 3, 0, 0), np.uint8)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
