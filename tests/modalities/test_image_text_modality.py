"""The image-text modality with small towers on a temporary image-caption folder."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from pair_data import write_pairs

from contrastkit.data.image_text import load_image_captions
from contrastkit.methods import PairBatch, TwoTower
from contrastkit.modalities.base import Splits
from contrastkit.modalities.image_text import IMAGE_TEXT, build_two_tower
from contrastkit.recipe import Recipe, recipe_from_dict
from contrastkit.registry import modality_of
from contrastkit.run import run_protocols
from contrastkit.train import fit

SMALL = {
    "method": "two_tower",
    "image_size": 16,
    "views": "none",
    "encoder": "small_convnet",
    "encoder_options": {"width": 8, "feature_dim": 16},
    "text_encoder": "small_transformer",
    "text_encoder_options": {"layers": 1, "width": 32, "heads": 2},
    "proj_dim": 8,
    "batch_size": 4,
    "epochs": 1,
    "optimizer": "adamw",
    "lr": 1e-3,
    "progress_bar": False,
    "protocols": ["retrieval"],
    "device": "cpu",
}


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pairs(tmp_path_factory.mktemp("pairs") / "flickr", images=10, captions=2)


def small_recipe(pairs: Path, **overrides: object) -> Recipe:
    return recipe_from_dict({**SMALL, "dataset": str(pairs), **overrides})


def evaluate(recipe: Recipe, method: torch.nn.Module) -> list[dict]:
    """The recipe's protocols on ``method``, through the modality's evaluation context."""
    return run_protocols(recipe, IMAGE_TEXT.context(recipe, method, Splits()))


def test_two_tower_is_an_image_text_method() -> None:
    assert modality_of("two_tower") is IMAGE_TEXT


def test_train_then_evaluate_retrieval(pairs: Path) -> None:
    recipe = small_recipe(pairs)
    setup = IMAGE_TEXT.training_setup(recipe, Splits(), {})
    assert isinstance(setup.method, TwoTower) and len(setup.source) == 8
    batch = setup.source(torch.arange(4), torch.Generator(), torch.device("cpu"))
    assert isinstance(batch, PairBatch) and batch.a.dtype == torch.uint8
    result = fit(setup.method, setup.source, recipe.train)
    assert result.steps == 2 and all(math.isfinite(loss) for loss in result.losses)
    (record,) = evaluate(recipe, setup.method)
    assert record["protocol"] == "image_text_retrieval"
    assert record["params"]["num_images"] == 2 and record["params"]["num_texts"] == 4
    assert 0.0 <= record["metrics"]["image_to_text"]["recall@1"] <= 1.0
    rebuilt = IMAGE_TEXT.build_method(recipe, {})
    rebuilt.load_state_dict(setup.method.state_dict())


def test_locked_towers_use_cached_features(
    pairs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path))
    recipe = small_recipe(pairs, lock_a=True, lock_b=True)
    setup = IMAGE_TEXT.training_setup(recipe, Splits(), {})
    batch = setup.source(torch.arange(3), torch.Generator(), torch.device("cpu"))
    assert batch.a is None and batch.b is None
    assert tuple(batch.features_a.shape) == (3, 16) and tuple(batch.features_b.shape) == (3, 32)
    cached = sorted(p.name for p in (tmp_path / "features").glob("*.pt"))
    assert len(cached) == 2 and cached[0].startswith("flickr-train-image")
    method = setup.method
    expected = method.encoder_a.eval()(load_image_captions(pairs, "train", image_size=16).images)
    torch.testing.assert_close(setup.source.image_features, expected, rtol=1e-5, atol=1e-5)
    fit(method, setup.source, recipe.train)  # trains the projections only
    evaluate(recipe, method)
    assert len(list((tmp_path / "features").glob("*.pt"))) == 4  # test split cached as well


def test_augmented_views_and_errors(pairs: Path) -> None:
    recipe = small_recipe(pairs, views="random_crop")
    setup = IMAGE_TEXT.training_setup(recipe, Splits(), {})
    batch = setup.source(torch.arange(2), torch.Generator(), torch.device("cpu"))
    assert batch.a.dtype == torch.float32 and tuple(batch.a.shape) == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="cannot be augmented"):
        recipe = small_recipe(pairs, views="random_crop", lock_a=True)
        IMAGE_TEXT.training_setup(recipe, Splits(), {})
    with pytest.raises(ValueError, match="views must be one of none, random_crop"):
        small_recipe(pairs, views="simclr")
    with pytest.raises(ValueError, match="unknown recipe key 'queue_size'"):
        small_recipe(pairs, queue_size=3)
    with pytest.raises(ValueError, match="not a text tower"):
        recipe = small_recipe(pairs, text_encoder="small_convnet", text_encoder_options={})
        build_two_tower(recipe.model, recipe.data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="do not evaluate two_tower runs"):
        small_recipe(pairs, protocols=["knn"])


def cifar10_available() -> bool:
    from contrastkit.data import load_dataset

    try:
        load_dataset("cifar10", "test")
    except ValueError:
        return False
    return True


@pytest.mark.skipif(not cifar10_available(), reason="CIFAR-10 not found (CONTRASTKIT_DATA)")
@pytest.mark.parametrize("ensemble", [True, False])
def test_zero_shot_on_cifar10_prompts(pairs: Path, ensemble: bool) -> None:
    recipe = small_recipe(
        pairs, protocols=["zero_shot"], zero_shot_limit=40, prompt_ensemble=ensemble
    )
    method = IMAGE_TEXT.build_method(recipe, {})
    (record,) = evaluate(recipe, method)
    assert record["protocol"] == "zero_shot" and record["params"]["num_images"] == 40
    assert "class-stratified subset of 40, seed 0" in record["params"]["dataset"]
    assert record["params"]["num_templates"] == (12 if ensemble else 1)
    assert 0.0 <= record["metrics"]["top1"] <= 1.0
