"""Two-tower training throughput: a locked tower's cached features vs running it every step.

What is measured
    Optimizer steps per second (and pairs per second) of two-tower training on Flickr8k-1k
    (batch ``--batch``, 160 px images, captions at most 32 tokens, CLIP loss, AdamW, fp32 on
    the CPU with ``--threads`` threads), through ``contrastkit.train.fit`` with the image-text
    modality's batch source, in two settings:

    * ``LiT``: locked EfficientNet-Lite0 image tower, all-MiniLM-L6-v2 text tower trained;
    * ``projections only``: both towers locked, only the projections trained;

    each with the locked towers' features **cached** (computed once, read from disk, the
    modality's default) and **uncached** (``cache_features=false``: the locked towers run in
    eval mode under ``torch.no_grad()`` on every batch). The one-off cost of computing the cache
    is reported separately (it is paid once per tower, weights and data). Steps are timed by
    the engine itself: each configuration runs ``--warmup + --steps`` steps
    (``max_steps``), and the median of the per-step times logged in ``metrics.jsonl``
    (``examples_per_s`` = pairs per second) over the last ``--steps`` is reported. The
    configurations alternate in ``--rounds`` rounds so that machine load affects them alike.

Usage
    python benchmarks/speed/two_tower_throughput.py [--batch 64] [--warmup 1] [--steps 5]
        [--rounds 2] [--threads 2] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import fresh_splits, run_record, set_up

from contrastkit.modalities.image_text import IMAGE_TEXT
from contrastkit.recipe import recipe_from_dict
from contrastkit.train import fit, read_metrics

BASE: dict[str, Any] = {
    "method": "two_tower",
    "dataset": "flickr8k_1k",
    "image_size": 160,
    "views": "none",
    "encoder": "efficientnet_lite0",
    "text_encoder": "minilm",
    "max_length": 32,
    "proj_dim": 256,
    "epochs": 10,
    "optimizer": "adamw",
    "lr": 3e-4,
    "device": "cpu",
    "precision": "fp32",
    "progress_bar": False,
    "log_every": 1,
    "checkpoint_every": 100_000,
    "health_every": 0,
}
QUICK: dict[str, Any] = {
    "image_size": 32,
    "encoder": "small_convnet",
    "encoder_options": {"width": 8, "feature_dim": 16},
    "text_encoder": "small_transformer",
    "text_encoder_options": {"layers": 1, "width": 32, "heads": 2},
}
SETTINGS = {
    "LiT": {"lock_a": True},
    "projections only": {"lock_a": True, "lock_b": True},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def timed_steps(values: dict[str, Any], steps: int) -> tuple[list[float], float]:
    """Run ``max_steps`` steps; (per-step seconds of the last ``steps``, set-up seconds)."""
    recipe = recipe_from_dict(values)
    splits = fresh_splits(recipe)
    start = time.perf_counter()
    setup = IMAGE_TEXT.training_setup(recipe, splits, IMAGE_TEXT.model_spec(recipe, splits))
    setup_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as run_dir:
        fit(setup.method, setup.source, recipe.train, run_dir=run_dir)
        records = [r for r in read_metrics(Path(run_dir)) if "examples_per_s" in r]
    batch = recipe.train.batch_size
    return [batch / r["examples_per_s"] for r in records[-steps:]], setup_s


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    set_up(args.threads, 0)
    steps = 1 if args.quick else args.steps
    warmup = 0 if args.quick else args.warmup
    rounds = 1 if args.quick else args.rounds
    batch = 4 if args.quick else args.batch
    times: dict[str, list[float]] = {}
    setups: dict[str, list[float]] = {}
    for _ in range(rounds):
        for setting, locks in SETTINGS.items():
            for cached in (True, False):
                name = f"{setting}, {'cached' if cached else 'uncached'} features"
                values = {
                    **BASE,
                    **locks,
                    "batch_size": batch,
                    "max_steps": warmup + steps,
                    "cache_features": cached,
                    **(QUICK if args.quick else {}),
                }
                step_times, setup_s = timed_steps(values, steps)
                times.setdefault(name, []).extend(step_times)
                setups.setdefault(name, []).append(setup_s)
                print(f"{name}: median step {statistics.median(step_times):.3f} s", flush=True)
    configs = {}
    for name, values in times.items():
        median = statistics.median(values)
        configs[name] = {
            "steps_per_s": 1 / median,
            "pairs_per_s": batch / median,
            "step_s_median": median,
            "step_s_min": min(values),
            "step_s_max": max(values),
            "timed_steps": len(values),
            "setup_s": setups[name],
        }
    ratios = {
        setting: configs[f"{setting}, cached features"]["steps_per_s"]
        / configs[f"{setting}, uncached features"]["steps_per_s"]
        for setting in SETTINGS
    }
    print(f"{'configuration':40s} steps/s  pairs/s  step s (min-max)")
    for name, row in configs.items():
        print(
            f"{name:40s} {row['steps_per_s']:7.3f}  {row['pairs_per_s']:7.1f}  "
            f"{row['step_s_median']:.3f} ({row['step_s_min']:.3f}-{row['step_s_max']:.3f})"
        )
    for setting, ratio in ratios.items():
        print(f"{setting}: cached / uncached = {ratio:.1f}x steps/s")
    output = {
        "benchmark": "two_tower_throughput",
        "run": run_record(__file__, sys.argv[1:] if argv is None else argv, args.threads),
        "settings": {**BASE, "batch_size": batch, "quick": args.quick},
        "configs": configs,
        "cached_over_uncached": ratios,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(output, indent=2) + "\n")
    return output


if __name__ == "__main__":
    main()
