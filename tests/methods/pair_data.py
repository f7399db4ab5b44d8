"""A temporary image-caption folder (``captions.txt`` + ``images/``) for the two-tower tests."""

from pathlib import Path

import numpy as np
from PIL import Image


def write_pairs(root: Path, images: int = 5, captions: int = 3, missing: int = 0) -> Path:
    """``images`` PNGs of different sizes with ``captions`` captions each; the last ``missing``
    images are named in the CSV but not written."""
    (root / "images").mkdir(parents=True)
    rows = ["image,caption"]
    rng = np.random.default_rng(0)
    for i in range(images):
        name = f"img{i:02d}.png"
        if i < images - missing:
            pixels = rng.integers(0, 256, (20 + 4 * i, 30, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "images" / name)
        rows += [f'{name},"caption {j} of image {i}, with a comma"' for j in range(captions)]
    (root / "captions.txt").write_text("\n".join(rows) + "\n")
    return root
