"""Tests for vicreg / VICRegLoss against the spec, with a loop reference."""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import hadamard, randn

from contrastkit.losses import VICRegLoss, vicreg

STD_EPS = 1e-4  # std_d = sqrt(var_unbiased_d + 1e-4), per the spec


def reference_vicreg(z_a, z_b, sim_weight=25.0, var_weight=25.0, cov_weight=1.0) -> float:
    """Invariance, variance and covariance terms, as plain loops."""
    A, Bv = z_a.tolist(), z_b.tolist()
    B, D = len(A), len(A[0])

    inv = sum((A[b][d] - Bv[b][d]) ** 2 for b in range(B) for d in range(D)) / (B * D)

    def var_and_cov(z):
        mean = [sum(z[b][d] for b in range(B)) / B for d in range(D)]
        var_term = 0.0
        for d in range(D):
            var_unbiased = sum((z[b][d] - mean[d]) ** 2 for b in range(B)) / (B - 1)
            var_term += max(0.0, 1.0 - math.sqrt(var_unbiased + STD_EPS))
        cov_term = 0.0
        for i in range(D):
            for j in range(D):
                if i != j:
                    c = sum((z[b][i] - mean[i]) * (z[b][j] - mean[j]) for b in range(B)) / (B - 1)
                    cov_term += c * c
        return var_term / D, cov_term / D

    va, ca = var_and_cov(A)
    vb, cb = var_and_cov(Bv)
    return sim_weight * inv + var_weight * (va / 2 + vb / 2) + cov_weight * (ca + cb)


def _mixed_std(B: int, D: int, seed: int) -> torch.Tensor:
    # some dimensions with std well below 1 (hinge active), some well above
    scale = torch.tensor([0.2, 3.0] * D, dtype=torch.float64)[:D]
    return randn(B, D, seed=seed) * scale + 0.5


# ---------------------------------------------------------------- reference equality


@pytest.mark.parametrize(
    ("B", "D", "weights"),
    [
        (2, 3, (25.0, 25.0, 1.0)),
        (5, 4, (25.0, 25.0, 1.0)),
        (9, 8, (1.0, 2.0, 3.0)),
        (32, 16, (25.0, 25.0, 1.0)),
        (6, 5, (0.0, 0.0, 1.0)),
    ],
)
def test_matches_reference(B, D, weights):
    z_a, z_b = _mixed_std(B, D, seed=B), _mixed_std(B, D, seed=100 + D)
    sw, vw, cw = weights
    out = vicreg(z_a, z_b, sim_weight=sw, var_weight=vw, cov_weight=cw)
    lc.close_scalar(out, reference_vicreg(z_a, z_b, sw, vw, cw))


def test_default_weights_and_module_match_function():
    z_a, z_b = _mixed_std(8, 6, seed=1), _mixed_std(8, 6, seed=2)
    ref = reference_vicreg(z_a, z_b)
    lc.close_scalar(vicreg(z_a, z_b), ref)
    lc.close_scalar(VICRegLoss()(z_a, z_b), ref)
    module = VICRegLoss(sim_weight=2.0, var_weight=3.0, cov_weight=4.0)
    lc.close_scalar(module(z_a, z_b), reference_vicreg(z_a, z_b, 2.0, 3.0, 4.0))


@pytest.mark.parametrize("term", ["sim", "var", "cov"])
def test_single_terms(term):
    z_a, z_b = _mixed_std(7, 5, seed=3), _mixed_std(7, 5, seed=4)
    w = {"sim": (1.0, 0.0, 0.0), "var": (0.0, 1.0, 0.0), "cov": (0.0, 0.0, 1.0)}[term]
    out = vicreg(z_a, z_b, sim_weight=w[0], var_weight=w[1], cov_weight=w[2])
    ref = reference_vicreg(z_a, z_b, *w)
    assert ref > 0
    lc.close_scalar(out, ref)


# ---------------------------------------------------------------- known values


@pytest.mark.parametrize(("n", "scale"), [(4, 1.0), (8, 2.0)])
def test_identical_decorrelated_inputs_with_large_std_give_zero(n, scale):
    # Hadamard columns: mean 0, orthogonal (zero covariance), unbiased var n/(n-1) >= 1
    z = scale * hadamard(n)[:, 1:] + 3.0
    lc.close_scalar(vicreg(z, z.clone()), 0.0)


def test_constant_inputs_closed_form():
    # std_d = sqrt(1e-4) = 0.01: var term = (1 - 0.01)/2 + (1 - 0.01)/2; cov 0
    # inv = mean((1 - (-1))^2) = 4
    z_a = torch.ones(5, 3, dtype=torch.float64)
    z_b = -torch.ones(5, 3, dtype=torch.float64)
    expected = 25.0 * 4.0 + 25.0 * (1.0 - math.sqrt(1e-4))
    lc.close_scalar(vicreg(z_a, z_b), expected)


def test_perfectly_correlated_dimensions_closed_form():
    # z = [x, x] with x = (1, -1, 1, -1): unbiased var = 4/3, cov offdiag = 4/3
    x = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64)[:, None]
    z = torch.cat([x, x], 1)
    cov_per_view = 2 * (4.0 / 3.0) ** 2 / 2  # two off-diagonal entries, / D
    expected = 1.0 * (2 * cov_per_view)  # std = sqrt(4/3 + 1e-4) > 1 -> no variance term
    lc.close_scalar(vicreg(z, z.clone(), sim_weight=3.0, var_weight=5.0, cov_weight=1.0), expected)


# ---------------------------------------------------------------- descent


def test_descent():
    z_a = torch.nn.Parameter(0.1 * randn(16, 8, seed=5))
    z_b = torch.nn.Parameter(0.1 * randn(16, 8, seed=6))
    lc.assert_descends(lambda: vicreg(z_a, z_b), [z_a, z_b])


# ---------------------------------------------------------------- gradients


def test_gradcheck():
    lc.assert_gradcheck(
        lambda a, b: vicreg(a, b), _mixed_std(3, 2, seed=7), _mixed_std(3, 2, seed=8)
    )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("module", [False, True])
def test_mismatched_shapes_name_argument(module):
    fn = VICRegLoss() if module else vicreg
    lc.assert_mismatch_names(fn, "z_b")


def test_wrong_ndim_and_dtype_name_argument():
    lc.assert_raises_naming(lambda: vicreg(randn(4, seed=0), randn(4, 6, seed=1)), "z_a")
    lc.assert_raises_naming(
        lambda: vicreg(randn(4, 6, seed=0), torch.ones(4, 6, dtype=torch.long)), "z_b"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("which", ["z_a", "z_b"])
def test_non_finite(bad, which):
    z_a, z_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    (z_a if which == "z_a" else z_b)[3, 0] = bad
    lc.assert_raises_naming(lambda: vicreg(z_a, z_b), which, match="finite")


def test_batch_of_one():
    with pytest.raises(ValueError, match="batch"):
        vicreg(randn(1, 6, seed=0), randn(1, 6, seed=1))
    with pytest.raises(ValueError, match="batch"):
        VICRegLoss()(randn(1, 6, seed=0), randn(1, 6, seed=1))


@pytest.mark.parametrize("name", ["sim_weight", "var_weight", "cov_weight"])
def test_negative_weights(name):
    z_a, z_b = randn(4, 6, seed=0), randn(4, 6, seed=1)
    with pytest.raises(ValueError, match=name):
        vicreg(z_a, z_b, **{name: -1.0})
    with pytest.raises(ValueError, match=name):
        VICRegLoss(**{name: -1.0})(z_a, z_b)
