"""Smoke test of ``benchmarks/speed/onnx_latency.py``: its ``--quick`` setting end to end."""

from __future__ import annotations

from pathlib import Path

from script_checks import assert_finite, check_run_record, load_script


def test_onnx_latency_quick(tmp_path: Path) -> None:
    script = load_script("speed/onnx_latency.py")
    out = tmp_path / "onnx.json"
    results = script.main(["--quick", "--out", str(out)])
    assert [(r["config"], r["batch"]) for r in results["configs"]] == [
        ("small_convnet", 1),
        ("small_convnet", 4),
        ("small_transformer", 1),
        ("small_transformer", 4),
    ]
    for record in results["configs"]:
        assert_finite(record, ["torch_ms", "onnxruntime_ms", "ratio", "max_abs_difference"])
        assert record["max_abs_difference"] < 1e-4
    check_run_record(results, out)
