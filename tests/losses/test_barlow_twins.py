"""Tests for barlow_twins / BarlowTwinsLoss against the spec, with a loop reference."""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import hadamard, randn

from contrastkit.losses import BarlowTwinsLoss, barlow_twins

EPS = 1e-5  # BatchNorm1d default eps, per the spec


def reference_barlow_twins(z_a, z_b, lambda_offdiag: float) -> float:
    """Per-dimension standardization, cross-correlation and the loss, as plain loops."""
    A, Bv = z_a.tolist(), z_b.tolist()
    B, D = len(A), len(A[0])

    def standardize(z):
        out = [[0.0] * D for _ in range(B)]
        for d in range(D):
            mean = sum(z[b][d] for b in range(B)) / B
            var = sum((z[b][d] - mean) ** 2 for b in range(B)) / B  # biased
            for b in range(B):
                out[b][d] = (z[b][d] - mean) / math.sqrt(var + EPS)
        return out

    ha, hb = standardize(A), standardize(Bv)
    loss = 0.0
    for i in range(D):
        for j in range(D):
            c = sum(ha[b][i] * hb[b][j] for b in range(B)) / B
            loss += (1.0 - c) ** 2 if i == j else lambda_offdiag * c * c
    return loss


def batchnorm_barlow_twins(z_a, z_b, lambda_offdiag: float) -> torch.Tensor:
    bn = torch.nn.BatchNorm1d(z_a.shape[1], affine=False).double().train()
    c = bn(z_a).T @ bn(z_b) / z_a.shape[0]
    on = (1 - torch.diagonal(c)).pow(2).sum()
    off = c.pow(2).sum() - torch.diagonal(c).pow(2).sum()
    return on + lambda_offdiag * off


# ---------------------------------------------------------------- reference equality


@pytest.mark.parametrize(
    ("B", "D", "lam"), [(2, 3, 5e-3), (5, 4, 5e-3), (9, 7, 0.1), (32, 16, 1.0), (4, 6, 0.0)]
)
def test_matches_reference_and_batchnorm(B, D, lam):
    z_a = 3.0 * randn(B, D, seed=B) + 1.5
    z_b = 0.2 * randn(B, D, seed=200 + D) - 4.0
    out = barlow_twins(z_a, z_b, lambda_offdiag=lam)
    lc.close_scalar(out, reference_barlow_twins(z_a, z_b, lam))
    torch.testing.assert_close(out, batchnorm_barlow_twins(z_a, z_b, lam), rtol=1e-5, atol=1e-7)


def test_default_lambda_and_module_match_function():
    z_a, z_b = randn(8, 5, seed=1), randn(8, 5, seed=2)
    ref = reference_barlow_twins(z_a, z_b, 5e-3)
    lc.close_scalar(barlow_twins(z_a, z_b), ref)
    lc.close_scalar(BarlowTwinsLoss()(z_a, z_b), ref)
    lc.close_scalar(
        BarlowTwinsLoss(lambda_offdiag=0.3)(z_a, z_b), reference_barlow_twins(z_a, z_b, 0.3)
    )


def test_not_l2_normalized():
    # per-row rescaling changes the loss (only per-dimension standardization is applied)
    z_a, z_b = randn(6, 4, seed=3), randn(6, 4, seed=4)
    row_scale = torch.linspace(0.5, 3.0, 6, dtype=torch.float64)[:, None]
    a = barlow_twins(z_a, z_b)
    b = barlow_twins(z_a * row_scale, z_b)
    lc.close_scalar(b, reference_barlow_twins(z_a * row_scale, z_b, 5e-3))
    assert not torch.allclose(a, b)


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize("n", [4, 8])
def test_identical_decorrelated_inputs_give_zero(n):
    # columns of a Hadamard matrix minus the constant one: mean 0, biased var 1, orthogonal
    z = hadamard(n)[:, 1:]
    D = n - 1
    c_diag = 1.0 / math.sqrt(1.0 + EPS) ** 2  # zh = z / sqrt(1 + eps); C = I / (1 + eps)
    expected = D * (1.0 - c_diag) ** 2
    out = barlow_twins(z, z.clone())
    lc.close_scalar(out, expected)
    lc.close_scalar(out, 0.0)
    # shifting and scaling each dimension leaves it (up to eps) unchanged
    shifted = 2.0 * z + torch.arange(D, dtype=torch.float64)
    lc.close_scalar(barlow_twins(shifted, z), 0.0)


def test_anti_correlated_inputs():
    z = hadamard(8)[:, 1:]
    D = 7
    c_diag = -1.0 / (1.0 + EPS)
    lc.close_scalar(barlow_twins(z, -z), D * (1.0 - c_diag) ** 2)  # ~= 4 D


def test_fully_correlated_dimensions():
    # z_a has 2 identical standardized columns -> C = [[c, c], [c, c]] with c = 1/(1+eps)
    col = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)[:, None]
    z = torch.cat([col, col], 1)
    c = 1.0 / (1.0 + EPS)
    lam = 0.25
    lc.close_scalar(barlow_twins(z, z, lambda_offdiag=lam), 2 * (1 - c) ** 2 + lam * 2 * c * c)


# ---------------------------------------------------------------- descent


def test_descent():
    z_a = torch.nn.Parameter(randn(16, 8, seed=5))
    z_b = torch.nn.Parameter(randn(16, 8, seed=6))
    lc.assert_descends(lambda: barlow_twins(z_a, z_b), [z_a, z_b])


# ---------------------------------------------------------------- gradients


def test_gradcheck():
    z_a, z_b = randn(3, 2, seed=7), randn(3, 2, seed=8)
    lc.assert_gradcheck(lambda a, b: barlow_twins(a, b, lambda_offdiag=0.1), z_a, z_b)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = BarlowTwinsLoss() if module else barlow_twins
    lc.assert_mismatch_names(fn, "z_b")


def test_wrong_ndim_and_dtype_name_argument():
    lc.assert_raises_naming(
        lambda: barlow_twins(randn(4, 6, 2, seed=0), randn(4, 6, seed=1)), "z_a", (4, 6, 2)
    )
    lc.assert_raises_naming(
        lambda: barlow_twins(randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.long)), "z_b"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["z_a", "z_b"])
def test_non_finite(bad, which):
    z_a, z_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    (z_a if which == "z_a" else z_b)[0, 1] = bad
    lc.assert_raises_naming(lambda: barlow_twins(z_a, z_b), which, match="finite")


def test_batch_of_one():
    with pytest.raises(ValueError, match="batch"):
        barlow_twins(randn(1, 6, seed=0), randn(1, 6, seed=1))
    with pytest.raises(ValueError, match="batch"):
        BarlowTwinsLoss()(randn(1, 6, seed=0), randn(1, 6, seed=1))


def test_negative_lambda_offdiag():
    # the spec: "negative weights ... ValueError naming it"; lambda_offdiag weights the
    # off-diagonal term
    z_a, z_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    with pytest.raises(ValueError, match="lambda_offdiag"):
        barlow_twins(z_a, z_b, lambda_offdiag=-1e-3)
    with pytest.raises(ValueError, match="lambda_offdiag"):
        BarlowTwinsLoss(lambda_offdiag=-1e-3)(z_a, z_b)
