"""Smoke test of ``benchmarks/speed/gradcache_memory.py``: its ``--quick`` setting end to end.

Quick settings check that the script runs its child processes and reports finite numbers;
they measure nothing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "speed" / "gradcache_memory.py"


def load_script() -> ModuleType:
    """The script imported by path (``benchmarks/`` is not a package)."""
    if SCRIPT.stem in sys.modules:
        return sys.modules[SCRIPT.stem]
    spec = importlib.util.spec_from_file_location(SCRIPT.stem, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[SCRIPT.stem] = module
    spec.loader.exec_module(module)
    return module


def test_gradcache_memory_quick(tmp_path: Path) -> None:
    script = load_script()
    out = tmp_path / "gradcache.json"
    results = script.main(["--quick", "--data", "random", "--out", str(out)])
    assert set(results["configs"]) == {
        "plain, batch 16",
        "plain, batch 32",
        "gradcache, batch 64, micro 16",
    }
    for record in results["configs"].values():
        for key in ("peak_rss_gib", "peak_rss_before_step_gib", "step_s", "loss"):
            assert math.isfinite(record[key]) and record[key] > 0, (key, record)
        assert record["peak_rss_gib"] >= record["peak_rss_before_step_gib"]
    for key in ("plain_extrapolated_gib", "memory_ratio", "time_ratio_vs_plain"):
        assert math.isfinite(results[key]) and results[key] > 0, key
    assert isinstance(results["target_met"], bool)
    saved = json.loads(out.read_text())
    assert saved["configs"] == results["configs"]
    for key in ("command", "commit", "date", "torch", "threads"):
        assert key in saved["run"], key
    assert "--quick" in saved["run"]["command"]
