"""SimCLR training throughput: contrastkit vs lightly's SimCLR example, one process, one run.

What is measured
    Images per second of full SimCLR training steps (an image = one sample = its 2 views) with
    a ResNet-18 with the CIFAR stem (3x3 stride-1 conv1, no max-pool), batch 256, 32x32 CIFAR-10
    training images (random uint8 images when the shared data is absent), SimCLR's CIFAR
    augmentations (crop (0.08, 1), flip, colour jitter strength 0.5 with p=0.8, grayscale p=0.2,
    no blur, CIFAR-10 normalization), projection head 512-2048-128 with BatchNorm, NT-Xent at
    temperature 0.5 and SGD (lr 0.06, momentum 0.9, weight decay 5e-4), on the CPU with
    ``--threads`` intra-op threads (2 by default), fp32.

    * ours: ``contrastkit.methods.SimCLR`` + ``contrastkit.transforms.simclr(32)`` (the simclr
      recipe) behind a ``contrastkit.data.ViewSource`` (augmentation on whole uint8 batches in
      the main process), optimizer from ``contrastkit.train.build_optimizer``; measured with
      channels_last on (what ``recipes/simclr_cifar10.toml`` uses) and off. A step is timed
      piece by piece with ``time.perf_counter``: ViewSource call (data + augmentation), method
      forward (encoder + head + loss), ``loss.backward()``, ``optimizer.step()``.
    * lightly (1.6): its SimCLR example with the same backbone (torchvision resnet18 with the same
      CIFAR stem): ``lightly.transforms.SimCLRTransform(input_size=32, cj_strength=0.5,
      gaussian_blur=0.0, normalize=CIFAR-10 stats)`` on PIL images in a ``DataLoader`` with 2
      worker processes, ``SimCLRProjectionHead(512, 2048, 128)``, ``NTXentLoss(temperature=0.5)``;
      timed pieces: ``next(loader)`` (the wait for data), forward, backward, optimizer step.
      Each lightly block starts a fresh loader iterator and fetches its first batch before the
      clock starts (steady state: workers prefetch while the model computes), and the iterator
      is closed at the end of the block so its workers never run during our blocks.

    The three configurations run in interleaved blocks (ours channels_last, ours contiguous,
    lightly; ``--rounds`` times ``--steps`` timed steps each) after ``--warmup`` untimed steps
    each; every reported time is the median over all timed steps of a configuration.
    ResNet-18 at batch 256 takes about 30 s per step on 2 CPU cores, so the default is 1 warmup
    + 3 timed steps per configuration (12 steps, about 6 minutes): medians of 3 steps, which is
    few; the spread (min/max of the step time) is reported so that noise is visible. ``--quick``
    (batch 4, no warmup, 1 timed step each) is a smoke test of the script, not a measurement.

    Also reported: the encoder's FLOPs per step (``torch.utils.flop_counter.FlopCounterMode`` on
    one forward + backward of the encoder on 2 x batch views, run on the meta device), the
    achieved encoder GFLOP/s (encoder FLOPs / (forward + backward - head-and-loss time), the
    head and loss being timed separately on random features), and a plain fp32 GEMM rate
    (2048 x 2048 matmuls, same threads, measured at the start and the end of the run; the
    higher is used).

Issue targets
    * encoder >= 90% of the GEMM rate;
    * non-encoder time (data + augmentation, head + loss, optimizer) < 5% of the step;
    * ours >= 1.2x lightly's images/s.

Usage
    python benchmarks/speed/training_throughput.py [--batch 256] [--warmup 1] [--steps 3]
        [--rounds 1] [--threads 2] [--out results.json] [--quick]
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

# benchmarks/ is not a package: its shared helpers come from benchmarks/common.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_record, set_up, write_results

from contrastkit.data import ImageDataset, load_dataset
from contrastkit.data.views import ViewSource
from contrastkit.encoders import resnet
from contrastkit.methods import SimCLR
from contrastkit.train import build_optimizer
from contrastkit.transforms import simclr

LR, MOMENTUM, WEIGHT_DECAY, TEMPERATURE = 0.06, 0.9, 5e-4, 0.5
PHASES = ("data", "forward", "backward", "optimizer")
# lightly normalizes with the statistics of our recipe (CIFAR-10's channel mean and std)
CIFAR10_MEAN, CIFAR10_STD = tuple(simclr(32).mean), tuple(simclr(32).std)
TARGETS = {"encoder_vs_gemm": 0.90, "non_encoder_fraction": 0.05, "ratio_vs_lightly": 1.2}


# ---------------------------------------------------------------------------------------- data
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


class PILPairs(torch.utils.data.Dataset):
    """What lightly's example feeds its loader: torchvision-CIFAR-style HWC uint8 arrays,
    turned into a PIL image and transformed per sample in the workers."""

    def __init__(self, images: Tensor, transform: Callable[[Any], Any]) -> None:
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), 0


# -------------------------------------------------------------------------------------- models
def cifar_resnet18() -> nn.Module:
    """torchvision resnet18 with SimCLR's CIFAR stem and no classifier (lightly's backbone)."""
    import torchvision

    net = torchvision.models.resnet18(weights=None)
    net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = nn.Identity()
    net.fc = nn.Identity()
    return net


def encoder_flops(encoder: nn.Module, views: int) -> int:
    """FLOPs of one forward + backward of ``encoder`` on ``views`` 32x32 images (meta device)."""
    meta = copy.deepcopy(encoder).to("meta")
    x = torch.randn(views, 3, 32, 32, device="meta")
    with FlopCounterMode(display=False) as counter:
        meta(x).sum().backward()
    return int(counter.get_total_flops())


def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """Best-of-medians fp32 GEMM rate (GFLOP/s) of ``size`` x ``size`` matmuls."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - tick)
    return 2 * size**3 / statistics.median(times) / 1e9


