"""Where data and decoded caches live: ``CONTRASTKIT_DATA`` and ``CONTRASTKIT_CACHE``.

The shared data folder (``../shared/data`` next to a checkout) holds real, public data sets that
the project never downloads at run time. It is found, in order, through:

1. the environment variable ``CONTRASTKIT_DATA`` (used as given, no fallback);
2. ``../shared/data`` relative to the current working directory;
3. ``../shared/data`` relative to the repository that holds this source file.

Decoded arrays are cached under ``CONTRASTKIT_CACHE`` (default ``$XDG_CACHE_HOME/contrastkit``,
else ``~/.cache/contrastkit``), never inside the data folder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

DATA_ENV = "CONTRASTKIT_DATA"
CACHE_ENV = "CONTRASTKIT_CACHE"
_DEFAULT_RELATIVE = Path("..") / "shared" / "data"
_REPO_ROOT = Path(__file__).resolve().parents[3]


def data_root() -> Path:
    """The shared data folder (it may not exist; :func:`shared_file` reports that clearly).

    Returns:
        ``$CONTRASTKIT_DATA`` if set, else the first existing of ``./../shared/data`` and the
        repository-relative ``../shared/data``, else ``./../shared/data``.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    candidates = [Path.cwd() / _DEFAULT_RELATIVE, _REPO_ROOT / _DEFAULT_RELATIVE]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return candidates[0]


def shared_file(relative: str, *, what: str) -> Path:
    """The path of a file of the shared data folder, or a ``ValueError`` that says how to fix it.

    Args:
        relative: path inside the data root, e.g. ``"image/cifar10-jpeg/test.npz"``.
        what: a human name for the file, used in the error ("CIFAR-10 test split").

    Raises:
        ValueError: the file does not exist; the message names the path, ``CONTRASTKIT_DATA``
            and where the data comes from.
    """
    env = os.environ.get(DATA_ENV)
    how = f"{DATA_ENV}={env!r}" if env else f"{DATA_ENV} is unset, so ../shared/data was tried"
    return require_file(
        data_root() / relative,
        what=what,
        fix=f"{how}. Point {DATA_ENV} at the project's shared data folder (the one holding "
        f"{relative}): the offline copy of public data sets described in its README.md; "
        "contrastkit never downloads data.",
    )


def require_file(path: Path, *, what: str, fix: str) -> Path:
    """Return ``path`` if it is a file, else raise ``ValueError(f"{what}: ... {path}. {fix}")``."""
    if path.is_file():
        return path
    raise ValueError(f"{what}: file not found: {path}. {fix}")


def cache_dir() -> Path:
    """The folder for decoded-array caches (created on first write, not here).

    Returns:
        ``$CONTRASTKIT_CACHE`` if set, else ``$XDG_CACHE_HOME/contrastkit``, else
        ``~/.cache/contrastkit``.
    """
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "contrastkit"


def check_split(split: str, allowed: Sequence[str], *, what: str) -> None:
    """Raise a ``ValueError`` listing ``allowed`` unless ``split`` is one of them."""
    if split not in allowed:
        choices = ", ".join(repr(s) for s in allowed)
        raise ValueError(f"{what}: unknown split {split!r}; choose one of {choices}")
