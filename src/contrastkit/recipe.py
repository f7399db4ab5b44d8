"""Recipes: a flat TOML file plus ``--set key=value`` overrides, turned into frozen dataclasses.

A recipe names the data, the view recipe, the encoder and the method, and sets training and
evaluation options. There is no inheritance between recipe files. Keys that belong to none of
:class:`DataConfig`, :class:`ModelConfig`, :class:`~contrastkit.train.TrainConfig` or
:class:`EvalConfig` are the method's keyword arguments (``temperature``, ``queue_size``, ...),
checked against the method's signature when it is built.

Example recipe::

    method = "simclr"
    dataset = "digits"
    encoder = "small_convnet"
    views = "simclr"
    image_size = 8
    temperature = 0.2
    epochs = 50
    batch_size = 256
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from contrastkit.train.config import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DataConfig:
    """Which data to train and evaluate on, and how to make views of it."""

    dataset: str = "digits"  # digits | cifar10 | fashion_mnist | a folder or .npz path; text:
    # a corpus name or file, several joined by "+" (e.g. "stsb+flickr8k_captions")
    train_split: str = "train"  # split used for self-supervised training (and the kNN bank)
    test_split: str = "test"  # split used for evaluation
    views: str = "simclr"  # view recipe name (contrastkit.transforms.RECIPES; text: TEXT_VIEWS)
    image_size: int = 32  # output size of the (global) views
    views_options: dict[str, Any] = field(default_factory=dict)  # extra view-recipe arguments
    skip_corrupt: bool = False  # skip unreadable image files (ImageFolder), counting them
    skip_missing: bool = False  # image_text: leave out pairs whose image is missing or unreadable
    max_length: int = 32  # text: tokens per sentence or caption in training (SimCSE's 32)
    max_examples: int | None = None  # text: train on a random subset of this many (seeded)
    cache_features: bool = True  # image_text: compute a locked tower's features once, on disk


@dataclass(frozen=True)
class ModelConfig:
    """The encoder and the method wrapped around it."""

    method: str = "simclr"  # contrastkit.registry.METHODS
    encoder: str = "small_convnet"  # contrastkit.registry.ENCODERS
    encoder_options: dict[str, Any] = field(default_factory=dict)  # e.g. {cifar_stem = true}
    method_options: dict[str, Any] = field(default_factory=dict)  # temperature, queue_size, ...
    text_encoder: str = "minilm"  # image_text: the text tower (contrastkit.encoders.towers)
    text_encoder_options: dict[str, Any] = field(default_factory=dict)  # e.g. {pooler = "mean"}


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation protocols run by ``contrastkit eval`` and at the end of training, and the
    training-health monitor (collapse, alignment, uniformity) that runs during training."""

    protocols: list[str] = field(default_factory=lambda: ["knn", "linear"])  # knn, linear
    knn_k: int = 200  # neighbours (InstDisc)
    knn_temperature: float = 0.1  # vote temperature (InstDisc)
    label_fractions: list[float] = field(default_factory=lambda: [1.0, 0.01])  # linear probe
    probe_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # repeats of each fraction
    health_every: int = 10  # steps between health measurements during training (0: off)
    zero_shot_dataset: str = "cifar10"  # zero_shot: labelled images whose class names are prompts
    zero_shot_limit: int = 2000  # zero_shot: the first N test images (0: all)
    prompt_ensemble: bool = True  # zero_shot: average 12 templates (False: "a photo of a {}.")
    select_every: int = 0  # text: steps between STS-B dev Spearman checks keeping best.pt (0: off)
    eval_data: str | None = None  # text: sts pairs to report: stsb (test), stsb_dev, or a file


@dataclass(frozen=True)
class Recipe:
    """A whole run's configuration."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    eval: EvalConfig

    def to_flat(self) -> dict[str, Any]:
        """The flat key-value form (what a recipe file holds), for saving with a run."""
        flat: dict[str, Any] = {}
        for part in (self.data, self.model, self.train, self.eval):
            flat.update(dataclasses.asdict(part))
        flat.update(flat.pop("method_options"))
        return {key: value for key, value in flat.items() if value is not None}


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as TOML (``0.1``, ``true``, ``[1, 2]``), else a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {text!r}")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def _apply(values: dict[str, Any], key: str, value: Any) -> None:
    head, _, rest = key.partition(".")
    if rest:
        table = values.setdefault(head, {})
        if not isinstance(table, dict):
            raise ValueError(f"--set {key}: {head} is not a table of options")
        table[rest] = value
    else:
        values[key] = value


def _split(values: dict[str, Any]) -> Recipe:
    parts: dict[str, dict[str, Any]] = {"data": {}, "model": {}, "train": {}, "eval": {}}
    owners = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "eval": EvalConfig}
    names = {part: {f.name for f in fields(cls)} for part, cls in owners.items()}
    method_options: dict[str, Any] = dict(values.pop("method_options", {}))
    for key, value in values.items():
        part = next((p for p, keys in names.items() if key in keys), None)
        if part is None:
            method_options[key] = value
        else:
            parts[part][key] = value
    parts["model"]["method_options"] = method_options
    try:
        return Recipe(
            DataConfig(**parts["data"]),
            ModelConfig(**parts["model"]),
            TrainConfig(**parts["train"]),
            EvalConfig(**parts["eval"]),
        )
    except TypeError as error:
        raise ValueError(f"invalid recipe value: {error}") from error


def recipe_from_dict(values: dict[str, Any], overrides: list[str] | None = None) -> Recipe:
    """Build a :class:`Recipe` from flat values and ``key=value`` overrides."""
    merged = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in values.items()
    }
    for text in overrides or []:
        _apply(merged, *parse_override(text))
    return _split(merged)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read a flat TOML recipe file and apply ``--set`` overrides."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"recipe {path} does not exist; see the recipes/ folder for examples")
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"recipe {path} is not valid TOML: {error}") from error
    return recipe_from_dict(values, overrides)