def head_loss_seconds(
    head: nn.Module, loss_fn: Callable[[Tensor, Tensor], Tensor], batch: int, dim: int
) -> float:
    """Median time of forward + backward of the projection head and loss on random features."""
    generator = torch.Generator().manual_seed(0)
    times = []
    for _ in range(4):
        h_a = torch.randn(batch, dim, generator=generator, requires_grad=True)
        h_b = torch.randn(batch, dim, generator=generator, requires_grad=True)
        tick = time.perf_counter()
        loss = loss_fn(head(h_a), head(h_b))
        loss.backward()
        times.append(time.perf_counter() - tick)
    head.zero_grad(set_to_none=True)
    return statistics.median(times[1:])


# -------------------------------------------------------------------------------------- runners
class Ours:
    """contrastkit's SimCLR step, cut into its four pieces (what ``fit`` does per step)."""

    def __init__(self, dataset: ImageDataset, batch: int, channels_last: bool, seed: int) -> None:
        torch.manual_seed(seed)
        self.method = SimCLR(
            resnet("resnet18", cifar_stem=True),
            proj_hidden_dim=2048,
            proj_dim=128,
            temperature=TEMPERATURE,
        )
        if channels_last:
            self.method.to(memory_format=torch.channels_last)
        self.optimizer = build_optimizer(
            self.method, "sgd", lr=LR, weight_decay=WEIGHT_DECAY, momentum=MOMENTUM
        )
        self.source = ViewSource(dataset, simclr(32), channels_last=channels_last)
        self.generator = torch.Generator().manual_seed(seed)
        self.batch = batch
        self.device = torch.device("cpu")

    def step(self) -> dict[str, float]:
        self.method.train()
        self.optimizer.zero_grad(set_to_none=True)
        indices = torch.randint(0, len(self.source), (self.batch,), generator=self.generator)
        t0 = time.perf_counter()
        views = self.source(indices, self.generator, self.device)
        t1 = time.perf_counter()
        output = self.method(views, progress=0.0)
        loss = float(output.loss.detach())
        t2 = time.perf_counter()
        output.loss.backward()
        t3 = time.perf_counter()
        self.optimizer.step()
        t4 = time.perf_counter()
        if not math.isfinite(loss):
            raise RuntimeError(f"ours: loss became {loss}")
        return {"data": t1 - t0, "forward": t2 - t1, "backward": t3 - t2, "optimizer": t4 - t3}

    def head_loss(self) -> float:
        return head_loss_seconds(
            self.method.projector,
            self.method.criterion,
            self.batch,
            self.method.encoder.feature_dim,
        )

    def block(self, steps: int) -> list[dict[str, float]]:
        return [self.step() for _ in range(steps)]


