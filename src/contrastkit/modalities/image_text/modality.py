"""The image-text modality: image-caption pairs decoded once, an image tower and a text tower
inside :class:`~contrastkit.methods.two_tower.TwoTower` (CLIP, SigLIP, LiT), a locked tower's
features cached on disk; its evaluation context gives projected embeddings for retrieval and
zero-shot classification."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.feature_cache import cached_features
from contrastkit.data.image_text import ImageCaptionDataset, load_image_captions
from contrastkit.data.load import load_dataset
from contrastkit.data.pair_source import CaptionPairSource, ImageAugment
from contrastkit.data.subsets import stratified_indices
from contrastkit.data.text import is_text_corpus
from contrastkit.distributed import world_size
from contrastkit.encoders.towers import build_tower, is_text_tower
from contrastkit.methods.two_tower import TwoTower
from contrastkit.modalities.base import Splits, TrainingSetup, skipped_note
from contrastkit.modalities.image_text.recipe import ImageTextData
from contrastkit.modalities.text import read_texts
from contrastkit.recipe import ModelConfig, Recipe
from contrastkit.train import resolve_device
from contrastkit.transforms.crop import RandomResizedCrop

ENCODE_BATCH = 64


def load_pairs(data: ImageTextData, split: str, splits: Splits) -> ImageCaptionDataset:
    """The recipe's image-caption split, decoded at ``image_size`` once per run."""
    key = ("image_text", data.dataset, split, data.image_size, data.skip_missing)
    return splits.get(
        key,
        lambda: load_image_captions(
            data.dataset, split, image_size=data.image_size, skip_missing=data.skip_missing
        ),
    )


def build_two_tower(model: ModelConfig, data: ImageTextData) -> TwoTower:
    """The recipe's image tower, text tower and :class:`TwoTower` around them.

    The image tower's input size defaults to the recipe's ``image_size``. With several
    processes, ``gather_distributed`` defaults to True.
    """
    image_options = dict(model.encoder_options)
    if model.encoder != "mlp":
        image_options.setdefault("image_size", data.image_size)
    image_tower = build_tower(model.encoder, **image_options)
    text_tower = build_tower(data.text_encoder, **data.text_encoder_options)
    if not is_text_tower(text_tower):
        raise ValueError(
            f"text_encoder {data.text_encoder!r} is not a text tower; use minilm, "
            "small_transformer or a local Hugging Face model folder"
        )
    options = dict(model.method_options)
    accepted = [
        p for p in inspect.signature(TwoTower).parameters if p not in ("encoder_a", "encoder_b")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"method {model.method!r} does not take {', '.join(unknown)}; it takes "
            f"{', '.join(accepted)}"
        )
    if world_size() > 1:
        options.setdefault("gather_distributed", True)
    return TwoTower(image_tower, text_tower, **options)


def _pixel_digest(images: Tensor) -> str:
    return hashlib.sha256(images.contiguous().numpy().tobytes()).hexdigest()


@torch.no_grad()
def image_features(
    method: TwoTower, images: Tensor, *, names: list[str], tag: str, cache: bool, device: Any
) -> Tensor:
    """Tower a's (N, F) features of uint8 images, in eval mode; cached on disk when locked."""
    tower = method.encoder_a

    def compute() -> Tensor:
        was_training = tower.training
        tower.to(device).eval()
        chunks = [tower(chunk.to(device)).float().cpu() for chunk in images.split(ENCODE_BATCH)]
        tower.train(was_training)
        return torch.cat(chunks)

    settings = f"images={_pixel_digest(images)} size={tuple(images.shape)}"
    return cached_features(
        tower, names, compute, tag=tag, settings=settings, enabled=cache and method.lock_a
    )


@torch.no_grad()
def dataset_features(method: TwoTower, dataset: Any, *, cache: bool, device: Any) -> Tensor:
    """Tower a's features of an image dataset's images (cache keys from its name and index)."""
    names = [f"{dataset.name}/{i}" for i in range(len(dataset))]
    tag = dataset.name.replace("/", "-")
    return image_features(method, dataset.images, names=names, tag=tag, cache=cache, device=device)


def text_features(
    method: TwoTower, texts: list[str], *, max_length: int, tag: str, cache: bool, device: Any
) -> Tensor:
    """Tower b's (M, F) features of sentences, in eval mode; cached on disk when locked."""
    tower = method.encoder_b

    def compute() -> Tensor:
        return tower.encode_texts(texts, batch_size=256, device=device, max_length=max_length)  # type: ignore[operator]

    settings = f"max_length={max_length} pooler={getattr(tower, 'pooler', '')}"
    return cached_features(
        tower, texts, compute, tag=tag, settings=settings, enabled=cache and method.lock_b
    )


def build_augment(data: ImageTextData) -> ImageAugment | None:
    """None for ``views="none"``; a random resized crop (area 0.5-1) for ``"random_crop"``."""
    if data.views == "none":
        return None
    return RandomResizedCrop(size=data.image_size, scale=(0.5, 1.0))


def build_source(
    method: TwoTower, dataset: ImageCaptionDataset, data: ImageTextData, device: Any
) -> CaptionPairSource:
    """The training batch source: pixels and tokens, or a locked tower's cached features."""
    augment = build_augment(data)
    cache = data.cache_features
    if cache and method.lock_a and augment is not None:
        raise ValueError(
            "a locked image tower's cached features cannot be augmented: set views='none', or "
            "cache_features=false to run the locked tower on augmented images every step"
        )
    name = dataset.name.replace("/", "-")
    texts, _ = dataset.flat_captions()
    images = captions = None
    if cache and method.lock_a:
        images = image_features(
            method,
            dataset.images,
            names=dataset.names,
            tag=f"{name}-image",
            cache=True,
            device=device,
        )
    if cache and method.lock_b:
        captions = text_features(
            method,
            texts,
            max_length=data.max_length,
            tag=f"{name}-text",
            cache=True,
            device=device,
        )
    tower_b = method.encoder_b
    return CaptionPairSource(
        dataset,
        tokenize=lambda batch: tower_b.tokenize(batch, max_length=data.max_length),  # type: ignore[operator]
        image_features=images,
        caption_features=captions,
        augment=augment,
    )


