"""One process of the multi-process training check (run by tests/train/test_ddp.py).

SimCLR with a BatchNorm ConvNet on digits, with deterministic views (the images and their
mirror images), so a run on W processes with batch B/W each must give, step for step, the
losses of one process with batch B: DDP averaging, gathered negatives, global BatchNorm and
the sharded data order all have to be exact. Writes this process's losses as JSON.
"""

from __future__ import annotations

import json
import sys

import torch
from torch import Tensor, nn

from contrastkit.data import ShuffledSource, load_dataset
from contrastkit.distributed import init_from_env, rank, world_size
from contrastkit.encoders import Encoder
from contrastkit.methods import SimCLR
from contrastkit.train import TrainConfig, fit
from contrastkit.types import ViewBatch

GLOBAL_BATCH = 64


def smooth_convnet() -> Encoder:
    """Conv-BN-ReLU blocks with average pooling.

    Max-pooling is avoided on purpose: on digits it compares many nearly equal values, so
    float rounding differences between the two runs' BatchNorm arithmetic (one kernel vs. sums
    over processes) can flip which input a max picks, rerouting whole gradients. Averaging is
    smooth, so the two runs must agree to float precision.
    """
    return Encoder(
        nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        ),
        feature_dim=16,
    )


class MirrorViews(ShuffledSource):
    """Two deterministic views: the normalized image and its horizontal mirror."""

    def __init__(self) -> None:
        self.images = load_dataset("digits", "train").images[:512]

    def __len__(self) -> int:
        return len(self.images)

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> ViewBatch:
        x = self.images[indices].float().to(device) / 255 - 0.5
        return ViewBatch([x, x.flip(-1)])


def main(out: str) -> None:
    init_from_env()
    torch.manual_seed(0)
    encoder = smooth_convnet()
    method = SimCLR(
        encoder, proj_hidden_dim=32, proj_dim=16, temperature=0.2, gather_distributed=True
    )
    config = TrainConfig(
        epochs=3,
        batch_size=GLOBAL_BATCH // world_size(),
        optimizer="sgd",
        lr=0.05,
        warmup_epochs=1.0,
        progress_bar=False,
        device="cpu",
        max_steps=20,
    )
    result = fit(method, MirrorViews(), config)
    with open(f"{out}.rank{rank()}.json", "w") as file:
        json.dump(result.losses, file)


if __name__ == "__main__":
    main(sys.argv[1])
