"""Every recipe in recipes/ loads, builds its method, and (on digits) trains two steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from torch import nn

from contrastkit.modalities.image.modality import build_views
from contrastkit.recipe import Recipe, load_recipe
from contrastkit.registry import METHODS, modality_of
from contrastkit.run import Run

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.toml"))
CHANNELS = {"digits": 1, "fashion_mnist": 1, "cifar10": 3}


def _is_image(recipe: Recipe) -> bool:
    return METHODS[recipe.model.method].modality == "image"


def _build(recipe: Recipe) -> nn.Module:
    """The recipe's method, built by its modality (image recipes for their channels)."""
    spec = {"in_channels": CHANNELS[recipe.data.dataset]} if _is_image(recipe) else {}
    return modality_of(recipe.model.method).build_method(recipe, spec)


def test_every_method_has_a_recipe_per_dataset() -> None:
    names = {path.stem for path in RECIPES}
    for method in (name for name, entry in METHODS.items() if entry.modality == "image"):
        for dataset in CHANNELS:
            assert f"{method}_{dataset}" in names


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_builds(path: Path) -> None:
    recipe = load_recipe(path)
    method = _build(recipe)
    assert sum(p.numel() for p in method.parameters()) > 0
    if _is_image(recipe):
        assert build_views(recipe.data, CHANNELS[recipe.data.dataset]).num_views >= 2  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path", [p for p in RECIPES if p.stem.endswith("_digits")], ids=lambda p: p.stem
)
def test_digits_recipe_trains_two_steps(path: Path, tmp_path: Path) -> None:
    recipe = load_recipe(path, ["max_steps=2", "batch_size=64", "progress_bar=false"])
    result = Run(recipe, tmp_path).train()
    assert result.steps == 2 and all(math.isfinite(loss) for loss in result.losses)


def test_overrides_and_errors(tmp_path: Path) -> None:
    simclr = next(path for path in RECIPES if path.stem == "simclr_digits")
    recipe = load_recipe(simclr, ["temperature=0.3", "encoder_options.width=8", "lr=0.5"])
    assert recipe.train.lr == 0.5 and recipe.model.encoder_options["width"] == 8
    with pytest.raises(ValueError, match="does not exist"):
        load_recipe(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("method = ")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_recipe(tmp_path / "bad.toml")
    with pytest.raises(ValueError, match="key=value"):
        load_recipe(RECIPES[0], ["temperature"])
    with pytest.raises(ValueError, match="unknown recipe key 'no_such_option'"):
        load_recipe(RECIPES[0], ["no_such_option=1"])


def test_method_options_never_collide_with_run_settings() -> None:
    import inspect
    from dataclasses import fields

    from contrastkit.recipe import EvalConfig, ModelConfig
    from contrastkit.registry import protocols_for
    from contrastkit.train import TrainConfig

    for name, entry in METHODS.items():
        modality = modality_of(name)
        owners = [modality.data_section, ModelConfig, TrainConfig, EvalConfig]
        owners += [p.params for p in protocols_for(modality.name).values()]
        settings = {f.name for cls in owners for f in fields(cls)}
        clashes = settings & (set(inspect.signature(entry.cls).parameters) - {"encoder"})
        assert not clashes, f"{name}: {clashes} would be taken by the run configuration"


def test_recipe_keys_belong_to_one_part_only() -> None:
    from contrastkit.recipe import valid_keys

    for method in METHODS:
        keys = [key for names in valid_keys(method).values() for key in names]
        assert len(keys) == len(set(keys)), method


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_method_key_reaches_the_method(path: Path) -> None:
    recipe = load_recipe(path)
    method = _build(recipe)
    for key, value in recipe.model.method_options.items():
        if hasattr(method, key) and isinstance(getattr(method, key), int | float | bool):
            assert getattr(method, key) == value, f"{path.stem}: {key}"
