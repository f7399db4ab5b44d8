"""Argument checks shared by every layer (losses, methods, encoders, transforms, evaluation):
every message names the argument and what was expected."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_positive(name: str, value: float | Tensor) -> None:
    """Raise if a hyper-parameter (temperature, sigma, epsilon, logit_scale) is not > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | Tensor):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value.detach()) if isinstance(value, Tensor) else float(value)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {number}")


def check_in_range(name: str, value: float, low: float, high: float | None = None) -> None:
    """Raise unless ``low <= value`` (and ``value < high`` when ``high`` is given)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    inside = value >= low and (high is None or value < high)
    if not (math.isfinite(value) and inside):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")


def check_embeddings(name: str, x: Tensor, ndim: int = 2) -> None:
    """Raise unless ``x`` is a finite floating tensor with ``ndim`` dimensions."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != ndim:
        layout = {2: "(B, D)", 3: "(B, V, D)"}.get(ndim, f"{ndim}-D")
        raise ValueError(f"{name} must have shape {layout}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains non-finite values (nan or inf); all must be finite")


def check_pair(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Check two (B, D) embedding tensors and that their shapes match."""
    check_embeddings(name_a, a)
    check_embeddings(name_b, b)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape (B, D), "
            f"got {name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)}"
        )


def check_batch(size: int, needed: int, why: str) -> None:
    """Raise when the (global) batch has fewer than ``needed`` samples."""
    if size < needed:
        raise ValueError(f"batch of {size} is too small: {why} needs a batch of at least {needed}")


def check_labels(labels: Tensor, batch_size: int) -> None:
    """Raise unless ``labels`` is a 1-D integer tensor with one label per sample."""
    if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.shape[0] != batch_size:
        shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
        raise ValueError(f"labels must have shape ({batch_size},), one per sample, got {shape}")
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"labels must be an integer tensor, got dtype {labels.dtype}")
