"""Tests for SimSiam: steps, round-trip, loss by hand, the stop-gradient and its ablation."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.encoders import Encoder
from contrastkit.methods.simsiam import SimSiam
from contrastkit.transforms.batch import ViewBatch


def _build(seed: int = 0, **kwargs: object) -> SimSiam:
    torch.manual_seed(seed)
    encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16)), feature_dim=16)
    small = {"proj_dim": 16, "proj_hidden_dim": 32, "pred_hidden_dim": 8}
    return SimSiam(encoder, **{**small, **kwargs})


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


def _hand_loss(method: SimSiam, batch: ViewBatch, *, stop_gradient: bool) -> torch.Tensor:
    z_a, z_b = (method.projector(method.encoder(v)) for v in batch.views)
    p_a, p_b = method.predictor(z_a), method.predictor(z_b)
    if stop_gradient:
        z_a, z_b = z_a.detach(), z_b.detach()
    return -(F.cosine_similarity(p_a, z_b).mean() + F.cosine_similarity(p_b, z_a).mean()) / 2


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_two_steps_finite_loss_and_encode(stop_gradient: bool) -> None:
    method = _build(stop_gradient=stop_gradient)
    assert all(-1.0 <= loss <= 1.0 for loss in _train(method))
    assert method.encode(torch.randn(4, 3, 8, 8)).shape == (4, 16)
    assert [z.shape for z in method(_batch(5, views=3), progress=1.0).embeddings] == [(8, 16)] * 2


def test_state_round_trip() -> None:
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


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_loss_and_gradients_match_the_hand_computation(stop_gradient: bool) -> None:
    method = _build(stop_gradient=stop_gradient)
    batch = _batch(3)
    params = list(method.encoder.parameters())
    loss = method(batch, progress=0.5).loss
    grads = torch.autograd.grad(loss, params)
    for hand_stop_gradient in (True, False):
        expected = _hand_loss(method, batch, stop_gradient=hand_stop_gradient)
        torch.testing.assert_close(loss, expected)
        expected_grads = torch.autograd.grad(expected, params)
        same = all(torch.allclose(g, e) for g, e in zip(grads, expected_grads, strict=True))
        assert same == (hand_stop_gradient == stop_gradient)


def test_without_stop_gradient_the_target_branch_gets_gradient() -> None:
    p, z = torch.randn(8, 16, requires_grad=True), torch.randn(8, 16, requires_grad=True)
    for stop_gradient in (True, False):
        (grad_z,) = torch.autograd.grad(
            _build(stop_gradient=stop_gradient)._distance(p, z), z, allow_unused=True
        )
        assert (grad_z is not None and bool(grad_z.abs().sum() > 0)) == (not stop_gradient)


def test_rejects_bad_hyperparameters_one_view_and_bad_progress() -> None:
    for name in ("proj_dim", "proj_hidden_dim", "pred_hidden_dim"):
        with pytest.raises(ValueError, match=name):
            _build(**{name: 0})
    method = _build()
    with pytest.raises(ValueError, match="at least 2 views"):
        method(_batch(0, views=1), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(_batch(0), progress=2.0)
