"""Image-text pairs: two towers (CLIP, SigLIP, LiT), caption retrieval and zero-shot evaluation.

Recipe keys: ``dataset`` (``"flickr8k_1k"``, a folder with ``captions.txt`` and ``images/``, or
an ``image,caption`` CSV), ``image_size`` (decoded side, and the image tower's input size unless
``encoder_options`` set one), ``views`` (``"none"`` or ``"random_crop"``), ``encoder`` /
``encoder_options`` (the image tower), ``text_encoder`` / ``text_encoder_options`` (the text
tower, :func:`~contrastkit.encoders.towers.build_tower` names), ``max_length``,
``cache_features``, ``skip_missing``; :class:`~contrastkit.methods.two_tower.TwoTower` options
(``loss``, ``lock_a``, ``lock_b``, ``proj_dim``, ...) as method keys; ``protocols`` from
``retrieval`` and ``zero_shot``.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.feature_cache import cached_features
from contrastkit.data.image_text import ImageCaptionDataset, load_image_captions
from contrastkit.data.load import load_dataset
from contrastkit.data.pair_source import CaptionPairSource, ImageAugment
from contrastkit.data.text import is_text_corpus
from contrastkit.distributed import world_size
from contrastkit.encoders.towers import build_tower, is_text_tower
from contrastkit.eval.retrieval import image_text_retrieval
from contrastkit.eval.zero_shot import CIFAR_TEMPLATES, DEFAULT_TEMPLATES, zero_shot_evaluate
from contrastkit.methods.two_tower import TwoTower
from contrastkit.pipelines.base import TrainingSetup
from contrastkit.pipelines.text import read_texts
from contrastkit.recipe import DataConfig, ModelConfig, Recipe
from contrastkit.train import resolve_device
from contrastkit.transforms.crop import RandomResizedCrop

PROTOCOLS = ("retrieval", "zero_shot")
IMAGE_TEXT_VIEWS = ("none", "random_crop")
ENCODE_BATCH = 64


def load_pairs(data: DataConfig, split: str) -> ImageCaptionDataset:
    """The recipe's image-caption split, decoded at ``image_size``."""
    return load_image_captions(
        data.dataset, split, image_size=data.image_size, skip_missing=data.skip_missing
    )


