"""Matryoshka and quantized embeddings through the CLI: a tiny SimCSE run with matryoshka_dims,
its per-dim and per-precision STS records, and ``embed --dim/--precision`` (and their errors)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contrastkit.cli import main
from contrastkit.eval.compression import bytes_per_vector
from contrastkit.run import load_run

TINY = ["encoder_options.layers=1", "encoder_options.width=32", "encoder_options.heads=2"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from contrastkit.encoders.text import minilm_dir

    try:
        minilm_dir()  # the small transformer uses MiniLM's vocabulary
    except ValueError as error:
        pytest.skip(f"needs the text extra ({error})")
    tmp = tmp_path_factory.mktemp("matryoshka")
    pairs = tmp / "pairs.csv"
    pairs.write_text(
        "anchor,positive\n" + "".join(f"sentence {i} here,the sentence {i}\n" for i in range(16))
    )
    words = ["the", "cat", "sat", "on", "a", "red", "mat", "today"]
    (tmp / "sts.tsv").write_text(
        "".join(
            f"g\tf\t2012\t{i}\t{5 - i % 6}\t{' '.join(words)} {i}\t"
            f"{' '.join(words[: 8 - i % 6] + ['dogs'] * (i % 6))}\n"
            for i in range(12)
        )
    )
    settings = [
        "method=simcse",
        f"dataset={pairs}",
        "encoder=small_transformer",
        *TINY,
        "mlp_head=false",
        "matryoshka_dims=[32, 16, 8]",
        "eval_precisions=['float32', 'int8', 'binary']",
        f"eval_data={tmp / 'sts.tsv'}",
        "batch_size=8",
        "max_steps=2",
        "optimizer=adamw",
        "lr=1e-3",
        "progress_bar=false",
        "device=cpu",
    ]
    recipe = tmp / "recipe.toml"
    recipe.write_text('method = "simcse"\n')
    args = ["train", "--recipe", str(recipe), "--out", str(tmp / "run"), "--no-report"]
    assert main([*args, *(a for s in settings for a in ("--set", s))]) == 0
    return tmp / "run"


def test_sts_reports_every_matryoshka_dim_and_precision(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (record,) = json.loads((run_dir / "eval.json").read_text())
    assert record["params"]["dim"] == 32 and record["params"]["bytes_per_vector"] == 128
    assert set(record["params"]["similarity_per_precision"]) == {"float32", "int8", "binary"}
    settings = [(e["dim"], e["precision"]) for e in record["metrics"]["compressed"]]
    assert settings == [
        (d, p)
        for d in (32, 16, 8)
        for p in ("float32", "int8", "binary")
        if (d, p) != (32, "float32")
    ]
    for entry in record["metrics"]["compressed"]:
        assert entry["bytes"] == bytes_per_vector(entry["dim"], entry["precision"])
        assert -1 <= entry["spearman"] <= 1
    assert main(["eval", str(run_dir), "--protocol", "sts"]) == 0
    out = capsys.readouterr().out
    assert "STS @16 (float32/int8/binary)" in out and "STS @32 (int8/binary)" in out


@pytest.mark.parametrize(
    ("options", "dtype", "width", "line"),
    [
        ([], np.float32, 32, "(12, 32) float32 features"),
        (["--dim", "8"], np.float32, 8, "32 bytes per vector"),
        (["--precision", "int8"], np.int8, 32, "(12, 32) int8 features"),
        (["--dim", "16", "--precision", "binary"], np.uint8, 2, "2 bytes per vector, binary"),
    ],
)
def test_embed_dim_and_precision(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    dtype: type,
    width: int,
    line: str,
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"a sentence numbered {i}\n" for i in range(12)))
    out = tmp_path / "e.npy"
    assert main(["embed", str(run_dir), "--data", str(texts), "--out", str(out), *options]) == 0
    assert line in capsys.readouterr().out
    array = np.load(out)
    assert array.dtype == dtype and array.shape == (12, width)
    full, _ = load_run(run_dir).embed(str(texts))
    if options == ["--dim", "8"]:
        expected = full[:, :8] / full[:, :8].norm(dim=1, keepdim=True)
        np.testing.assert_allclose(array, expected.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(array, axis=1), 1.0, rtol=1e-5)
    if "binary" in options:
        np.testing.assert_array_equal(array, np.packbits(full[:, :16].numpy() > 0, axis=1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--dim", "64"], "choose a dim from 1 to 32"),
        (["--dim", "0"], "choose a dim from 1 to 32"),
        (["--precision", "fp16"], "choose from float32, int8, binary"),
    ],
)
def test_embed_bad_dim_or_precision_exits_2(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    message: str,
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("one\ntwo\n")
    out = tmp_path / "e.npy"
    assert main(["embed", str(run_dir), "--data", str(texts), "--out", str(out), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("matryoshka_dims=[64, 32]", "exceed the embedding dimension 32"),
        ("matryoshka_dims=[8, 16]", "strictly descending"),
        ("eval_precisions=['int4']", "choose from float32, int8, binary"),
        ("eval_dims=[0]", "eval_dims must be a list of positive integers"),
    ],
)
def test_bad_matryoshka_settings_exit_2_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, message: str
) -> None:
    pytest.importorskip("transformers")
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('method = "simcse"\nmlp_head = false\nencoder = "small_transformer"\n')
    sets = [*TINY, setting, f"dataset={tmp_path / 'missing.csv'}"]
    code = main(
        ["train", "--recipe", str(recipe), "--out", str(tmp_path / "run")]
        + [a for s in sets for a in ("--set", s)]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
