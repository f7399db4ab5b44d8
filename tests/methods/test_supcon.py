"""SupCon method: training steps, state round-trip, labels as positives, errors."""

import method_checks as mc
import pytest
import torch
import torch.nn.functional as F

from contrastkit.losses import nt_xent, supcon
from contrastkit.methods.supcon import SupCon
from contrastkit.types import ViewBatch

LABELS = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])


def _method(seed: int = 0, **kwargs: float) -> SupCon:
    torch.manual_seed(seed)
    return SupCon(mc.tiny_encoder(pooled=True), proj_hidden_dim=32, proj_dim=16, **kwargs)


def _batch(seed: int = 1, labels: torch.Tensor | None = LABELS, views: int = 2) -> ViewBatch:
    return mc.random_batch(seed, views=views, labels=labels)


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    mc.assert_finite_training(method, _batch, total_steps=10)
    mc.assert_output_shapes(method, _batch(), progress=1.0, embedding_dim=16, encode_rows=5)


def test_state_round_trip_gives_identical_loss() -> None:
    method = _method()
    mc.train_steps(method, _batch, total_steps=10)
    mc.assert_state_round_trip(method, lambda: _method(seed=7), _batch(), progress=0.3, seed=3)


def test_same_label_views_are_positives() -> None:
    method = _method(temperature=0.2)
    batch = _batch(views=3)
    loss = method(batch, progress=0.0).loss
    z = [method.projector(method.encoder(view)) for view in batch.views]
    torch.testing.assert_close(loss, supcon(torch.stack(z, dim=1), LABELS, temperature=0.2))
    distinct = method(_batch(labels=torch.arange(8)), progress=0.0).loss
    assert not torch.allclose(distinct, method(_batch(), progress=0.0).loss)
    z_a, z_b = (F.normalize(method.projector(method.encoder(v)), dim=1) for v in _batch().views)
    torch.testing.assert_close(distinct, nt_xent(z_a, z_b, temperature=0.2))


def test_errors() -> None:
    with pytest.raises(ValueError, match="temperature"):
        _method(temperature=0.0)
    method = _method()
    with pytest.raises(ValueError, match="labelled dataset"):
        method(_batch(labels=None), progress=0.0)
    mc.assert_rejects_bad_steps(method, _batch(), bad_progress=2.0)