def build_two_tower(model: ModelConfig, data: DataConfig) -> TwoTower:
    """The recipe's image tower, text tower and :class:`TwoTower` around them.

    The image tower's input size defaults to the recipe's ``image_size``. With several
    processes, ``gather_distributed`` defaults to True.
    """
    image_options = dict(model.encoder_options)
    if model.encoder != "mlp":
        image_options.setdefault("image_size", data.image_size)
    image_tower = build_tower(model.encoder, **image_options)
    text_tower = build_tower(model.text_encoder, **model.text_encoder_options)
    if not is_text_tower(text_tower):
        raise ValueError(
            f"text_encoder {model.text_encoder!r} is not a text tower; use minilm, "
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


def build_augment(data: DataConfig) -> ImageAugment | None:
    """None for ``views="none"``; a random resized crop (area 0.5-1) for ``"random_crop"``."""
    if data.views not in IMAGE_TEXT_VIEWS:
        raise ValueError(
            f"views {data.views!r} is not an image-text view; choose one of "
            f"{', '.join(IMAGE_TEXT_VIEWS)}"
        )
    if data.views == "none":
        return None
    return RandomResizedCrop(size=data.image_size, scale=(0.5, 1.0))


def build_source(
    method: TwoTower, dataset: ImageCaptionDataset, data: DataConfig, device: Any
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


def retrieval_record(recipe: Recipe, method: TwoTower, device: Any) -> dict[str, Any]:
    """Image-to-text and text-to-image recall@1/5/10 on the test split, all captions."""
    test = load_pairs(recipe.data, recipe.data.test_split)
    cache = recipe.data.cache_features
    name = test.name.replace("/", "-")
    images = image_features(
        method, test.images, names=test.names, tag=f"{name}-image", cache=cache, device=device
    )
    texts, owners = test.flat_captions()
    captions = text_features(
        method,
        texts,
        max_length=recipe.data.max_length,
        tag=f"{name}-text",
        cache=cache,
        device=device,
    )
    with torch.no_grad():
        image_emb, text_emb = (
            method.project_a(images.to(device)),
            method.project_b(captions.to(device)),
        )
    record = image_text_retrieval(image_emb.cpu(), text_emb.cpu(), text_to_image=owners)
    record["params"]["dataset"] = test.name
    return record


def zero_shot_record(recipe: Recipe, method: TwoTower, device: Any) -> dict[str, Any]:
    """Zero-shot top-1/top-5 on a labelled image test set from class-name prompts.

    The images are ``zero_shot_dataset``'s test split (``contrastkit eval --data`` replaces
    it: a built-in name or a folder of class subfolders), the first ``zero_shot_limit``.
    """
    settings = recipe.eval
    name = getattr(settings, "eval_data", None) or settings.zero_shot_dataset  # eval --data
    dataset = load_dataset(name, "test")
    if not dataset.classes:
        raise ValueError(f"zero_shot needs class names; {dataset.name} has none")
    limit = settings.zero_shot_limit
    if limit > 0 and limit < len(dataset):
        dataset = dataset.subset(torch.arange(limit))
    assert dataset.labels is not None
    images = dataset_features(method, dataset, cache=recipe.data.cache_features, device=device)
    with torch.no_grad():
        image_emb = method.project_a(images.to(device)).cpu()

    def encode_text(prompts: list[str]) -> Tensor:
        features = method.encoder_b.encode_texts(prompts, device=device)  # type: ignore[operator]
        return method.project_b(features.to(device)).cpu()

    templates = CIFAR_TEMPLATES if settings.prompt_ensemble else DEFAULT_TEMPLATES
    classes = [c.replace("_", " ") for c in dataset.classes]
    record = zero_shot_evaluate(
        image_emb, dataset.labels, classes, encode_text, templates=templates
    )
    record["params"].update(dataset=dataset.name, num_images=len(dataset))
    return record


class ImageTextPipeline:
    """Two-tower training on image-caption pairs; retrieval and zero-shot evaluation."""

    def training_setup(self, recipe: Recipe) -> TrainingSetup:
        dataset = load_pairs(recipe.data, recipe.data.train_split)
        method = build_two_tower(recipe.model, recipe.data)
        device = resolve_device(recipe.train.device)
        source = build_source(method, dataset, recipe.data, device)
        notes = []
        if dataset.skipped:
            notes.append(
                f"skipped {len(dataset.skipped)} missing or unreadable images, e.g. "
                f"{dataset.skipped[0]}"
            )
        return TrainingSetup(method, source, notes)

    def build_method(self, recipe: Recipe) -> nn.Module:
        return build_two_tower(recipe.model, recipe.data)

    def embed(
        self, recipe: Recipe, method: nn.Module, data: str | None, split: str
    ) -> tuple[Tensor, str]:
        """Projected embeddings of texts (through text tower b) or an image dataset (tower a)."""
        if not isinstance(method, TwoTower):
            raise ValueError(f"image-text embedding needs a TwoTower, got {type(method).__name__}")
        if not data:
            raise ValueError("--data is required: texts (for tower b) or images (for tower a)")
        device = resolve_device(recipe.train.device)
        method.to(device).eval()
        if is_text_corpus(data) and is_text_tower(method.encoder_b):
            texts, what = read_texts(data, split)
            features = text_features(
                method, texts, max_length=recipe.data.max_length, tag="", cache=False, device=device
            )
            with torch.no_grad():
                return method.project_b(features.to(device)).cpu(), f"{what} (tower b)"
        dataset = load_dataset(data, split)
        images = dataset_features(method, dataset, cache=False, device=device)
        with torch.no_grad():
            return method.project_a(images.to(device)).cpu(), f"{dataset.name} ({split}, tower a)"

    def evaluate(self, recipe: Recipe, method: nn.Module) -> list[dict[str, Any]]:
        if not isinstance(method, TwoTower):
            raise ValueError(f"image-text evaluation needs a TwoTower, got {type(method).__name__}")
        unknown = sorted(set(recipe.eval.protocols) - set(PROTOCOLS))
        if unknown:
            raise ValueError(
                f"unknown protocols {unknown} for image-text runs; choose from "
                f"{', '.join(PROTOCOLS)}"
            )
        device = resolve_device(recipe.train.device)
        method.to(device).eval()
        records = []
        if "retrieval" in recipe.eval.protocols:
            records.append(retrieval_record(recipe, method, device))
        if "zero_shot" in recipe.eval.protocols:
            records.append(zero_shot_record(recipe, method, device))
        return records
