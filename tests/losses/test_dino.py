"""Tests for dino_loss / DINOLoss against the spec, with a loop reference."""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import log_softmax, randn

from contrastkit.losses import DINOLoss, dino_loss


def _softmax(row: list[float], t: float) -> list[float]:
    x = [v / t for v in row]
    m = max(x)
    e = [math.exp(v - m) for v in x]
    return [v / sum(e) for v in e]


def reference_dino(student, teacher, center, ts: float = 0.1, tt: float = 0.04) -> float:
    """Mean over view pairs (v < Vt, w < Vs, w != v) of the batch-mean cross-entropy."""
    S, T, C = student.tolist(), teacher.tolist(), center.tolist()
    B, Vs, K = len(S), len(S[0]), len(S[0][0])
    Vt = len(T[0])
    total, pairs = 0.0, 0
    for v in range(Vt):
        for w in range(Vs):
            if w == v:
                continue
            pair = 0.0
            for b in range(B):
                tp = _softmax([T[b][v][k] - C[k] for k in range(K)], tt)
                ls = log_softmax(S[b][w], ts)
                pair += -sum(tp[k] * ls[k] for k in range(K))
            total += pair / B
            pairs += 1
    assert pairs == Vt * Vs - Vt
    return total / pairs


def _inputs(B, Vs, Vt, K, seed):
    return randn(B, Vs, K, seed=seed), randn(B, Vt, K, seed=seed + 1), 0.3 * randn(K, seed=7)


# ---------------------------------------------------------------- reference equality


@pytest.mark.parametrize(
    ("B", "Vs", "Vt", "K", "ts", "tt"),
    [
        (1, 2, 1, 3, 0.1, 0.04),
        (2, 2, 2, 4, 0.1, 0.04),
        (4, 4, 2, 5, 0.1, 0.07),
        (3, 6, 2, 8, 0.5, 0.2),
        (5, 3, 3, 16, 1.0, 1.0),
        (2, 5, 1, 7, 0.2, 0.05),
    ],
)
def test_matches_reference(B, Vs, Vt, K, ts, tt):
    student, teacher, center = _inputs(B, Vs, Vt, K, seed=B * Vs + K)
    ref = reference_dino(student, teacher, center, ts, tt)
    out = dino_loss(student, teacher, center=center, student_temperature=ts, teacher_temperature=tt)
    lc.close_scalar(out, ref)
    module = DINOLoss(student_temperature=ts)
    lc.close_scalar(module(student, teacher, center=center, teacher_temperature=tt), ref)


def test_defaults_and_module_match_function():
    student, teacher, center = _inputs(4, 3, 2, 6, seed=1)
    ref = reference_dino(student, teacher, center)
    lc.close_scalar(dino_loss(student, teacher, center=center), ref)
    lc.close_scalar(DINOLoss()(student, teacher, center=center), ref)


def test_constant_center_has_no_effect():
    student, teacher, _ = _inputs(3, 4, 2, 5, seed=2)
    zero = torch.zeros(5, dtype=torch.float64)
    a = dino_loss(student, teacher, center=zero)
    b = dino_loss(student, teacher, center=torch.full((5,), 3.5, dtype=torch.float64))
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_view_pairing_skips_same_crop():
    # Vs = Vt = 2: only pairs (v=0, w=1) and (v=1, w=0); make student view w equal the
    # teacher view of the other crop, with equal temperatures: the loss is then the mean entropy
    K, t = 4, 0.5
    t0 = randn(3, K, seed=3)
    t1 = randn(3, K, seed=4)
    teacher = torch.stack([t0, t1], 1)
    student = torch.stack([t1, t0], 1)
    zero = torch.zeros(K, dtype=torch.float64)
    out = dino_loss(student, teacher, center=zero, student_temperature=t, teacher_temperature=t)
    p = torch.softmax(teacher / t, -1)
    entropy = -(p * p.log()).sum(-1).mean()  # mean over b and the two views
    lc.close_scalar(out, entropy.item())


# ---------------------------------------------------------------- known values


def test_identical_logits_equal_temperatures_gives_entropy():
    # every view of sample b has logits [a, 0, 0]; the loss is H(softmax([a, 0, 0] / t))
    a, t = 2.0, 0.5
    logits = torch.tensor([a, 0.0, 0.0], dtype=torch.float64).expand(2, 3, 3).clone()
    p1 = math.exp(a / t) / (math.exp(a / t) + 2)
    p0 = 1.0 / (math.exp(a / t) + 2)
    entropy = -(p1 * math.log(p1) + 2 * p0 * math.log(p0))
    out = dino_loss(
        logits,
        logits[:, :2].clone(),
        center=torch.zeros(3, dtype=torch.float64),
        student_temperature=t,
        teacher_temperature=t,
    )
    lc.close_scalar(out, entropy)


