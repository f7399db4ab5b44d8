"""save_view_grid writes a PNG with one row per sample and one column per view plus original."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from contrastkit.transforms import digits, multi_crop, save_view_grid, simclr


@pytest.mark.parametrize(
    ("view_maker", "channels", "side"),
    [(simclr(32), 3, 32), (digits(8), 1, 8), (multi_crop(32, 12, num_local=2), 3, 40)],
)
def test_writes_a_valid_png(tmp_path: Path, view_maker, channels: int, side: int) -> None:
    images = torch.randint(0, 256, (5, channels, side, side), dtype=torch.uint8)
    path = save_view_grid(images, view_maker, tmp_path / "sub" / "grid.png", count=3, seed=1)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as png:
        png.verify()


def test_count_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count"):
        save_view_grid(
            torch.zeros(2, 3, 8, 8, dtype=torch.uint8), simclr(8), tmp_path / "x.png", count=0
        )
