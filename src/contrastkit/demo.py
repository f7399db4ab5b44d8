"""The built-in demo: SimCLR on scikit-learn's digits, evaluated against two baselines.

Everything is bundled (no download): 1,797 8x8 digit images, split 75/25. A small ConvNet is
pretrained with SimCLR on the training images (no labels), then its frozen features are
evaluated with weighted kNN and a linear probe using 100% and 1% of the labels, beside raw
pixels and the same ConvNet at random initialization. Digits are easy (raw pixels already
score about 0.97), so the demo proves the pipeline end to end in a couple of minutes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

from contrastkit.eval.protocols import FeatureSplits
from contrastkit.modalities.image.modality import ImageFeatures, build_model, load_images
from contrastkit.recipe import Recipe, recipe_from_dict
from contrastkit.results import format_table
from contrastkit.run import Run, run_protocols

# The same settings as recipes/simclr_digits.toml (kept in code so the demo runs from a wheel).
DEMO_RECIPE: dict[str, Any] = {
    "method": "simclr",
    "dataset": "digits",
    "views": "digits",
    "image_size": 8,
    "encoder": "small_convnet",
    "proj_hidden_dim": 256,
    "proj_dim": 64,
    "temperature": 0.2,
    "epochs": 60,
    "batch_size": 256,
    "optimizer": "adamw",
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "warmup_epochs": 5,
    "log_every": 5,
    "checkpoint_every": 100,
    "protocols": ["knn", "linear"],
    "knn_k": 20,
    "label_fractions": [1.0, 0.01],
    "probe_seeds": [0, 1, 2],
}


def demo_recipe(overrides: list[str] | None = None) -> Recipe:
    """The demo's recipe with ``key=value`` overrides applied."""
    return recipe_from_dict(DEMO_RECIPE, overrides)


def run_demo(
    overrides: list[str] | None = None, run_dir: str | Path | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Train SimCLR on digits and evaluate it beside raw pixels and a random-init encoder.

    With ``run_dir`` the run folder is kept, with its ``eval.json`` and ``report.html``.
    Returns the evaluation records per representation (``format_table`` prints them).
    """
    recipe = demo_recipe(overrides)
    with tempfile.TemporaryDirectory() as scratch:
        run = Run(recipe, Path(run_dir) if run_dir is not None else Path(scratch) / "demo")
        if run.train().stopped == "interrupted":
            raise KeyboardInterrupt("demo interrupted")
        results = {**_baselines(run), "SimCLR ConvNet": run.evaluate()}
        if run_dir is not None:
            run.report()
        return results


def _baselines(run: Run) -> dict[str, list[dict[str, Any]]]:
    """Raw pixels and the same encoder at initialization, through the same protocols, on the
    run's decoded splits (nothing is decoded twice)."""
    recipe = run.recipe
    data: Any = recipe.data
    train, test = (
        load_images(data, split, run.splits) for split in (data.train_split, data.test_split)
    )
    assert train.labels is not None and test.labels is not None  # digits are labelled
    pixels = FeatureSplits(
        (train.images.flatten(1).float() / 255, train.labels),
        (test.images.flatten(1).float() / 255, test.labels),
    )
    torch.manual_seed(recipe.train.seed)
    untrained = ImageFeatures(recipe, build_model(recipe, run.spec["in_channels"]), run.splits)
    return {
        "raw pixels": run_protocols(recipe, pixels),
        "random-init ConvNet": run_protocols(recipe, untrained),
    }


def print_demo(results: dict[str, list[dict[str, Any]]]) -> None:
    """Print the demo's table."""
    print("digits, held-out 25% (450 images); linear probe: mean ± std over 3 seeds")
    print(format_table(results))
