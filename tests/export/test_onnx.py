"""``onnx``: the image or text encoder with dynamic axes; onnxruntime agrees with torch to 1e-4."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch

import contrastkit
from contrastkit.data.load import load_dataset
from contrastkit.modalities.image.modality import build_views

SENTENCES = [
    "A man is playing a guitar on the street.",
    "Two dogs run",
    "",
    "The quick brown fox jumps over the lazy dog while the cat watches from the window sill.",
]


def session(folder: Path) -> onnxruntime.InferenceSession:
    onnx.checker.check_model(str(folder / "model.onnx"))
    return onnxruntime.InferenceSession(
        str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )


def test_image_encoder(digits_run: contrastkit.Run, tmp_path: Path) -> None:
    out = digits_run.export("onnx", tmp_path / "onnx")
    config = json.loads((out / "onnx.json").read_text())
    assert config["inputs"] == {"images": ["batch", 1, 8, 8]}
    views = build_views(digits_run.recipe.data, 1)
    method = digits_run.method.eval()
    for count in (1, 37):  # batch sizes other than the one exported with
        images = views.eval(load_dataset("digits", "test").images[:count])
        (got,) = session(out).run(["features"], {"images": images.numpy()})
        with torch.no_grad():
            expected = method.encode(images).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert "onnxruntime" in (out / "README.md").read_text()


def check_text(run: contrastkit.Run, folder: Path) -> None:
    """onnxruntime on the exported tokenizer's ids equals the run's ``encode_texts``."""
    from tokenizers import Tokenizer

    config = json.loads((folder / "onnx.json").read_text())
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=config["max_length"])
    tokenizer.enable_padding(pad_id=run.method.encoder.tokenizer.pad_id)
    encodings = tokenizer.encode_batch(SENTENCES)
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
    }
    (got,) = session(folder).run(["features"], feeds)
    expected = run.method.encode_texts(SENTENCES).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_small_transformer_with_dynamic_sequence_length(
    small_text_run: contrastkit.Run, tmp_path: Path
) -> None:
    out = small_text_run.export("onnx", tmp_path / "onnx")
    check_text(small_text_run, out)
    # a batch of another size and length than the export's example
    (got,) = session(out).run(
        ["features"],
        {
            "input_ids": np.full((3, 40), 1037, dtype=np.int64),
            "attention_mask": np.ones((3, 40), dtype=np.int64),
        },
    )
    assert got.shape == (3, 32)
    assert type(small_text_run.method.encoder.backbone).__name__ == "SmallTransformer"


def test_minilm(minilm_run: contrastkit.Run, tmp_path: Path) -> None:
    check_text(minilm_run, minilm_run.export("onnx", tmp_path / "onnx"))
