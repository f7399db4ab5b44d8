"""Tiny trained runs the export tests share (each trained once per session, 2 steps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import contrastkit

FAST = {"max_steps": 2, "progress_bar": False, "device": "cpu", "log_every": 1}
TINY_TEXT_ENCODER = {"layers": 1, "width": 32, "heads": 2, "ffn_dim": 64}


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> contrastkit.Run:
    """SimCLR on digits with the SmallConvNet, evaluated with kNN (records for the card)."""
    folder = tmp_path_factory.mktemp("digits") / "run"
    run = contrastkit.train_run(
        "recipes/simclr_digits.toml", folder, batch_size=32, encoder_options={"width": 8}, **FAST
    )
    run.evaluate(["knn"])
    return contrastkit.load_run(folder)


@pytest.fixture(scope="session")
def rgb_arrays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 random RGB 16x16 images with labels, as an .npz data set."""
    path = tmp_path_factory.mktemp("rgb") / "rgb.npz"
    generator = np.random.default_rng(0)
    images = generator.integers(0, 256, size=(24, 3, 16, 16), dtype=np.uint8)
    np.savez(path, images=images, labels=np.arange(24) % 3)
    return path


@pytest.fixture(scope="session")
def resnet_run(tmp_path_factory: pytest.TempPathFactory, rgb_arrays: Path) -> contrastkit.Run:
    """BYOL with a torchvision ResNet-18 (ImageNet stem, 3 channels) on random RGB images."""
    folder = tmp_path_factory.mktemp("resnet") / "run"
    contrastkit.train_run(
        {
            "method": "byol",
            "dataset": str(rgb_arrays),
            "views": "simclr",
            "image_size": 16,
            "train_split": "all",
            "test_split": "all",
            "encoder": "resnet18",
            "batch_size": 8,
            "optimizer": "adamw",
            "lr": 1e-3,
            **FAST,
        },
        folder,
    )
    return contrastkit.load_run(folder)


def text_recipe(tmp_path: Path, **values: object) -> dict[str, object]:
    """SimCSE on 12 sentence pairs (the small Transformer unless ``encoder`` says otherwise)."""
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "anchor,positive\n" + "".join(f"sentence {i} here,the sentence {i}\n" for i in range(12))
    )
    return {
        "method": "simcse",
        "dataset": str(pairs),
        "encoder": "small_transformer",
        "encoder_options": dict(TINY_TEXT_ENCODER),
        "batch_size": 4,
        "optimizer": "adamw",
        "lr": 1e-3,
        "protocols": [],
        **FAST,
        **values,
    }


@pytest.fixture(scope="session")
def make_text_recipe() -> Callable[..., dict[str, object]]:
    """:func:`text_recipe`, for tests that train a text run of their own."""
    return text_recipe


@pytest.fixture(scope="session")
def small_text_run(tmp_path_factory: pytest.TempPathFactory) -> contrastkit.Run:
    folder = tmp_path_factory.mktemp("small_text")
    return contrastkit.train_run(text_recipe(folder), folder / "run")


@pytest.fixture(scope="session")
def minilm_run(tmp_path_factory: pytest.TempPathFactory) -> contrastkit.Run:
    """Supervised SimCSE fine-tuning all-MiniLM-L6-v2 (mean pooling, no head), 2 steps."""
    folder = tmp_path_factory.mktemp("minilm")
    recipe = text_recipe(folder, encoder="minilm", encoder_options={}, mlp_head=False)
    return contrastkit.train_run(recipe, folder / "run")
