"""Label efficiency: a linear probe on SimCLR features with 1% labels vs supervised from scratch.

The claim checked (the project's seed claim): on CIFAR-10 and on Fashion-MNIST, a linear probe
on frozen SimCLR features trained with 1% of the labels beats the same encoder architecture
trained supervised from scratch on the same 1%.

What is measured, per data set, over seeds 0, 1, 2 (mean ± population std of test top-1 on the
full test set):

* SimCLR + linear 1%: ``contrastkit.eval.linear_probe(label_fraction=0.01, seeds=(0, 1, 2))`` on
  the frozen features of a trained run folder (the encoder of ``--cifar-run``, written by
  ``cifar10_budget.py``, and of ``--fmnist-run``); features through the run's evaluation
  transform. The probe is a logistic regression whose weight decay is chosen by stratified
  cross-validation on the labelled subset.
* supervised 1% from scratch: a fresh encoder of the run's architecture (``SmallConvNet``) plus
  a linear classifier, trained with cross-entropy on exactly the probe's labelled subsets
  (``stratified_fraction(labels, 0.01, seed=s)``: 500 CIFAR-10 images, 600 Fashion-MNIST
  images), with random crop (padding 4 on CIFAR-10, 2 on Fashion-MNIST) and, on CIFAR-10 only,
  horizontal flips; SGD (lr 0.05, momentum 0.9, Nesterov, weight decay 5e-4), batch 64, a cosine
  schedule over a fixed ``--sup-epochs`` (100) epochs, no early stopping, the last epoch's
  model evaluated; the same normalization as the run's features.
* context: SimCLR + linear 100% (one seed; the subset is the whole training set).

If ``--fmnist-run`` holds no checkpoint, SimCLR is first trained on Fashion-MNIST with
``recipes/simclr_fashion_mnist.toml`` (SmallConvNet, AdamW) for ``--fmnist-budget-minutes`` (8)
minutes, its schedule planned for the steps that fit the budget (as in ``cifar10_budget.py``).
If ``--cifar-run`` holds no checkpoint, it is trained the way ``cifar10_budget.py`` trains it,
for ``--cifar-budget-minutes`` (12); running ``cifar10_budget.py`` first is the intended order.

Issue target
    SimCLR + linear 1% > supervised 1% from scratch on both data sets (mean over 3 seeds).

Usage
    python benchmarks/quality/label_efficiency.py [--cifar-run DIR] [--fmnist-run DIR]
        [--fmnist-budget-minutes 8] [--sup-epochs 100] [--threads 2] [--out results.json]
        [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import image_views, run_record, set_up, write_results

import contrastkit
from contrastkit import Recipe
from contrastkit.data import ImageDataset, load_dataset
from contrastkit.encoders import build_encoder
from contrastkit.eval import linear_probe, stratified_fraction
from contrastkit.modalities.image import encode_dataset
from contrastkit.transforms import MultiView

REPO = Path(__file__).resolve().parents[2]
FMNIST_RECIPE = REPO / "recipes" / "simclr_fashion_mnist.toml"
PAD = {"cifar10": 4, "fashion_mnist": 2}
FLIP = {"cifar10": True, "fashion_mnist": False}


def sibling(name: str) -> ModuleType:
    """Import a script of this folder by path (the benchmarks are not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


budget = sibling("cifar10_budget")


# ------------------------------------------------------------------------------- SimCLR runs
def ensure_run(
    dataset_name: str, run_dir: Path, train: ImageDataset, args: argparse.Namespace
) -> dict[str, Any] | None:
    """Train the run folder if it holds no checkpoint; the training record, or None if reused."""
    if (run_dir / "checkpoint.pt").exists():
        return None
    if dataset_name == "cifar10":
        defaults = budget.parse_args(["--seed", str(args.seed)])
        recipe: Recipe = budget.cifar_recipe(defaults)
        seconds = args.cifar_budget_s
        warmup: float | None = defaults.warmup_fraction
    else:
        overrides = ["device='cpu'", "precision='fp32'", f"seed={args.seed}"]
        if args.quick:
            overrides.append("batch_size=64")
        recipe = contrastkit.load_recipe(FMNIST_RECIPE, overrides)
        seconds = args.fmnist_budget_s
        warmup = None  # the recipe's warmup share (2 of 20 epochs)
    if args.quick and dataset_name == "cifar10":
        recipe = budget.dataclasses.replace(
            recipe, train=budget.dataclasses.replace(recipe.train, batch_size=64)
        )
    print(f"{run_dir}: no checkpoint; training SimCLR on {dataset_name} for {seconds:.0f} s")
    record = budget.train_budgeted(
        recipe,
        train,
        run_dir,
        budget_s=seconds,
        calibration_steps=args.calibration_steps,
        warmup_fraction=warmup,
    )
    record.pop("method")
    return record


# ------------------------------------------------------------------------------- supervised
def augment(images: Tensor, pad: int, flip: bool, generator: torch.Generator) -> Tensor:
    """Random crop with zero padding ``pad`` (and a random horizontal flip) of float images."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).tolist()
    crops = [
        padded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(zip(dy, dx, strict=True))
    ]
    out = torch.stack(crops)
    if flip:
        mirror = torch.rand(n, generator=generator) < 0.5
        out[mirror] = out[mirror].flip(-1)
    return out


def supervised(
    recipe: Recipe,
    views: MultiView,
    train: ImageDataset,
    test: ImageDataset,
    indices: Tensor,
    *,
    dataset_name: str,
    seed: int,
    epochs: int,
    batch: int,
    lr: float,
) -> float:
    """Test top-1 of the run's encoder architecture trained from scratch on ``indices``."""
    assert train.labels is not None and test.labels is not None
    torch.manual_seed(seed)
    channels = train.images.shape[1]
    encoder = build_encoder(
        recipe.model.encoder, in_channels=channels, **recipe.model.encoder_options
    )
    classes = int(max(train.labels.max(), test.labels.max())) + 1
    model = nn.Sequential(encoder, nn.Linear(encoder.feature_dim, classes))
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    images = train.images[indices].float().div_(255.0)
    labels = train.labels[indices]
    generator = torch.Generator().manual_seed(seed)
    steps_per_epoch = math.ceil(len(indices) / batch)
    total = epochs * steps_per_epoch
    step = 0
    for _ in range(epochs):
        order = torch.randperm(len(indices), generator=generator)
        for chunk in order.split(batch):
            lr_now = lr * (1 + math.cos(math.pi * step / total)) / 2
            step += 1
            if len(chunk) < 2:  # BatchNorm needs two samples in training mode
                continue
            for group in optimizer.param_groups:
                group["lr"] = lr_now
            x = views.normalize(
                augment(images[chunk], PAD[dataset_name], FLIP[dataset_name], generator)
            )
            model.train()
            loss = F.cross_entropy(model(x), labels[chunk])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test), 512):
            x = views.eval(test.images[start : start + 512])
            predicted = model(x).argmax(dim=1)
            correct += int((predicted == test.labels[start : start + 512]).sum())
    return correct / len(test)


