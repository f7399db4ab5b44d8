"""Tests for negative_cosine / NegativeCosineLoss against the spec, with a loop reference."""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import randn

from contrastkit.losses import NegativeCosineLoss, negative_cosine


def reference_negative_cosine(p, z) -> float:
    """-mean_i cos(p_i, z_i), as plain loops."""
    P, Z = p.tolist(), z.tolist()
    B, D = len(P), len(P[0])
    total = 0.0
    for i in range(B):
        dot = sum(P[i][d] * Z[i][d] for d in range(D))
        np_ = math.sqrt(sum(P[i][d] ** 2 for d in range(D)))
        nz = math.sqrt(sum(Z[i][d] ** 2 for d in range(D)))
        total += dot / (np_ * nz)
    return -total / B


# ---------------------------------------------------------------- reference equality


@pytest.mark.parametrize(("B", "D"), [(1, 3), (2, 5), (7, 4), (16, 32)])
def test_matches_reference(B, D):
    p, z = randn(B, D, seed=B), randn(B, D, seed=50 + D)
    ref = reference_negative_cosine(p, z)
    lc.close_scalar(negative_cosine(p, z), ref)
    lc.close_scalar(NegativeCosineLoss()(p, z), ref)


# ---------------------------------------------------------------- known values


def test_identical_is_minus_one_opposite_is_plus_one():
    p = randn(5, 8, seed=1)
    lc.close_scalar(negative_cosine(p, p.clone()), -1.0)
    lc.close_scalar(negative_cosine(p, 3.0 * p), -1.0)
    lc.close_scalar(negative_cosine(p, -p), 1.0)
    lc.close_scalar(negative_cosine(p, -0.5 * p), 1.0)


def test_orthogonal_and_mixed_known_values():
    e = torch.eye(4, dtype=torch.float64)
    lc.close_scalar(negative_cosine(e, e.roll(1, dims=0)), 0.0)  # orthogonal rows
    # rows: identical (cos 1), opposite (cos -1), 45 degrees (cos 1/sqrt 2), orthogonal (0)
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    z = torch.tensor([[2.0, 0.0], [-1.0, 0.0], [1.0, 1.0], [0.0, 5.0]], dtype=torch.float64)
    lc.close_scalar(negative_cosine(p, z), -(1.0 - 1.0 + 1.0 / math.sqrt(2.0) + 0.0) / 4.0)


# ---------------------------------------------------------------- descent


def test_descent():
    p = torch.nn.Parameter(randn(8, 16, seed=2))
    z = randn(8, 16, seed=3)
    end = lc.assert_descends(lambda: negative_cosine(p, z), [p], lr=0.1)
    assert end < -0.5  # p turns towards z


# ---------------------------------------------------------------- gradients


def test_gradcheck_p():
    p = randn(3, 4, seed=4)
    z = randn(3, 4, seed=5)
    lc.assert_gradcheck(lambda x: negative_cosine(x, z), p)
    lc.assert_gradcheck(lambda x: NegativeCosineLoss()(x, z), p)


@pytest.mark.parametrize("module", [False, True])
def test_no_gradient_reaches_z(module):
    fn = NegativeCosineLoss() if module else negative_cosine
    p = randn(4, 6, seed=6).requires_grad_()
    z = randn(4, 6, seed=7).requires_grad_()
    fn(p, z).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert z.grad is None or torch.count_nonzero(z.grad) == 0


def test_gradient_only_via_p_when_z_is_computed():
    # z produced from a shared parameter: the gradient must come only through p
    w = torch.nn.Parameter(randn(6, 6, seed=8))
    x = randn(4, 6, seed=9)
    p, z = randn(4, 6, seed=10), x @ w
    negative_cosine(p.requires_grad_(), z).backward()
    assert w.grad is None or torch.count_nonzero(w.grad) == 0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = NegativeCosineLoss() if module else negative_cosine
    lc.assert_mismatch_names(fn, "z")


def test_wrong_ndim_and_dtype_name_argument():
    lc.assert_raises_naming(lambda: negative_cosine(randn(6, seed=0), randn(6, seed=1)), "p")
    lc.assert_raises_naming(
        lambda: negative_cosine(randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.int32)), "z"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["p", "z"])
def test_non_finite(bad, which):
    p, z = randn(4, 6, seed=0), randn(4, 6, seed=1)
    (p if which == "p" else z)[2, 3] = bad
    lc.assert_raises_naming(lambda: negative_cosine(p, z), which, match="finite")


@pytest.mark.parametrize("module", [False, True])
def test_empty_batch(module):
    fn = NegativeCosineLoss() if module else negative_cosine
    empty = torch.zeros(0, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="batch of 0 is too small: negative_cosine"):
        fn(empty, empty)
