"""The formats a trained model leaves in: an image backbone as safetensors, sentence-transformers
and Hugging Face folders for text, ONNX, and two towers; each folder with a model card.

:func:`write_export` writes one (``Run.export`` and ``contrastkit export`` call it with a
format of :data:`contrastkit.registry.EXPORT_FORMATS`); :func:`load_model` reads back the
formats contrastkit itself loads (``backbone``, ``two_tower``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from contrastkit.export.card import write_card
from contrastkit.export.format import ExportFormat

MANIFEST_NAME = "export.json"
LOADABLE = ("backbone", "two_tower")  # the formats load_model reads


def write_export(run: Any, fmt: ExportFormat, out: str | Path) -> Path:
    """Write ``run`` in the format ``fmt`` into the new or empty folder ``out``; returns it.

    The files are written into a hidden sibling folder renamed to ``out`` at the end, so a
    failed export leaves nothing behind. Every export holds ``README.md`` (the model card) and
    ``export.json`` (format, method, modality, contrastkit version).
    """
    from contrastkit import __version__

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out {out} already exists and is not an empty folder; choose a new one")
    staging = out.parent / f".{out.name}.export-tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        how_to_load = fmt.write(run, staging)
        manifest = {
            "format": fmt.name,
            "method": run.recipe.model.method,
            "modality": run.modality.name,
            "run": str(run.folder),
            "weights": run.weights_path().name,
            "contrastkit": __version__,
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        write_card(
            run, staging, fmt.name, fmt.summary, how_to_load.replace("THIS_FOLDER", str(out))
        )
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def load_model(folder: str | Path) -> Any:
    """The model exported to ``folder`` as ``backbone`` (an object with ``encode_image``) or
    ``two_tower`` (``encode_image`` and ``encode_text``).

    Raises:
        ValueError: ``folder`` is not a contrastkit export, or one of a format that other
            libraries load (its README.md says how).

    Example:
        >>> model = load_model("exports/clip")  # doctest: +SKIP
        >>> model.encode_text(["a dog"]).shape  # doctest: +SKIP
        torch.Size([1, 64])
    """
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ValueError(
            f"{folder} is not a contrastkit export (no {MANIFEST_NAME}); write one with "
            "contrastkit export RUN --format FORMAT --out DIR"
        )
    name = json.loads(path.read_text()).get("format")
    if name == "backbone":
        from contrastkit.export.backbone import load_backbone

        return load_backbone(folder)
    if name == "two_tower":
        from contrastkit.export.two_tower import load_two_tower

        return load_two_tower(folder)
    raise ValueError(
        f"{folder} holds a {name!r} export, which load_model does not read (it reads "
        f"{', '.join(LOADABLE)}); its README.md says how to load it"
    )


__all__ = ["LOADABLE", "MANIFEST_NAME", "ExportFormat", "load_model", "write_export"]
