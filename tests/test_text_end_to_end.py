"""Text recipes through the CLI: train (with STS-B dev selection), evaluate, report, eval again."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from contrastkit.cli import main

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
TINY = ["encoder_options.layers=1", "encoder_options.width=32", "encoder_options.heads=2"]


@pytest.fixture(autouse=True)
def _text_data() -> None:
    pytest.importorskip("transformers")
    from contrastkit.encoders.text import minilm_dir
    from contrastkit.eval.sts import read_sts_benchmark

    try:
        minilm_dir()
        read_sts_benchmark("dev")
    except ValueError as error:
        pytest.skip(f"needs the text extra and STS-B in the shared data ({error})")


def test_unsupervised_recipe_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text(
        "".join(f"Sentence number {i} is about topic {i % 5}.\n" for i in range(40))
    )
    sts_file = tmp_path / "sts.tsv"  # a small STS file keeps the end-of-training evaluation short
    sts_file.write_text(
        "".join(
            f"g\tf\t2012\t{i}\t{i % 6}\tA cat sat {i}.\tA dog sat {i % 6}.\n" for i in range(20)
        )
    )
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--recipe",
            str(RECIPES / "simcse_unsup_small.toml"),
            "--out",
            str(run),
            *("--set", f"dataset={sentences}", "--set", "max_examples=16"),
            *("--set", "batch_size=8", "--set", "max_steps=2", "--set", "select_every=2"),
            *("--set", f"eval_data={sts_file}"),
            *("--set", "progress_bar=false", "--set", "device=cpu"),
            *(arg for option in TINY for arg in ("--set", option)),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "completed after 2 steps" in out and "STS Spearman (all)" in out
    for name in ("best.pt", "checkpoint.pt", "eval.json", "report.html", "metrics.jsonl"):
        assert (run / name).is_file(), name
    (record,) = json.loads((run / "eval.json").read_text())
    assert list(record["metrics"]["per_dataset"]) == ["sts"]
    page = (run / "report.html").read_text()
    assert "text method" in page and "STS Spearman (all)" in page  # as the table prints it
    assert not re.search(r"\d\.\d{8,}", page)  # no 16-digit floats, no raw dicts
    assert "max_length" in page and "image_size" not in page  # the text run's own keys
    assert main(["eval", str(run), "--protocol", "sts", "--data", "stsb"]) == 0
    assert "STS Spearman (all)" in capsys.readouterr().out
    (record,) = json.loads((run / "eval.json").read_text())
    assert record["metrics"]["per_dataset"]["stsb_test"]["n"] == 1379
    assert main(["eval", str(run), "--protocol", "knn"]) == 2
    assert "do not evaluate simcse runs; choose from sts" in capsys.readouterr().err
    embeddings = tmp_path / "sentences.npy"
    assert main(["embed", str(run), "--data", str(sentences), "--out", str(embeddings)]) == 0
    out = capsys.readouterr().out
    assert "wrote (40, 32) float32 features of 40 lines" in out and "row i is line i" in out
    assert np.load(embeddings).shape == (40, 32)
    ragged = tmp_path / "ragged.txt"  # row i of the embeddings is line i, whatever the line
    ragged.write_bytes(b"first line\n\nthird \xff\xfe line\n   \nfifth line\n")
    assert main(["embed", str(run), "--data", str(ragged), "--out", str(embeddings)]) == 0
    assert "5 lines" in capsys.readouterr().out
    rows = np.load(embeddings)
    assert rows.shape == (5, 32) and np.isfinite(rows).all()
    alone = tmp_path / "alone.txt"
    alone.write_text("fifth line\n")
    assert main(["embed", str(run), "--data", str(alone), "--out", str(tmp_path / "a.npy")]) == 0
    np.testing.assert_allclose(rows[4], np.load(tmp_path / "a.npy")[0], rtol=1e-4, atol=1e-5)
    assert main(["embed", str(run), "--out", str(embeddings)]) == 2  # text runs need --data
    assert "--data is required for a text run" in capsys.readouterr().err


@pytest.mark.slow
def test_supervised_recipe_trains_two_steps(tmp_path: Path) -> None:
    """The MiniLM recipe on a tiny subset of STS-B + Flickr8k captions (loads the real model)."""
    pytest.importorskip("contrastkit.data.text_captions")
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--recipe",
            str(RECIPES / "simcse_sup_minilm.toml"),
            "--out",
            str(run),
            *("--set", "max_examples=32", "--set", "batch_size=16", "--set", "epochs=1"),
            *("--set", "select_every=0", "--set", "progress_bar=false", "--set", "device=cpu"),
            "--no-report",
        ]
    )
    assert code == 0
    (record,) = json.loads((run / "eval.json").read_text())
    assert record["metrics"]["all"]["spearman"] > 0.7  # MiniLM barely moved in 2 steps
