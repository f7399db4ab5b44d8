"""An on-disk cache of decoded uint8 arrays, keyed by the source file's path, size and mtime.

Decoding 50,000 JPEGs takes seconds; reading the decoded array back takes a fraction of one. The
cache lives in :func:`contrastkit.data.root.cache_dir` (``CONTRASTKIT_CACHE``), never next to the
source: a cache folder inside the source file's folder is refused (nothing is written there).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from contrastkit.data.atomic_write import write_atomically
from contrastkit.data.root import CACHE_ENV, cache_dir


def cache_path(source: Path, tag: str) -> Path:
    """Where the decoded array of ``source`` is cached; changes when the file's size or mtime do."""
    stat = source.stat()
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:12]
    return cache_dir() / f"{tag}-{digest}-{stat.st_size}-{stat.st_mtime_ns}.npy"


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _read(path: Path, expected_len: int | None) -> np.ndarray | None:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if (
        array.dtype != np.uint8
        or array.ndim == 0
        or (expected_len is not None and len(array) != expected_len)
    ):
        return None
    return array


def _write(path: Path, array: np.ndarray) -> None:
    write_atomically(path, lambda handle: np.save(handle, array, allow_pickle=False))
    stale_prefix = path.name.rsplit("-", 2)[0] + "-"
    for other in path.parent.glob(stale_prefix + "*.npy"):
        if other != path:
            other.unlink(missing_ok=True)


def cached_array(
    source: Path,
    tag: str,
    build: Callable[[], np.ndarray],
    *,
    enabled: bool = True,
    expected_len: int | None = None,
) -> np.ndarray:
    """``build()``'s uint8 array, read from the cache when a valid entry for ``source`` exists.

    Args:
        source: the file the array is decoded from (its path, size and mtime key the entry).
        tag: a short name for the entry, e.g. ``"cifar10-train"``.
        build: decodes ``source``; called on a miss (or when the entry is unreadable or of the
            wrong length), and its result is then written to the cache.
        enabled: ``False`` always calls ``build`` and touches no file.
        expected_len: the array's length when known; an entry of another length is rebuilt.

    Returns:
        The decoded array. Failing to write the cache (read-only home, full disk) only warns.
    """
    if not enabled:
        return build()
    path = cache_path(source, tag)
    if path.is_file():
        array = _read(path, expected_len)
        if array is not None:
            return array
    array = build()
    if _inside(path.parent, source.parent):
        warnings.warn(
            f"not caching {source.name}: the cache folder {path.parent} is inside the data folder "
            f"{source.parent}; set {CACHE_ENV} to a folder elsewhere",
            stacklevel=3,
        )
        return array
    try:
        _write(path, array)
    except OSError as error:
        warnings.warn(
            f"could not write the decoded-array cache {path} ({error}); set {CACHE_ENV} to a "
            "writable folder to make the next load fast",
            stacklevel=3,
        )
    return array
