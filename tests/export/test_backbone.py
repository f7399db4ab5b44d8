"""``backbone``: the image encoder as safetensors that rebuild it, and its preprocessing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import load_file
from torch import nn

import contrastkit
from contrastkit.cli import main
from contrastkit.data.load import load_dataset
from contrastkit.export.backbone import preprocess
from contrastkit.modalities.image.modality import build_views


def test_small_convnet_round_trip(digits_run: contrastkit.Run, tmp_path: Path) -> None:
    out = digits_run.export("backbone", tmp_path / "backbone")
    config = json.loads((out / "backbone.json").read_text())
    assert config["encoder"] == "small_convnet" and config["encoder_options"]["in_channels"] == 1
    prep = json.loads((out / "preprocessing.json").read_text())
    assert prep["channels"] == 1 and prep["image_size"] == 8 and len(prep["mean"]) == 1
    backbone = contrastkit.load_model(out)
    images = load_dataset("digits", "test").images[:64]
    views = build_views(digits_run.recipe.data, 1)
    method = digits_run.method.eval()
    with torch.no_grad():
        expected = method.encode(views.eval(images))
    torch.testing.assert_close(backbone.encode_image(images), expected, atol=1e-6, rtol=0)
    features, _ = digits_run.embed(split="test")
    torch.testing.assert_close(backbone.encode_image(images), features[:64], atol=1e-6, rtol=0)
    # the model card: recipe, data licence, the run's kNN record, how to load it
    card = (out / "README.md").read_text()
    assert '"protocol": "knn"' in card and "CC BY 4.0" in card and "load_model" in card
    assert '"method": "simclr"' in card and "random initialization" in card
    assert not list(out.glob("*.pt")) and not list(out.glob("*.pkl"))  # no pickle


def test_torchvision_resnet_loads_the_weights_strictly(
    resnet_run: contrastkit.Run, rgb_arrays: Path, tmp_path: Path
) -> None:
    out = main(
        ["export", str(resnet_run.folder), "--format", "backbone", "--out", str(tmp_path / "r")]
    )
    assert out == 0
    folder = tmp_path / "r"
    net = torchvision.models.resnet18(weights=None)
    net.fc = nn.Identity()
    net.load_state_dict(load_file(str(folder / "backbone.safetensors")), strict=True)
    net.eval()
    images = load_dataset(str(rgb_arrays), "all").images
    prep = json.loads((folder / "preprocessing.json").read_text())
    views = build_views(resnet_run.recipe.data, 3)
    method = resnet_run.method.eval()
    with torch.no_grad():
        expected = method.encode(views.eval(images))
        torch.testing.assert_close(net(preprocess(images, prep)), expected, atol=1e-6, rtol=0)
    assert "torchvision.models.resnet18" in (folder / "README.md").read_text()


def test_an_existing_folder_is_not_overwritten(digits_run: contrastkit.Run, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        digits_run.export("backbone", tmp_path / "taken")
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    assert (digits_run.export("backbone", tmp_path / "empty") / "backbone.safetensors").is_file()
