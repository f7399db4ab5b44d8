"""Generic plumbing shared by the method tests; every method-specific check stays in its file."""

import io
from collections.abc import Callable

import pytest
import torch
from torch import nn

from contrastkit.encoders import Encoder
from contrastkit.types import ViewBatch

FEATURE_DIM = 16


def tiny_encoder(*, pooled: bool = False) -> Encoder:
    """A 16-wide encoder for (B, 3, 8, 8) images; ``pooled`` also takes other sizes (4x4 crops)."""
    if pooled:
        body = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, FEATURE_DIM))
    else:
        body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, FEATURE_DIM))
    return Encoder(body, feature_dim=FEATURE_DIM)


def random_batch(
    seed: int,
    *,
    views: int = 2,
    local_views: int = 0,
    labels: torch.Tensor | None = None,
) -> ViewBatch:
    """Seeded batch of 8 samples: ``views`` 8x8 views, then ``local_views`` 4x4 crops."""
    gen = torch.Generator().manual_seed(seed)
    crops = [torch.randn(8, 3, 8, 8, generator=gen) for _ in range(views)]
    crops += [torch.randn(8, 3, 4, 4, generator=gen) for _ in range(local_views)]
    return ViewBatch(crops, labels)


def train_steps(
    method: nn.Module,
    make_batch: Callable[[int], ViewBatch],
    *,
    steps: int = 2,
    lr: float = 0.1,
    total_steps: int | None = None,
) -> list[float]:
    """``steps`` SGD steps on ``make_batch(step)`` at progress ``step / (total_steps or steps)``."""
    optimizer = torch.optim.SGD(method.parameters(), lr=lr)
    losses = []
    for step in range(steps):
        output = method(make_batch(step), progress=step / (total_steps or steps))
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(output.loss.item())
    return losses


def assert_finite_training(
    method: nn.Module, make_batch: Callable[[int], ViewBatch], **kwargs: int | float
) -> list[float]:
    """Two training steps (by default) give finite losses; returns them."""
    losses = train_steps(method, make_batch, **kwargs)  # type: ignore[arg-type]
    assert all(torch.isfinite(torch.tensor(losses)))
    return losses


def assert_output_shapes(
    method: nn.Module, batch: ViewBatch, *, progress: float, embedding_dim: int, encode_rows: int
) -> None:
    """Two (8, embedding_dim) embeddings, and ``encode`` gives (rows, FEATURE_DIM) features."""
    output = method(batch, progress=progress)
    assert [z.shape for z in output.embeddings] == [(8, embedding_dim)] * 2
    features = method.encode(torch.randn(encode_rows, 3, 8, 8))
    assert features.shape == (encode_rows, FEATURE_DIM)


def assert_state_round_trip(
    method: nn.Module,
    build: Callable[[], nn.Module],
    batch: ViewBatch,
    *,
    progress: float,
    seed: int,
) -> nn.Module:
    """A copy restored via torch.save / torch.load(weights_only=True) gives the identical loss.

    ``build`` makes a fresh method (with other weights); returns the restored one.
    """
    buffer = io.BytesIO()
    torch.save(method.state_dict(), buffer)
    buffer.seek(0)
    restored = build()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    losses = []
    for model in (method, restored):
        torch.manual_seed(seed)
        losses.append(model(batch, progress=progress).loss)
    assert torch.equal(losses[0], losses[1])
    return restored


def assert_rejects_bad_steps(method: nn.Module, batch: ViewBatch, *, bad_progress: float) -> None:
    """One view, a progress outside [0, 1] and a non-ViewBatch batch raise a ValueError."""
    with pytest.raises(ValueError, match="at least 2 views, got 1"):
        method(ViewBatch(batch.views[:1], batch.labels), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(batch, progress=bad_progress)
    with pytest.raises(ValueError, match="ViewBatch"):
        method(batch.views, progress=0.0)
