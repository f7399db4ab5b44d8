"""The training settings of a run, one frozen dataclass with a comment per field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contrastkit.train.optim import OPTIMIZERS
from contrastkit.types.values import check_choice, check_number

PRECISIONS = ("auto", "fp32", "bf16")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, batch, checkpoints and logging.

    Built by the CLI from a recipe; Python users construct it directly. Every field is a recipe
    key of the same name; a value of the wrong type or out of range raises a ``ValueError`` that
    names the key, the value and what is expected.
    """

    epochs: int = 100  # passes over the training data
    batch_size: int = 256  # samples per batch (per process): the loss's in-batch negatives
    # batches per optimizer step (gradient accumulation); negatives, EMA updates and queue
    # writes stay per batch
    accumulate: int = 1
    # gradient caching (GradCache, train/gradcache.py): embed each batch in sub-batches of this
    # many samples, take the loss on the whole batch: its gradients at one sub-batch's
    # activation memory, for methods with embed + loss_from_embeddings (CachedMethod); None: off
    micro_batch_size: int | None = None
    optimizer: str = "sgd"  # sgd | lars | adamw
    lr: float = 0.3  # peak learning rate, reached after warmup
    min_lr: float = 0.0  # learning rate at the end of the cosine decay
    warmup_epochs: float = 0.0  # linear warmup length, in epochs
    weight_decay: float = 1e-6  # on weights, not biases or norms (decoupled for AdamW)
    optimizer_momentum: float = 0.9  # SGD / LARS momentum (not a method's EMA momentum)
    seed: int = 0  # initialization, data order and augmentation
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda | cuda:N
    precision: str = "auto"  # auto: bfloat16 autocast on CUDA, float32 on CPU | fp32 | bf16
    channels_last: bool = False  # NHWC memory format for convolutional encoders
    global_batch_norm: bool = True  # with several processes, BatchNorm over the global batch
    log_every: int = 10  # optimizer steps between metrics log records
    checkpoint_every: int = 200  # optimizer steps between checkpoints (and one at the end)
    max_steps: int | None = None  # stop after this many steps (the schedule still spans epochs)
    time_budget_s: float | None = None  # stop at the first step boundary after this many seconds
    progress_bar: bool = True  # tqdm bar with loss, images/s and ETA

    def __post_init__(self) -> None:
        for key in ("epochs", "accumulate", "log_every", "checkpoint_every"):
            check_number(key, getattr(self, key), integer=True, minimum=1)
        self._check_batch_size()
        check_number("seed", self.seed, integer=True, minimum=0)
        check_number("max_steps", self.max_steps, integer=True, minimum=1, optional=True)
        check_number("lr", self.lr, minimum=0, open_minimum=True)
        for key in ("min_lr", "warmup_epochs", "weight_decay"):
            check_number(key, getattr(self, key), minimum=0)
        check_number("optimizer_momentum", self.optimizer_momentum, minimum=0, maximum=1)
        check_number(
            "time_budget_s", self.time_budget_s, minimum=0, open_minimum=True, optional=True
        )
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("precision", self.precision, PRECISIONS)
        if not isinstance(self.device, str) or not DEVICE_PATTERN.fullmatch(self.device):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        for key in ("channels_last", "global_batch_norm", "progress_bar"):
            _check_flag(key, getattr(self, key))
        self._check_micro_batch_size()
        if self.warmup_epochs > self.epochs:
            raise ValueError(f"warmup_epochs ({self.warmup_epochs}) exceeds epochs ({self.epochs})")

    def _check_batch_size(self) -> None:
        try:
            check_number("batch_size", self.batch_size, integer=True, minimum=2)
        except ValueError as error:
            raise ValueError(
                f"{error} (contrastive learning compares the samples of a batch: it needs two "
                "or more)"
            ) from None

    def _check_micro_batch_size(self) -> None:
        size = self.micro_batch_size
        if size is None:
            return
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(
                f"micro_batch_size must be an integer >= 1 (samples per gradient-caching "
                f"sub-batch), got {size!r}; leave it unset to turn gradient caching off"
            )
        if size > self.batch_size:
            raise ValueError(
                f"micro_batch_size ({size}) exceeds batch_size ({self.batch_size}): gradient "
                "caching splits each batch into sub-batches of micro_batch_size samples; set "
                "micro_batch_size at most batch_size (a divisor avoids a smaller last sub-batch)"
            )

    # Settings that must not change when a run resumes, or the resumed run would differ.
    RESUME_KEYS = ("epochs", "batch_size", "accumulate", "optimizer", "seed", "warmup_epochs")


def _check_flag(key: str, value: Any) -> None:
    """Raise unless ``value`` is a bool (``true`` or ``false`` in a recipe)."""
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
