"""Gradient caching memory: a SimCLR step at batch 4,096 with ResNet-18 on the CPU, peak RSS.

What is measured
    The peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) of a process that
    runs one SimCLR training step through :func:`contrastkit.train.fit` (``max_steps=1``): the
    library's ResNet-18 with the CIFAR stem, projection head 512-2048-128, NT-Xent at
    temperature 0.5, SGD (lr 0.06, momentum 0.9, weight decay 5e-4), SimCLR's CIFAR
    augmentation (``contrastkit.transforms.simclr(32)``) on 32x32 CIFAR-10 training images
    (random uint8 images when the shared data is absent, or with ``--data random``), fp32, on
    the CPU with ``--threads`` threads. Configurations:

    * gradcache: batch ``--batch`` (4,096) with ``micro_batch_size`` ``--micro`` (256), i.e.
      ``--set micro_batch_size=256``: the loss sees all 4,096 x 2 views; activations are held
      for 256 samples at a time (:class:`contrastkit.train.GradCache`);
    * plain: the same step without gradient caching at the small batches ``--plain`` (256 and
      512). A plain step at 4,096 would need tens of GiB, so it is not run: its peak is
      extrapolated linearly from the two plain measurements (activation memory grows linearly
      with the batch) and reported as such.

    Every configuration runs in a fresh child process (this script with ``--child``), so each
    peak starts from a clean interpreter; the child also reports its peak before the step
    (interpreter, torch, data set, model, optimizer), to show what the step itself adds, and
    the step's wall time. The time per image of gradcache vs plain at the micro-batch size
    shows the cost of the extra forward pass (about 1.3x in theory: forward twice, backward
    once). ResNet-18 has BatchNorm in the encoder, so the gradcache step here is not exact
    (statistics per sub-batch; the child records the warning): the memory is what is measured.

    ``--quick`` (a tiny ConvNet, batch 64 with sub-batches of 16, plain at 16 and 32) is a smoke
    test of the script, not a measurement.

Issue target
    Peak RSS < 6 GiB for the gradcache step at batch 4,096.

Usage
    python benchmarks/speed/gradcache_memory.py [--batch 4096] [--micro 256]
        [--plain 256 512] [--threads 2] [--data auto|random] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

from contrastkit.data import ImageDataset, load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.encoders import SmallConvNet, resnet
from contrastkit.methods import SimCLR
from contrastkit.train import TrainConfig, fit
from contrastkit.transforms import simclr

GIB = 1024**3
TARGET_GIB = 6.0


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def load_images(source: str, count: int) -> tuple[ImageDataset, str]:
    """CIFAR-10 train (``source="auto"`` when present) or ``count`` random uint8 images."""
    if source == "auto":
        try:
            dataset = load_dataset("cifar10", "train")
            return dataset, f"CIFAR-10 train ({len(dataset)} images)"
        except ValueError as error:
            reason = f"CIFAR-10 not found: {str(error).split('.')[0]}"
    else:
        reason = "--data random"
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (count, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.zeros(count, dtype=torch.long)
    return ImageDataset(images, labels, name="random"), f"random uint8 ({reason})"


# ----------------------------------------------------------------------------- child process
def child(spec: dict[str, Any]) -> dict[str, Any]:
    """One training step as ``spec`` says; its peak memory and time."""
    set_up(spec["threads"], spec["seed"])
    dataset, data_note = load_images(spec["data"], max(spec["batch"], 1024))
    if spec["quick"]:
        encoder: torch.nn.Module = SmallConvNet(3, width=4, feature_dim=16)
        method = SimCLR(encoder, proj_hidden_dim=32, proj_dim=16, temperature=0.5)
    else:
        encoder = resnet("resnet18", cifar_stem=True)
        method = SimCLR(encoder, proj_hidden_dim=2048, proj_dim=128, temperature=0.5)
    config = TrainConfig(
        epochs=1,
        batch_size=spec["batch"],
        micro_batch_size=spec["micro"],
        optimizer="sgd",
        lr=0.06,
        weight_decay=5e-4,
        max_steps=1,
        seed=spec["seed"],
        device="cpu",
        precision="fp32",
        progress_bar=False,
    )
    source = ViewSource(dataset, simclr(32))
    before = peak_rss_bytes()
    tick = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(method, source, config)
    seconds = time.perf_counter() - tick
    return {
        "batch": spec["batch"],
        "micro_batch_size": spec["micro"],
        "peak_rss_gib": peak_rss_bytes() / GIB,
        "peak_rss_before_step_gib": before / GIB,
        "step_s": seconds,
        "s_per_1k_images": seconds / spec["batch"] * 1000,
        "loss": result.losses[0],
        "warnings": sorted({str(w.message).split(";")[0] for w in caught}),
        "data": data_note,
    }


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run :func:`child` in a fresh interpreter (a clean peak) and read its JSON line."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"child {spec} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------- report
def extrapolate(plain: list[dict[str, Any]], batch: int) -> float:
    """Peak RSS (GiB) at ``batch`` on the line through the two largest plain measurements."""
    low, high = sorted(plain, key=lambda r: r["batch"])[-2:]
    slope = (high["peak_rss_gib"] - low["peak_rss_gib"]) / (high["batch"] - low["batch"])
    return high["peak_rss_gib"] + slope * (batch - high["batch"])


def table(results: dict[str, Any]) -> str:
    lines = [
        f"SimCLR step, {results['encoder']}, {results['data']}, {results['threads']} threads",
        f"{'config':<34}{'peak RSS GiB':>14}{'before step':>13}{'step s':>9}{'s/1k img':>10}",
    ]
    for name, r in results["configs"].items():
        lines.append(
            f"{name:<34}{r['peak_rss_gib']:>14.2f}{r['peak_rss_before_step_gib']:>13.2f}"
            f"{r['step_s']:>9.1f}{r['s_per_1k_images']:>10.1f}"
        )
    lines.append(
        f"{'plain, batch ' + str(results['batch']) + ' (extrapolated)':<34}"
        f"{results['plain_extrapolated_gib']:>14.2f}"
    )
    lines.append(
        f"gradcache peak {results['gradcache_peak_gib']:.2f} GiB "
        f"(target < {TARGET_GIB} GiB: {'met' if results['target_met'] else 'not met'}); "
        f"{results['memory_ratio']:.1f}x less than plain extrapolated; time per image "
        f"{results['time_ratio_vs_plain']:.2f}x plain at batch {results['micro_batch_size']}"
    )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=4096, help="gradcache batch (per step)")
    parser.add_argument("--micro", type=int, default=256, help="gradcache micro_batch_size")
    parser.add_argument(
        "--plain", type=int, nargs=2, default=[256, 512], help="two plain batches (keep small)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", choices=["auto", "random"], default="auto")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--quick", action="store_true", help="smoke test: tiny ConvNet, batch 64")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.micro, args.plain = 64, 16, [16, 32]
    if min(args.batch, args.micro, args.threads, *args.plain) < 1 or args.micro > args.batch:
        parser.error("sizes and --threads must be >= 1, and --micro at most --batch")
    if args.plain[0] == args.plain[1]:
        parser.error("--plain needs two different batch sizes to extrapolate")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return {}
    spec = {"threads": args.threads, "seed": args.seed, "data": args.data, "quick": args.quick}
    plain = [run_child({**spec, "batch": b, "micro": None}) for b in sorted(args.plain)]
    cached = run_child({**spec, "batch": args.batch, "micro": args.micro})
    configs = {f"plain, batch {r['batch']}": r for r in plain}
    configs[f"gradcache, batch {args.batch}, micro {args.micro}"] = cached
    extrapolated = extrapolate(plain, args.batch)
    per_image_plain = min(plain, key=lambda r: abs(r["batch"] - args.micro))["s_per_1k_images"]
    results: dict[str, Any] = {
        "benchmark": "gradcache_memory",
        "encoder": "SmallConvNet(width 4) [quick]" if args.quick else "ResNet-18 (CIFAR stem)",
        "batch": args.batch,
        "micro_batch_size": args.micro,
        "threads": args.threads,
        "data": cached["data"],
        "configs": configs,
        "gradcache_peak_gib": cached["peak_rss_gib"],
        "plain_extrapolated_gib": extrapolated,
        "memory_ratio": extrapolated / cached["peak_rss_gib"],
        "time_ratio_vs_plain": cached["s_per_1k_images"] / per_image_plain,
        "target_gib": TARGET_GIB,
        "target_met": cached["peak_rss_gib"] < TARGET_GIB,
    }
    results["run"] = run_record(__file__, argv, args.threads)
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
