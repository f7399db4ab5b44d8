"""SimCLR quality at a fixed CPU budget on CIFAR-10: contrastkit vs lightly's training loop.

What is measured
    Each pipeline trains SimCLR on the CIFAR-10 training set for the same wall-clock budget
    (``--budget-minutes``, 12 by default, each; they run one after the other in one process,
    never concurrently), then the frozen encoder's weighted kNN top-1 on the CIFAR-10 test set
    (k=200, temperature 0.1, the InstDisc protocol; the bank is the training set's features,
    both through the same evaluation transform: CIFAR-10 normalization only) is reported, with
    the steps and epochs done and the training images/s. A randomly initialized encoder gives the
    floor.

    Same for both: the encoder (``contrastkit.encoders.SmallConvNet()`` at its default width,
    instantiated from the same class for lightly), SimCLR's CIFAR augmentations (crop (0.08, 1),
    flip, colour jitter strength 0.5 with p=0.8, grayscale p=0.2, no blur), batch 256, a
    projection head 256-2048-128 with BatchNorm, NT-Xent at temperature 0.5, SGD (lr 0.3,
    momentum 0.9, weight decay 1e-6), ``--threads`` torch threads, fp32 on the CPU.

    * ours: a contrastkit run folder (``--run-dir``, default runs/bench_cifar10_simclr, reused
      by ``label_efficiency.py``): ``SimCLR`` + ``transforms.simclr(32)`` + ``ViewSource``
      (augmentation on whole batches in the main process) trained by ``contrastkit.train.fit``
      with ``TrainConfig(time_budget_s=...)``.
    * lightly (1.6): ``SimCLRTransform(input_size=32, cj_strength=0.5, gaussian_blur=0.0)`` on
      PIL images in a ``DataLoader`` with 2 workers (lightly's example), ``SimCLRProjectionHead``
      and ``NTXentLoss``, in lightly's plain training loop, stopping at the first step after the
      budget.

    Schedule (``--schedule planned``, the default): a linear warmup over 5% of the steps, then a
    cosine to 0, each pipeline's schedule planned for the number of steps *it* can do in the
    budget: a short calibration (``--calibration-steps`` untimed steps, outside the budget)
    measures its step time, and epochs = round(budget / step time / steps per epoch), at least
    1 (``fit`` plans its schedule in whole epochs, so the schedule ends near, not exactly at,
    the budget; the faster pipeline gets more steps, as a budget intends). ``--schedule
    constant`` keeps the learning rate constant after the same warmup instead.

Issue target
    contrastkit's kNN top-1 >= lightly's at the same budget (ours is expected to do more steps
    in the budget; see ``benchmarks/speed/training_throughput.py``).

Usage
    python benchmarks/quality/cifar10_budget.py [--budget-minutes 12] [--run-dir DIR]
        [--overwrite] [--threads 2] [--out results.json] [--quick]

    ``--quick``: a smoke test, not a measurement: 6 s budget each on a 1,000-image subset (kNN on
    500 test images), batch 64.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import clear_run_dir, image_views, run_record, set_up, write_results

from contrastkit import Recipe
from contrastkit.data import ImageDataset, load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.encoders import SmallConvNet
from contrastkit.eval import knn_accuracy
from contrastkit.modalities.image import IMAGE, encode_dataset
from contrastkit.recipe import recipe_from_dict
from contrastkit.run import RECIPE_NAME, SPEC_NAME
from contrastkit.train import fit, warmup_cosine
from contrastkit.transforms import MultiView, simclr

# lightly normalizes with the statistics of our recipe (CIFAR-10's channel mean and std)
CIFAR10_MEAN, CIFAR10_STD = tuple(simclr(32).mean), tuple(simclr(32).std)
RUN_FILES = ("checkpoint.pt", "metrics.jsonl", RECIPE_NAME, SPEC_NAME, "eval.json", "bench.json")


def subset(dataset: ImageDataset, count: int, seed: int) -> ImageDataset:
    """A random ``count``-sample subset (the whole set when count is 0 or too large)."""
    if count <= 0 or count >= len(dataset):
        return dataset
    generator = torch.Generator().manual_seed(seed)
    return dataset.subset(torch.randperm(len(dataset), generator=generator)[:count].sort().values)


# ------------------------------------------------------------------------------------ planning
def plan(
    step_s: float, budget_s: float, steps_per_epoch: int, warmup_fraction: float
) -> dict[str, Any]:
    """Epochs and warmup for a schedule that ends near the budget."""
    planned_steps = budget_s / max(step_s, 1e-9)
    epochs = max(1, round(planned_steps / steps_per_epoch))
    return {
        "calibrated_step_s": step_s,
        "planned_steps": planned_steps,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "schedule_steps": epochs * steps_per_epoch,
        "warmup_epochs": warmup_fraction * epochs,
        "warmup_steps": round(warmup_fraction * epochs * steps_per_epoch),
    }


def train_budgeted(
    recipe: Recipe,
    dataset: ImageDataset,
    run_dir: Path,
    *,
    budget_s: float,
    calibration_steps: int,
    warmup_fraction: float | None = None,
    schedule: str = "planned",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``recipe``'s method on ``dataset`` into ``run_dir`` for ``budget_s`` seconds.

    The run folder is what ``contrastkit.Run.train`` writes (``recipe.json``, ``model.json``,
    ``checkpoint.pt``, ``metrics.jsonl``) so ``contrastkit.load_run`` reads it, plus
    ``bench.json`` with the plan. ``warmup_fraction`` defaults to the recipe's warmup_epochs /
    epochs.
    """
    run_dir = Path(run_dir)
    clear_run_dir(run_dir, overwrite, RUN_FILES)
    channels = dataset.images.shape[1]
    base = recipe.train
    if warmup_fraction is None:
        warmup_fraction = base.warmup_epochs / base.epochs
    steps_per_epoch = len(dataset) // base.batch_size

    # Calibration: a throwaway model, outside the budget.
    torch.manual_seed(base.seed)
    spec = {"in_channels": channels}
    views = image_views(recipe)
    source = ViewSource(dataset, views, channels_last=base.channels_last)
    probe = dataclasses.replace(
        base, epochs=1, warmup_epochs=0.0, max_steps=calibration_steps, progress_bar=False
    )
    tick = time.perf_counter()
    fit(IMAGE.build_method(recipe, spec), source, probe)
    schedule_plan = plan(
        (time.perf_counter() - tick) / calibration_steps, budget_s, steps_per_epoch, warmup_fraction
    )

    config = dataclasses.replace(
        base,
        epochs=schedule_plan["epochs"] if schedule == "planned" else 10_000,
        warmup_epochs=schedule_plan["warmup_epochs"],
        min_lr=base.min_lr if schedule == "planned" else base.lr,
        time_budget_s=budget_s,
        max_steps=None,
        progress_bar=False,
    )
    if schedule != "planned":  # warmup steps are a fraction of 10,000 epochs: rescale
        config = dataclasses.replace(
            config, warmup_epochs=schedule_plan["warmup_steps"] / steps_per_epoch
        )
    final = dataclasses.replace(recipe, train=config)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / RECIPE_NAME).write_text(json.dumps(final.to_flat(), indent=2) + "\n")
    (run_dir / SPEC_NAME).write_text(json.dumps(spec, indent=2) + "\n")
    torch.manual_seed(base.seed)
    method = IMAGE.build_method(final, spec)
    tick = time.perf_counter()
    result = fit(method, source, config, run_dir=run_dir)
    elapsed = time.perf_counter() - tick
    record = {
        "dataset": dataset.name,
        "train_images": len(dataset),
        "schedule": schedule,
        **schedule_plan,
        "steps": result.steps,
        "epochs_done": result.steps / steps_per_epoch,
        "stopped": result.stopped,
        "train_s": elapsed,
        "images_per_s": result.steps * base.batch_size / elapsed,
        "final_loss": result.losses[-1] if result.losses else float("nan"),
    }
    (run_dir / "bench.json").write_text(json.dumps(record, indent=2) + "\n")
    record["method"] = method
    return record


