"""Tests for SimCLR: training steps, encode, state round-trip, loss by hand, errors."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.encoders import Encoder
from contrastkit.methods.base import Method
from contrastkit.methods.simclr import SimCLR
from contrastkit.transforms.batch import ViewBatch


def _build(seed: int = 0, **kwargs: object) -> SimCLR:
    torch.manual_seed(seed)
    encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16)), feature_dim=16)
    return SimCLR(encoder, **{"proj_hidden_dim": 32, "proj_dim": 16, **kwargs})


def _batch(seed: int, views: int = 2) -> ViewBatch:
    generator = torch.Generator().manual_seed(seed)
    return ViewBatch([torch.randn(8, 3, 8, 8, generator=generator) for _ in range(views)])


def _train(method: nn.Module, steps: int = 2) -> list[float]:
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1)
    losses = []
    for step in range(steps):
        output = method(_batch(step), progress=step / steps)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(output.loss.item())
    return losses


def test_two_steps_finite_loss_embeddings_and_encode() -> None:
    method = _build()
    assert isinstance(method, Method)
    assert all(torch.isfinite(torch.tensor(_train(method))))
    output = method(_batch(5, views=3), progress=1.0)
    assert [z.shape for z in output.embeddings] == [(8, 16), (8, 16)]
    assert method.encode(torch.randn(4, 3, 8, 8)).shape == (4, 16)


def test_state_round_trip_gives_identical_loss() -> None:
    method = _build()
    _train(method)
    buffer = io.BytesIO()
    torch.save(method.state_dict(), buffer)
    buffer.seek(0)
    restored = _build(seed=1)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    losses = []
    for model in (method, restored):
        torch.manual_seed(7)
        losses.append(model(_batch(9), progress=0.5).loss)
    assert torch.equal(losses[0], losses[1])


def test_loss_is_nt_xent_of_projections_by_hand() -> None:
    method = _build(temperature=0.5)
    _train(method, steps=1)
    batch = _batch(3)
    loss = method(batch, progress=0.2).loss
    z = torch.cat([method.projector(method.encoder(view)) for view in batch.views])
    z = F.normalize(z, dim=1)
    terms = []
    for i in range(16):
        positive = (i + 8) % 16
        others = torch.stack([z[i] @ z[k] / 0.5 for k in range(16) if k != i])
        terms.append(-(z[i] @ z[positive] / 0.5) + torch.logsumexp(others, dim=0))
    torch.testing.assert_close(loss, torch.stack(terms).mean())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"proj_dim": 0}, "proj_dim"), ({"proj_hidden_dim": 0}, "proj_hidden_dim"),
     ({"temperature": 0.0}, "temperature")],
)  # fmt: skip
def test_rejects_bad_hyperparameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_rejects_one_view_and_bad_progress() -> None:
    method = _build()
    with pytest.raises(ValueError, match="at least 2 views"):
        method(_batch(0, views=1), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(_batch(0), progress=1.5)
