"""Barlow Twins method: training steps, state round-trip, the loss by hand, errors."""

import method_checks as mc
import pytest
import torch
from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.losses import barlow_twins
from contrastkit.methods.barlow_twins import BarlowTwins


def _method(seed: int = 0, **kwargs: float) -> BarlowTwins:
    torch.manual_seed(seed)
    return BarlowTwins(mc.tiny_encoder(pooled=True), proj_hidden_dim=32, proj_dim=16, **kwargs)


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    mc.assert_finite_training(method, mc.random_batch, lr=0.01, total_steps=10)
    mc.assert_output_shapes(
        method, mc.random_batch(1), progress=1.0, embedding_dim=16, encode_rows=5
    )


def test_state_round_trip_gives_identical_loss() -> None:
    method = _method()
    mc.train_steps(method, mc.random_batch, lr=0.01, total_steps=10)
    mc.assert_state_round_trip(
        method, lambda: _method(seed=7), mc.random_batch(1), progress=0.3, seed=3
    )


def test_loss_equals_barlow_twins_of_the_projections() -> None:
    method = _method(lambda_offdiag=0.01)
    batch = mc.random_batch(1)
    loss = method(batch, progress=0.0).loss
    z_a, z_b = (method.projector(method.encoder(view)) for view in batch.views)
    torch.testing.assert_close(loss, barlow_twins(z_a, z_b, lambda_offdiag=0.01))


def test_errors() -> None:
    with pytest.raises(ValueError, match="lambda_offdiag"):
        _method(lambda_offdiag=-1.0)
    with pytest.raises(ValueError, match="proj_dim"):
        BarlowTwins(Encoder(nn.Flatten(), feature_dim=4), proj_dim=0)
    mc.assert_rejects_bad_steps(_method(), mc.random_batch(1), bad_progress=2.0)
