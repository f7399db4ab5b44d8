"""The training engine: ``fit``, its configuration, optimizers, schedules, checkpoints and
gradient caching."""

from contrastkit.train.checkpoint import load_checkpoint, save_checkpoint
from contrastkit.train.config import TrainConfig
from contrastkit.train.fit import (
    BatchSource,
    FitResult,
    StepObserver,
    TrainingDivergedError,
    fit,
    planned_steps,
    resolve_device,
)
from contrastkit.train.gradcache import GradCache
from contrastkit.train.lars import LARS
from contrastkit.train.metrics_log import MetricsLog, read_metrics
from contrastkit.train.optim import build_optimizer, parameter_groups
from contrastkit.train.schedule import warmup_cosine

__all__ = [
    "LARS",
    "BatchSource",
    "FitResult",
    "GradCache",
    "MetricsLog",
    "StepObserver",
    "TrainConfig",
    "TrainingDivergedError",
    "build_optimizer",
    "fit",
    "load_checkpoint",
    "parameter_groups",
    "planned_steps",
    "read_metrics",
    "resolve_device",
    "save_checkpoint",
    "warmup_cosine",
]
