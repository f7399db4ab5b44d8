"""Smoke tests of the SimCSE benchmark scripts: each runs its ``--quick`` setting end to end.

Quick settings check that the scripts run and report finite numbers; they measure nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from script_checks import assert_finite, check_run_record, load_script


def text_data_available() -> bool:
    try:
        from contrastkit.encoders.text import minilm_dir
        from contrastkit.eval.sts import read_sts_benchmark

        minilm_dir()
        read_sts_benchmark("test")
    except (ImportError, ValueError):
        return False
    return True


needs_text_data = pytest.mark.skipif(
    not text_data_available(),
    reason="needs the text extra (MiniLM) and STS-B (set CONTRASTKIT_DATA to the shared data)",
)


def test_simcse_throughput_quick(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    if not text_data_available():
        pytest.skip("needs the text extra (MiniLM)")
    script = load_script("speed/simcse_throughput.py")
    out = tmp_path / "throughput.json"
    results = script.main(["--quick", "--out", str(out)])
    assert set(results["configs"]) == {
        "ours",
        "sentence-transformers",
        "ours, length-grouped batches",
        "sentence-transformers, random batches",
    }
    for record in results["configs"].values():
        assert_finite(
            record,
            ["sentences_per_s", "step_s", "tokenize_s", "forward_s", "loss_s", "backward_s"],
        )
        assert record["sentences_per_s"] > 0
        assert 0 <= record["padding"] < 1
    assert_finite(results, ["ratio", "ratio_same_batches"])
    check_run_record(results, out)


@needs_text_data
def test_simcse_unsup_small_quick(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    script = load_script("quality/simcse_unsup_small.py")
    out, run_dir = tmp_path / "unsup.json", tmp_path / "run"
    results = script.main(["--quick", "--run-dir", str(run_dir), "--out", str(out)])
    assert_finite(results, ["tfidf", "untrained"])
    assert_finite(results["trained"], ["test", "wall_s", "cpu_s", "best_dev"])
    assert results["trained"]["steps"] == 2 and results["test_pairs"] == 50
    assert (run_dir / "best.pt").is_file() and (run_dir / "eval.json").is_file()
    check_run_record(results, out)
    with pytest.raises(SystemExit, match="--overwrite"):  # a trained run is never resumed silently
        script.main(["--quick", "--run-dir", str(run_dir)])


@pytest.mark.slow
@needs_text_data
def test_simcse_sup_minilm_quick(tmp_path: Path) -> None:
    script = load_script("quality/simcse_sup_minilm.py")
    out, run_dir = tmp_path / "sup.json", tmp_path / "run"
    results = script.main(["--quick", "--run-dir", str(run_dir), "--out", str(out)])
    assert_finite(results["base"], ["test"])
    assert_finite(results["trained"], ["test", "wall_s", "cpu_s"])
    assert results["trained"]["steps"] == 4 and isinstance(results["target_met"], bool)
    check_run_record(results, out)


@needs_text_data
def test_stsb_cosent_peer_quick(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    script = load_script("quality/stsb_cosent_peer.py")
    out = tmp_path / "peer.json"
    results = script.main(["--quick", "--out", str(out)])
    assert [step for step, _ in results["dev_checks"]] == [0, 1, 2]
    assert all(math.isfinite(value) for _, value in results["dev_checks"])
    assert_finite(results, ["base_dev", "best_dev"])
    check_run_record(results, out)


@pytest.mark.slow
@needs_text_data
def test_matryoshka_minilm_quick(tmp_path: Path) -> None:
    script = load_script("quality/matryoshka_minilm.py")
    out, run_dir = tmp_path / "matryoshka.json", tmp_path / "runs"
    args = ["--quick", "--allow-dirty", "--run-dir", str(run_dir), "--out", str(out)]
    results = script.main(args)
    for name in ("base", "without", "with"):
        for precision in ("float32", "int8", "binary"):
            assert set(results[name]["mean"][precision]) == {384, 64, 32}, (name, precision)
            assert all(math.isfinite(v) for v in results[name]["mean"][precision].values())
    assert results["with"]["runs"][0]["steps"] == 4 and isinstance(results["target_met"], bool)
    assert (run_dir / "with_seed0" / "eval.json").is_file()
    check_run_record(results, out)
    with pytest.raises(SystemExit, match="--overwrite"):  # a trained run is never resumed silently
        script.main(args)
