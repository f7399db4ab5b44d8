"""clip_loss / CLIPLoss versus an independent loop reference (spec: /tmp/loss_spec.md)."""

import math
import re

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import CLIPLoss, clip_loss

RTOL, ATOL = 1e-5, 1e-7


def _randn(*shape: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _unit_rows(x: torch.Tensor) -> list[list[float]]:
    rows = []
    for row in x.tolist():
        norm = math.sqrt(sum(v * v for v in row))
        rows.append([v / norm for v in row])
    return rows


def _dot(u: list[float], v: list[float]) -> float:
    return sum(a * b for a, b in zip(u, v, strict=True))


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
    images, texts = _unit_rows(image_emb), _unit_rows(text_emb)
    batch = len(images)
    logits = [[logit_scale * _dot(images[i], texts[j]) for j in range(batch)] for i in range(batch)]
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


def _name_and(name: str, word: str) -> str:
    return rf"(?s)({name}.*{word}|{word}.*{name})"


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("logit_scale", [1.0, 14.3, 100.0])
def test_matches_reference(batch: int, dim: int, logit_scale: float) -> None:
    images = _randn(batch, dim, seed=batch * 100 + dim)
    texts = _randn(batch, dim, seed=batch * 100 + dim + 1)
    out = clip_loss(images, texts, logit_scale=logit_scale)
    assert out.dim() == 0
    assert_close(out, reference_clip(images, texts, logit_scale), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
def test_matches_reference_with_labels(batch: int, dim: int) -> None:
    images = _randn(batch, dim, seed=batch + dim)
    texts = _randn(batch, dim, seed=batch + dim + 1)
    gen = torch.Generator().manual_seed(batch * dim)
    labels = torch.randint(0, max(1, batch // 2), (batch,), generator=gen)
    out = clip_loss(images, texts, logit_scale=10.0, labels=labels)
    assert_close(out, reference_clip(images, texts, 10.0, labels), rtol=RTOL, atol=ATOL)


def test_asymmetric_label_groups() -> None:
    # groups of sizes 3, 1, 2: rows of P have different normalizers
    images, texts = _randn(6, 4, seed=1), _randn(6, 4, seed=2)
    labels = torch.tensor([0, 0, 5, 0, 2, 2])
    out = clip_loss(images, texts, logit_scale=3.0, labels=labels)
    assert_close(out, reference_clip(images, texts, 3.0, labels), rtol=RTOL, atol=ATOL)


def test_tensor_logit_scale_equals_float() -> None:
    images, texts = _randn(5, 4, seed=3), _randn(5, 4, seed=4)
    scale = torch.tensor(7.5, dtype=torch.float64)
    assert_close(
        clip_loss(images, texts, logit_scale=scale),
        clip_loss(images, texts, logit_scale=7.5),
        rtol=RTOL,
        atol=ATOL,
    )


def test_distinct_labels_equal_no_labels() -> None:
    images, texts = _randn(6, 5, seed=5), _randn(6, 5, seed=6)
    labels = torch.tensor([4, 1, 9, 0, 2, 7])
    assert_close(
        clip_loss(images, texts, logit_scale=20.0, labels=labels),
        clip_loss(images, texts, logit_scale=20.0),
        rtol=RTOL,
        atol=ATOL,
    )


def test_module_matches_function() -> None:
    images, texts = _randn(5, 6, seed=7), _randn(5, 6, seed=8)
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
    images, texts = _randn(5, 4, seed=9), _randn(5, 4, seed=10)
    assert_close(
        clip_loss(6.0 * images, 0.01 * texts, logit_scale=5.0),
        clip_loss(images, texts, logit_scale=5.0),
        rtol=RTOL,
        atol=ATOL,
    )


# --------------------------------------------------------------------------- optimisation / grads


def test_descent() -> None:
    images = nn.Parameter(_randn(8, 4, seed=11))
    texts = nn.Parameter(_randn(8, 4, seed=12))
    log_scale = nn.Parameter(torch.tensor(math.log(5.0), dtype=torch.float64))
    optimizer = torch.optim.Adam([images, texts, log_scale], lr=0.05)

    def loss() -> torch.Tensor:
        return clip_loss(images, texts, logit_scale=log_scale.exp())

    with torch.no_grad():
        start = loss().item()
    for _ in range(20):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    with torch.no_grad():
        end = loss().item()
    assert end < start


def test_gradient_reaches_logit_scale() -> None:
    images, texts = _randn(4, 3, seed=13), _randn(4, 3, seed=14)
    scale = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    clip_loss(images, texts, logit_scale=scale).backward()
    assert scale.grad is not None
    assert torch.isfinite(scale.grad)
    assert scale.grad.abs() > 0


def test_gradcheck() -> None:
    images = _randn(3, 4, seed=15).requires_grad_()
    texts = _randn(3, 4, seed=16).requires_grad_()
    scale = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda i, t, s: clip_loss(i, t, logit_scale=s), (images, texts, scale)
    )


def test_gradcheck_with_labels() -> None:
    images = _randn(3, 4, seed=17).requires_grad_()
    texts = _randn(3, 4, seed=18).requires_grad_()
    scale = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([1, 0, 1])
    assert torch.autograd.gradcheck(
        lambda i, t, s: clip_loss(i, t, logit_scale=s, labels=labels), (images, texts, scale)
    )


# --------------------------------------------------------------------------- bad input


def test_mismatched_batch() -> None:
    with pytest.raises(ValueError, match="text_emb") as excinfo:
        clip_loss(_randn(4, 3, seed=0), _randn(5, 3, seed=1), logit_scale=1.0)
    assert re.search(r"5,\s*3", str(excinfo.value))


def test_mismatched_dim() -> None:
    with pytest.raises(ValueError, match="text_emb") as excinfo:
        clip_loss(_randn(4, 3, seed=0), _randn(4, 7, seed=1), logit_scale=1.0)
    assert re.search(r"4,\s*7", str(excinfo.value))


def test_wrong_ndim_and_dtype() -> None:
    with pytest.raises(ValueError, match="image_emb"):
        clip_loss(_randn(4, seed=0), _randn(4, 3, seed=1), logit_scale=1.0)
    with pytest.raises(ValueError, match="text_emb"):
        clip_loss(_randn(4, 3, seed=0), torch.ones(4, 3, dtype=torch.long), logit_scale=1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(bad: float) -> None:
    images, texts = _randn(4, 3, seed=0), _randn(4, 3, seed=1)
    images_bad = images.clone()
    images_bad[1, 1] = bad
    with pytest.raises(ValueError, match=_name_and("image_emb", "finite")):
        clip_loss(images_bad, texts, logit_scale=1.0)
    texts_bad = texts.clone()
    texts_bad[3, 2] = bad
    with pytest.raises(ValueError, match=_name_and("text_emb", "finite")):
        clip_loss(images, texts_bad, logit_scale=1.0)


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_bad_logit_scale(scale: float) -> None:
    images, texts = _randn(4, 3, seed=0), _randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(images, texts, logit_scale=scale)
    with pytest.raises(ValueError, match="logit_scale"):
        clip_loss(images, texts, logit_scale=torch.tensor(scale, dtype=torch.float64))
    with pytest.raises(ValueError, match="logit_scale"):
        CLIPLoss()(images, texts, scale)


def test_labels_wrong_length_or_ndim() -> None:
    images, texts = _randn(4, 3, seed=0), _randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="labels"):
        clip_loss(images, texts, logit_scale=1.0, labels=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        clip_loss(images, texts, logit_scale=1.0, labels=torch.tensor([[0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="labels"):
        CLIPLoss()(images, texts, 1.0, torch.tensor([0, 1, 2, 3, 4]))


def test_batch_of_one() -> None:
    with pytest.raises(ValueError, match="batch"):
        clip_loss(_randn(1, 3, seed=0), _randn(1, 3, seed=1), logit_scale=1.0)
    with pytest.raises(ValueError, match="batch"):
        CLIPLoss()(_randn(1, 3, seed=0), _randn(1, 3, seed=1), 1.0)
