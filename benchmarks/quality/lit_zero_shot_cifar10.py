"""Zero-shot CIFAR-10 of a two-tower model trained on Flickr8k-1k, with and without ensembling.

What is measured
    Top-1 zero-shot accuracy on ``--limit`` CIFAR-10 test images: a class-stratified subset
    drawn with a fixed seed (the ``zero_shot`` protocol's, ``contrastkit.data.stratified_indices``:
    200 images of each class for the default 2,000; the packed test set is sorted by class, so
    its first 2,000 images would hold two classes), upscaled from 32 px to the image tower's
    160 px, against chance (10%). Class names ("airplane", ..., "truck") are written into prompts
    and embedded by the text tower (CLIP's protocol, arXiv 2103.00020, section 3.1.4): with
    prompt ensembling, the mean of 12 normalized template embeddings ("a photo of a {}.", "a
    blurry photo of a {}.", ...: ``contrastkit.eval.CIFAR_TEMPLATES``); without, "a photo of a
    {}." alone. Both go through the registered ``zero_shot`` protocol
    (``contrastkit.registry.PROTOCOLS``), the one ``contrastkit eval --protocol zero_shot`` runs.

    The models are run folders trained by ``contrastkit train`` (``--run``, one or more, e.g.
    from ``recipes/lit_flickr8k.toml`` with ``--set seed=N``: locked EfficientNet-Lite0, trained
    MiniLM), or, without ``--run``, runs trained here (``contrastkit.train_run`` into a
    temporary folder), one per ``--seeds`` seed (the training seed: initialization and data
    order): both towers locked (cached features) and only the projections trained on
    Flickr8k-1k (30 epochs, batch 64, CLIP loss), which takes seconds once the features are
    cached. The locked image tower's CIFAR-10 features are cached too. Also reported, as the
    baseline: the same towers with untrained (random) projections, over ``--untrained-seeds``
    initializations (mean, std, min, max): random projections do not give chance exactly,
    because their predictions pile up on a few classes.

Usage
    python benchmarks/quality/lit_zero_shot_cifar10.py [--run RUN [RUN ...]] [--seeds 0 1 2]
        [--untrained-seeds 8] [--limit 2000] [--threads 2] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up

import contrastkit
from contrastkit.modalities.image_text import ImageTextFeatures, build_two_tower
from contrastkit.registry import PROTOCOLS

PROJECTIONS_ONLY: dict[str, Any] = {
    "method": "two_tower",
    "dataset": "flickr8k_1k",
    "image_size": 160,
    "views": "none",
    "encoder": "efficientnet_lite0",
    "text_encoder": "minilm",
    "lock_a": True,
    "lock_b": True,
    "proj_dim": 256,
    "batch_size": 64,
    "epochs": 30,
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 0.1,
    "warmup_epochs": 1,
    "device": "cpu",
    "progress_bar": False,
    "health_every": 0,
}
QUICK: dict[str, Any] = {
    "image_size": 32,
    "encoder": "small_convnet",
    "encoder_options": {"width": 8, "feature_dim": 16},
    "text_encoder": "small_transformer",
    "text_encoder_options": {"layers": 1, "width": 32, "heads": 2},
    "max_steps": 2,
    "cache_features": False,
}
CHANCE = 0.1
ENSEMBLE, SINGLE = "12-template ensemble", "one template"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, nargs="+", help="trained two_tower run folders")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--untrained-seeds", type=int, default=8)
    parser.add_argument(
        "--limit", type=int, default=2000, help="CIFAR-10 test images (class-stratified subset)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def scores(run: contrastkit.Run, method: nn.Module, limit: int) -> tuple[dict[str, float], str]:
    """Top-1 with and without prompt ensembling, and the images evaluated (the record's name)."""
    context = ImageTextFeatures(run.recipe, method, run.splits)
    protocol = PROTOCOLS["zero_shot"]
    results, images = {}, ""
    for ensemble in (True, False):
        params = dataclasses.replace(
            run.recipe.params("zero_shot"), zero_shot_limit=limit, prompt_ensemble=ensemble
        )
        (record,) = protocol.run(context, params)
        results[ENSEMBLE if ensemble else SINGLE] = record["metrics"]["top1"]
        images = f"{record['params']['dataset']}: {record['params']['num_images']} images"
    return results, images


def summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """Mean, std, min and max of each template setting over runs."""
    result: dict[str, Any] = {}
    for name in (ENSEMBLE, SINGLE):
        values = [run[name] for run in runs]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        result[name] = {
            "mean": statistics.mean(values),
            "std": std,
            "min": min(values),
            "max": max(values),
            "per_seed": values,
        }
    return result


def reset_projections(method: Any) -> None:
    for projection in (method.projection_a, method.projection_b):
        for module in projection.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()


def trained_runs(
    args: argparse.Namespace, limit: int
) -> tuple[contrastkit.Run, list[dict[str, float]], str, str]:
    """The last run, the scores of every run, what the models are and which images."""
    runs, images = [], ""
    if args.run is not None:
        for folder in args.run:
            run = contrastkit.load_run(folder)
            result, images = scores(run, run.method, limit)
            runs.append(result)
        return run, runs, f"run folders {[str(f) for f in args.run]}", images
    for seed in args.seeds:
        values = {**PROJECTIONS_ONLY, "seed": seed, **(QUICK if args.quick else {})}
        with tempfile.TemporaryDirectory() as folder:
            run = contrastkit.train_run(values, folder)
            result, images = scores(run, run.method, limit)
        runs.append(result)
    return run, runs, f"projections only, trained here (seeds {args.seeds})", images


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    set_up(args.threads, 0)
    limit = 40 if args.quick else args.limit
    run, runs, source, images = trained_runs(args, limit)
    recipe = run.recipe
    untrained = build_two_tower(recipe.model, recipe.data)  # type: ignore[arg-type]
    baseline = []
    for seed in range(2 if args.quick else args.untrained_seeds):
        torch.manual_seed(seed)
        reset_projections(untrained)
        baseline.append(scores(run, untrained, limit)[0])
    results = {"trained": summary(runs), "untrained projections": summary(baseline)}
    print(f"model: {source}; {images}; chance {CHANCE:.0%}")
    for model, rows in results.items():
        for name, row in rows.items():
            print(
                f"{model:22s} {name:22s} top-1 {row['mean']:.4f} ± {row['std']:.4f} "
                f"(min {row['min']:.4f}, max {row['max']:.4f}, {len(row['per_seed'])} seeds)"
            )
    output = {
        "benchmark": "lit_zero_shot_cifar10",
        "run": run_record(__file__, sys.argv[1:] if argv is None else argv, args.threads),
        "model": source,
        "recipe": recipe.to_flat(),
        "limit": limit,
        "images": images,
        "chance": CHANCE,
        "results": results,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(output, indent=2) + "\n")
    return output


if __name__ == "__main__":
    main()
