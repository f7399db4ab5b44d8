"""Tests for BYOL: steps, round-trip, target EMA without gradient, loss by hand, errors."""

import io

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.encoders import Encoder
from contrastkit.methods.byol import BYOL
from contrastkit.transforms.batch import ViewBatch


def _build(seed: int = 0, **kwargs: object) -> BYOL:
    torch.manual_seed(seed)
    encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 16)), feature_dim=16)
    small = {"proj_hidden_dim": 32, "proj_dim": 16, "pred_hidden_dim": 32}
    return BYOL(encoder, **{**small, **kwargs})


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


def test_two_steps_finite_loss_and_encode() -> None:
    method = _build()
    assert all(0.0 <= loss <= 8.0 for loss in _train(method))
    assert method.encode(torch.randn(4, 3, 8, 8)).shape == (4, 16)
    assert [z.shape for z in method(_batch(5, views=3), progress=1.0).embeddings] == [(8, 16)] * 2


def test_state_round_trip_keeps_target_network() -> None:
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


def test_target_is_the_ema_and_gets_no_gradient() -> None:
    method = _build(base_momentum=0.9)
    _train(method, steps=1)
    pairs = [(method.encoder, method.target_encoder), (method.projector, method.target_projector)]
    online_before = [{n: p.detach().clone() for n, p in o.named_parameters()} for o, _ in pairs]
    target_before = [{n: p.detach().clone() for n, p in t.named_parameters()} for _, t in pairs]
    output = method(_batch(3), progress=0.5)
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
    _train(method, steps=1)
    batch = _batch(3)
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
    method = _build()
    with pytest.raises(ValueError, match="at least 2 views"):
        method(_batch(0, views=1), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(_batch(0), progress=float("nan"))
