"""Smoke test of ``benchmarks/speed/gradcache_memory.py``: its ``--quick`` setting end to end.

Quick settings check that the script runs its child processes and reports finite numbers;
they measure nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from script_checks import check_run_record, load_script


def test_gradcache_memory_quick(tmp_path: Path) -> None:
    script = load_script("speed/gradcache_memory.py")
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
    check_run_record(results, out)
