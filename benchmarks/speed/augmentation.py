"""Augmentation speed: contrastkit's batched SimCLR views vs torchvision and kornia, one run.

The SimCLR CIFAR recipe (arXiv 2002.05709: crop scale (0.08, 1), flip, colour jitter
(0.4, 0.4, 0.4, 0.1) with p=0.8, grayscale p=0.2, normalize) at 32x32, two views per image,
made three ways from the same in-memory images:

* contrastkit: ``contrastkit.transforms.simclr(32)`` on a uint8 batch tensor, independent
  parameters per sample, drawn from a CPU ``torch.Generator``.
* torchvision: the usual per-sample ``torchvision.transforms`` pipeline on PIL images inside a
  ``torch.utils.data.DataLoader`` with ``--workers`` worker processes (2 by default).
* kornia: ``kornia.augmentation`` with the same parameters on the batch tensor (per-sample
  parameters too, drawn from torch's global RNG).

The batched pipelines run in this process on ``--threads`` torch threads (1 by default, like
each DataLoader worker); the DataLoader's workers are separate processes. Each pipeline makes
``--batches`` batches of ``--batch`` images per repeat; the table reports the median views/s
over ``--repeats`` repeats (two views per image count as 2 views) and ratios.

Usage:
    python benchmarks/speed/augmentation.py [--batch 512] [--batches N] [--quick]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from contrastkit.transforms import simclr

SIZE = 32
# the peers normalize with the statistics of our recipe (CIFAR-10's channel mean and std)
CIFAR10_MEAN, CIFAR10_STD = tuple(simclr(SIZE).mean), tuple(simclr(SIZE).std)
CIFAR = Path("image") / "cifar10-jpeg" / "train.npz"


def data_root() -> Path:
    """``$CONTRASTKIT_DATA`` or ``../shared/data`` next to the repository."""
    override = os.environ.get("CONTRASTKIT_DATA")
    return (
        Path(override)
        if override
        else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
    )


def load_images(count: int) -> tuple[torch.Tensor, str]:
    """(count, 3, 32, 32) uint8 CIFAR-10 training images (evenly spread over the classes), or
    random images when the shared data is absent; and a word on which."""
    path = data_root() / CIFAR
    if not path.is_file():
        generator = torch.Generator().manual_seed(0)
        images = torch.randint(
            0, 256, (count, 3, SIZE, SIZE), dtype=torch.uint8, generator=generator
        )
        return images, f"random uint8 ({path} not found)"
    archive = np.load(path)
    jpeg, offsets = archive["jpeg"], archive["offsets"]
    total = len(offsets) - 1
    indices = np.linspace(0, total - 1, num=min(count, total)).astype(np.int64)
    decoded = [
        np.asarray(
            Image.open(io.BytesIO(jpeg[offsets[i] : offsets[i + 1]].tobytes())).convert("RGB")
        )
        for i in indices
    ]
    images = torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).contiguous()
    return images, f"CIFAR-10 train, {len(indices)} decoded JPEGs"


class TwoViewPIL(Dataset):
    """PIL images, each returned as two views of the classic per-sample torchvision pipeline."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = [Image.fromarray(image.permute(1, 2, 0).numpy()) for image in images]
        self.transform = T.Compose(
            [
                T.RandomResizedCrop(SIZE, scale=(0.08, 1.0)),
                T.RandomHorizontalFlip(),
                T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
                T.RandomGrayscale(p=0.2),
                T.ToTensor(),
                T.Normalize(CIFAR10_MEAN, CIFAR10_STD),
            ]
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        return self.transform(image), self.transform(image)


def kornia_views() -> Callable[[torch.Tensor], list[torch.Tensor]] | None:
    """The same recipe with kornia.augmentation, or None when kornia is not installed."""
    try:
        import kornia.augmentation as K
    except ImportError:
        return None
    view = torch.nn.Sequential(
        K.RandomResizedCrop((SIZE, SIZE), scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
        K.RandomHorizontalFlip(),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        K.Normalize(torch.tensor(CIFAR10_MEAN), torch.tensor(CIFAR10_STD)),
    )

    def make(images: torch.Tensor) -> list[torch.Tensor]:
        floats = images.float() / 255
        return [view(floats), view(floats)]

    return make


def time_batched(
    make: Callable[[torch.Tensor], list[torch.Tensor]],
    images: torch.Tensor,
    *,
    batch: int,
    batches: int,
    repeats: int,
) -> float:
    """Median views/s of ``make`` on random batches drawn from the in-memory images."""
    sampler = torch.Generator().manual_seed(0)
    make(images[:batch])  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        views = 0
        for _ in range(batches):
            index = torch.randint(len(images), (batch,), generator=sampler)
            views += sum(v.shape[0] for v in make(images[index]))
        rates.append(views / (time.perf_counter() - start))
    return statistics.median(rates)


def time_dataloader(
    images: torch.Tensor, *, batch: int, batches: int, repeats: int, workers: int
) -> float:
    """Median views/s of the per-sample torchvision pipeline in a DataLoader."""
    loader = DataLoader(
        TwoViewPIL(images),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        drop_last=True,
    )
    rates = []
    iterator = iter(loader)
    next(iterator)  # warm-up: starts the workers
    for _ in range(repeats):
        start = time.perf_counter()
        views = 0
        for _ in range(batches):
            try:
                view_a, view_b = next(iterator)
            except StopIteration:
                iterator = iter(loader)
                view_a, view_b = next(iterator)
            views += view_a.shape[0] + view_b.shape[0]
        rates.append(views / (time.perf_counter() - start))
    return statistics.median(rates)


def markdown_table(rates: dict[str, float], baseline: str) -> str:
    """Rows of views/s and the ratio to ``baseline``."""
    lines = ["| pipeline | views/s | vs torchvision DataLoader |", "|---|---:|---:|"]
    for name, rate in rates.items():
        lines.append(f"| {name} | {rate:,.0f} | {rate / rates[baseline]:.1f}x |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512, help="images per batch")
    parser.add_argument("--batches", type=int, default=10, help="batches per repeat")
    parser.add_argument("--repeats", type=int, default=5, help="repeats (the median is reported)")
    parser.add_argument("--images", type=int, default=8192, help="CIFAR-10 images to decode")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (torchvision)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the batched pipelines (0: torch's default); 1 by default, as "
        "each DataLoader worker of the torchvision pipeline also runs one thread",
    )
    parser.add_argument("--quick", action="store_true", help="3 batches x 3 repeats, 4096 images")
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.repeats, args.images = 3, 3, 4096
    if min(args.batch, args.batches, args.repeats, args.images) < 1 or args.workers < 0:
        parser.error("--batch, --batches, --repeats and --images must be >= 1, --workers >= 0")
    if args.images < args.batch:
        args.images = args.batch
    return args


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the three pipelines, print the markdown table, return views/s by pipeline."""
    args = parse_args(argv)
    threads = torch.get_num_threads()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    images, source = load_images(args.images)
    recipe = simclr(SIZE)
    generator = torch.Generator().manual_seed(0)
    timing = {"batch": args.batch, "batches": args.batches, "repeats": args.repeats}
    baseline = f"torchvision per-sample (PIL), DataLoader {args.workers} workers"
    rates = {
        "contrastkit.transforms.simclr (batched)": time_batched(
            lambda batch: recipe(batch, generator), images, **timing
        )
    }
    kornia = kornia_views()
    if kornia is not None:
        rates["kornia.augmentation (batched)"] = time_batched(kornia, images, **timing)
    rates[baseline] = time_dataloader(images, workers=args.workers, **timing)
    torch.set_num_threads(threads)
    print(
        f"SimCLR CIFAR views at {SIZE}x{SIZE}, batch {args.batch}, {args.batches} batches x "
        f"{args.repeats} repeats (median); images: {source}; torch {torch.__version__}, "
        f"{args.threads or threads} torch thread(s), {os.cpu_count()} CPUs"
    )
    print()
    print(markdown_table(rates, baseline))
    return rates


if __name__ == "__main__":
    main(sys.argv[1:])
