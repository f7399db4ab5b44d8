"""Tests for negative_cosine / NegativeCosineLoss against the spec, with a loop reference."""

import math
import re

import pytest
import torch

from contrastkit.losses import NegativeCosineLoss, negative_cosine


def _randn(*shape: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _close(out: torch.Tensor, ref: float) -> None:
    assert out.dim() == 0
    torch.testing.assert_close(out, torch.tensor(ref, dtype=out.dtype), rtol=1e-5, atol=1e-7)


def _assert_names(err: pytest.ExceptionInfo, name: str, shape=None) -> None:
    msg = str(err.value)
    assert re.search(rf"\b{name}\b", msg), msg
    if shape is not None:
        assert re.search(r"(,\s*|\s*x\s*)".join(str(s) for s in shape), msg), msg


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
    p, z = _randn(B, D, seed=B), _randn(B, D, seed=50 + D)
    ref = reference_negative_cosine(p, z)
    _close(negative_cosine(p, z), ref)
    _close(NegativeCosineLoss()(p, z), ref)


# ---------------------------------------------------------------- known values


def test_identical_is_minus_one_opposite_is_plus_one():
    p = _randn(5, 8, seed=1)
    _close(negative_cosine(p, p.clone()), -1.0)
    _close(negative_cosine(p, 3.0 * p), -1.0)
    _close(negative_cosine(p, -p), 1.0)
    _close(negative_cosine(p, -0.5 * p), 1.0)


def test_orthogonal_and_mixed_known_values():
    e = torch.eye(4, dtype=torch.float64)
    _close(negative_cosine(e, e.roll(1, dims=0)), 0.0)  # orthogonal rows
    # rows: identical (cos 1), opposite (cos -1), 45 degrees (cos 1/sqrt 2), orthogonal (0)
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    z = torch.tensor([[2.0, 0.0], [-1.0, 0.0], [1.0, 1.0], [0.0, 5.0]], dtype=torch.float64)
    _close(negative_cosine(p, z), -(1.0 - 1.0 + 1.0 / math.sqrt(2.0) + 0.0) / 4.0)


# ---------------------------------------------------------------- descent


def test_descent():
    p = torch.nn.Parameter(_randn(8, 16, seed=2))
    z = _randn(8, 16, seed=3)
    opt = torch.optim.Adam([p], lr=0.1)
    start = negative_cosine(p, z).item()
    for _ in range(20):
        opt.zero_grad()
        negative_cosine(p, z).backward()
        opt.step()
    end = negative_cosine(p, z).item()
    assert end < start
    assert end < -0.5  # p turns towards z


# ---------------------------------------------------------------- gradients


def test_gradcheck_p():
    p = _randn(3, 4, seed=4).requires_grad_()
    z = _randn(3, 4, seed=5)
    assert torch.autograd.gradcheck(lambda x: negative_cosine(x, z), (p,))
    assert torch.autograd.gradcheck(lambda x: NegativeCosineLoss()(x, z), (p,))


@pytest.mark.parametrize("module", [False, True])
def test_no_gradient_reaches_z(module):
    fn = NegativeCosineLoss() if module else negative_cosine
    p = _randn(4, 6, seed=6).requires_grad_()
    z = _randn(4, 6, seed=7).requires_grad_()
    fn(p, z).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert z.grad is None or torch.count_nonzero(z.grad) == 0


def test_gradient_only_via_p_when_z_is_computed():
    # z produced from a shared parameter: the gradient must come only through p
    w = torch.nn.Parameter(_randn(6, 6, seed=8))
    x = _randn(4, 6, seed=9)
    p, z = _randn(4, 6, seed=10), x @ w
    negative_cosine(p.requires_grad_(), z).backward()
    assert w.grad is None or torch.count_nonzero(w.grad) == 0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = NegativeCosineLoss() if module else negative_cosine
    p = _randn(4, 6, seed=0)
    with pytest.raises(ValueError) as err:
        fn(p, _randn(4, 5, seed=1))
    _assert_names(err, "z", (4, 5))
    with pytest.raises(ValueError) as err:
        fn(p, _randn(3, 6, seed=1))
    _assert_names(err, "z", (3, 6))


def test_wrong_ndim_and_dtype_name_argument():
    with pytest.raises(ValueError) as err:
        negative_cosine(_randn(6, seed=0), _randn(6, seed=1))
    _assert_names(err, "p")
    with pytest.raises(ValueError) as err:
        negative_cosine(_randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.int32))
    _assert_names(err, "z")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["p", "z"])
def test_non_finite(bad, which):
    p, z = _randn(4, 6, seed=0), _randn(4, 6, seed=1)
    (p if which == "p" else z)[2, 3] = bad
    with pytest.raises(ValueError, match="finite") as err:
        negative_cosine(p, z)
    _assert_names(err, which)
