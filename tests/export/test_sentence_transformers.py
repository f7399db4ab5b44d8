"""``sentence-transformers``: ``SentenceTransformer(folder)`` loads offline and its embeddings
equal contrastkit's ``encode_texts`` to 1e-5."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

import contrastkit
from contrastkit.cli import main

SENTENCES = [
    "A man is playing a guitar on the street.",
    "Two dogs run",
    "",
    "The quick brown fox jumps over the lazy dog while the cat watches from the window sill "
    + "and the rain keeps falling " * 12,  # longer than the 128 tokens both truncate to
]


def check_parity(run: contrastkit.Run, folder: Path) -> None:
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    got = model.encode(SENTENCES, convert_to_numpy=True, batch_size=3)
    np.testing.assert_allclose(got, run.method.encode_texts(SENTENCES).numpy(), atol=1e-5, rtol=0)


def test_minilm_mean_pooling(
    minilm_run: contrastkit.Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "st"
    code = main(
        ["export", str(minilm_run.folder), "--format", "sentence-transformers", "--out", str(out)]
    )
    assert code == 0
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling"]
    assert (out / "model.safetensors").is_file() and not list(out.rglob("*.bin"))
    check_parity(minilm_run, out)
    assert "SentenceTransformer(" in (out / "README.md").read_text()


def test_cls_pooler_and_kept_head_become_dense_layers(
    make_text_recipe: Callable[..., dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """BERT's pooler (dense + tanh over [CLS]) and SimCSE's head kept at evaluation."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recipe = make_text_recipe(
        tmp_path,
        encoder="minilm",
        encoder_options={"pooler": "cls"},
        mlp_head=True,
        mlp_only_train=False,
    )
    run = contrastkit.train_run(recipe, tmp_path / "run")
    out = run.export("sentence-transformers", tmp_path / "st")
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == [
        "Transformer",
        "Pooling",
        "Dense",
        "Dense",
    ]
    check_parity(run, out)


@pytest.mark.parametrize("pooler", ["mean", "cls"])
def test_small_transformer_as_xlm_roberta_xl(
    pooler: str,
    make_text_recipe: Callable[..., dict[str, object]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The from-scratch pre-layer-norm Transformer (MiniLM's tokenizer) as XLM-RoBERTa-XL."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recipe = make_text_recipe(tmp_path)
    recipe["encoder_options"] = {**recipe["encoder_options"], "pooler": pooler}  # type: ignore[dict-item]
    run = contrastkit.train_run(recipe, tmp_path / "run")
    out = tmp_path / "st"
    assert (
        main(["export", str(run.folder), "--format", "sentence-transformers", "--out", str(out)])
        == 0
    )
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "xlm-roberta-xl" and config["num_hidden_layers"] == 1
    check_parity(run, out)