def test_uniform_student_gives_log_k():
    K = 7
    student = torch.zeros(3, 4, K, dtype=torch.float64)
    teacher = randn(3, 2, K, seed=5)
    lc.close_scalar(
        dino_loss(student, teacher, center=torch.zeros(K, dtype=torch.float64)), math.log(K)
    )


def test_sharp_teacher_one_hot_targets():
    # a tiny teacher temperature makes tp one-hot at argmax; loss = -mean ls[argmax]
    K, ts = 3, 1.0
    teacher = torch.tensor([[[5.0, 0.0, 0.0]]], dtype=torch.float64)  # B=1, Vt=1
    student = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    out = dino_loss(
        student,
        teacher,
        center=torch.zeros(K, dtype=torch.float64),
        student_temperature=ts,
        teacher_temperature=0.01,
    )
    # only pair (v=0, w=1): -log softmax([1, 0, 0])[0]
    lc.close_scalar(out, math.log(math.e + 2) - 1.0)


# ---------------------------------------------------------------- descent


def test_descent():
    student = torch.nn.Parameter(randn(8, 4, 16, seed=6))
    teacher = randn(8, 2, 16, seed=7)
    center = torch.zeros(16, dtype=torch.float64)
    lc.assert_descends(lambda: dino_loss(student, teacher, center=center), [student])


# ---------------------------------------------------------------- gradients


def test_gradcheck_student():
    student, teacher, center = _inputs(3, 3, 2, 4, seed=8)

    def f(s):
        return dino_loss(
            s, teacher, center=center, student_temperature=0.5, teacher_temperature=0.2
        )

    lc.assert_gradcheck(f, student)


@pytest.mark.parametrize("module", [False, True])
def test_no_gradient_reaches_teacher(module):
    student, teacher, center = _inputs(3, 3, 2, 4, seed=9)
    student.requires_grad_()
    teacher.requires_grad_()
    if module:
        loss = DINOLoss()(student, teacher, center=center)
    else:
        loss = dino_loss(student, teacher, center=center)
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None or torch.count_nonzero(teacher.grad) == 0


# ---------------------------------------------------------------- bad input


def test_more_teacher_views_than_student_views():
    student, teacher, center = _inputs(2, 2, 3, 4, seed=0)
    with pytest.raises(ValueError, match=r"teacher_out|[Vv]iew"):
        dino_loss(student, teacher, center=center)
    with pytest.raises(ValueError, match=r"teacher_out|[Vv]iew"):
        DINOLoss()(student, teacher, center=center)


@pytest.mark.parametrize("bad_shape", [(5,), (3,), (2, 4), (2, 2, 4)])
def test_center_of_wrong_size(bad_shape):
    student, teacher, _ = _inputs(2, 3, 2, 4, seed=0)
    center = torch.zeros(bad_shape, dtype=torch.float64)
    with pytest.raises(ValueError, match="center"):
        dino_loss(student, teacher, center=center)
    with pytest.raises(ValueError, match="center"):
        DINOLoss()(student, teacher, center=center)


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    student = randn(4, 3, 6, seed=0)
    center = torch.zeros(6, dtype=torch.float64)

    def call(teacher):
        if module:
            return DINOLoss()(student, teacher, center=center)
        return dino_loss(student, teacher, center=center)

    lc.assert_raises_naming(lambda: call(randn(4, 2, 5, seed=1)), "teacher_out", (4, 2, 5))
    lc.assert_raises_naming(lambda: call(randn(3, 2, 6, seed=1)), "teacher_out", (3, 2, 6))


def test_wrong_ndim_and_dtype_name_argument():
    center = torch.zeros(6, dtype=torch.float64)
    lc.assert_raises_naming(
        lambda: dino_loss(randn(4, 6, seed=0), randn(4, 1, 6, seed=1), center=center),
        "student_out",
        (4, 6),
    )
    lc.assert_raises_naming(
        lambda: dino_loss(
            randn(4, 2, 6, seed=0), torch.ones(4, 1, 6, dtype=torch.long), center=center
        ),
        "teacher_out",
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["student_out", "teacher_out"])
def test_non_finite(bad, which):
    student, teacher, center = _inputs(2, 3, 2, 4, seed=0)
    (student if which == "student_out" else teacher)[1, 1, 2] = bad
    lc.assert_raises_naming(
        lambda: dino_loss(student, teacher, center=center), which, match="finite"
    )


@pytest.mark.parametrize("value", [0.0, -0.04])
def test_non_positive_temperatures(value):
    student, teacher, center = _inputs(2, 3, 2, 4, seed=0)
    with pytest.raises(ValueError, match="student_temperature"):
        dino_loss(student, teacher, center=center, student_temperature=value)
    with pytest.raises(ValueError, match="student_temperature"):
        DINOLoss(student_temperature=value)
    with pytest.raises(ValueError, match="teacher_temperature"):
        dino_loss(student, teacher, center=center, teacher_temperature=value)
    with pytest.raises(ValueError, match="teacher_temperature"):
        DINOLoss()(student, teacher, center=center, teacher_temperature=value)
