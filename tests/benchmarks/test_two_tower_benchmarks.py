"""Smoke tests of the two-tower benchmark scripts: each runs its ``--quick`` setting end to end.

Quick settings swap in tiny from-scratch towers at 32 px on Flickr8k-1k and take one or two
steps: they check that the scripts run and report finite numbers, and measure nothing.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from script_checks import check_run_record, load_script, needs_cifar10

from contrastkit.data.image_text import locate_captions


def flickr_available() -> bool:
    try:
        locate_captions("flickr8k_1k")
    except ValueError:
        return False
    return True


needs_flickr = pytest.mark.skipif(
    not flickr_available(), reason="Flickr8k-1k not found (set CONTRASTKIT_DATA)"
)


@needs_flickr
def test_lit_flickr8k_quick(tmp_path: Path) -> None:
    out = tmp_path / "lit.json"
    results = load_script("quality/lit_flickr8k.py").main(["--quick", "--out", str(out)])
    assert len(results["configs"]) == 6
    for row in results["configs"].values():
        for key in ("i2t_recall@1", "i2t_recall@5", "t2i_recall@10", "t2i_median_rank"):
            assert math.isfinite(row[key])
        assert 0.0 <= row["i2t_recall@5"] <= 1.0
    check_run_record(results, out)


@needs_flickr
def test_siglip_batch_size_quick(tmp_path: Path) -> None:
    out, png = tmp_path / "siglip.json", tmp_path / "siglip.png"
    script = load_script("quality/siglip_batch_size.py")
    results = script.main(
        [
            "--quick",
            "--batches",
            "64",
            "128",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            "--plot",
            str(png),
        ]
    )
    for loss in ("clip", "siglip"):
        assert set(results["results"][loss]) == {"64", "128"}
        assert all(0.0 <= row["mean"] <= 1.0 for row in results["results"][loss].values())
    assert png.stat().st_size > 0
    check_run_record(results, out)


@needs_flickr
@needs_cifar10
def test_lit_zero_shot_quick(tmp_path: Path) -> None:
    out = tmp_path / "zero_shot.json"
    results = load_script("quality/lit_zero_shot_cifar10.py").main(["--quick", "--out", str(out)])
    for model in ("trained", "untrained projections"):
        rows = results["results"][model]
        assert set(rows) == {"12-template ensemble", "one template"}
        assert all(0.0 <= row["min"] <= row["mean"] <= row["max"] <= 1.0 for row in rows.values())
    check_run_record(results, out)


@needs_flickr
def test_two_tower_throughput_quick(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    results = load_script("speed/two_tower_throughput.py").main(["--quick", "--out", str(out)])
    assert len(results["configs"]) == 4
    assert all(row["steps_per_s"] > 0 for row in results["configs"].values())
    assert all(math.isfinite(r) for r in results["cached_over_uncached"].values())
    check_run_record(results, out)
