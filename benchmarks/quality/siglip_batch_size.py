"""SigLIP's small-batch claim on Flickr8k-1k: sigmoid vs softmax loss at batch 16 to 128.

The claim (Zhai et al., arXiv 2303.15343, section 4): the sigmoid loss is better than the
softmax (CLIP) loss at small batch sizes, and the two meet as the batch grows.

What is measured
    Recall@5 in both directions (image-to-text, text-to-image) on the 200 test images of
    Flickr8k-1k with all 1,000 captions, for the CLIP and the SigLIP loss at batch 16, 32,
    64 and 128, over ``--seeds`` seeds. To make the sweep fast, both towers are locked and
    their features cached once (EfficientNet-Lite0 with ImageNet weights at 160 px, 1280-d;
    all-MiniLM-L6-v2 mean-pooled, 384-d, max 32 tokens), so only the two linear projections
    (to 256-d) and the logit scale (and SigLIP's bias) are trained: a
    :class:`~contrastkit.methods.TwoTower` over identity towers fed the cached features by the
    image-text modality's training batch source (one of the 5 captions drawn per image per
    step), trained by ``contrastkit.train.fit`` for ``--epochs`` epochs at every
    batch size (the same number of examples seen; smaller batches take more steps), AdamW
    lr 1e-3, weight decay 0.1, one epoch of warmup then cosine decay. The losses' own
    initializations: CLIP t = 1/0.07; SigLIP t = 10, b = -10.

    Writes a table and ``--plot`` (mean recall@5 of both directions against batch size, one
    line per loss, error bars = std over seeds).

Usage
    python benchmarks/quality/siglip_batch_size.py [--batches 16 32 64 128] [--seeds 0 1 2]
        [--epochs 30] [--plot benchmarks/siglip_batch_size.png] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import fresh_splits, run_record, set_up

from contrastkit.encoders import Encoder
from contrastkit.eval import image_text_retrieval
from contrastkit.methods import TwoTower
from contrastkit.modalities.image_text import IMAGE_TEXT
from contrastkit.recipe import recipe_from_dict
from contrastkit.train import TrainConfig, fit

FEATURES: dict[str, Any] = {
    "method": "two_tower",
    "dataset": "flickr8k_1k",
    "image_size": 160,
    "views": "none",
    "encoder": "efficientnet_lite0",
    "text_encoder": "minilm",
    "max_length": 32,
    "lock_a": True,
    "lock_b": True,
    "device": "cpu",
}
QUICK: dict[str, Any] = {
    "image_size": 32,
    "encoder": "small_convnet",
    "encoder_options": {"width": 8, "feature_dim": 16},
    "text_encoder": "small_transformer",
    "text_encoder_options": {"layers": 1, "width": 32, "heads": 2},
}
PROJ_DIM = 256


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plot", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args(argv)


def locked_source(split: str, quick: bool) -> Any:
    """The image-text modality's batch source of ``split`` with both towers locked: it holds
    the towers' features of every image and caption, computed once and cached on disk."""
    recipe = recipe_from_dict({**FEATURES, **(QUICK if quick else {}), "train_split": split})
    splits = fresh_splits(recipe)
    torch.manual_seed(0)  # --quick's towers are random: the same ones for both splits
    return IMAGE_TEXT.training_setup(recipe, splits, IMAGE_TEXT.model_spec(recipe, splits)).source


def cached_features(quick: bool) -> dict[str, Any]:
    """The training batch source (cached train-set features) and the test-set features."""
    test = locked_source("test", quick)
    _, owners = test.dataset.flat_captions()
    return {
        "train": locked_source("train", quick),
        "test_images": test.image_features,
        "test_captions": test.caption_features,
        "test_owners": owners,
    }


def identity_tower(width: int) -> nn.Module:
    return Encoder(nn.Identity(), feature_dim=width)


def train_and_score(
    features: dict[str, Any], *, loss: str, batch: int, seed: int, epochs: int, lr: float
) -> dict[str, float]:
    torch.manual_seed(seed)
    source = features["train"]
    images: Tensor = source.image_features
    captions: Tensor = source.caption_features
    model = TwoTower(
        identity_tower(images.shape[1]),
        identity_tower(captions.shape[1]),
        proj_dim=PROJ_DIM,
        loss=loss,
        lock_a=True,
        lock_b=True,
    )
    config = TrainConfig(
        epochs=epochs,
        batch_size=batch,
        optimizer="adamw",
        lr=lr,
        weight_decay=0.1,
        warmup_epochs=1,
        seed=seed,
        device="cpu",
        precision="fp32",
        progress_bar=False,
    )
    result = fit(model, source, config)
    model.eval()
    with torch.no_grad():
        record = image_text_retrieval(
            model.project_a(features["test_images"]),
            model.project_b(features["test_captions"]),
            text_to_image=features["test_owners"],
        )
    metrics = record["metrics"]
    i2t, t2i = metrics["image_to_text"]["recall@5"], metrics["text_to_image"]["recall@5"]
    return {
        "i2t_recall@5": i2t,
        "t2i_recall@5": t2i,
        "mean_recall@5": (i2t + t2i) / 2,
        "steps": result.steps,
        "final_loss": result.losses[-1],
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 3.8))
    for loss, label in (("clip", "softmax (CLIP)"), ("siglip", "sigmoid (SigLIP)")):
        rows = results[loss]
        batches = sorted(int(b) for b in rows)
        means = [rows[str(b)]["mean"] for b in batches]
        stds = [rows[str(b)]["std"] for b in batches]
        axis.errorbar(batches, means, yerr=stds, marker="o", capsize=3, label=label)
    axis.set_xscale("log", base=2)
    axis.set_xticks(batches, [str(b) for b in batches])
    axis.set_xlabel("batch size")
    axis.set_ylabel("recall@5 (mean of i2t, t2i)")
    axis.set_title("Flickr8k-1k test, locked towers, projections trained")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    set_up(args.threads, args.seeds[0])
    features = cached_features(args.quick)
    epochs = 1 if args.quick else args.epochs
    results: dict[str, Any] = {"clip": {}, "siglip": {}}
    for batch in args.batches:
        for loss in ("clip", "siglip"):
            runs = [
                train_and_score(features, loss=loss, batch=batch, seed=s, epochs=epochs, lr=args.lr)
                for s in args.seeds
            ]
            values = [r["mean_recall@5"] for r in runs]
            results[loss][str(batch)] = {
                "mean": statistics.mean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "runs": runs,
            }
            print(
                f"batch {batch:4d} {loss:6s} recall@5 {results[loss][str(batch)]['mean']:.4f}"
                f" ± {results[loss][str(batch)]['std']:.4f}",
                flush=True,
            )
    print("batch  softmax (CLIP)     sigmoid (SigLIP)   sigmoid - softmax")
    for batch in args.batches:
        clip, sig = results["clip"][str(batch)], results["siglip"][str(batch)]
        print(
            f"{batch:5d}  {clip['mean']:.4f} ± {clip['std']:.4f}  {sig['mean']:.4f} ± "
            f"{sig['std']:.4f}  {sig['mean'] - clip['mean']:+.4f}"
        )
    if args.plot is not None:
        plot(results, args.plot)
    output = {
        "benchmark": "siglip_batch_size",
        "run": run_record(__file__, sys.argv[1:] if argv is None else argv, args.threads),
        "settings": {"features": FEATURES, "epochs": epochs, "lr": args.lr, "proj_dim": PROJ_DIM},
        "results": results,
    }
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(output, indent=2) + "\n")
    return output


if __name__ == "__main__":
    main()
