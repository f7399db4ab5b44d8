"""LiT on Flickr8k-1k: a locked EfficientNet-Lite0 image tower, CLIP vs SigLIP loss.

What is measured
    Image-to-text and text-to-image recall@1/5/10 (and median rank) on the 200 test images of
    Flickr8k-1k with all 1,000 of their captions (``contrastkit.eval.image_text_retrieval``,
    pessimistic ties), after training on the 800 training images (one of the 5 captions
    drawn per image per step). The image tower is EfficientNet-Lite0 with its ImageNet
    weights at 160 px, locked (LiT, arXiv 2111.07991): its features are computed once and
    cached on disk. The text tower is all-MiniLM-L6-v2 (mean pooling, max 32 tokens). The
    configurations, each with the CLIP and the SigLIP loss:

    * ``untrained projections``: both towers locked, random linear projections (the baseline);
    * ``projections only``: both towers locked, the two linear projections (1280->256,
      384->256) and the logit scale (and SigLIP bias) trained, ``--proj-epochs`` epochs;
    * ``LiT``: the image tower locked, MiniLM and both projections trained,
      ``--text-epochs`` epochs (skipped with ``--skip-text``).

    All runs: batch 64, AdamW with weight decay 0.1, one epoch of linear warmup then cosine
    decay, fp32 on the CPU, through the same modality code as ``contrastkit train`` (recipe
    dicts like ``recipes/lit_flickr8k.toml``: the image-text modality's training set-up,
    ``contrastkit.train.fit``, the registered ``retrieval`` protocol); ``--seeds`` repeats each
    configuration.

Usage
    python benchmarks/quality/lit_flickr8k.py [--proj-epochs 30] [--text-epochs 5]
        [--skip-text] [--seeds 0] [--threads 2] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import fresh_splits, run_record, set_up

from contrastkit import Recipe
from contrastkit.modalities.image_text import IMAGE_TEXT
from contrastkit.recipe import recipe_from_dict
from contrastkit.registry import PROTOCOLS
from contrastkit.train import fit

BASE: dict[str, Any] = {
    "method": "two_tower",
    "dataset": "flickr8k_1k",
    "image_size": 160,
    "views": "none",
    "encoder": "efficientnet_lite0",
    "text_encoder": "minilm",
    "max_length": 32,
    "proj_dim": 256,
    "batch_size": 64,
    "optimizer": "adamw",
    "weight_decay": 0.1,
    "warmup_epochs": 1,
    "device": "cpu",
    "precision": "fp32",
    "progress_bar": False,
    "protocols": ["retrieval"],
}
# --quick: tiny from-scratch towers at 32 px, two steps: a smoke test of the script.
QUICK: dict[str, Any] = {
    "image_size": 32,
    "encoder": "small_convnet",
    "encoder_options": {"width": 8, "feature_dim": 16},
    "text_encoder": "small_transformer",
    "text_encoder_options": {"layers": 1, "width": 32, "heads": 2},
    "max_steps": 2,
    "cache_features": False,
}
LR = {"projections only": 1e-3, "LiT": 3e-4}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proj-epochs", type=int, default=30)
    parser.add_argument("--text-epochs", type=int, default=5)
    parser.add_argument("--skip-text", action="store_true", help="no MiniLM fine-tuning runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def configurations(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, recipe overrides, whether to train) for every configuration."""
    configs = []
    for loss in ("clip", "siglip"):
        frozen = {"loss": loss, "lock_a": True, "lock_b": True}
        configs.append((f"untrained projections, {loss}", {**frozen, "epochs": 1}, False))
        configs.append(
            (
                f"projections only, {loss}",
                {**frozen, "epochs": args.proj_epochs, "lr": LR["projections only"]},
                True,
            )
        )
        if not args.skip_text:
            lit = {"loss": loss, "lock_a": True, "epochs": args.text_epochs, "lr": LR["LiT"]}
            configs.append((f"LiT (trained MiniLM), {loss}", lit, True))
    return configs


def run_one(recipe: Recipe, train: bool) -> dict[str, Any]:
    """Set up (features cached), train, evaluate; the retrieval metrics and timings."""
    splits = fresh_splits(recipe)
    start = time.perf_counter()
    setup = IMAGE_TEXT.training_setup(recipe, splits, IMAGE_TEXT.model_spec(recipe, splits))
    setup_s = time.perf_counter() - start
    start = time.perf_counter()
    result = fit(setup.method, setup.source, recipe.train) if train else None
    train_s = time.perf_counter() - start
    context = IMAGE_TEXT.context(recipe, setup.method, splits)
    (record,) = PROTOCOLS["retrieval"].run(context, recipe.params("retrieval"))
    metrics = record["metrics"]
    return {
        "steps": result.steps if result else 0,
        "first_loss": result.losses[0] if result else None,
        "final_loss": result.losses[-1] if result else None,
        "setup_s": setup_s,
        "train_s": train_s,
        **{
            f"{short}_{key}": metrics[direction][key]
            for direction, short in (("image_to_text", "i2t"), ("text_to_image", "t2i"))
            for key in ("recall@1", "recall@5", "recall@10", "median_rank")
        },
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in runs[0] if k.startswith(("i2t", "t2i"))]
    summary = {k: statistics.mean(r[k] for r in runs) for k in keys}
    if len(runs) > 1:
        summary.update({f"{k}_std": statistics.stdev(r[k] for r in runs) for k in keys})
    summary["train_s"] = statistics.mean(r["train_s"] for r in runs)
    summary["steps"] = runs[0]["steps"]
    return summary


def print_table(results: dict[str, Any]) -> None:
    header = (
        "configuration                      i2t R@1  R@5    R@10   t2i R@1  R@5    R@10   train s"
    )
    print(header)
    for name, row in results.items():
        cells = [row[f"{d}_recall@{k}"] for d in ("i2t", "t2i") for k in (1, 5, 10)]
        print(f"{name:34s} " + " ".join(f"{c:6.3f}" for c in cells) + f"  {row['train_s']:6.0f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    set_up(args.threads, args.seeds[0])
    results: dict[str, Any] = {}
    for name, overrides, train in configurations(args):
        runs = []
        for seed in args.seeds if train else args.seeds[:1]:
            values = {**BASE, **overrides, "seed": seed, **(QUICK if args.quick else {})}
            runs.append(run_one(recipe_from_dict(values), train))
        results[name] = {**summarize(runs), "runs": runs}
        print(f"{name}: {json.dumps(summarize(runs))}", flush=True)
    print_table(results)
    output = {
        "benchmark": "lit_flickr8k",
        "run": run_record(__file__, sys.argv[1:] if argv is None else argv, args.threads),
        "settings": {**BASE, **({"quick": QUICK} if args.quick else {}), "lr": LR},
        "configs": results,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(output, indent=2) + "\n")
    return output


if __name__ == "__main__":
    main()
