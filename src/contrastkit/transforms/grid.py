"""A PNG grid of augmented views, to check a recipe by eye."""

from __future__ import annotations

from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from contrastkit.transforms.multiview import MultiView, to_float_images


def save_view_grid(
    images: Tensor,
    view_maker: MultiView,
    out: str | Path,
    *,
    count: int = 8,
    seed: int = 0,
) -> Path:
    """Write a PNG grid: one row per sample, the original first, then each view un-normalized.

    Args:
        images: (N, C, H, W) uint8 (or float in [0, 1]) images; the first ``count`` are shown.
        view_maker: the recipe to visualize.
        out: path of the PNG to write (parent folders are created).
        count: number of samples (rows).
        seed: seed of the generator that draws the views.

    Returns:
        The path written.

    Example:
        >>> from contrastkit.transforms import recipes
        >>> images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
        >>> save_view_grid(images, recipes.simclr(32), "/tmp/views.png", count=2).name
        'views.png'
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    samples = to_float_images(images[:count]).cpu()
    views = view_maker(samples, torch.Generator().manual_seed(seed))
    columns = [samples] + [view_maker.denormalize(view) for view in views]
    rows = samples.shape[0]
    figure = Figure(figsize=(1.2 * len(columns), 1.2 * rows))
    FigureCanvasAgg(figure)
    for row in range(rows):
        for column, batch in enumerate(columns):
            axis = figure.add_subplot(rows, len(columns), row * len(columns) + column + 1)
            _show(axis, batch[row])
            if row == 0:
                axis.set_title("original" if column == 0 else f"view {column}", fontsize=7)
    figure.tight_layout()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def _show(axis: object, image: Tensor) -> None:
    """Draw one (C, H, W) float image on a matplotlib axis, without ticks."""
    pixels = image.permute(1, 2, 0).clamp(0, 1).numpy()
    if pixels.shape[2] == 1:
        axis.imshow(pixels[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0)  # type: ignore[attr-defined]
    else:
        axis.imshow(pixels)  # type: ignore[attr-defined]
    axis.set_axis_off()  # type: ignore[attr-defined]