# ---------------------------------------------------------------------------------- report
def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.pstdev(values)


def evaluate(dataset_name: str, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Probe and supervised baselines of one data set."""
    train = budget.subset(load_dataset(dataset_name, "train"), args.train_subset, args.seed)
    test = budget.subset(load_dataset(dataset_name, "test"), args.test_subset, args.seed)
    assert train.labels is not None and test.labels is not None
    trained = ensure_run(dataset_name, run_dir, train, args)
    run = contrastkit.load_run(run_dir)
    recipe, method, views = run.recipe, run.method, image_views(run.recipe)
    if recipe.data.dataset.replace("-", "_") != dataset_name:
        raise SystemExit(f"{run_dir} was trained on {recipe.data.dataset}, not {dataset_name}")
    tick = time.perf_counter()
    train_features = encode_dataset(method, train, views, device="cpu")
    test_features = encode_dataset(method, test, views, device="cpu")
    encode_s = time.perf_counter() - tick
    probe = linear_probe(
        train_features,
        train.labels,
        test_features,
        test.labels,
        label_fraction=args.fraction,
        seeds=args.seeds,
    )
    full = linear_probe(
        train_features, train.labels, test_features, test.labels, seeds=args.seeds[:1]
    )
    sup = []
    tick = time.perf_counter()
    for seed in args.seeds:
        indices = stratified_fraction(train.labels, args.fraction, seed=seed)
        sup.append(
            supervised(
                recipe,
                views,
                train,
                test,
                indices,
                dataset_name=dataset_name,
                seed=seed,
                epochs=args.sup_epochs,
                batch=args.sup_batch,
                lr=args.sup_lr,
            )
        )
    sup_s = time.perf_counter() - tick
    sup_mean, sup_std = mean_std(sup)
    return {
        "run_dir": str(run_dir),
        "trained_now": trained,
        "encoder": recipe.model.encoder,
        "train_images": len(train),
        "test_images": len(test),
        "labelled_per_seed": list(probe.num_labelled_per_seed),
        "simclr_linear_fraction": {
            "mean": probe.top1_mean,
            "std": probe.top1_std,
            "per_seed": list(probe.top1_per_seed),
            "weight_decay_per_seed": list(probe.weight_decay_per_seed),
            "selection_per_seed": list(probe.selection_per_seed),
        },
        "supervised_fraction": {"mean": sup_mean, "std": sup_std, "per_seed": sup},
        "simclr_linear_full": {"mean": full.top1_mean, "per_seed": list(full.top1_per_seed)},
        "claim_holds": probe.top1_mean > sup_mean,
        "encode_s": encode_s,
        "supervised_s": sup_s,
    }


def table(results: dict[str, Any]) -> str:
    share = f"{results['fraction']:.0%}"
    lines = [
        f"| dataset | SimCLR + linear {share} | supervised {share} from scratch | "
        "SimCLR + linear 100% | claim holds |",
        "|---|---|---|---|---|",
    ]
    for name, r in results["datasets"].items():
        probe, sup = r["simclr_linear_fraction"], r["supervised_fraction"]
        lines.append(
            f"| {name} | {probe['mean']:.4f} ± {probe['std']:.4f} | "
            f"{sup['mean']:.4f} ± {sup['std']:.4f} | {r['simclr_linear_full']['mean']:.4f} | "
            f"{'yes' if r['claim_holds'] else 'no'} |"
        )
    lines.append("")
    lines.append(
        f"seeds {results['seeds']}, supervised: {results['sup_epochs']} epochs, batch "
        f"{results['sup_batch']}, lr {results['sup_lr']}; {results['threads']} threads"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cifar-run", type=Path, default=Path("runs/bench_cifar10_simclr"))
    parser.add_argument("--fmnist-run", type=Path, default=Path("runs/bench_fmnist_simclr"))
    parser.add_argument("--cifar-budget-minutes", type=float, default=12.0)
    parser.add_argument("--fmnist-budget-minutes", type=float, default=8.0)
    parser.add_argument("--calibration-steps", type=int, default=10)
    parser.add_argument(
        "--datasets", default="cifar10,fashion_mnist", help="comma-separated subset of these"
    )
    parser.add_argument("--fraction", type=float, default=0.01, help="labelled share")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--sup-epochs", type=int, default=100)
    parser.add_argument("--sup-batch", type=int, default=64)
    parser.add_argument("--sup-lr", type=float, default=0.05)
    parser.add_argument("--train-subset", type=int, default=0, help="0: the whole train split")
    parser.add_argument("--test-subset", type=int, default=0, help="0: the whole test split")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="SimCLR training and subsets")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: tiny subsets, budgets and epochs"
    )
    args = parser.parse_args(argv)
    args.seeds = tuple(int(s) for s in args.seeds.split(","))
    args.datasets = [d.strip().replace("-", "_") for d in args.datasets.split(",") if d.strip()]
    unknown = sorted(set(args.datasets) - set(PAD))
    if unknown:
        parser.error(f"--datasets: unknown {unknown}; choose from {sorted(PAD)}")
    args.cifar_budget_s = 60 * args.cifar_budget_minutes
    args.fmnist_budget_s = 60 * args.fmnist_budget_minutes
    if args.quick:
        args.cifar_budget_s = args.fmnist_budget_s = 4.0
        args.calibration_steps, args.sup_epochs = 2, 3
        args.train_subset, args.test_subset = 1000, 500
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    runs = {"cifar10": args.cifar_run, "fashion_mnist": args.fmnist_run}
    results: dict[str, Any] = {
        "benchmark": "label_efficiency",
        "fraction": args.fraction,
        "seeds": list(args.seeds),
        "sup_epochs": args.sup_epochs,
        "sup_batch": args.sup_batch,
        "sup_lr": args.sup_lr,
        "threads": args.threads,
        "datasets": {name: evaluate(name, runs[name], args) for name in args.datasets},
        "run": run_record(__file__, argv, args.threads),
    }
    results["run"]["command"] = " ".join([sys.executable, str(Path(__file__)), *argv])
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
