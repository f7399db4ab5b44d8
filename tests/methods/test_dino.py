"""DINO method: training steps, teacher and center state, schedules, multi-crop, the loss."""

import io

import pytest
import torch
from torch import nn

from contrastkit.encoders.base import Encoder
from contrastkit.losses import dino_loss
from contrastkit.methods.dino import DINO, teacher_temperature_schedule
from contrastkit.transforms.batch import ViewBatch

SMALL = {"out_dim": 32, "hidden_dim": 32, "bottleneck_dim": 8}


def _method(seed: int = 0, **kwargs: object) -> DINO:
    torch.manual_seed(seed)
    pool = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 16))
    return DINO(Encoder(pool, feature_dim=16), **{**SMALL, **kwargs})  # type: ignore[arg-type]


def _batch(local_views: int = 0, seed: int = 1) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    views = [torch.randn(8, 3, 8, 8, generator=gen) for _ in range(2)]
    views += [torch.randn(8, 3, 4, 4, generator=gen) for _ in range(local_views)]
    return ViewBatch(views)


def _train(method: DINO, steps: int = 2, local_views: int = 0) -> list[float]:
    optimizer = torch.optim.SGD(method.parameters(), lr=0.1)
    losses = []
    for step in range(steps):
        output = method(_batch(local_views, seed=step), progress=step / 10)
        optimizer.zero_grad()
        output.loss.backward()
        optimizer.step()
        losses.append(float(output.loss.detach()))
    return losses


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    assert all(torch.isfinite(torch.tensor(_train(method))))
    output = method(_batch(), progress=0.5)
    assert output.embeddings[0].shape == output.embeddings[1].shape == (8, 8)
    assert set(output.logs) == {"momentum", "teacher_temperature"}
    assert method.encode(torch.randn(5, 3, 8, 8)).shape == (5, 16)


def test_state_round_trip_keeps_teacher_and_center() -> None:
    method = _method()
    _train(method, local_views=2)
    state = method.state_dict()
    assert "center.value" in state and any(k.startswith("teacher_head.") for k in state)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    restored = _method(seed=7)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    torch.manual_seed(3)
    expected = method(_batch(local_views=2), progress=0.3).loss
    torch.manual_seed(3)
    assert torch.equal(restored(_batch(local_views=2), progress=0.3).loss, expected)
    assert torch.equal(restored.center.value, method.center.value)


def test_first_step_loss_equals_dino_loss_by_hand() -> None:
    method = _method(student_temperature=0.2)
    batch = _batch(local_views=2)
    globals_, locals_ = torch.cat(batch.views[:2]), torch.cat(batch.views[2:])
    student = method.head(torch.cat([method.encoder(globals_), method.encoder(locals_)]))
    teacher = method.teacher_head(method.teacher_encoder(globals_))
    expected = dino_loss(
        student.reshape(4, 8, -1).transpose(0, 1),
        teacher.reshape(2, 8, -1).transpose(0, 1),
        center=torch.zeros(32),
        student_temperature=0.2,
        teacher_temperature=0.04,
    )
    torch.testing.assert_close(method(batch, progress=0.0).loss, expected)


def test_teacher_gets_no_gradient_and_follows_the_student() -> None:
    method = _method()
    _train(method, steps=1)
    teacher = dict(method.teacher_encoder.named_parameters())
    before = {name: p.detach().clone() for name, p in teacher.items()}
    output = method(_batch(), progress=0.5)
    output.loss.backward()
    for param in [*method.teacher_encoder.parameters(), *method.teacher_head.parameters()]:
        assert not param.requires_grad and param.grad is None
    momentum = output.logs["momentum"]
    assert 0.996 < momentum < 1.0
    for name, student in method.encoder.named_parameters():
        torch.testing.assert_close(
            teacher[name], momentum * before[name] + (1 - momentum) * student.detach()
        )


def test_center_moves_towards_the_teacher_outputs() -> None:
    method = _method(center_momentum=0.9)
    batch = _batch(local_views=2)
    with torch.no_grad():
        teacher = method.teacher_head(method.teacher_encoder(torch.cat(batch.views[:2])))
    assert torch.equal(method.center.value, torch.zeros(32))
    method(batch, progress=0.0)
    torch.testing.assert_close(method.center.value, 0.1 * teacher.mean(dim=0))


def test_teacher_temperature_schedule() -> None:
    method = _method(warmup_teacher_temperature=0.04, teacher_temperature=0.07)
    values = [method(_batch(), progress=p).logs["teacher_temperature"] for p in (0.0, 0.15, 1.0)]
    assert values == pytest.approx([0.04, 0.055, 0.07])
    assert teacher_temperature_schedule(0.3, warmup=0.3) == 0.07
    assert teacher_temperature_schedule(0.0, warmup=0.0, final_value=0.05) == 0.05


def test_multi_crop_two_global_and_four_local_views() -> None:
    method = _method()
    losses = _train(method, local_views=4)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert method.head.mlp[0].weight.grad is not None


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"student_temperature": 0.0}, "student_temperature"),
        ({"teacher_temperature": -1.0}, "teacher_temperature"),
        ({"out_dim": 0}, "out_dim"),
        ({"base_momentum": 1.5}, "base_momentum"),
        ({"teacher_temperature_warmup": -0.1}, "teacher_temperature_warmup"),
    ],
)
def test_invalid_hyperparameters_are_named(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        _method(**kwargs)


def test_bad_batch_or_progress_raises() -> None:
    method = _method()
    with pytest.raises(ValueError, match="progress"):
        method(_batch(), progress=-0.1)
    with pytest.raises(ValueError, match="2 views"):
        method(ViewBatch([torch.randn(8, 3, 8, 8)]), progress=0.0)
