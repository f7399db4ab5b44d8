"""The report's figures, drawn with matplotlib's Agg canvas and returned as PNG data URIs.

Figures are built with ``matplotlib.figure.Figure`` directly (no ``pyplot``), so drawing needs
no display, touches no global state and frees its memory when the figure goes out of scope.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

DPI = 80
LINE = "#2563eb"
COLOURS = (LINE, "#dc2626", "#16a34a", "#9333ea")

Panel = tuple[str, Sequence[str]]
"""A small-multiples panel: its title and the metric keys drawn in it."""


def data_uri(figure: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (tight bounding box, 80 dpi)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """Steps and finite numeric values of ``key`` over the records that hold it."""
    steps: list[float] = []
    values: list[float] = []
    for record in records:
        value = record.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            steps.append(float(record.get("step", len(steps))))
            values.append(float(value))
    return steps, values


def curves(records: Sequence[dict[str, Any]], panels: Sequence[Panel], *, columns: int = 3) -> str:
    """Small multiples: one panel per ``(title, keys)``, each key's value against the step.

    The first key of a panel is drawn solid in blue, further keys in other colours; keys that
    end in ``_healthy`` are reference values, drawn dashed in grey. Panels with more than one
    key get a legend.
    """
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(4.0 * columns, 2.7 * rows))
    for position, (title, keys) in enumerate(panels, start=1):
        axes = figure.add_subplot(rows, columns, position)
        for key, colour in zip(keys, COLOURS, strict=False):
            steps, values = series(records, key)
            reference = key.endswith("_healthy")
            axes.plot(
                steps,
                values,
                color="#9ca3af" if reference else colour,
                linestyle="--" if reference else "-",
                marker=None if reference or len(steps) > 30 else "o",
                markersize=3,
                linewidth=1.5,
                label=key,
            )
        if len(keys) > 1:
            axes.legend(fontsize=7, frameon=False)
        axes.set_title(title, fontsize=11)
        axes.set_xlabel("step", fontsize=9)
        axes.tick_params(labelsize=8)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return data_uri(figure)


def embedding_map(
    coordinates: np.ndarray, labels: Tensor | None, classes: Sequence[str], *, projection: str
) -> str:
    """A scatter of 2-D coordinates coloured by label, with a legend of class names (<= 20)."""
    figure = Figure(figsize=(7.5, 6.0))
    axes = figure.add_subplot()
    values = labels.numpy() if labels is not None else np.zeros(len(coordinates), dtype=int)
    count = max(len(classes), int(values.max()) + 1 if len(values) else 0)
    if labels is None:
        axes.scatter(coordinates[:, 0], coordinates[:, 1], s=8, color=LINE, alpha=0.7)
    elif count <= 20:
        palette = colormaps["tab10" if count <= 10 else "tab20"]
        for label in range(count):
            chosen = values == label
            name = classes[label] if label < len(classes) else str(label)
            axes.scatter(
                coordinates[chosen, 0],
                coordinates[chosen, 1],
                color=palette(label),
                s=8,
                alpha=0.8,
                label=name,
            )
        axes.legend(
            loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False, markerscale=2
        )
    else:
        axes.scatter(coordinates[:, 0], coordinates[:, 1], c=values, cmap="turbo", s=8, alpha=0.8)
    axes.set_title(f"{projection} of test embeddings ({len(coordinates)} points)", fontsize=11)
    axes.set_xticks([])
    axes.set_yticks([])
    return data_uri(figure)


def similarity_histogram(positive: Tensor, negative: Tensor) -> str:
    """Overlaid density histograms of positive-pair and negative-pair cosine similarities."""
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    low = max(-1.0, math.floor(min(float(positive.min()), float(negative.min())) * 10) / 10)
    bins = np.linspace(low, 1.0, 61).tolist()
    axes.hist(
        negative.numpy(),
        bins=bins,
        density=True,
        alpha=0.6,
        color="#9ca3af",
        label=f"negatives (mean {negative.mean():.3f})",
    )
    axes.hist(
        positive.numpy(),
        bins=bins,
        density=True,
        alpha=0.6,
        color=LINE,
        label=f"positives (mean {positive.mean():.3f})",
    )
    axes.set_xlabel("cosine similarity", fontsize=9)
    axes.set_ylabel("density", fontsize=9)
    axes.tick_params(labelsize=8)
    axes.legend(fontsize=9, frameon=False)
    axes.grid(alpha=0.3)
    return data_uri(figure)


def _show(axes: Any, image: Tensor, title: str, colour: str) -> None:
    picture = image.permute(1, 2, 0).numpy()  # uint8 (H, W, C)
    if picture.shape[2] == 1:
        axes.imshow(picture[:, :, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        axes.imshow(picture, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color(colour)
        spine.set_linewidth(3)
    axes.set_title(title, fontsize=9, color=colour)


def neighbour_grid(
    query_images: Tensor,
    query_titles: Sequence[str],
    neighbour_images: Tensor,
    neighbour_titles: Sequence[Sequence[str]],
    neighbour_correct: Sequence[Sequence[bool | None]],
) -> str:
    """One row per query: the query image, then its neighbours (green: same label, red: not).

    Args:
        query_images: (Q, C, H, W) uint8.
        query_titles: Q titles.
        neighbour_images: (Q, K, C, H, W) uint8.
        neighbour_titles: Q lists of K titles.
        neighbour_correct: Q lists of K flags (None when the labels are unknown).
    """
    rows, columns = neighbour_images.shape[0], neighbour_images.shape[1] + 1
    figure = Figure(figsize=(1.35 * columns, 1.75 * rows))
    for row in range(rows):
        axes = figure.add_subplot(rows, columns, row * columns + 1)
        _show(axes, query_images[row], query_titles[row], "#111827")
        for column in range(columns - 1):
            correct = neighbour_correct[row][column]
            colour = "#6b7280" if correct is None else "#16a34a" if correct else "#dc2626"
            axes = figure.add_subplot(rows, columns, row * columns + column + 2)
            _show(axes, neighbour_images[row, column], neighbour_titles[row][column], colour)
    figure.tight_layout()
    return data_uri(figure)
