"""A run folder end to end: build from a recipe, train, reload, evaluate and embed.

A run folder holds ``recipe.json`` (the flat recipe it was trained with), ``checkpoint.pt``,
``metrics.jsonl`` and, after evaluation, ``eval.json``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.load import load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.distributed import world_size
from contrastkit.eval.health import HealthMonitor
from contrastkit.eval.protocols import evaluate_features
from contrastkit.recipe import DataConfig, ModelConfig, Recipe, recipe_from_dict
from contrastkit.registry import DATASETS, METHODS, VIEW_RECIPES, build_encoder, build_method
from contrastkit.train import FitResult, fit, load_checkpoint, resolve_device
from contrastkit.train.state import load_weights
from contrastkit.transforms.multiview import MultiView

RECIPE_NAME = "recipe.json"
EVAL_NAME = "eval.json"


def evaluation_options(recipe: Recipe) -> dict[str, Any]:
    """The recipe's evaluation settings as keyword arguments of ``evaluate_features``."""
    settings = recipe.eval
    return {
        "protocols": settings.protocols,
        "knn_k": settings.knn_k,
        "knn_temperature": settings.knn_temperature,
        "label_fractions": settings.label_fractions,
        "probe_seeds": settings.probe_seeds,
    }


def load_data(data: DataConfig, split: str) -> ImageDataset:
    """The recipe's dataset split, decoded to memory (``skip_corrupt`` applies to folders)."""
    if data.skip_corrupt and data.dataset in DATASETS:
        raise ValueError(
            f"skip_corrupt applies to image folders, not the built-in {data.dataset!r}"
        )
    options = {"skip_corrupt": True} if data.skip_corrupt else {}
    return load_dataset(data.dataset, split, **options)


def build_views(data: DataConfig, channels: int) -> MultiView:
    """The recipe's view maker for images with ``channels`` channels."""
    if data.views not in VIEW_RECIPES:
        raise ValueError(f"unknown views {data.views!r}; choose one of {', '.join(VIEW_RECIPES)}")
    recipe = VIEW_RECIPES[data.views]
    options = dict(data.views_options)
    if "channels" in inspect.signature(recipe).parameters:
        options.setdefault("channels", channels)
    return recipe(data.image_size, **options)


def build_model(model: ModelConfig, channels: int) -> nn.Module:
    """The recipe's encoder wrapped in its method.

    With several processes, methods that take ``gather_distributed`` get it (negatives and
    batch statistics from every process) unless the recipe sets it.
    """
    encoder_options = {"in_channels": channels, **model.encoder_options}
    encoder = build_encoder(model.encoder, **encoder_options)
    options = dict(model.method_options)
    accepted = (
        inspect.signature(METHODS[model.method].cls).parameters if model.method in METHODS else {}
    )
    if world_size() > 1 and "gather_distributed" in accepted:
        options.setdefault("gather_distributed", True)
    return build_method(model.method, encoder, **options)


def train_run(recipe: Recipe, run_dir: str | Path) -> FitResult:
    """Train the recipe's method in ``run_dir`` (resuming if it holds a checkpoint)."""
    run_dir = Path(run_dir)
    torch.manual_seed(recipe.train.seed)
    dataset = load_data(recipe.data, recipe.data.train_split)
    channels = dataset.images.shape[1]
    views = build_views(recipe.data, channels)
    method = build_model(recipe.model, channels)
    if METHODS[recipe.model.method].needs_labels and dataset.labels is None:
        raise ValueError(f"method {recipe.model.method!r} needs labels; {dataset.name} has none")
    _save_recipe(run_dir, recipe)
    source = ViewSource(dataset, views, channels_last=recipe.train.channels_last)
    every = recipe.eval.health_every
    monitor = HealthMonitor(every=every) if every > 0 else None
    result = fit(method, source, recipe.train, run_dir=run_dir, observer=monitor)
    if dataset.skipped:
        print(f"skipped {len(dataset.skipped)} unreadable image files, e.g. {dataset.skipped[0]}")
    return result


# Keys a resumed run may change: they do not alter what is trained.
RESUMABLE_CHANGES = frozenset(
    {
        "max_steps",
        "time_budget_s",
        "progress_bar",
        "log_every",
        "checkpoint_every",
        "device",
        "protocols",
        "knn_k",
        "knn_temperature",
        "label_fractions",
        "probe_seeds",
        "health_every",
    }
)


def _save_recipe(run_dir: Path, recipe: Recipe) -> None:
    """Write ``recipe.json``; when resuming, first check that nothing that matters changed."""
    path = run_dir / RECIPE_NAME
    flat = recipe.to_flat()
    if (run_dir / "checkpoint.pt").exists() and path.exists():
        saved = json.loads(path.read_text())
        changed = sorted(
            key
            for key in set(saved) | set(flat)
            if key not in RESUMABLE_CHANGES and saved.get(key) != flat.get(key)
        )
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {flat.get(k)!r}" for k in changed)
            raise ValueError(
                f"cannot resume {run_dir}: the recipe changed ({details}); train with the "
                "original settings or into a new --out folder"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(flat, indent=2) + "\n")


def load_run(run_dir: str | Path) -> tuple[Recipe, nn.Module, MultiView]:
    """A trained run's recipe, its method with the checkpoint's weights, and its view maker."""
    run_dir = Path(run_dir)
    recipe_path = run_dir / RECIPE_NAME
    if not recipe_path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no {RECIPE_NAME}); train one first")
    recipe = recipe_from_dict(json.loads(recipe_path.read_text()))
    sample = load_data(recipe.data, recipe.data.test_split)
    channels = sample.images.shape[1]
    method = build_model(recipe.model, channels)
    load_weights(method, load_checkpoint(run_dir / "checkpoint.pt")["model"], run_dir)
    return recipe, method, build_views(recipe.data, channels)


@torch.no_grad()
def encode_dataset(
    method: nn.Module,
    dataset: ImageDataset,
    views: MultiView,
    *,
    batch_size: int = 512,
    device: str = "auto",
) -> Tensor:
    """Frozen features (N, F) of every image, through the recipe's evaluation transform."""
    target = resolve_device(device)
    method.to(target).eval()
    chunks = []
    for images in dataset.images.split(batch_size):
        chunks.append(method.encode(views.eval(images.to(target))).float().cpu())  # type: ignore[operator]
    return torch.cat(chunks)


def evaluate_run(run_dir: str | Path, protocols: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the recipe's evaluation protocols (or ``protocols``) on a trained run.

    Writes the records to ``eval.json`` and returns them.
    """
    run_dir = Path(run_dir)
    recipe, method, views = load_run(run_dir)
    if protocols is not None:
        recipe = dataclasses.replace(
            recipe, eval=dataclasses.replace(recipe.eval, protocols=protocols)
        )
    train = load_data(recipe.data, recipe.data.train_split)
    test = load_data(recipe.data, recipe.data.test_split)
    if train.labels is None or test.labels is None:
        raise ValueError("evaluation protocols need labelled train and test splits")
    results = evaluate_features(
        encode_dataset(method, train, views, device=recipe.train.device),
        train.labels,
        encode_dataset(method, test, views, device=recipe.train.device),
        test.labels,
        **evaluation_options(recipe),
    )
    (run_dir / EVAL_NAME).write_text(json.dumps(results, indent=2) + "\n")
    return results
