"""The augmentation speed benchmark runs end to end in a tiny setting."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "speed" / "augmentation.py"


def test_benchmark_main_runs_and_prints_a_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("kornia")
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path))  # no data there: random images
    spec = importlib.util.spec_from_file_location("augmentation_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--batch", "8", "--batches", "1", "--repeats", "1", "--images", "16", "--workers", "0"]
    rates = module.main(argv)
    assert len(rates) == 3 and all(rate > 0 for rate in rates.values())
    out = capsys.readouterr().out
    assert "| contrastkit.transforms.simclr (batched) |" in out and "random uint8" in out
