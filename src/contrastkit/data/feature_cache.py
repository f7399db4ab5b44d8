"""An on-disk cache of a frozen encoder's features, keyed by its weights and the data.

A locked tower (LiT, arXiv 2111.07991) gives the same features for the same inputs at every
step, so they are computed once: EfficientNet-Lite0 on 1,000 photos takes minutes on a CPU,
reading them back a fraction of a second. The key is a SHA-256 of the encoder's weights (every
tensor of its ``state_dict``), its printed architecture, a caller's description of the
preprocessing (image size, maximum text length, pooling) and the data keys (file names,
captions), so any change to one of them computes new features. Entries live under
:func:`contrastkit.data.root.cache_dir` (``CONTRASTKIT_CACHE``) in ``features/``, are written
atomically (a temporary file renamed into place) and read with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from contrastkit.data.atomic_write import write_atomically
from contrastkit.data.root import CACHE_ENV, cache_dir


def weights_digest(module: nn.Module) -> str:
    """SHA-256 (hex) of every tensor of ``module.state_dict()``: names, dtypes, shapes, values.

    Example:
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> weights_digest(a) == weights_digest(a), weights_digest(a) == weights_digest(b)
        (True, False)
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def feature_cache_path(
    module: nn.Module,
    keys: Sequence[str],
    *,
    tag: str,
    settings: str = "",
    root: str | os.PathLike[str] | None = None,
) -> Path:
    """Where the features of ``module`` on the data ``keys`` are cached (under ``root``, default
    ``cache_dir() / "features"``)."""
    digest = hashlib.sha256()
    for part in (weights_digest(module), repr(module), settings, *keys):
        digest.update(part.encode())
        digest.update(b"\x00")
    safe_tag = re.sub(r"[^A-Za-z0-9_.-]+", "-", tag)[:60]
    folder = Path(root) if root is not None else cache_dir() / "features"
    return folder / f"{safe_tag}-{digest.hexdigest()[:24]}.pt"


def _read(path: Path, rows: int) -> Tensor | None:
    try:
        features = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):
        return None
    if not isinstance(features, Tensor) or features.ndim != 2 or features.shape[0] != rows:
        return None
    return features


def _write(path: Path, features: Tensor) -> None:
    write_atomically(path, lambda handle: torch.save(features, handle))


def cached_features(
    module: nn.Module,
    keys: Sequence[str],
    compute: Callable[[], Tensor],
    *,
    tag: str,
    settings: str = "",
    enabled: bool = True,
    root: str | os.PathLike[str] | None = None,
) -> Tensor:
    """``compute()``'s (N, F) features of ``module`` on N samples, read from disk when cached.

    Args:
        module: the frozen encoder (its weights and architecture key the entry).
        keys: one string per sample, in row order (file names, captions).
        compute: computes the (N, F) features on a miss.
        tag: a readable prefix of the file name, e.g. ``"flickr8k-train-image"``.
        settings: anything else that changes the features (image size, max length, pooler).
        enabled: False always computes and writes nothing.
        root: the cache folder (default: ``features/`` in ``CONTRASTKIT_CACHE``).

    Returns:
        The features, float, on the CPU. Failing to write the cache only warns.

    Example:
        >>> import tempfile
        >>> layer, x, root = nn.Linear(3, 2), torch.randn(4, 3), tempfile.mkdtemp()
        >>> first = cached_features(layer, list("abcd"), lambda: layer(x), tag="demo", root=root)
        >>> again = cached_features(layer, list("abcd"), lambda: 1 / 0, tag="demo", root=root)
        >>> torch.equal(first, again)
        True
    """
    if not enabled:
        return compute().detach().float().cpu()
    path = feature_cache_path(module, keys, tag=tag, settings=settings, root=root)
    if path.is_file():
        cached = _read(path, len(keys))
        if cached is not None:
            return cached
    features = compute().detach().float().cpu()
    if features.ndim != 2 or features.shape[0] != len(keys):
        raise ValueError(
            f"compute() returned features of shape {tuple(features.shape)}; expected "
            f"({len(keys)}, F), one row per key"
        )
    try:
        _write(path, features)
    except OSError as error:
        warnings.warn(
            f"could not write the feature cache {path} ({error}); set {CACHE_ENV} to a "
            "writable folder to reuse these features next time",
            stacklevel=2,
        )
    return features
