"""Tests for NNCLR: steps, round-trip with the support set, nearest neighbours, loss by hand."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.methods.nnclr import NNCLR


def _build(seed: int = 0, **kwargs: object) -> NNCLR:
    torch.manual_seed(seed)
    small = {"proj_dim": 16, "proj_hidden_dim": 32, "pred_hidden_dim": 32, "queue_size": 12}
    return NNCLR(mc.tiny_encoder(), **{**small, **kwargs})


def _ce(query: torch.Tensor, candidates: torch.Tensor, temperature: float) -> torch.Tensor:
    logits = F.normalize(query, dim=1) @ F.normalize(candidates, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(query.shape[0]))


def test_two_steps_finite_loss_encode_and_queue_fill() -> None:
    method = _build()
    mc.assert_finite_training(method, mc.random_batch)
    assert len(method.queue) == 12 and int(method.queue.pointer) == 4
    mc.assert_output_shapes(
        method, mc.random_batch(5, views=3), progress=1.0, embedding_dim=16, encode_rows=4
    )
    assert method(mc.random_batch(5, views=3), progress=1.0).logs["queue_fill"] == 1.0


def test_state_round_trip_keeps_support_set() -> None:
    method = _build()
    mc.train_steps(method, mc.random_batch)
    mc.assert_state_round_trip(
        method, lambda: _build(seed=1), mc.random_batch(9), progress=0.5, seed=7
    )


def test_nearest_neighbour_matches_a_loop() -> None:
    method = _build()
    method.queue.enqueue(torch.randn(12, 16))
    z, support = torch.randn(5, 16), method.queue.negatives()
    expected = []
    for row in z:
        scores = [F.cosine_similarity(row, entry, dim=0) for entry in support]
        expected.append(support[int(torch.stack(scores).argmax())])
    torch.testing.assert_close(method.nearest_neighbour(z), torch.stack(expected))
    empty = _build()
    assert torch.equal(empty.nearest_neighbour(z), z)  # empty support set: own neighbour


def test_loss_by_hand_and_support_set_update() -> None:
    method = _build(temperature=0.1)
    mc.train_steps(
        method, mc.random_batch, steps=1
    )  # the support set holds the 8 first-view projections of step 1
    support = method.queue.negatives().clone()
    batch = mc.random_batch(3)
    loss = method(batch, progress=0.5).loss
    z_a, z_b = (method.projector(method.encoder(v)) for v in batch.views)
    p_a, p_b = method.predictor(z_a), method.predictor(z_b)

    def neighbour(z: torch.Tensor) -> torch.Tensor:
        return support[(F.normalize(z, dim=1) @ F.normalize(support, dim=1).T).argmax(dim=1)]

    nn_a, nn_b = neighbour(z_a.detach()), neighbour(z_b.detach())
    terms = [_ce(nn_a, p_b, 0.1), _ce(p_b, nn_a, 0.1), _ce(nn_b, p_a, 0.1), _ce(p_a, nn_b, 0.1)]
    torch.testing.assert_close(loss, sum(terms) / 4)
    torch.testing.assert_close(method.queue.features[8:], z_a[:4].detach())  # FIFO, wrapped
    torch.testing.assert_close(method.queue.features[:4], z_a[4:].detach())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"queue_size": 0}, "queue_size"), ({"temperature": 0.0}, "temperature"),
     ({"proj_dim": 0}, "proj_dim"), ({"pred_hidden_dim": 0}, "pred_hidden_dim")],
)  # fmt: skip
def test_rejects_bad_hyperparameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_rejects_one_view_and_bad_progress() -> None:
    mc.assert_rejects_bad_steps(_build(), mc.random_batch(0), bad_progress=-1.0)
