"""Tests for SimSiam: steps, round-trip, loss by hand, the stop-gradient and its ablation."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.methods.simsiam import SimSiam
from contrastkit.types import ViewBatch


def _build(seed: int = 0, **kwargs: object) -> SimSiam:
    torch.manual_seed(seed)
    small = {"proj_dim": 16, "proj_hidden_dim": 32, "pred_hidden_dim": 8}
    return SimSiam(mc.tiny_encoder(), **{**small, **kwargs})


def _hand_loss(method: SimSiam, batch: ViewBatch, *, stop_gradient: bool) -> torch.Tensor:
    z_a, z_b = (method.projector(method.encoder(v)) for v in batch.views)
    p_a, p_b = method.predictor(z_a), method.predictor(z_b)
    if stop_gradient:
        z_a, z_b = z_a.detach(), z_b.detach()
    return -(F.cosine_similarity(p_a, z_b).mean() + F.cosine_similarity(p_b, z_a).mean()) / 2


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_two_steps_finite_loss_and_encode(stop_gradient: bool) -> None:
    method = _build(stop_gradient=stop_gradient)
    assert all(-1.0 <= loss <= 1.0 for loss in mc.train_steps(method, mc.random_batch))
    mc.assert_output_shapes(
        method, mc.random_batch(5, views=3), progress=1.0, embedding_dim=16, encode_rows=4
    )


def test_state_round_trip() -> None:
    method = _build()
    mc.train_steps(method, mc.random_batch)
    mc.assert_state_round_trip(
        method, lambda: _build(seed=1), mc.random_batch(9), progress=0.5, seed=7
    )


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_loss_and_gradients_match_the_hand_computation(stop_gradient: bool) -> None:
    method = _build(stop_gradient=stop_gradient)
    batch = mc.random_batch(3)
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
    mc.assert_rejects_bad_steps(_build(), mc.random_batch(0), bad_progress=2.0)
