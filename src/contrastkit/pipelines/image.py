"""Images: a dataset split, augmented views, one encoder inside a method, kNN and linear probes."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.load import load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.distributed import world_size
from contrastkit.eval.protocols import evaluate_features
from contrastkit.pipelines.base import TrainingSetup
from contrastkit.recipe import DataConfig, ModelConfig, Recipe
from contrastkit.registry import DATASETS, METHODS, VIEW_RECIPES, build_encoder, build_method
from contrastkit.train import resolve_device
from contrastkit.transforms.multiview import MultiView


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


class ImagePipeline:
    """Self-supervised (or SupCon) training on one image dataset; kNN and linear evaluation."""

    def training_setup(self, recipe: Recipe) -> TrainingSetup:
        dataset = load_data(recipe.data, recipe.data.train_split)
        channels = dataset.images.shape[1]
        method = build_model(recipe.model, channels)
        if METHODS[recipe.model.method].needs_labels and dataset.labels is None:
            raise ValueError(
                f"method {recipe.model.method!r} needs labels; {dataset.name} has none"
            )
        views = build_views(recipe.data, channels)
        source = ViewSource(dataset, views, channels_last=recipe.train.channels_last)
        notes = []
        if dataset.skipped:
            notes.append(
                f"skipped {len(dataset.skipped)} unreadable image files, e.g. {dataset.skipped[0]}"
            )
        return TrainingSetup(method, source, notes)

    def build_method(self, recipe: Recipe) -> nn.Module:
        sample = load_data(recipe.data, recipe.data.test_split)
        return build_model(recipe.model, sample.images.shape[1])

    def embed(
        self, recipe: Recipe, method: nn.Module, data: str | None, split: str
    ) -> tuple[Tensor, str]:
        """Features of ``split`` of the image dataset ``data`` (default: the run's dataset)."""
        dataset = load_dataset(data or recipe.data.dataset, split)
        views = build_views(recipe.data, dataset.images.shape[1])
        features = encode_dataset(method, dataset, views, device=recipe.train.device)
        return features, f"{dataset.name} ({split})"

    def evaluate(self, recipe: Recipe, method: nn.Module) -> list[dict[str, Any]]:
        train = load_data(recipe.data, recipe.data.train_split)
        test = load_data(recipe.data, recipe.data.test_split)
        if train.labels is None or test.labels is None:
            raise ValueError("evaluation protocols need labelled train and test splits")
        views = build_views(recipe.data, train.images.shape[1])
        device = recipe.train.device
        return evaluate_features(
            encode_dataset(method, train, views, device=device),
            train.labels,
            encode_dataset(method, test, views, device=device),
            test.labels,
            **evaluation_options(recipe),
        )
