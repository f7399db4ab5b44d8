"""Tests for MoCoV2 and MoCoV3: steps, round-trip, EMA, frozen key network, queue, loss by hand."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from contrastkit.methods.moco import MoCoV2, MoCoV3

SMALL = {
    MoCoV2: {"proj_dim": 16, "proj_hidden_dim": 32, "queue_size": 12},
    MoCoV3: {"proj_dim": 16, "proj_hidden_dim": 32, "pred_hidden_dim": 32},
}


def _build(cls: type, seed: int = 0, **kwargs: object) -> nn.Module:
    torch.manual_seed(seed)
    return cls(mc.tiny_encoder(), **{**SMALL[cls], **kwargs})


def _online_and_key(method: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    if isinstance(method, MoCoV2):
        return [(method.encoder, method.key_encoder), (method.projector, method.key_projector)]
    pairs = [(method.encoder, method.momentum_encoder)]
    return [*pairs, (method.projector, method.momentum_projector)]


def _ce(query: torch.Tensor, candidates: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean cross-entropy of query i picking candidate i (cosine logits)."""
    logits = F.normalize(query, dim=1) @ F.normalize(candidates, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(query.shape[0]))


@pytest.mark.parametrize("cls", [MoCoV2, MoCoV3])
def test_two_steps_finite_loss_and_encode(cls: type) -> None:
    method = _build(cls)
    mc.assert_finite_training(method, mc.random_batch)
    mc.assert_output_shapes(
        method, mc.random_batch(5, views=3), progress=1.0, embedding_dim=16, encode_rows=4
    )


@pytest.mark.parametrize(
    ("cls", "kwargs"), [(MoCoV2, {}), (MoCoV2, {"symmetric": True}), (MoCoV3, {})]
)
def test_state_round_trip_keeps_queue_and_key_network(cls: type, kwargs: dict) -> None:
    method = _build(cls, **kwargs)
    mc.train_steps(method, mc.random_batch)
    mc.assert_state_round_trip(
        method, lambda: _build(cls, seed=1, **kwargs), mc.random_batch(9), progress=0.5, seed=7
    )


@pytest.mark.parametrize(
    ("cls", "kwargs"), [(MoCoV2, {"momentum": 0.9}), (MoCoV3, {"base_momentum": 0.9})]
)
def test_key_network_is_the_ema_and_gets_no_gradient(cls: type, kwargs: dict) -> None:
    method = _build(cls, **kwargs)
    mc.train_steps(method, mc.random_batch, steps=1)
    pairs = _online_and_key(method)
    online_before = [{n: p.detach().clone() for n, p in o.named_parameters()} for o, _ in pairs]
    key_before = [{n: p.detach().clone() for n, p in k.named_parameters()} for _, k in pairs]
    output = method(mc.random_batch(3), progress=0.5)
    momentum = output.logs["momentum"]
    assert momentum == pytest.approx(0.9 if cls is MoCoV2 else 0.95)
    moved = []
    for (_, key), old_online, old_key in zip(pairs, online_before, key_before, strict=True):
        for name, value in key.named_parameters():
            expected = momentum * old_key[name] + (1 - momentum) * old_online[name]
            torch.testing.assert_close(value, expected)
            moved.append(not torch.equal(value, old_key[name]))
    assert any(moved)
    output.loss.backward()
    for _, key in pairs:
        assert all(p.grad is None and not p.requires_grad for p in key.parameters())


def test_moco_v2_queue_fills_and_wraps() -> None:
    method = _build(MoCoV2)  # queue_size 12, batch 8
    keys = []
    for step, fill in enumerate([8 / 12, 1.0]):
        output = method(mc.random_batch(step), progress=0.0)
        keys.append(output.embeddings[1])
        assert output.logs["queue_fill"] == pytest.approx(fill)
    assert int(method.queue.pointer) == 4
    features = method.queue.features
    torch.testing.assert_close(features[:4], keys[1][4:])
    torch.testing.assert_close(features[4:8], keys[0][4:])
    torch.testing.assert_close(features[8:], keys[1][:4])


def test_moco_v2_loss_by_hand_in_batch_and_queue_negatives() -> None:
    method = _build(MoCoV2, temperature=0.2)
    mc.train_steps(method, mc.random_batch, steps=1)
    queue = method.queue.negatives().clone()
    batch = mc.random_batch(3)
    loss = method(batch, progress=0.5).loss
    query = method.projector(method.encoder(batch.views[0]))
    with torch.no_grad():
        key = method.key_projector(method.key_encoder(batch.views[1]))
    expected = _ce(query, torch.cat([key, queue]), 0.2)  # row i: key i, other keys, queue
    torch.testing.assert_close(loss, expected)


def test_moco_v2_symmetric_averages_both_directions() -> None:
    method = _build(MoCoV2, symmetric=True, temperature=0.2)
    batch = mc.random_batch(3)
    loss = method(batch, progress=0.0).loss  # first step: empty queue, no EMA change
    q_a, q_b = (method.projector(method.encoder(v)) for v in batch.views)
    k_a, k_b = (method.key_projector(method.key_encoder(v)) for v in batch.views)
    torch.testing.assert_close(loss, (_ce(q_a, k_b, 0.2) + _ce(q_b, k_a, 0.2)) / 2)
    assert len(method.queue) == 12  # both views' keys, 16 > 12: the newest 12 kept


def test_moco_v3_loss_by_hand_with_two_temperature_scaling() -> None:
    method = _build(MoCoV3, temperature=0.2)
    mc.train_steps(method, mc.random_batch, steps=1)
    batch = mc.random_batch(3)
    loss = method(batch, progress=0.5).loss
    q_a, q_b = (method.predictor(method.projector(method.encoder(v))) for v in batch.views)
    with torch.no_grad():
        k_a, k_b = (method.momentum_projector(method.momentum_encoder(v)) for v in batch.views)
    expected = 2 * 0.2 * (_ce(q_a, k_b, 0.2) + _ce(q_b, k_a, 0.2))
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [(MoCoV2, {"queue_size": 0}, "queue_size"), (MoCoV2, {"momentum": 1.5}, "momentum"),
     (MoCoV2, {"temperature": -1.0}, "temperature"), (MoCoV2, {"proj_dim": 0}, "proj_dim"),
     (MoCoV3, {"base_momentum": -0.1}, "base_momentum"),
     (MoCoV3, {"pred_hidden_dim": 0}, "pred_hidden_dim")],
)  # fmt: skip
def test_rejects_bad_hyperparameters(cls: type, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _build(cls, **kwargs)


@pytest.mark.parametrize("cls", [MoCoV2, MoCoV3])
def test_rejects_one_view_and_bad_progress(cls: type) -> None:
    mc.assert_rejects_bad_steps(_build(cls), mc.random_batch(0), bad_progress=-0.1)
