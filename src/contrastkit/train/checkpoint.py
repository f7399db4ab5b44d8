"""Atomic checkpoints loaded without unpickling arbitrary objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from contrastkit.data.atomic_write import write_atomically


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, then rename.

    A crash while writing leaves the previous checkpoint intact. ``state`` must hold only
    tensors, numbers, strings, lists and dicts (what ``torch.load(weights_only=True)`` reads).
    The file's permissions follow the umask, as with ``open``.
    """
    return write_atomically(path, lambda file: torch.save(state, file), fsync=True)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a clear error when missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist; train first or check the run folder")
    start_over = "delete it and train again, or train into a new folder (--out)"
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (0 bytes); {start_over}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for corrupt files
        # torch's message suggests weights_only=False, which would run arbitrary code: not shown
        raise ValueError(
            f"checkpoint {path} is corrupt or not a contrastkit checkpoint (it holds something "
            f"other than tensors and plain values); {start_over}"
        ) from error
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"checkpoint {path} is not a contrastkit checkpoint (no 'model' entry)")
    return state
