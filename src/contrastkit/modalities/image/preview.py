"""``contrastkit views``: a PNG grid of images and the augmented views a recipe makes of them."""

from __future__ import annotations

from pathlib import Path

from contrastkit.data.load import load_dataset
from contrastkit.data.subsets import stratified_indices
from contrastkit.modalities.image.modality import build_views
from contrastkit.modalities.image.recipe import ImageData
from contrastkit.transforms.grid import save_view_grid


def views(
    data: str,
    out: str | Path,
    *,
    split: str = "train",
    recipe: str = "simclr",
    size: int = 32,
    count: int = 8,
    seed: int = 0,
) -> Path:
    """Write a grid of ``count`` images of ``data`` (one row each: the image, then its views).

    The images are a seeded class-stratified sample when the data set has labels (packed data
    sets are often sorted by class), else a seeded random one. Returns the PNG's path.

    Example:
        >>> views("digits", "runs/views.png", recipe="digits", size=8)  # doctest: +SKIP
        PosixPath('runs/views.png')
    """
    config = ImageData(dataset=data, views=recipe, image_size=size)
    dataset = load_dataset(data, split)
    if dataset.labels is not None:
        rows = stratified_indices(dataset.labels, count, seed=seed)
    else:
        import torch

        generator = torch.Generator().manual_seed(seed)
        rows = torch.randperm(len(dataset), generator=generator)[:count].sort().values
    maker = build_views(config, dataset.images.shape[1])
    return save_view_grid(dataset.images[rows], maker, out, count=count, seed=seed)