ZERO_SHOT_SEED = 0  # the stratified subset of zero_shot_limit images


class ImageTextFeatures:
    """The image-text evaluation context: projected embeddings from both towers, in eval mode
    (:class:`~contrastkit.eval.protocol.ImageTextEmbedder`)."""

    def __init__(self, recipe: Recipe, method: nn.Module, splits: Splits) -> None:
        if not isinstance(method, TwoTower):
            raise ValueError(f"image-text evaluation needs a TwoTower, got {type(method).__name__}")
        self.recipe, self.method, self.splits = recipe, method, splits
        self.data: Any = recipe.data
        self.device = resolve_device(recipe.train.device)
        method.to(self.device).eval()

    def test_pairs(self) -> tuple[Tensor, Tensor, Tensor, str]:
        test = load_pairs(self.data, self.data.test_split, self.splits)
        cache, name = self.data.cache_features, test.name.replace("/", "-")
        images = image_features(
            self.method,
            test.images,
            names=test.names,
            tag=f"{name}-image",
            cache=cache,
            device=self.device,
        )
        texts, owners = test.flat_captions()
        captions = text_features(
            self.method,
            texts,
            max_length=self.data.max_length,
            tag=f"{name}-text",
            cache=cache,
            device=self.device,
        )
        with torch.no_grad():
            image_emb = self.method.project_a(images.to(self.device)).cpu()
            text_emb = self.method.project_b(captions.to(self.device)).cpu()
        return image_emb, text_emb, owners, test.name

    def labelled_images(self, dataset: str, limit: int) -> tuple[Tensor, Tensor, list[str], str]:
        images = self.splits.get(
            ("images", dataset, "test", ()), lambda: load_dataset(dataset, "test")
        )
        if not images.classes or images.labels is None:
            raise ValueError(f"zero_shot needs class names; {images.name} has none")
        name = images.name
        if 0 < limit < len(images):
            images = images.subset(stratified_indices(images.labels, limit, seed=ZERO_SHOT_SEED))
            name = f"{name} (class-stratified subset of {limit}, seed {ZERO_SHOT_SEED})"
        assert images.labels is not None
        features = dataset_features(
            self.method, images, cache=self.data.cache_features, device=self.device
        )
        with torch.no_grad():
            image_emb = self.method.project_a(features.to(self.device)).cpu()
        return image_emb, images.labels, list(images.classes), name

    def embed_prompts(self, prompts: Sequence[str]) -> Tensor:
        features = self.method.encoder_b.encode_texts(list(prompts), device=self.device)  # type: ignore[operator]
        with torch.no_grad():
            return self.method.project_b(features.to(self.device)).cpu()


class ImageTextModality:
    """Two-tower training on image-caption pairs; retrieval and zero-shot evaluation."""

    name = "image_text"
    data_section = ImageTextData
    default_encoder = "efficientnet_lite0"
    default_protocols = ("retrieval",)

    def model_spec(self, recipe: Recipe, splits: Splits) -> dict[str, Any]:
        return {}

    def build_method(self, recipe: Recipe, spec: dict[str, Any]) -> nn.Module:
        return build_two_tower(recipe.model, recipe.data)  # type: ignore[arg-type]

    def training_setup(self, recipe: Recipe, splits: Splits, spec: dict[str, Any]) -> TrainingSetup:
        data: Any = recipe.data
        dataset = load_pairs(data, data.train_split, splits)
        method = build_two_tower(recipe.model, data)
        source = build_source(method, dataset, data, resolve_device(recipe.train.device))
        notes = skipped_note(dataset.skipped, "missing or unreadable images")
        return TrainingSetup(method, source, notes)

    def context(self, recipe: Recipe, method: nn.Module, splits: Splits) -> ImageTextFeatures:
        return ImageTextFeatures(recipe, method, splits)

    def embed(
        self,
        recipe: Recipe,
        method: nn.Module,
        splits: Splits,
        data: str | None,
        split: str,
        skip_corrupt: bool,
    ) -> tuple[Tensor, str]:
        """Projected embeddings of texts (through text tower b) or an image dataset (tower a)."""
        if not isinstance(method, TwoTower):
            raise ValueError(f"image-text embedding needs a TwoTower, got {type(method).__name__}")
        if not data:
            raise ValueError("--data is required: texts (for tower b) or images (for tower a)")
        config: Any = recipe.data
        device = resolve_device(recipe.train.device)
        method.to(device).eval()
        if is_text_corpus(data) and is_text_tower(method.encoder_b):
            texts, what = read_texts(data, split)
            features = text_features(
                method, texts, max_length=config.max_length, tag="", cache=False, device=device
            )
            with torch.no_grad():
                return method.project_b(features.to(device)).cpu(), f"{what} (tower b)"
        options = {"skip_corrupt": True} if skip_corrupt else {}
        dataset = load_dataset(data, split, **options)
        images = dataset_features(method, dataset, cache=False, device=device)
        with torch.no_grad():
            return method.project_a(images.to(device)).cpu(), f"{dataset.name} ({split}, tower a)"
