"""The image modality: a data set split decoded to memory, augmented views made on the device,
one encoder inside a method; its evaluation context hands kNN and the linear probe frozen
features of the labelled splits."""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.load import builtin_name, load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.distributed import world_size
from contrastkit.modalities.base import Splits, TrainingSetup, skipped_note
from contrastkit.modalities.image.recipe import ImageData
from contrastkit.recipe import Recipe
from contrastkit.registry import METHODS, VIEW_RECIPES, build_encoder, build_method
from contrastkit.train import resolve_device
from contrastkit.transforms.multiview import MultiView


def load_images(
    data: ImageData, split: str, splits: Splits, *, skip_corrupt: bool = False
) -> ImageDataset:
    """``split`` of ``data.dataset``, decoded once per run (``load_size`` and ``skip_corrupt``
    apply to folders)."""
    options: dict[str, Any] = {}
    if data.skip_corrupt or skip_corrupt:
        options["skip_corrupt"] = True
    if data.load_size is not None:
        options["size"] = data.load_size
    key = ("images", str(data.dataset), split, tuple(sorted(options.items())))
    return splits.get(key, lambda: load_dataset(data.dataset, split, **options))


def build_views(data: ImageData, channels: int) -> MultiView:
    """The recipe's view maker for images with ``channels`` channels."""
    recipe = VIEW_RECIPES[data.views]
    options = dict(data.views_options)
    if "channels" in inspect.signature(recipe).parameters:
        options.setdefault("channels", channels)
    return recipe(data.image_size, **options)


def build_model(recipe: Recipe, channels: int) -> nn.Module:
    """The recipe's encoder wrapped in its method.

    With several processes, methods that take ``gather_distributed`` get it (negatives and
    batch statistics from every process) unless the recipe sets it.
    """
    model = recipe.model
    encoder = build_encoder(model.encoder, **{"in_channels": channels, **model.encoder_options})
    options = dict(model.method_options)
    accepted = inspect.signature(METHODS[model.method].cls).parameters
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


class ImageFeatures:
    """The image evaluation context: frozen features of the recipe's labelled splits, each
    split decoded and embedded once (:class:`~contrastkit.eval.protocol.LabelledFeatures`)."""

    def __init__(self, recipe: Recipe, method: nn.Module, splits: Splits) -> None:
        self.recipe, self.method, self.splits = recipe, method, splits
        self._features: dict[str, tuple[Tensor, Tensor]] = {}

    def computed(self, split: str) -> Tensor | None:
        """The features of ``split`` if :meth:`labelled_features` computed them, else None."""
        return self._features[split][0] if split in self._features else None

    def labelled_features(self, split: str) -> tuple[Tensor, Tensor]:
        if split not in self._features:
            data: Any = self.recipe.data
            name = {"train": data.train_split, "test": data.test_split}.get(split, split)
            dataset = load_images(data, name, self.splits)
            if dataset.labels is None:
                raise ValueError(
                    f"kNN and linear evaluation need labels; {dataset.name} ({name}) has none: "
                    "use a folder of class subfolders, or --no-eval"
                )
            views = build_views(data, dataset.images.shape[1])
            features = encode_dataset(self.method, dataset, views, device=self.recipe.train.device)
            self._features[split] = (features, dataset.labels)
        return self._features[split]


class ImageModality:
    """Self-supervised (or SupCon) training on one image data set; kNN and linear probes."""

    name = "image"
    data_section = ImageData
    default_encoder = "small_convnet"
    default_protocols = ("knn", "linear")

    def model_spec(self, recipe: Recipe, splits: Splits) -> dict[str, Any]:
        data: Any = recipe.data
        return {"in_channels": int(load_images(data, data.train_split, splits).images.shape[1])}

    def build_method(self, recipe: Recipe, spec: dict[str, Any]) -> nn.Module:
        return build_model(recipe, spec["in_channels"])

    def training_setup(self, recipe: Recipe, splits: Splits, spec: dict[str, Any]) -> TrainingSetup:
        data: Any = recipe.data
        dataset = load_images(data, data.train_split, splits)
        if METHODS[recipe.model.method].needs_labels and dataset.labels is None:
            raise ValueError(
                f"method {recipe.model.method!r} needs labels; {dataset.name} has none "
                "(use a folder of class subfolders)"
            )
        method = self.build_method(recipe, spec)
        views = build_views(data, spec["in_channels"])
        source = ViewSource(dataset, views, channels_last=recipe.train.channels_last)
        notes = skipped_note(dataset.skipped, "unreadable image files")
        return TrainingSetup(method, source, notes)

    def context(self, recipe: Recipe, method: nn.Module, splits: Splits) -> ImageFeatures:
        return ImageFeatures(recipe, method, splits)

    def embed(
        self,
        recipe: Recipe,
        method: nn.Module,
        splits: Splits,
        data: str | None,
        split: str,
        skip_corrupt: bool,
    ) -> tuple[Tensor, str]:
        """Features of ``split`` of the images ``data`` (default: the run's data set)."""
        config: Any = recipe.data
        source = config if data is None else _with_dataset(config, data)
        dataset = load_images(source, split, splits, skip_corrupt=skip_corrupt)
        views = build_views(config, dataset.images.shape[1])
        features = encode_dataset(method, dataset, views, device=recipe.train.device)
        what = "; ".join(
            [f"{dataset.name} ({split})", *skipped_note(dataset.skipped, "unreadable files")]
        )
        return features, what


def _with_dataset(data: ImageData, dataset: str) -> ImageData:
    """The run's data section reading ``dataset`` instead (folder options kept for folders)."""
    builtin = builtin_name(dataset) is not None
    folder_only: dict[str, Any] = {"load_size": None, "skip_corrupt": False} if builtin else {}
    return replace(data, dataset=dataset, **folder_only)
