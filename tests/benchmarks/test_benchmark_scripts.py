"""Smoke tests of the benchmark scripts: each runs its ``--quick`` setting end to end.

The scripts live outside the package (``benchmarks/``), so they are imported by path. Quick
settings check that the scripts run and report finite numbers; they measure nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from script_checks import (
    assert_finite,
    check_run_record,
    dataset_available,
    load_script,
    needs_cifar10,
)


def test_training_throughput_quick(tmp_path: Path) -> None:
    pytest.importorskip("lightly")
    script = load_script("speed/training_throughput.py")
    out = tmp_path / "throughput.json"
    # Random images: this test checks the script, so it does not need the data set.
    results = script.main(["--quick", "--data", "random", "--out", str(out)])
    assert set(results["configs"]) == {"ours (channels_last)", "ours (contiguous)", "lightly"}
    for record in results["configs"].values():
        assert_finite(
            record,
            [
                "images_per_s",
                "step_s",
                "data_s",
                "forward_s",
                "backward_s",
                "optimizer_s",
                "head_loss_s",
                "encoder_gflops",
                "encoder_vs_gemm",
                "non_encoder_fraction",
            ],
        )
        assert record["images_per_s"] > 0
    assert_finite(results, ["gemm_gflops", "encoder_flops_per_step"])
    assert results["encoder_flops_per_step"] > 0
    assert set(results["ratios_vs_lightly"]) == {"ours (channels_last)", "ours (contiguous)"}
    check_run_record(results, out)


@needs_cifar10
def test_cifar10_budget_quick(tmp_path: Path) -> None:
    pytest.importorskip("lightly")
    script = load_script("quality/cifar10_budget.py")
    out, run_dir = tmp_path / "budget.json", tmp_path / "run"
    results = script.main(["--quick", "--run-dir", str(run_dir), "--out", str(out)])
    assert set(results["pipelines"]) == {"contrastkit", "lightly"}
    for record in results["pipelines"].values():
        assert_finite(
            record, ["steps", "epochs_done", "images_per_s", "knn_top1", "knn_top5", "final_loss"]
        )
        assert record["steps"] >= 1
        assert 0.0 <= record["knn_top1"] <= 1.0
    assert_finite(results["random_init"], ["knn_top1", "knn_top5"])
    assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "recipe.json").is_file()
    check_run_record(results, out)
    with pytest.raises(SystemExit, match="--overwrite"):  # a trained run is never resumed silently
        script.main(["--quick", "--run-dir", str(run_dir), "--no-lightly"])


@needs_cifar10
@pytest.mark.skipif(not dataset_available("fashion_mnist"), reason="Fashion-MNIST not installed")
def test_label_efficiency_quick(tmp_path: Path) -> None:
    script = load_script("quality/label_efficiency.py")
    out = tmp_path / "labels.json"
    results = script.main(
        [
            "--quick",
            "--cifar-run",
            str(tmp_path / "cifar"),
            "--fmnist-run",
            str(tmp_path / "fmnist"),
            "--out",
            str(out),
        ]
    )
    assert set(results["datasets"]) == {"cifar10", "fashion_mnist"}
    for record in results["datasets"].values():
        assert_finite(record["simclr_linear_fraction"], ["mean", "std"])
        assert_finite(record["supervised_fraction"], ["mean", "std"])
        assert_finite(record["simclr_linear_full"], ["mean"])
        assert len(record["supervised_fraction"]["per_seed"]) == 3
        assert isinstance(record["claim_holds"], bool)
        assert record["trained_now"] is not None  # the empty run folders were trained
    check_run_record(results, out)
