"""SupCon method: training steps, state round-trip, labels as positives, errors."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.losses import nt_xent, supcon
from contrastkit.methods.supcon import SupCon
from contrastkit.transforms.batch import ViewBatch

LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])


def _method(seed: int = 0, **kwargs: float) -> SupCon:
    torch.manual_seed(seed)
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 16))
    return SupCon(Encoder(pool, feature_dim=16), proj_hidden_dim=32, proj_dim=16, **kwargs)


def _batch(seed: int = 1, labels: torch.Tensor | None = LABELS, views: int = 2) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    return ViewBatch([torch.randn(8, 3, 8, 8, generator=gen) for _ in range(views)], labels)


def _train(method: SupCon, steps: int = 2) -> list[float]:
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1)
    losses = []
    for step in range(steps):
        output = method(_batch(seed=step), progress=step / 10)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(float(output.loss.detach()))
    return losses


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    assert all(torch.isfinite(torch.tensor(_train(method))))
    output = method(_batch(), progress=1.0)
    assert output.embeddings[0].shape == output.embeddings[1].shape == (8, 16)
    assert method.encode(torch.randn(5, 3, 8, 8)).shape == (5, 16)


def test_state_round_trip_gives_identical_loss() -> None:
    method = _method()
    _train(method)
    buffer = io.BytesIO()
    torch.save(method.state_dict(), buffer)
    buffer.seek(0)
    restored = _method(seed=7)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    torch.manual_seed(3)
    expected = method(_batch(), progress=0.3).loss
    torch.manual_seed(3)
    assert torch.equal(restored(_batch(), progress=0.3).loss, expected)


def test_same_label_views_are_positives() -> None:
    method = _method(temperature=0.2)
    batch = _batch(views=3)
    loss = method(batch, progress=0.0).loss
    z = [method.projector(method.encoder(view)) for view in batch.views]
    torch.testing.assert_close(loss, supcon(torch.stack(z, dim=1), LABELS, temperature=0.2))
    distinct = method(_batch(labels=torch.arange(8)), progress=0.0).loss
    assert not torch.allclose(distinct, method(_batch(), progress=0.0).loss)
    z_a, z_b = (F.normalize(method.projector(method.encoder(v)), dim=1) for v in _batch().views)
    torch.testing.assert_close(distinct, nt_xent(z_a, z_b, temperature=0.2))


def test_errors() -> None:
    with pytest.raises(ValueError, match="temperature"):
        _method(temperature=0.0)
    method = _method()
    with pytest.raises(ValueError, match="labelled dataset"):
        method(_batch(labels=None), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(_batch(), progress=2.0)
    with pytest.raises(ValueError, match="2 views"):
        method(_batch(views=1), progress=0.0)
