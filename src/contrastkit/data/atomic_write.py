"""Atomic file writes: a temporary file beside the target, renamed into place when complete.

Used for checkpoints and on-disk caches, so that a crash or a full disk never leaves a truncated
file where a reader expects a whole one. The temporary file is created the way ``open(path, "wb")``
creates a file, so the result's permissions follow the process umask (0644 under umask 022),
unlike ``tempfile.mkstemp``, which always creates 0600.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[BinaryIO], object], *, fsync: bool = False
) -> Path:
    """Write ``path`` through ``write(handle)``; readers see the old file or the whole new one.

    Args:
        path: the file to (re)place; its folder is created if missing.
        write: writes the content to the binary handle it is given.
        fsync: flush the content to disk before the rename (for files that must survive a
            power loss, such as checkpoints).

    Returns:
        ``path`` as a :class:`~pathlib.Path`. When ``write`` raises, the temporary file is
        removed, the previous ``path`` (if any) is left as it was, and the error propagates.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.bin"
        >>> write_atomically(target, lambda handle: handle.write(b"hi")).read_bytes()
        b'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    # "x": created like open(path, "wb") (mode 0o666 minus the umask), refused if it exists
    handle = open(temporary, "xb")  # noqa: SIM115 (closed by the with below)
    try:
        with handle:
            write(handle)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
