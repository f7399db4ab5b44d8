"""clip_loss / CLIPLoss versus an independent loop reference.

Spec: the loss's docstring and README table.
"""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import ATOL, RTOL, dot, name_and, randn, unit_rows
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import CLIPLoss, clip_loss


def _soft_cross_entropy(logits: list[list[float]], targets: list[list[float]]) -> float:
    """mean_i -sum_j P_ij log_softmax(logits_i)_j"""
    total = 0.0
    for row, target in zip(logits, targets, strict=True):
        log_sum_exp = math.log(sum(math.exp(v) for v in row))
        total += -sum(p * (v - log_sum_exp) for p, v in zip(target, row, strict=True))
    return total / len(logits)


def reference_clip(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    logit_scale: float,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    images, texts = unit_rows(image_emb), unit_rows(text_emb)
    batch = len(images)
    logits = [[logit_scale * dot(images[i], texts[j]) for j in range(batch)] for i in range(batch)]
    logits_t = [[logits[j][i] for j in range(batch)] for i in range(batch)]
    if labels is None:
        targets = [[1.0 if i == j else 0.0 for j in range(batch)] for i in range(batch)]
    else:
        lab = [int(v) for v in labels]
        targets = []
        for i in range(batch):
            same = [1.0 if lab[i] == lab[j] else 0.0 for j in range(batch)]
            targets.append([v / sum(same) for v in same])
    i2t = _soft_cross_entropy(logits, targets)
    t2i = _soft_cross_entropy(logits_t, targets)
    return torch.tensor((i2t + t2i) / 2, dtype=torch.float64)


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("logit_scale", [1.0, 14.3, 100.0])
def test_matches_reference(batch: int, dim: int, logit_scale: float) -> None:
    images = randn(batch, dim, seed=batch * 100 + dim)
    texts = randn(batch, dim, seed=batch * 100 + dim + 1)
    out = clip_loss(images, texts, logit_scale=logit_scale)
    assert out.dim() == 0
    assert_close(out, reference_clip(images, texts, logit_scale), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
def test_matches_reference_with_labels(batch: int, dim: int) -> None:
    images = randn(batch, dim, seed=batch + dim)
    texts = randn(batch, dim, seed=batch + dim + 1)
    gen = torch.Generator().manual_seed(batch * dim)
    labels = torch.randint(0, max(1, batch // 2), (batch,), generator=gen)
    out = clip_loss(images, texts, logit_scale=10.0, labels=labels)
    assert_close(out, reference_clip(images, texts, 10.0, labels), rtol=RTOL, atol=ATOL)


def test_asymmetric_label_groups() -> None:
    # groups of sizes 3, 1, 2: rows of P have different normalizers
    images, texts = randn(6, 4, seed=1), randn(6, 4, seed=2)
    labels = torch.tensor([0, 0, 5, 0, 2, 2])
    out = clip_loss(images, texts, logit_scale=3.0, labels=labels)
    assert_close(out, reference_clip(images, texts, 3.0, labels), rtol=RTOL, atol=ATOL)


def test_tensor_logit_scale_equals_float() -> None:
    images, texts = randn(5, 4, seed=3), randn(5, 4, seed=4)
    scale = torch.tensor(7.5, dtype=torch.float64)
    assert_close(
        clip_loss(images, texts, logit_scale=scale),
        clip_loss(images, texts, logit_scale=7.5),
        rtol=RTOL,
        atol=ATOL,
    )


def test_distinct_labels_equal_no_labels() -> None:
    images, texts = randn(6, 5, seed=5), randn(6, 5, seed=6)
    labels = torch.tensor([4, 1, 9, 0, 2, 7])
    assert_close(
        clip_loss(images, texts, logit_scale=20.0, labels=labels),
        clip_loss(images, texts, logit_scale=20.0),
        rtol=RTOL,
        atol=ATOL,
    )


def test_module_matches_function() -> None:
    images, texts = randn(5, 6, seed=7), randn(5, 6, seed=8)
    labels = torch.tensor([0, 1, 0, 2, 1])
    scale = torch.tensor(12.0, dtype=torch.float64)
    module = CLIPLoss()
    assert_close(
        module(images, texts, scale),
        clip_loss(images, texts, logit_scale=scale),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(
        module(images, texts, 12.0, labels),
        clip_loss(images, texts, logit_scale=12.0, labels=labels),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(
        module(images, texts, 12.0, labels=labels),
        clip_loss(images, texts, logit_scale=12.0, labels=labels),
        rtol=RTOL,
        atol=ATOL,
    )


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("logit_scale", [1.0, 10.0])
def test_known_value_one_hot(logit_scale: float) -> None:
    # I = T = I_3: logits = s * I, each row/column CE = log(1 + 2 e^{-s}).
    eye = torch.eye(3, dtype=torch.float64)
    expected = math.log(1.0 + 2.0 * math.exp(-logit_scale))
    out = clip_loss(eye, eye.clone(), logit_scale=logit_scale)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("logit_scale", [1.0, 10.0])
def test_known_value_shared_label(logit_scale: float) -> None:
    # I = T = I_2, both share a label: P = [[1/2, 1/2], [1/2, 1/2]], logits rows (s, 0):
    # -(1/2)(s - lse) - (1/2)(0 - lse) = log(e^s + 1) - s/2 for every row and column.
    eye = torch.eye(2, dtype=torch.float64)
    expected = math.log(math.exp(logit_scale) + 1.0) - logit_scale / 2.0
    out = clip_loss(eye, eye.clone(), logit_scale=logit_scale, labels=torch.tensor([3, 3]))
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_known_value_asymmetric_directions() -> None:
    # images = [e1, e2], texts = [e1, e1]: logits = s * [[1, 1], [0, 0]].
    # i2t rows: (s, s) target 0 -> log 2 ; (0, 0) target 1 -> log 2.
    # t2i rows (columns of logits): (s, 0) target 0 -> log(1 + e^{-s});
    #                               (s, 0) target 1 -> log(1 + e^{s}).
    s = 2.0
    e1, e2 = torch.eye(2, dtype=torch.float64)
    images = torch.stack([e1, e2])
    texts = torch.stack([e1, e1])
    i2t = math.log(2.0)
    t2i = (math.log(1.0 + math.exp(-s)) + math.log(1.0 + math.exp(s))) / 2
    out = clip_loss(images, texts, logit_scale=s)
    assert_close(out, torch.tensor((i2t + t2i) / 2, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_scale_invariance() -> None:
    images, texts = randn(5, 4, seed=9), randn(5, 4, seed=10)
    assert_close(
        clip_loss(6.0 * images, 0.01 * texts, logit_scale=5.0),
        clip_loss(images, texts, logit_scale=5.0),
        rtol=RTOL,
        atol=ATOL,
    )


# --------------------------------------------------------------------------- optimisation / grads


def test_descent() -> None:
    images = nn.Parameter(randn(8, 4, seed=11))
    texts = nn.Parameter(randn(8, 4, seed=12))
    log_scale = nn.Parameter(torch.tensor(math.log(5.0), dtype=torch.float64))
    lc.assert_descends(
        lambda: clip_loss(images, texts, logit_scale=log_scale.exp()), [images, texts, log_scale]
    )


def test_gradient_reaches_logit_scale() -> None:
    images, texts = randn(4, 3, seed=13), randn(4, 3, seed=14)
    scale = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    clip_loss(images, texts, logit_scale=scale).backward()
    assert scale.grad is not None
    assert torch.isfinite(scale.grad)
    assert scale.grad.abs() > 0


def test_gradcheck() -> None:
    images, texts = randn(3, 4, seed=15), randn(3, 4, seed=16)
    scale = torch.tensor(2.5, dtype=torch.float64)
    lc.assert_gradcheck(lambda i, t, s: clip_loss(i, t, logit_scale=s), images, texts, scale)


def test_gradcheck_with_labels() -> None:
    images, texts = randn(3, 4, seed=17), randn(3, 4, seed=18)
    scale = torch.tensor(4.0, dtype=torch.float64)
    labels = torch.tensor([1, 0, 1])
    lc.assert_gradcheck(
        lambda i, t, s: clip_loss(i, t, logit_scale=s, labels=labels), images, texts, scale
    )


# --------------------------------------------------------------------------- bad input


def test_mismatched_batch() -> None:
    images, texts = randn(4, 3, seed=0), randn(5, 3, seed=1)
    lc.assert_shape_error(lambda: clip_loss(images, texts, logit_scale=1.0), "text_emb", (5, 3))


def test_mismatched_dim() -> None:
    images, texts = randn(4, 3, seed=0), randn(4, 7, seed=1)
    lc.assert_shape_error(lambda: clip_loss(images, texts, logit_scale=1.0), "text_emb", (4, 7))


def test_wrong_ndim_and_dtype() -> None:
    with pytest.raises(ValueError, match="image_emb"):
        clip_loss(randn(4, seed=0), randn(4, 3, seed=1), logit_scale=1.0)
    with pytest.raises(ValueError, match="text_emb"):
        clip_loss(randn(4, 3, seed=0), torch.ones(4, 3, dtype=torch.long), logit_scale=1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(bad: float) -> None:
    images, texts = randn(4, 3, seed=0), randn(4, 3, seed=1)
    images_bad = images.clone()
    images_bad[1, 1] = bad
    with pytest.raises(ValueError, match=name_and("image_emb", "finite")):
        clip_loss(images_bad, texts, logit_scale=1.0)
    texts_bad = texts.clone()
    texts_bad[3, 2] = bad
    with pytest.raises(ValueError, match=name_and("text_emb", "finite")):
        clip_loss(images, texts_bad, logit_scale=1.0)


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_bad_logit_scale(scale: float) -> None:
    images, texts = randn(4, 3, seed=0), randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(images, texts, logit_scale=scale)
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(images, texts, logit_scale=torch.tensor(scale, dtype=torch.float64))
    with pytest.raises(ValueError, match="logit_scale"):
        CLIPLoss()(images, texts, scale)


def test_labels_wrong_length_or_ndim() -> None:
    images, texts = randn(4, 3, seed=0), randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="labels"):
        clip_loss(images, texts, logit_scale=1.0, labels=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        clip_loss(images, texts, logit_scale=1.0, labels=torch.tensor([[0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="labels"):
        CLIPLoss()(images, texts, 1.0, torch.tensor([0, 1, 2, 3, 4]))


def test_batch_of_one() -> None:
    with pytest.raises(ValueError, match="batch"):
        clip_loss(randn(1, 3, seed=0), randn(1, 3, seed=1), logit_scale=1.0)
    with pytest.raises(ValueError, match="batch"):
        CLIPLoss()(randn(1, 3, seed=0), randn(1, 3, seed=1), 1.0)
