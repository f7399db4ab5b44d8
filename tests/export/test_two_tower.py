"""``two_tower``: both towers, projections and logit scale as safetensors;
``contrastkit.load_model`` gives ``encode_image`` / ``encode_text`` equal to the run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pair_data import write_pairs
from safetensors.torch import load_file

import contrastkit
from contrastkit.data.load import load_dataset

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
    "optimizer": "adamw",
    "lr": 1e-3,
    "protocols": ["retrieval"],
    "max_steps": 2,
    "progress_bar": False,
    "device": "cpu",
}


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_load_model_matches_the_run(loss: str, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "flickr", images=10, captions=2)
    run = contrastkit.train_run({**SMALL, "dataset": str(pairs), "loss": loss}, tmp_path / "run")
    out = run.export("two_tower", tmp_path / "export")
    names = set(load_file(str(out / "two_tower.safetensors")))
    assert {"temperature.log_scale", "projection_a.weight", "projection_b.weight"} <= names
    assert any(n.startswith("encoder_a.") for n in names)
    assert any(n.startswith("encoder_b.") for n in names)
    assert ("logit_bias" in names) == (loss == "siglip")
    config = json.loads((out / "two_tower.json").read_text())
    assert config["recipe"]["loss"] == loss

    model = contrastkit.load_model(out)
    texts = ["a photo of a dog", "caption 1 of image 3, with a comma", ""]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n")
    expected, _ = run.embed(str(tmp_path / "texts.txt"))
    torch.testing.assert_close(model.encode_text(texts), expected, atol=1e-6, rtol=0)
    images = load_dataset("digits", "test").images[:20]  # grayscale, another size: the tower fits
    expected, _ = run.embed("digits", split="test")
    torch.testing.assert_close(model.encode_image(images), expected[:20], atol=1e-6, rtol=0)
    torch.testing.assert_close(
        model.encode_image(images.float() / 255), expected[:20], atol=1e-6, rtol=0
    )
    assert model.logit_scale == pytest.approx(float(run.method.logit_scale().detach()))
    assert "contrastkit.load_model" in (out / "README.md").read_text()
