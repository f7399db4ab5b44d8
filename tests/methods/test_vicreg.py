"""VICReg method: training steps, state round-trip, the loss by hand, errors."""

import method_checks as mc
import pytest
import torch
from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.losses import vicreg
from contrastkit.methods.vicreg import VICReg


def _method(seed: int = 0, **kwargs: float) -> VICReg:
    torch.manual_seed(seed)
    return VICReg(mc.tiny_encoder(pooled=True), proj_hidden_dim=32, proj_dim=16, **kwargs)


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


def test_loss_equals_vicreg_of_the_expansions() -> None:
    method = _method(sim_weight=10.0, cov_weight=2.0)
    batch = mc.random_batch(1)
    loss = method(batch, progress=0.0).loss
    z_a, z_b = (method.expander(method.encoder(view)) for view in batch.views)
    torch.testing.assert_close(loss, vicreg(z_a, z_b, sim_weight=10.0, cov_weight=2.0))


def test_errors() -> None:
    with pytest.raises(ValueError, match="var_weight"):
        _method(var_weight=-1.0)
    with pytest.raises(ValueError, match="proj_dim"):
        VICReg(Encoder(nn.Flatten(), feature_dim=4), proj_dim=0)
    mc.assert_rejects_bad_steps(_method(), mc.random_batch(1), bad_progress=2.0)
