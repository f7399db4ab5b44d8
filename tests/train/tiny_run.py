"""A tiny method and data source exercising every kind of state a resume must restore.

Used in-process by the training tests and as a script (``python tiny_run.py RUN_DIR``) for the
kill-and-resume test. The method has dropout (torch RNG), an EMA teacher, a FeatureQueue and
BatchNorm; the source draws augmentation noise from the trainer's generator.
"""

from __future__ import annotations

import copy
import sys
import time

import torch
from torch import Tensor, nn

from contrastkit.data import ShuffledSource
from contrastkit.losses import info_nce
from contrastkit.methods.base import MethodOutput
from contrastkit.modules import FeatureQueue, cosine_momentum, update_ema
from contrastkit.train import TrainConfig, fit


class TinyMethod(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(
            nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 8)
        )
        self.teacher = copy.deepcopy(self.encoder).requires_grad_(False)
        self.queue = FeatureQueue(32, 8)
        self.nan_at_step: int | None = None
        self.calls = 0

    def forward(self, batch: tuple[Tensor, Tensor], *, progress: float) -> MethodOutput:
        self.calls += 1
        view_a, view_b = batch
        with torch.no_grad():
            update_ema(self.encoder, self.teacher, cosine_momentum(progress, base=0.9))
            key = self.teacher(view_b)
        query = self.encoder(view_a)
        loss = info_nce(
            query,
            key,
            temperature=0.5,
            negatives=self.queue.negatives() if len(self.queue) else None,
        )
        self.queue.enqueue(key)
        if self.nan_at_step is not None and self.calls >= self.nan_at_step:
            loss = loss * float("nan")
        return MethodOutput(loss, (query.detach(), key))

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)


class NoiseSource(ShuffledSource):
    """Fixed data; two views = data plus noise drawn from the trainer's generator."""

    def __init__(self, size: int = 40, delay: float = 0.0) -> None:
        self.data = torch.randn(size, 6, generator=torch.Generator().manual_seed(123))
        self.delay = delay

    def __len__(self) -> int:
        return len(self.data)

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> tuple[Tensor, Tensor]:
        if self.delay:
            time.sleep(self.delay)
        x = self.data[indices]
        noise = torch.randn((2, *x.shape), generator=generator)
        return (x + 0.3 * noise[0]).to(device), (x + 0.3 * noise[1]).to(device)


def config(**overrides: object) -> TrainConfig:
    settings = {
        "epochs": 4,
        "batch_size": 8,
        "optimizer": "sgd",
        "lr": 0.1,
        "warmup_epochs": 1.0,
        "log_every": 1,
        "checkpoint_every": 2,
        "progress_bar": False,
        "device": "cpu",
    }
    settings.update(overrides)
    return TrainConfig(**settings)  # type: ignore[arg-type]


if __name__ == "__main__":
    fit(TinyMethod(), NoiseSource(delay=0.15), config(checkpoint_every=1), run_dir=sys.argv[1])