class Lightly:
    """lightly's SimCLR example loop with the same backbone and recipe."""

    def __init__(
        self, dataset: ImageDataset, batch: int, workers: int, seed: int, encoder: nn.Module
    ) -> None:
        from lightly.loss import NTXentLoss
        from lightly.models.modules import SimCLRProjectionHead
        from lightly.transforms import SimCLRTransform

        self.backbone = encoder
        self.head = SimCLRProjectionHead(512, 2048, 128)
        self.model = nn.Sequential(self.backbone, self.head)
        self.criterion = NTXentLoss(temperature=TEMPERATURE)
        self.optimizer = torch.optim.SGD(
            self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
        )
        transform = SimCLRTransform(
            input_size=32,
            cj_strength=0.5,
            gaussian_blur=0.0,
            normalize={"mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD)},
        )
        self.loader = torch.utils.data.DataLoader(
            PILPairs(dataset.images, transform),
            batch_size=batch,
            shuffle=True,
            drop_last=True,
            num_workers=workers,
            generator=torch.Generator().manual_seed(seed),
        )
        self.batch = batch

    def _step(self, iterator: Iterator[Any], first: Any | None) -> dict[str, float]:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        (x0, x1), _ = first if first is not None else next(iterator)
        t1 = time.perf_counter()
        loss = self.criterion(self.model(x0), self.model(x1))
        value = float(loss.detach())
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        self.optimizer.step()
        t4 = time.perf_counter()
        if not math.isfinite(value):
            raise RuntimeError(f"lightly: loss became {value}")
        return {"data": t1 - t0, "forward": t2 - t1, "backward": t3 - t2, "optimizer": t4 - t3}

    def head_loss(self) -> float:
        return head_loss_seconds(self.head, self.criterion, self.batch, 512)

    def block(self, steps: int) -> list[dict[str, float]]:
        iterator = iter(self.loader)
        try:
            first = next(iterator)  # steady state: the first batch is ready, as while training
            times = [self._step(iterator, first)]
            times += [self._step(iterator, None) for _ in range(steps - 1)]
        finally:
            del iterator  # shut the workers down: they must not run during the other blocks
        return times


# ------------------------------------------------------------------------------------- report
def summarize(
    times: list[dict[str, float]], batch: int, flops: int, head_loss_s: float, gemm: float
) -> dict[str, Any]:
    """Medians of each phase, images/s and the encoder's achieved rate for one configuration."""
    totals = [sum(t.values()) for t in times]
    medians = {phase: statistics.median(t[phase] for t in times) for phase in PHASES}
    step = statistics.median(totals)
    encoder_s = max(medians["forward"] + medians["backward"] - head_loss_s, 1e-9)
    achieved = flops / encoder_s / 1e9
    return {
        "images_per_s": batch / step,
        "step_s": step,
        "step_s_min": min(totals),
        "step_s_max": max(totals),
        "timed_steps": len(times),
        **{f"{phase}_s": value for phase, value in medians.items()},
        "head_loss_s": head_loss_s,
        "encoder_s": encoder_s,
        "encoder_gflops": achieved,
        "encoder_vs_gemm": achieved / gemm,
        "non_encoder_fraction": (step - encoder_s) / step,
    }


def table(results: dict[str, Any]) -> str:
    configs = results["configs"]
    lines = [
        "| pipeline | images/s | step s | data s | forward s | backward s | optimizer s "
        "| head+loss s | encoder GFLOP/s | vs GEMM | non-encoder |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in configs.items():
        lines.append(
            f"| {name} | {r['images_per_s']:.1f} | {r['step_s']:.2f} "
            f"({r['step_s_min']:.2f}-{r['step_s_max']:.2f}) | {r['data_s']:.3f} | "
            f"{r['forward_s']:.2f} | {r['backward_s']:.2f} | {r['optimizer_s']:.3f} | "
            f"{r['head_loss_s']:.3f} | {r['encoder_gflops']:.1f} | "
            f"{r['encoder_vs_gemm']:.0%} | {r['non_encoder_fraction']:.1%} |"
        )
    lines.append("")
    lines.append(
        f"GEMM fp32 2048x2048: {results['gemm_gflops']:.1f} GFLOP/s; encoder FLOPs per step "
        f"(fwd+bwd, 2x{results['batch']} views): {results['encoder_flops_per_step'] / 1e12:.3f} "
        f"TFLOP; data: {results['data']}; {results['threads']} threads"
    )
    for name, ratio in results.get("ratios_vs_lightly", {}).items():
        lines.append(f"{name} / lightly images/s: {ratio:.2f}x (target >= 1.2x)")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=256, help="samples per step (2 views each)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per configuration")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per block")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved blocks per config")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--workers", type=int, default=2, help="lightly DataLoader workers")
    parser.add_argument("--data", choices=("auto", "random"), default="auto")
    parser.add_argument("--no-lightly", action="store_true", help="measure ours only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: batch 4, no warmup, 1 timed step each"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.warmup, args.steps, args.rounds = 4, 0, 1, 1
    if min(args.batch, args.steps, args.rounds, args.threads) < 1 or args.warmup < 0:
        parser.error("--batch, --steps, --rounds and --threads must be >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    set_up(args.threads, args.seed)
    dataset, data_note = load_images(args.data, max(4 * args.batch, 2048))

    runners: dict[str, Any] = {
        "ours (channels_last)": Ours(dataset, args.batch, True, args.seed),
        "ours (contiguous)": Ours(dataset, args.batch, False, args.seed),
    }
    if not args.no_lightly:
        torch.manual_seed(args.seed)
        runners["lightly"] = Lightly(
            dataset, args.batch, args.workers, args.seed, encoder=cifar_resnet18()
        )
    flops = encoder_flops(runners["ours (contiguous)"].method.encoder, 2 * args.batch)
    gemm_start = gemm_gflops()
    head_loss = {name: runner.head_loss() for name, runner in runners.items()}
    for runner in runners.values():
        if args.warmup:
            runner.block(args.warmup)
    times: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for _ in range(args.rounds):
        for name, runner in runners.items():
            times[name] += runner.block(args.steps)
    gemm = max(gemm_start, gemm_gflops())

    configs = {
        name: summarize(times[name], args.batch, flops, head_loss[name], gemm) for name in runners
    }
    results: dict[str, Any] = {
        "benchmark": "training_throughput",
        "batch": args.batch,
        "warmup_steps": args.warmup,
        "timed_steps_per_config": args.steps * args.rounds,
        "rounds": args.rounds,
        "threads": args.threads,
        "lightly_workers": args.workers,
        "data": data_note,
        "encoder_flops_per_step": flops,
        "gemm_gflops": gemm,
        "configs": configs,
        "targets": TARGETS,
    }
    if "lightly" in configs:
        lightly_rate = configs["lightly"]["images_per_s"]
        results["ratios_vs_lightly"] = {
            name: r["images_per_s"] / lightly_rate
            for name, r in configs.items()
            if name != "lightly"
        }
        try:
            import lightly

            results["lightly_version"] = lightly.__version__
        except (ImportError, AttributeError):
            results["lightly_version"] = "unknown"
    results["run"] = run_record(__file__, argv, args.threads)
    print(table(results))
    write_results(args.out, results)
    return results


if __name__ == "__main__":
    main()
