"""The built-in demo: SimCLR-style training with NT-Xent on scikit-learn's digits, kNN before/after.

Everything is bundled (no download): 1,797 8x8 digit images. A small MLP encoder is trained on
two augmented views of each training image (random 1-pixel shift, contrast and noise) and
evaluated with weighted kNN on frozen features of a held-out split, against the same encoder
at initialization and against raw pixels. Digits are easy (raw pixels already score about
0.97), so the demo proves the pipeline end to end, not representation quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor, nn
from tqdm import tqdm

from contrastkit.eval import knn_accuracy
from contrastkit.losses import NTXentLoss
from contrastkit.losses.validation import check_positive
from contrastkit.modules import make_head


@dataclass(frozen=True)
class DemoConfig:
    """Settings of the digits demo (defaults train in a few seconds on 2 CPU cores)."""

    epochs: int = 60  # passes over the 1,347 training images
    batch_size: int = 256  # pairs per step; NT-Xent has 2 * batch_size - 2 negatives per anchor
    temperature: float = 0.2  # NT-Xent temperature
    learning_rate: float = 2e-3  # Adam
    seed: int = 0  # data split, initialization, augmentation
    k: int = 20  # kNN neighbours

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature)
        check_positive("learning_rate", self.learning_rate)
        for name in ("epochs", "batch_size", "k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def load_digit_split(seed: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Digits as (N, 8, 8) floats in [0, 1], split 75/25 stratified by label."""
    digits = load_digits()
    images = digits.images.astype("float32") / 16.0
    train_x, test_x, train_y, test_y = train_test_split(
        images, digits.target, test_size=0.25, stratify=digits.target, random_state=seed
    )
    return (torch.from_numpy(train_x), torch.from_numpy(train_y),
            torch.from_numpy(test_x), torch.from_numpy(test_y))  # fmt: skip


def augment(images: Tensor, generator: torch.Generator) -> Tensor:
    """One random view per image (B, 8, 8): a shift of up to 1 pixel, contrast, Gaussian noise."""
    batch = images.shape[0]
    padded = nn.functional.pad(images, (1, 1, 1, 1))
    dy, dx = (torch.randint(0, 3, (2, batch), generator=generator)).unbind(0)
    steps = torch.arange(8)
    rows = (dy[:, None] + steps)[:, :, None]
    cols = (dx[:, None] + steps)[:, None, :]
    shifted = padded[torch.arange(batch)[:, None, None], rows, cols]
    contrast = 0.7 + 0.6 * torch.rand(batch, 1, 1, generator=generator)
    noise = 0.1 * torch.randn(images.shape, generator=generator)
    return (shifted * contrast + noise).clamp(0, 1)


def make_encoder() -> nn.Module:
    """A two-layer MLP from 64 pixels to 128 features."""
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128))


@torch.no_grad()
def features(encoder: nn.Module, images: Tensor) -> Tensor:
    """Frozen encoder features in eval mode."""
    encoder.eval()
    return encoder(images)


def train(
    encoder: nn.Module, images: Tensor, config: DemoConfig, generator: torch.Generator
) -> list[float]:
    """Train ``encoder`` plus a projection head with NT-Xent; returns the mean loss per epoch."""
    head = make_head("simclr_projection", 128, hidden_dim=128, out_dim=64)
    loss_fn = NTXentLoss(temperature=config.temperature)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)
    history = []
    bar = tqdm(range(config.epochs), desc="training", unit="epoch")
    for _ in bar:
        encoder.train()
        head.train()
        order = torch.randperm(images.shape[0], generator=generator)
        losses = []
        for batch in order.split(config.batch_size):
            if batch.numel() < 2:
                continue
            x = images[batch]
            z_a = head(encoder(augment(x, generator)))
            z_b = head(encoder(augment(x, generator)))
            loss = loss_fn(z_a, z_b)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history.append(sum(losses) / len(losses))
        bar.set_postfix(loss=f"{history[-1]:.3f}")
    return history


def run_demo(config: DemoConfig | None = None) -> dict[str, dict[str, float]]:
    """Run the demo and return kNN accuracies: raw pixels, untrained encoder, trained encoder."""
    config = config or DemoConfig()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    train_x, train_y, test_x, test_y = load_digit_split(config.seed)
    encoder = make_encoder()

    def evaluate(train_f: Tensor, test_f: Tensor) -> dict[str, float]:
        return knn_accuracy(train_f, train_y, test_f, test_y, k=config.k)

    results = {"raw pixels": evaluate(train_x.flatten(1), test_x.flatten(1))}
    results["encoder before training"] = evaluate(
        features(encoder, train_x), features(encoder, test_x)
    )
    history = train(encoder, train_x, config, generator)
    results["encoder after training"] = evaluate(
        features(encoder, train_x), features(encoder, test_x)
    )
    results["nt_xent loss"] = {"first epoch": history[0], "last epoch": history[-1]}
    return results


def format_results(results: dict[str, dict[str, float]]) -> str:
    """A plain-text table of the demo's results."""
    lines = [f"{'kNN on digits (held-out 25%)':32s} {'top-1':>7s} {'top-5':>7s}"]
    for name, metrics in results.items():
        if "top1" in metrics:
            lines.append(f"{name:32s} {metrics['top1']:7.4f} {metrics['top5']:7.4f}")
    loss = results["nt_xent loss"]
    lines.append(
        f"NT-Xent loss: {loss['first epoch']:.3f} (first epoch) -> {loss['last epoch']:.3f} (last)"
    )
    return "\n".join(lines)
