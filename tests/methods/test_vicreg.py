"""VICReg method: training steps, state round-trip, the loss by hand, errors."""

import io

import pytest
import torch
from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.losses import vicreg
from contrastkit.methods.vicreg import VICReg
from contrastkit.transforms.batch import ViewBatch


def _method(seed: int = 0, **kwargs: float) -> VICReg:
    torch.manual_seed(seed)
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 16))
    return VICReg(Encoder(pool, feature_dim=16), proj_hidden_dim=32, proj_dim=16, **kwargs)


def _batch(seed: int = 1) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    return ViewBatch([torch.randn(8, 3, 8, 8, generator=gen) for _ in range(2)])


def _train(method: VICReg, steps: int = 2) -> list[float]:
    optimizer = torch.optim.SGD(method.parameters(), lr=0.01)
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


def test_loss_equals_vicreg_of_the_expansions() -> None:
    method = _method(sim_weight=10.0, cov_weight=2.0)
    batch = _batch()
    loss = method(batch, progress=0.0).loss
    z_a, z_b = (method.expander(method.encoder(view)) for view in batch.views)
    torch.testing.assert_close(loss, vicreg(z_a, z_b, sim_weight=10.0, cov_weight=2.0))


def test_errors() -> None:
    with pytest.raises(ValueError, match="var_weight"):
        _method(var_weight=-1.0)
    with pytest.raises(ValueError, match="proj_dim"):
        VICReg(Encoder(nn.Flatten(), feature_dim=4), proj_dim=0)
    method = _method()
    with pytest.raises(ValueError, match="progress"):
        method(_batch(), progress=2.0)
    with pytest.raises(ValueError, match="2 views"):
        method(ViewBatch([torch.randn(8, 3, 8, 8)]), progress=0.0)
