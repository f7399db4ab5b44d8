"""SwAV method: training steps, state round-trip, the loss by hand, multi-crop, prototypes."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import sinkhorn_knopp, swav
from contrastkit.methods.swav import SwAV
from contrastkit.types import ViewBatch

SMALL = {"proj_hidden_dim": 32, "proj_dim": 16, "num_prototypes": 10}


def _method(seed: int = 0, **kwargs: object) -> SwAV:
    torch.manual_seed(seed)
    return SwAV(mc.tiny_encoder(pooled=True), **{**SMALL, **kwargs})  # type: ignore[arg-type]


def _batch(local_views: int = 0, seed: int = 1) -> ViewBatch:
    return mc.random_batch(seed, local_views=local_views)


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    mc.assert_finite_training(method, mc.random_batch, total_steps=10)
    mc.assert_output_shapes(method, _batch(), progress=0.5, embedding_dim=16, encode_rows=5)


def test_state_round_trip_gives_identical_loss() -> None:
    method = _method()
    mc.train_steps(method, mc.random_batch, total_steps=10)
    batch = _batch(local_views=2)
    mc.assert_state_round_trip(method, lambda: _method(seed=7), batch, progress=0.3, seed=3)


def test_prototypes_are_unit_norm_after_forward() -> None:
    method = _method()
    assert not torch.allclose(method.prototypes.weight.norm(dim=1), torch.ones(10))
    method(_batch(), progress=0.0)
    torch.testing.assert_close(method.prototypes.weight.norm(dim=1), torch.ones(10))


def test_two_view_loss_equals_the_swav_loss_on_the_scores() -> None:
    method = _method(temperature=0.2, epsilon=0.1, sinkhorn_iters=4)
    batch = _batch()
    loss = method(batch, progress=0.0).loss
    z = F.normalize(method.projector(method.encoder(torch.cat(batch.views))), dim=1)
    scores_a, scores_b = (z @ method.prototypes.weight.T).chunk(2)
    expected = swav(scores_a, scores_b, temperature=0.2, epsilon=0.1, sinkhorn_iters=4)
    torch.testing.assert_close(loss, expected)


def test_multi_crop_loss_matches_the_papers_loop() -> None:
    method = _method()
    batch = _batch(local_views=4)
    loss = method(batch, progress=0.0).loss
    loss.backward()
    features = [
        method.encoder(torch.cat(batch.views[:2])),
        method.encoder(torch.cat(batch.views[2:])),
    ]
    z = F.normalize(method.projector(torch.cat(features)), dim=1)
    scores = (z @ method.prototypes.weight.T).chunk(6)
    expected = torch.zeros(())
    for g in range(2):  # SwAV main_swav.py: crops_for_assign = [0, 1]
        q = sinkhorn_knopp(scores[g].detach(), iters=3, epsilon=0.05)
        subloss = torch.zeros(())
        for v in [v for v in range(6) if v != g]:
            subloss -= (q * torch.log_softmax(scores[v] / 0.1, dim=1)).sum(dim=1).mean()
        expected += subloss / 5
    torch.testing.assert_close(loss, expected / 2)


def test_frozen_prototypes_get_no_gradient() -> None:
    method = _method(freeze_prototypes_until=0.1)
    output = method(_batch(local_views=2), progress=0.05)
    assert output.logs["prototypes_frozen"] == 1.0
    output.loss.backward()
    assert method.prototypes.weight.grad is None
    assert method.projector.layers[0].weight.grad is not None
    output = method(_batch(), progress=0.1)
    output.loss.backward()
    assert method.prototypes.weight.grad is not None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"num_prototypes": 0}, "num_prototypes"),
        ({"global_views": 0}, "global_views"),
        ({"freeze_prototypes_until": 1.5}, "freeze_prototypes_until"),
    ],
)
def test_invalid_hyperparameters_are_named(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        _method(**kwargs)


def test_bad_batch_or_progress_raises() -> None:
    with pytest.raises(ValueError, match=r"global_views=3\) needs a batch of at least 3 views"):
        _method(global_views=3)(_batch(), progress=0.0)
    mc.assert_rejects_bad_steps(_method(), _batch(), bad_progress=1.5)
