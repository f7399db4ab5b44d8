"""DINO method: training steps, teacher and center state, schedules, multi-crop, the loss."""

import method_checks as mc
import pytest
import torch

from contrastkit.losses import dino_loss
from contrastkit.methods.dino import DINO, teacher_temperature_schedule
from contrastkit.types import ViewBatch

SMALL = {"out_dim": 32, "hidden_dim": 32, "bottleneck_dim": 8}


def _method(seed: int = 0, **kwargs: object) -> DINO:
    torch.manual_seed(seed)
    return DINO(mc.tiny_encoder(pooled=True), **{**SMALL, **kwargs})  # type: ignore[arg-type]


def _batch(local_views: int = 0, seed: int = 1) -> ViewBatch:
    return mc.random_batch(seed, local_views=local_views)


def _train(method: DINO, steps: int = 2, local_views: int = 0) -> list[float]:
    return mc.train_steps(
        method,
        lambda step: mc.random_batch(step, local_views=local_views),
        steps=steps,
        total_steps=10,
    )


def test_two_training_steps_give_finite_loss_and_outputs() -> None:
    method = _method()
    mc.assert_finite_training(method, mc.random_batch, total_steps=10)
    mc.assert_output_shapes(method, _batch(), progress=0.5, embedding_dim=8, encode_rows=5)
    assert set(method(_batch(), progress=0.5).logs) == {"momentum", "teacher_temperature"}


def test_state_round_trip_keeps_teacher_and_center() -> None:
    method = _method()
    _train(method, local_views=2)
    state = method.state_dict()
    assert "center.value" in state and any(k.startswith("teacher_head.") for k in state)
    batch = _batch(local_views=2)
    restored = mc.assert_state_round_trip(
        method, lambda: _method(seed=7), batch, progress=0.3, seed=3
    )
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
    mc.assert_finite_training(
        method, lambda step: mc.random_batch(step, local_views=4), total_steps=10
    )
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
    with pytest.raises(ValueError, match=r"global_views=3\) needs a batch of at least 3 views"):
        _method(global_views=3)(_batch(), progress=0.0)
    mc.assert_rejects_bad_steps(_method(), _batch(), bad_progress=-0.1)
