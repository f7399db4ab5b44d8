"""Tests for BYOL: steps, round-trip, target EMA without gradient, loss by hand, errors."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.methods.byol import BYOL


def _build(seed: int = 0, **kwargs: object) -> BYOL:
    torch.manual_seed(seed)
    small = {"proj_hidden_dim": 32, "proj_dim": 16, "pred_hidden_dim": 32}
    return BYOL(mc.tiny_encoder(), **{**small, **kwargs})


def test_two_steps_finite_loss_and_encode() -> None:
    method = _build()
    assert all(0.0 <= loss <= 8.0 for loss in mc.train_steps(method, mc.random_batch))
    mc.assert_output_shapes(
        method, mc.random_batch(5, views=3), progress=1.0, embedding_dim=16, encode_rows=4
    )


def test_state_round_trip_keeps_target_network() -> None:
    method = _build()
    mc.train_steps(method, mc.random_batch)
    mc.assert_state_round_trip(
        method, lambda: _build(seed=1), mc.random_batch(9), progress=0.5, seed=7
    )


def test_target_is_the_ema_and_gets_no_gradient() -> None:
    method = _build(base_momentum=0.9)
    mc.train_steps(method, mc.random_batch, steps=1)
    pairs = [(method.encoder, method.target_encoder), (method.projector, method.target_projector)]
    online_before = [{n: p.detach().clone() for n, p in o.named_parameters()} for o, _ in pairs]
    target_before = [{n: p.detach().clone() for n, p in t.named_parameters()} for _, t in pairs]
    output = method(mc.random_batch(3), progress=0.5)
    momentum = output.logs["momentum"]
    assert momentum == pytest.approx(0.95)  # 1 - (1 - 0.9) * (cos(pi / 2) + 1) / 2
    moved = []
    for (_, target), old_online, old_target in zip(
        pairs, online_before, target_before, strict=True
    ):
        for name, value in target.named_parameters():
            expected = momentum * old_target[name] + (1 - momentum) * old_online[name]
            torch.testing.assert_close(value, expected)
            moved.append(not torch.equal(value, old_target[name]))
    assert any(moved)
    output.loss.backward()
    for _, target in pairs:
        assert all(p.grad is None and not p.requires_grad for p in target.parameters())


def test_loss_is_the_papers_symmetrized_normalized_squared_error() -> None:
    method = _build()
    mc.train_steps(method, mc.random_batch, steps=1)
    batch = mc.random_batch(3)
    loss = method(batch, progress=0.5).loss
    p_a, p_b = (method.predictor(method.projector(method.encoder(v))) for v in batch.views)
    with torch.no_grad():
        t_a, t_b = (method.target_projector(method.target_encoder(v)) for v in batch.views)

    def squared_error(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return (F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(dim=1).mean()

    torch.testing.assert_close(loss, squared_error(p_a, t_b) + squared_error(p_b, t_a))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"proj_dim": 0}, "proj_dim"), ({"pred_hidden_dim": 0}, "pred_hidden_dim"),
     ({"base_momentum": 1.1}, "base_momentum")],
)  # fmt: skip
def test_rejects_bad_hyperparameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_rejects_one_view_and_bad_progress() -> None:
    mc.assert_rejects_bad_steps(_build(), mc.random_batch(0), bad_progress=float("nan"))
