"""Smoke tests of the loss benchmarks: each runs its ``--quick`` setting end to end.

Both scripts measure every (loss, N) in a child process, so even their quick settings start
several interpreters: they carry the ``slow`` marker. They check that the scripts run and
report finite numbers; they measure nothing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(relative: str) -> ModuleType:
    """Import a benchmark script by path (``benchmarks/`` is not a package)."""
    path = BENCHMARKS / relative
    if path.stem in sys.modules:
        return sys.modules[path.stem]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def check_run_record(results: dict[str, Any], out: Path) -> None:
    saved = json.loads(out.read_text())
    assert saved["benchmark"] == results["benchmark"]
    for key in ("command", "commit", "date", "torch", "threads"):
        assert key in saved["run"], key
    assert "--quick" in saved["run"]["command"]


@pytest.mark.slow
def test_loss_scaling_quick(tmp_path: Path) -> None:
    script = load_script("speed/loss_scaling.py")
    out = tmp_path / "scaling.json"
    results = script.main(["--quick", "--out", str(out)])
    assert [row["n"] for row in results["rows"]] == [64, 128]
    for row in results["rows"]:
        for name in ("tiled", "untiled"):
            record = row[name]
            assert record["status"] == "ok", record
            for key in ("seconds", "ratio_to_bound", "peak_extra_mib", "gemm_gflops", "value"):
                assert math.isfinite(record[key]), (name, key)
        assert math.isclose(row["tiled"]["value"], row["untiled"]["value"], rel_tol=1e-5)
    check_run_record(results, out)


@pytest.mark.slow
def test_losses_vs_peers_quick(tmp_path: Path) -> None:
    for peer in ("lightly", "pytorch_metric_learning", "open_clip", "sentence_transformers"):
        pytest.importorskip(peer)
    script = load_script("speed/losses_vs_peers.py")
    out = tmp_path / "peers.json"
    results = script.main(["--quick", "--out", str(out)])
    rows = results["rows"]
    assert {row["loss"] for row in rows} == {"NT-Xent", "SupCon", "CLIP", "SigLIP", "InfoNCE"}
    assert len(rows) == sum(len(impls) for _, impls in script.FAMILIES.values())
    for row in rows:
        assert row["status"] == "ok", row
        for key in ("seconds", "time_vs_ours_tiled", "ratio_to_bound", "peak_extra_mib"):
            assert math.isfinite(row[key]), (row["impl"], key)
        assert row["value_rel_diff"] < 1e-4, row  # every implementation computes the same loss
    check_run_record(results, out)
