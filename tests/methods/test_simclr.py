"""Tests for SimCLR: training steps, encode, state round-trip, loss by hand, errors."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.methods.base import Method
from contrastkit.methods.simclr import SimCLR


def _build(seed: int = 0, **kwargs: object) -> SimCLR:
    torch.manual_seed(seed)
    return SimCLR(mc.tiny_encoder(), **{"proj_hidden_dim": 32, "proj_dim": 16, **kwargs})


def test_two_steps_finite_loss_embeddings_and_encode() -> None:
    method = _build()
    assert isinstance(method, Method)
    mc.assert_finite_training(method, mc.random_batch)
    mc.assert_output_shapes(
        method, mc.random_batch(5, views=3), progress=1.0, embedding_dim=16, encode_rows=4
    )


def test_state_round_trip_gives_identical_loss() -> None:
    method = _build()
    mc.train_steps(method, mc.random_batch)
    mc.assert_state_round_trip(
        method, lambda: _build(seed=1), mc.random_batch(9), progress=0.5, seed=7
    )


def test_loss_is_nt_xent_of_projections_by_hand() -> None:
    method = _build(temperature=0.5)
    mc.train_steps(method, mc.random_batch, steps=1)
    batch = mc.random_batch(3)
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
    mc.assert_rejects_bad_steps(_build(), mc.random_batch(0), bad_progress=1.5)


def test_learnable_temperature_is_trained_logged_and_checkpointed() -> None:
    from contrastkit.losses import nt_xent

    method = _build(learnable_temperature=True, temperature=0.3)
    batch = mc.random_batch(seed=1)
    output = method(batch, progress=0.0)
    assert output.logs["temperature"] == pytest.approx(0.3)
    z_a = method.projector(method.encoder(batch.views[0]))
    z_b = method.projector(method.encoder(batch.views[1]))
    torch.testing.assert_close(output.loss, nt_xent(z_a, z_b, temperature=0.3))
    output.loss.backward()
    assert method.temperature.log_scale.grad is not None
    assert "temperature.log_scale" in method.state_dict()
    with torch.no_grad():
        method.temperature.log_scale.add_(0.5)
    restored = mc.assert_state_round_trip(
        method,
        lambda: _build(seed=1, learnable_temperature=True),
        mc.random_batch(9),
        progress=0.5,
        seed=7,
    )
    assert float(restored.temperature().detach()) == float(method.temperature().detach())
