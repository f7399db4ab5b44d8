"""``huggingface``: the text backbone and tokenizer, loadable with ``AutoModel`` and
``AutoTokenizer``."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

import contrastkit
from contrastkit.encoders.text import build_text_encoder
from contrastkit.encoders.text.pooling import mean_pooling

SENTENCES = ["A man is playing a guitar.", "Two dogs run in the park", "hi"]


def test_minilm_backbone_and_tokenizer(minilm_run: contrastkit.Run, tmp_path: Path) -> None:
    out = minilm_run.export("huggingface", tmp_path / "hf")
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert not list(out.glob("*.bin"))
    model = AutoModel.from_pretrained(str(out), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    batch = tokenizer(SENTENCES, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    features = mean_pooling(states, batch["attention_mask"])  # the run's pooler
    expected = minilm_run.method.encode_texts(SENTENCES)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=0)
    assert "`mean`" in (out / "README.md").read_text()


def test_small_transformer_loads_in_transformers_and_back_in_contrastkit(
    small_text_run: contrastkit.Run, tmp_path: Path
) -> None:
    out = small_text_run.export("huggingface", tmp_path / "hf")
    model = AutoModel.from_pretrained(str(out), local_files_only=True).eval()
    assert type(model).__name__ == "XLMRobertaXLModel"
    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    batch = tokenizer(SENTENCES, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    expected = small_text_run.method.encode_texts(SENTENCES)
    torch.testing.assert_close(
        mean_pooling(states, batch["attention_mask"]), expected, atol=1e-5, rtol=0
    )
    # the folder is a text encoder for contrastkit too (a local Hugging Face model folder)
    encoder = build_text_encoder(str(out), pooler="mean")
    assert encoder.max_positions == small_text_run.method.encoder.max_positions
    torch.testing.assert_close(encoder.encode_texts(SENTENCES), expected, atol=1e-5, rtol=0)
