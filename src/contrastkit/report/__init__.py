"""The HTML report of a run: ``write_report(run_dir)`` writes ``run_dir/report.html``.

The report is one self-contained file (inline style, PNG figures as ``data:`` URIs, no scripts,
no external resources) with the run's configuration, training and health curves, evaluation
records, a 2-D map of test embeddings, positive/negative similarity histograms and a grid of
nearest training neighbours for a few test images.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from contrastkit.modalities.image.modality import build_views, load_images
from contrastkit.report import embedded, logged
from contrastkit.report.analysis import embed_sample, sample
from contrastkit.report.html import Section, page
from contrastkit.run import RECIPE_NAME, Run
from contrastkit.train.metrics_log import read_metrics
from contrastkit.train.state import CHECKPOINT_NAME

REPORT_NAME = "report.html"
GALLERY_SIZE = 10_000


def write_report(
    run: Run | str | Path,
    *,
    max_points: int = 2000,
    tsne_seed: int = 0,
    neighbours: int = 5,
    queries: int = 6,
) -> Path:
    """Write ``run_dir/report.html`` for a trained run and return its path.

    Sections (each an ``<h2>`` with a stable id): ``configuration``, ``training-curves``,
    ``health``, ``evaluation``, ``embedding-map``, ``similarities``, ``neighbours``. Missing
    health metrics or ``eval.json`` give a note instead of a figure or table; nothing is
    evaluated here. The checkpoint sections embed the test split (and up to 10,000 training
    images, sampled, as the neighbour gallery) with ``method.encode``; if the checkpoint or the
    data cannot be loaded, those sections say why and the rest of the report is still written.

    Args:
        run: a :class:`~contrastkit.run.Run` (its trained method and decoded data are used as
            they are in memory) or a run folder (holds ``recipe.json``; ``checkpoint.pt``,
            ``metrics.jsonl`` and ``eval.json`` as available).
        max_points: test images in the embedding map (sampled without replacement).
        tsne_seed: seed of the test sample, the projection and the augmented views.
        neighbours: nearest training images shown per query.
        queries: test images whose neighbours are shown.

    Returns:
        The path of the written ``report.html``.

    Raises:
        ValueError: ``run_dir`` is not a run folder (no ``recipe.json``).

    Example:
        >>> write_report("runs/simclr_digits")  # doctest: +SKIP
        PosixPath('runs/simclr_digits/report.html')
    """
    run = run if isinstance(run, Run) else Run.load(run)
    run_dir = run.folder
    recipe: dict[str, Any] = json.loads((run_dir / RECIPE_NAME).read_text())
    records = read_metrics(run_dir) if (run_dir / "metrics.jsonl").is_file() else []
    sections = [
        logged.configuration(recipe),
        logged.training_curves(records),
        logged.health(records),
        logged.evaluation(run_dir),
        *_checkpoint_sections(run, max_points, tsne_seed, neighbours, queries),
    ]
    path = run_dir / REPORT_NAME
    path.write_text(
        page(f"contrastkit report: {run_dir.name}", _summary(recipe, records), sections)
    )
    return path


def _summary(recipe: dict[str, Any], records: list[dict[str, Any]]) -> str:
    parts = [
        f"{recipe.get('method', '?')} on {recipe.get('dataset', '?')}",
        f"encoder {recipe.get('encoder', '?')}",
        f"{recipe.get('epochs', '?')} epochs",
    ]
    if records:
        last = records[-1]
        parts.append(f"{last.get('step', '?')} steps")
        if isinstance(last.get("loss"), int | float):
            parts.append(f"final loss {last['loss']:.4f}")
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return " · ".join(parts) + f" · report written {when}"


def _checkpoint_sections(
    run: Run, max_points: int, seed: int, neighbours: int, queries: int
) -> list[Section]:
    trained = run.folder / CHECKPOINT_NAME
    if not trained.is_file():
        return embedded.skipped("the run has no checkpoint.pt yet: train it first")
    if run.modality.name != "image":
        return embedded.skipped(
            f"these sections are drawn for image runs; {run.recipe.model.method} is a "
            f"{run.modality.name} method (its scores are in the evaluation table)"
        )
    data: Any = run.recipe.data
    try:
        method = run.method
        test_full = load_images(data, data.test_split, run.splits)
        train_full = load_images(data, data.train_split, run.splits)
    except (ValueError, OSError) as error:
        return embedded.skipped(f"could not load the run or its data ({error})")
    views = build_views(data, test_full.images.shape[1])
    device = run.recipe.train.device
    context = run.context()  # features that evaluation computed are not computed again
    test = embed_sample(
        method,
        views,
        test_full,
        max_points,
        seed=seed,
        device=device,
        known=context.computed("test"),
    )
    gallery = embed_sample(
        method,
        views,
        train_full,
        GALLERY_SIZE,
        seed=seed,
        device=device,
        known=context.computed("train"),
    )
    pairs = sample(test_full, embedded.SIMILARITY_IMAGES, seed=seed)
    return [
        embedded.embedding_map(test, seed=seed),
        embedded.similarities(method, views, pairs, seed=seed, device=device),
        embedded.neighbours(test, gallery, queries=queries, count=neighbours),
    ]
