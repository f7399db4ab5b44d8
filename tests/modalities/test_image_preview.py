"""``contrastkit views`` shows a class-stratified sample, not the first images of a sorted set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.modalities.image import preview


def test_views_grid_samples_every_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for label, value in (("a", 0), ("b", 120), ("c", 240)):  # a folder loads sorted by class
        folder = tmp_path / "data" / label
        folder.mkdir(parents=True)
        for index in range(10):
            Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(folder / f"{index}.png")
    shown: list[Any] = []

    def capture(images: torch.Tensor, views: Any, out: Path, **options: Any) -> Path:
        shown.append(images)
        return Path(out)

    monkeypatch.setattr(preview, "save_view_grid", capture)
    preview.views(str(tmp_path / "data"), tmp_path / "grid.png", split="all", size=8, count=6)
    values = sorted({int(image[0, 0, 0]) for image in shown[0]})
    assert values == [0, 120, 240] and len(shown[0]) == 6  # two images of each class
