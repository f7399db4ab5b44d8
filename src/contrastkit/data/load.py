"""One entry point from a name or a path to an :class:`ImageDataset` (used by the CLI)."""

from __future__ import annotations

import inspect
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from contrastkit.data.arrays import from_numpy
from contrastkit.data.cifar import load_cifar10
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.digits import load_digits
from contrastkit.data.fashion_mnist import load_fashion_mnist
from contrastkit.data.folder import load_image_folder

BUILTIN: dict[str, Callable[..., ImageDataset]] = {
    "digits": load_digits,
    "cifar10": load_cifar10,
    "fashion_mnist": load_fashion_mnist,
}


def load_arrays(path: str | os.PathLike[str], *, name: str | None = None) -> ImageDataset:
    """Images from a ``.npy`` file (images only) or ``.npz`` (keys ``images``, optional
    ``labels`` and ``classes``), read with ``allow_pickle=False``; see :func:`from_numpy`.

    Raises:
        ValueError: unreadable file, a pickled object inside, a missing ``images`` key, or any
            error of :func:`from_numpy`.
    """
    file = Path(path).expanduser()
    label = name or file.name
    labels: np.ndarray | None = None
    classes: list[str] | None = None
    try:
        loaded = np.load(file, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as npz:
                if "images" not in npz.files:
                    raise ValueError(f"{file}: no 'images' key (keys: {npz.files})")
                images = npz["images"]
                labels = npz["labels"] if "labels" in npz.files else None
                classes = [str(c) for c in npz["classes"]] if "classes" in npz.files else None
        else:
            images = loaded
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        if str(error).startswith(str(file)):
            raise
        raise ValueError(f"{file}: not a readable .npy/.npz file ({error})") from error
    return from_numpy(images, labels, name=label, classes=classes)


def _call(loader: Callable[..., ImageDataset], *args: Any, **kwargs: Any) -> ImageDataset:
    accepted = [
        p.name for p in inspect.signature(loader).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"{loader.__name__} does not take {', '.join(unknown)}; its options are "
            f"{', '.join(accepted) or 'none'}"
        )
    return loader(*args, **kwargs)


def _split_path(source: Path, split: str) -> Path:
    if source.is_dir() and (source / split).is_dir():
        return source / split
    if split == "all":
        return source
    raise ValueError(
        f"{source} has no {split!r} split: use a folder with a {split}/ subfolder, put "
        f'{{split}} in the dataset path (dataset = "data/{{split}}.npz"), or load it whole '
        f'with train_split = "all" and test_split = "all" in the recipe (or --set '
        "train_split=all --set test_split=all)"
    )


def builtin_name(name: str | os.PathLike[str]) -> str | None:
    """The built-in data set ``name`` means (``"fashion-mnist"`` is ``"fashion_mnist"``), or
    None for a path.

    Example:
        >>> builtin_name("Fashion-MNIST"), builtin_name("photos/")
        ('fashion_mnist', None)
    """
    key = str(name).replace("-", "_").lower()
    return key if key in BUILTIN else None


def load_dataset(name: str | os.PathLike[str], split: str = "train", **kwargs: Any) -> ImageDataset:
    """Load a built-in data set by name, or a user's images by path.

    Built-in names: ``"digits"`` (:func:`load_digits`), ``"cifar10"`` (:func:`load_cifar10`),
    ``"fashion_mnist"`` (:func:`load_fashion_mnist`; ``"fashion-mnist"`` works too).

    Built-in names win over same-named paths (write ``"./digits"`` for a folder). Anything
    else is a path: a folder of class subfolders (:func:`load_image_folder`) or a
    ``.npy``/``.npz`` file (:func:`load_arrays`). A path's split is chosen explicitly so that a
    test split is never trained on by accident: ``{split}`` in the path is replaced by ``split``
    (``"data/{split}.npz"``); else a folder's ``<split>/`` subfolder is used if present; else
    ``split="all"`` loads the path whole, and other splits raise.

    Args:
        name: a built-in name or a path.
        split: ``"train"``, ``"test"``, ``"all"`` (digits, paths) or a path's subfolder name.
        **kwargs: passed on to the loader (``seed=``, ``root=``, ``cache=``, ``size=``,
            ``skip_corrupt=``...).

    Raises:
        ValueError: neither a built-in name nor an existing path (listing the choices), an
            option the chosen loader does not take (listing those it does), or any error of the
            loader.

    Example:
        >>> len(load_dataset("digits", "train"))
        1347
    """
    key = str(name)
    builtin = builtin_name(key)
    if builtin is not None:
        return _call(BUILTIN[builtin], split, **kwargs)
    if "{split}" in key:
        source = Path(key.replace("{split}", split)).expanduser()
    else:
        source = Path(key).expanduser()
        if source.exists():
            source = _split_path(source, split)
    if source.is_dir():
        return _call(load_image_folder, source, **kwargs)
    if source.is_file() and source.suffix in (".npy", ".npz"):
        return _call(load_arrays, source, **kwargs)
    raise ValueError(
        f"unknown dataset {key!r}: expected one of {', '.join(sorted(BUILTIN))}, a folder of "
        "class subfolders, or a .npy/.npz file"
        + ("" if source.exists() else f" (no such path: {source})")
    )