# -------------------------------------------------------------------------------------- lightly
class PILPairs(torch.utils.data.Dataset):
    """HWC uint8 images turned into PIL images and transformed per sample (torchvision style)."""

    def __init__(self, images: Tensor, transform: Any) -> None:
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), 0


class Backbone(nn.Module):
    """A plain backbone with the ``encode`` that ``encode_dataset`` calls."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def encode(self, x: Tensor) -> Tensor:
        return self.backbone(x)


def train_lightly(
    dataset: ImageDataset, args: argparse.Namespace, budget_s: float
) -> dict[str, Any]:
    """lightly's SimCLR loop with the same encoder class, recipe and (planned) schedule."""
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from lightly.transforms import SimCLRTransform

    transform = SimCLRTransform(
        input_size=32,
        cj_strength=0.5,
        gaussian_blur=0.0,
        normalize={"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)},
    )
    loader = torch.utils.data.DataLoader(
        PILPairs(dataset.images, transform),
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed),
    )
    criterion = NTXentLoss(temperature=args.temperature)

    def build() -> tuple[nn.Module, nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(args.seed)
        backbone = SmallConvNet(3)
        model = nn.Sequential(backbone, SimCLRProjectionHead(backbone.feature_dim, 2048, 128))
        optimizer = torch.optim.SGD(
            model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
        )
        return backbone, model, optimizer

    def step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Any, lr: float) -> float:
        for group in optimizer.param_groups:
            group["lr"] = lr
        (x0, x1), _ = batch
        model.train()
        loss = criterion(model(x0), model(x1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    # Calibration: a throwaway model, outside the budget (a fresh loader iterator, as per epoch).
    _, model, optimizer = build()
    tick = time.perf_counter()
    for index, batch in enumerate(loader):
        step(model, optimizer, batch, args.lr)
        if index + 1 == args.calibration_steps:
            break
    schedule_plan = plan(
        (time.perf_counter() - tick) / args.calibration_steps,
        budget_s,
        len(loader),
        args.warmup_fraction,
    )

    backbone, model, optimizer = build()
    total = schedule_plan["schedule_steps"]
    warmup = schedule_plan["warmup_steps"]
    steps, losses, stopped = 0, [], "completed"
    epochs = schedule_plan["epochs"] if args.schedule == "planned" else 10_000
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            if args.schedule == "planned":
                lr = warmup_cosine(steps, total, base=args.lr, warmup_steps=warmup)
            else:
                lr = args.lr * min(1.0, (steps + 1) / warmup) if warmup else args.lr
            losses.append(step(model, optimizer, batch, lr))
            steps += 1
            if not math.isfinite(losses[-1]):
                raise RuntimeError(f"lightly: loss became {losses[-1]} at step {steps}")
            if time.perf_counter() - start >= budget_s:
                stopped = "time_budget"
                break
        if stopped != "completed":
            break
    elapsed = time.perf_counter() - start
    return {
        "dataset": dataset.name,
        "train_images": len(dataset),
        "schedule": args.schedule,
        **schedule_plan,
        "steps": steps,
        "epochs_done": steps / len(loader),
        "stopped": stopped,
        "train_s": elapsed,
        "images_per_s": steps * args.batch / elapsed,
        "final_loss": losses[-1] if losses else float("nan"),
        "method": Backbone(backbone),
    }


# ----------------------------------------------------------------------------------- evaluation
def knn_top1(
    method: nn.Module, train: ImageDataset, test: ImageDataset, views: MultiView
) -> dict[str, float]:
    """kNN (k=200, t=0.1) accuracy of the method's frozen features, train bank vs test."""
    assert train.labels is not None and test.labels is not None
    train_features = encode_dataset(method, train, views, device="cpu")
    test_features = encode_dataset(method, test, views, device="cpu")
    return knn_accuracy(train_features, train.labels, test_features, test.labels, k=200)


def cifar_recipe(args: argparse.Namespace) -> Recipe:
    """The run's recipe: SimCLR on CIFAR-10 with SmallConvNet, the settings of this benchmark."""
    return recipe_from_dict(
        {
            "method": "simclr",
            "dataset": "cifar10",
            "views": "simclr",
            "image_size": 32,
            "encoder": "small_convnet",
            "channels_last": args.channels_last,
            "epochs": 1,
            "batch_size": args.batch,
            "optimizer": "sgd",
            "lr": args.lr,
            "optimizer_momentum": args.momentum,
            "weight_decay": args.weight_decay,
            "seed": args.seed,
            "device": "cpu",
            "precision": "fp32",
            "log_every": 10,
            "checkpoint_every": 200,
            "protocols": ["knn", "linear"],
            "knn_k": 200,
            "label_fractions": [1.0, 0.01],
            "probe_seeds": [0, 1, 2],
            "proj_hidden_dim": 2048,
            "proj_dim": 128,
            "temperature": args.temperature,
        }
    )


def table(results: dict[str, Any]) -> str:
    lines = [
        f"CIFAR-10, SmallConvNet, SimCLR, budget {results['budget_s']:.0f} s each, "
        f"batch {results['batch']}, {results['threads']} threads, schedule {results['schedule']}",
        "",
        "| pipeline | steps | epochs | images/s | final loss | kNN top-1 | kNN top-5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results["pipelines"].items():
        lines.append(
            f"| {name} | {r['steps']} | {r['epochs_done']:.2f} | {r['images_per_s']:.1f} | "
            f"{r['final_loss']:.3f} | {r['knn_top1']:.4f} | {r['knn_top5']:.4f} |"
        )
    base = results["random_init"]
    lines.append(
        f"| random init | 0 | 0 | - | - | {base['knn_top1']:.4f} | {base['knn_top5']:.4f} |"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget-minutes", type=float, default=12.0, help="per pipeline")
    parser.add_argument("--budget-seconds", type=float, help="overrides --budget-minutes")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=1e-6)
    parser.add_argument("--temperature", type=float, default=0.5)
    parser.add_argument("--warmup-fraction", type=float, default=0.05)
    parser.add_argument("--schedule", choices=("planned", "constant"), default="planned")
    parser.add_argument("--calibration-steps", type=int, default=10)
    parser.add_argument("--channels-last", action="store_true", help="ours: NHWC views/model")
    parser.add_argument("--train-subset", type=int, default=0, help="0: all 50,000 images")
    parser.add_argument("--test-subset", type=int, default=0, help="0: all 10,000 images")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="lightly DataLoader workers")
    parser.add_argument("--run-dir", type=Path, default=Path("runs/bench_cifar10_simclr"))
    parser.add_argument("--overwrite", action="store_true", help="retrain an existing run dir")
    parser.add_argument("--no-lightly", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 6 s each, 1,000 images, batch 64"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.budget_seconds, args.batch, args.calibration_steps = 6.0, 64, 2
        args.train_subset, args.test_subset = 1000, 500
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    budget_s = args.budget_seconds if args.budget_seconds else 60 * args.budget_minutes
    train = subset(load_dataset("cifar10", "train"), args.train_subset, args.seed)
    test = subset(load_dataset("cifar10", "test"), args.test_subset, args.seed)
    recipe = cifar_recipe(args)
    views = image_views(recipe)

    pipelines: dict[str, dict[str, Any]] = {}
    pipelines["contrastkit"] = train_budgeted(
        recipe,
        train,
        args.run_dir,
        budget_s=budget_s,
        calibration_steps=args.calibration_steps,
        warmup_fraction=args.warmup_fraction,
        schedule=args.schedule,
        overwrite=args.overwrite,
    )
    if not args.no_lightly:
        pipelines["lightly"] = train_lightly(train, args, budget_s)
    for record in pipelines.values():
        metrics = knn_top1(record.pop("method"), train, test, views)
        record["knn_top1"], record["knn_top5"] = metrics["top1"], metrics["top5"]
    torch.manual_seed(args.seed)
    random_metrics = knn_top1(Backbone(SmallConvNet(3)), train, test, views)

    results: dict[str, Any] = {
        "benchmark": "cifar10_budget",
        "budget_s": budget_s,
        "batch": args.batch,
        "schedule": args.schedule,
        "threads": args.threads,
        "lightly_workers": args.workers,
        "train_images": len(train),
        "test_images": len(test),
        "run_dir": str(args.run_dir),
        "pipelines": pipelines,
        "random_init": {"knn_top1": random_metrics["top1"], "knn_top5": random_metrics["top5"]},
        "run": run_record(__file__, argv, args.threads),
    }
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
