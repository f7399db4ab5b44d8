"""Smoke tests of the loss benchmarks: each runs its ``--quick`` setting end to end.

Both scripts measure every (loss, N) in a child process, so even their quick settings start
several interpreters: they carry the ``slow`` marker. They check that the scripts run and
report finite numbers; they measure nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from script_checks import check_run_record, load_script


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
