"""Tests for siglip_loss / SigLIPLoss against the spec, with an independent loop reference."""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import randn

from contrastkit.losses import SigLIPLoss, siglip_loss


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def reference_siglip(image, text, scale: float, bias: float) -> float:
    """-sum_ij log sigmoid(z_ij * (scale * cos(I_i, T_j) + bias)) / B, as plain loops."""
    img, txt = image.tolist(), text.tolist()
    B, D = len(img), len(img[0])

    def norm(v):
        return math.sqrt(sum(v[d] * v[d] for d in range(D)))

    total = 0.0
    for i in range(B):
        for j in range(B):
            dot = sum(img[i][d] * txt[j][d] for d in range(D))
            logit = scale * dot / (norm(img[i]) * norm(txt[j])) + bias
            z = 1.0 if i == j else -1.0
            total += _softplus(-z * logit)  # -log sigmoid(x) == softplus(-x)
    return total / B


# ---------------------------------------------------------------- reference equality


@pytest.mark.parametrize(
    ("B", "D", "scale", "bias"),
    [(2, 3, 10.0, -10.0), (5, 4, 1.0, 0.0), (8, 16, 3.7, 2.5), (13, 7, 0.5, -1.2)],
)
def test_matches_reference(B, D, scale, bias):
    image, text = randn(B, D, seed=B), randn(B, D, seed=100 + B)
    ref = reference_siglip(image, text, scale, bias)
    lc.close_scalar(siglip_loss(image, text, logit_scale=scale, logit_bias=bias), ref)
    # 0-d tensor hyper-parameters give the same value
    out_t = siglip_loss(
        image,
        text,
        logit_scale=torch.tensor(scale, dtype=torch.float64),
        logit_bias=torch.tensor(bias, dtype=torch.float64),
    )
    lc.close_scalar(out_t, ref)


@pytest.mark.parametrize(("B", "D"), [(3, 5), (6, 2)])
def test_module_matches_function(B, D):
    image, text = randn(B, D, seed=1), randn(B, D, seed=2)
    scale = torch.tensor(4.0, dtype=torch.float64)
    bias = torch.tensor(-3.0, dtype=torch.float64)
    f = siglip_loss(image, text, logit_scale=scale, logit_bias=bias)
    m = SigLIPLoss()(image, text, logit_scale=scale, logit_bias=bias)
    torch.testing.assert_close(m, f, rtol=1e-12, atol=0.0)
    lc.close_scalar(m, reference_siglip(image, text, 4.0, -3.0))


def test_scale_invariance_of_embeddings():
    image, text = randn(4, 6, seed=3), randn(4, 6, seed=4)
    a = siglip_loss(image, text, logit_scale=5.0, logit_bias=-1.0)
    b = siglip_loss(7.0 * image, 0.01 * text, logit_scale=5.0, logit_bias=-1.0)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=0.0)


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize(("B", "D", "s", "b"), [(4, 4, 10.0, -10.0), (3, 5, 2.0, 0.5)])
def test_orthogonal_one_hot_closed_form(B, D, s, b):
    # diagonal cos = 1, off-diagonal cos = 0:
    # loss = (B * softplus(-(s + b)) + B (B - 1) * softplus(b)) / B
    image = torch.eye(B, D, dtype=torch.float64)
    text = 3.0 * torch.eye(B, D, dtype=torch.float64)
    expected = math.log1p(math.exp(-(s + b))) + (B - 1) * math.log1p(math.exp(b))
    lc.close_scalar(siglip_loss(image, text, logit_scale=s, logit_bias=b), expected)
    # opposite text: diagonal cos = -1 -> positive-pair term becomes softplus(s - b)
    expected_opp = math.log1p(math.exp(s - b)) + (B - 1) * math.log1p(math.exp(b))
    lc.close_scalar(siglip_loss(image, -text, logit_scale=s, logit_bias=b), expected_opp)


def test_identical_embeddings_zero_bias():
    # all cos = 1 and bias 0: every logit is s; diag softplus(-s), off-diag softplus(s)
    B, s = 5, 2.0
    image = torch.ones(B, 3, dtype=torch.float64)
    expected = math.log1p(math.exp(-s)) + (B - 1) * math.log1p(math.exp(s))
    lc.close_scalar(siglip_loss(image, image.clone(), logit_scale=s, logit_bias=0.0), expected)


# ---------------------------------------------------------------- descent


def test_descent():
    image = torch.nn.Parameter(randn(8, 16, seed=5))
    text = torch.nn.Parameter(randn(8, 16, seed=6))
    log_scale = torch.nn.Parameter(torch.tensor(math.log(10.0), dtype=torch.float64))
    bias = torch.nn.Parameter(torch.tensor(-5.0, dtype=torch.float64))

    def loss_fn():
        return siglip_loss(image, text, logit_scale=log_scale.exp(), logit_bias=bias)

    lc.assert_descends(loss_fn, [image, text, log_scale, bias])


# ---------------------------------------------------------------- gradients


def test_gradcheck_all_inputs():
    image, text = randn(3, 4, seed=7), randn(3, 4, seed=8)
    scale = torch.tensor(2.5, dtype=torch.float64)
    bias = torch.tensor(-0.7, dtype=torch.float64)

    def f(i, t, s, b):
        return siglip_loss(i, t, logit_scale=s, logit_bias=b)

    lc.assert_gradcheck(f, image, text, scale, bias)


def test_gradient_reaches_scale_and_bias():
    image, text = randn(4, 5, seed=9), randn(4, 5, seed=10)
    scale = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    SigLIPLoss()(image, text, logit_scale=scale, logit_bias=bias).backward()
    assert scale.grad is not None and scale.grad.abs() > 0
    assert bias.grad is not None and bias.grad.abs() > 0


# ---------------------------------------------------------------- bad input


def _call(image, text, scale=2.0, bias=0.0):
    return siglip_loss(image, text, logit_scale=scale, logit_bias=bias)


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = (lambda i, t: SigLIPLoss()(i, t, logit_scale=2.0, logit_bias=0.0)) if module else _call
    lc.assert_mismatch_names(fn, "text_emb")


def test_wrong_ndim_and_dtype_name_argument():
    lc.assert_raises_naming(
        lambda: _call(randn(4, 6, 2, seed=0), randn(4, 6, seed=1)), "image_emb", (4, 6, 2)
    )
    lc.assert_raises_naming(
        lambda: _call(randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.long)), "text_emb"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("which", ["image_emb", "text_emb"])
def test_non_finite(bad, which):
    image, text = randn(4, 6, seed=0), randn(4, 6, seed=1)
    (image if which == "image_emb" else text)[1, 2] = bad
    lc.assert_raises_naming(lambda: _call(image, text), which, match="finite")


def test_batch_of_one():
    with pytest.raises(ValueError, match="batch"):
        _call(randn(1, 6, seed=0), randn(1, 6, seed=1))
    with pytest.raises(ValueError, match="batch"):
        SigLIPLoss()(randn(1, 6, seed=0), randn(1, 6, seed=1), logit_scale=2.0, logit_bias=0.0)


@pytest.mark.parametrize(
    "scale", [0.0, -1.0, torch.tensor(0.0, dtype=torch.float64), torch.tensor(-2.0)]
)
def test_non_positive_logit_scale(scale):
    image, text = randn(4, 6, seed=0), randn(4, 6, seed=1)
    with pytest.raises(ValueError, match="logit_scale"):
        _call(image, text, scale=scale)
    with pytest.raises(ValueError, match="logit_scale"):
        SigLIPLoss()(image, text, logit_scale=scale, logit_bias=0.0)
