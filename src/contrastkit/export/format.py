"""An export format: its name, the modalities it applies to, and the function that writes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExportFormat:
    """A registered export format (:data:`contrastkit.registry.EXPORT_FORMATS`).

    Attributes:
        name: what ``contrastkit export --format`` takes.
        modalities: the run modalities it applies to (``"image"``, ``"text"``,
            ``"image_text"``).
        write: ``write(run, folder) -> how_to_load``: writes the files into an empty
            ``folder`` and returns the Markdown (a short code block) the model card shows under
            "How to load".
        summary: one line for the model card and the README's table.
    """

    name: str
    modalities: tuple[str, ...]
    write: Callable[[Any, Path], str]
    summary: str
