"""Report sections computed from the trained checkpoint: embedding map, similarities, neighbours."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from contrastkit.data.dataset import ImageDataset
from contrastkit.report import plots
from contrastkit.report.analysis import (
    Embedded,
    nearest,
    project_2d,
    query_indices,
    view_similarities,
)
from contrastkit.report.html import Section, image, note
from contrastkit.transforms.multiview import MultiView

SIMILARITY_IMAGES = 512


def embedding_map(test: Embedded, *, seed: int) -> Section:
    """A 2-D map (UMAP if installed, else t-SNE) of test embeddings coloured by label."""
    title = "Embedding map"
    if len(test.features) < 5:
        return Section("embedding-map", title, note("too few test images for a 2-D map"))
    coordinates, projection = project_2d(test.features, seed=seed)
    figure = plots.embedding_map(
        coordinates, test.dataset.labels, test.dataset.classes, projection=projection
    )
    explanation = note(
        f"{projection} (seed {seed}) of the normalized encoder features of "
        f"{len(test.features)} test images of {test.dataset.name}; colour is the true label."
    )
    return Section("embedding-map", title, explanation + image(figure, "embedding map"))


def similarities(
    method: nn.Module, views: MultiView, test: ImageDataset, *, seed: int, device: str
) -> Section:
    """Histogram of cosine similarities of positive pairs against negative pairs of ``test``."""
    title = "Positive and negative similarities"
    images = test.images
    if len(images) < 2:
        return Section("similarities", title, note("too few test images to pair"))
    try:
        result = view_similarities(method, views, images, seed=seed, device=device)
    except ValueError as error:
        return Section("similarities", title, note(str(error)))
    gap = float(result.positive.mean() - result.negative.mean())
    explanation = note(
        f"{len(images)} test images, two augmented views each from the run's own view maker, "
        "embedded with the encoder (normalized features, not the projection head). Positives: "
        "the two views of one image; negatives: the first view of an image against the second "
        f"view of every other image. Mean gap (positive - negative): {gap:.3f}."
    )
    figure = plots.similarity_histogram(result.positive, result.negative)
    return Section("similarities", title, explanation + image(figure, "similarity histogram"))


def _title(dataset: ImageDataset, index: int) -> str:
    if dataset.labels is None:
        return "unlabelled"
    label = int(dataset.labels[index])
    return dataset.classes[label] if label < len(dataset.classes) else str(label)


def neighbours(test: Embedded, gallery: Embedded, *, queries: int, count: int) -> Section:
    """For a few test images, their nearest training images by cosine similarity."""
    title = "Nearest neighbours"
    rows = query_indices(queries, len(test.features))
    if not len(rows) or not len(gallery.features) or count < 1:
        return Section("neighbours", title, note("no queries or no training images to search"))
    values, found = nearest(test.features[rows], gallery.features, k=count)
    query_set, train_set = test.dataset, gallery.dataset
    titles: list[list[str]] = []
    correct: list[list[bool | None]] = []
    for row, query in enumerate(rows.tolist()):
        titles.append(
            [
                f"{_title(train_set, int(index))}\n{value:.2f}"
                for value, index in zip(values[row].tolist(), found[row].tolist(), strict=True)
            ]
        )
        correct.append(_matches(query_set, query, train_set, found[row].tolist()))
    figure = plots.neighbour_grid(
        query_set.images[rows],
        [f"query\n{_title(query_set, q)}" for q in rows.tolist()],
        train_set.images[found],
        titles,
        correct,
    )
    explanation = note(
        f"first column: test query; then its {found.shape[1]} nearest of "
        f"{len(gallery.features)} training images by cosine similarity of encoder features "
        "(label and cosine similarity above each image; green frame: same label as the query, "
        "red: a different label)."
    )
    return Section("neighbours", title, explanation + image(figure, "nearest neighbours"))


def _matches(
    queries: ImageDataset, query: int, gallery: ImageDataset, found: Sequence[int]
) -> list[bool | None]:
    if queries.labels is None or gallery.labels is None:
        return [None] * len(found)
    label = int(queries.labels[query])
    return [int(gallery.labels[index]) == label for index in found]


def skipped(reason: str) -> list[Section]:
    """The three checkpoint sections, each with the note why they could not be computed."""
    text = f"not computed: {reason}"
    return [
        Section("embedding-map", "Embedding map", note(text)),
        Section("similarities", "Positive and negative similarities", note(text)),
        Section("neighbours", "Nearest neighbours", note(text)),
    ]
