"""Tests for debiased_nce and hard_negative_nce and their modules.

Spec: the loss's docstring and README table.
"""

import math
from collections.abc import Callable

import loss_checks as lc
import pytest
import torch
from loss_checks import ATOL, RTOL, dot, name_and, randn, unit_rows
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import (
    DebiasedNCELoss,
    HardNegativeNCELoss,
    debiased_nce,
    hard_negative_nce,
    nt_xent,
)


def reference_debiased(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    temperature: float,
    tau_plus: float,
    beta: float | None = None,
) -> torch.Tensor:
    """debiased_nce when beta is None, hard_negative_nce otherwise."""
    z = unit_rows(z_a) + unit_rows(z_b)
    n = len(z)
    batch = n // 2
    num_neg = 2 * batch - 2
    total = 0.0
    for i in range(n):
        p = i + batch if i < batch else i - batch
        pos = math.exp(dot(z[i], z[p]) / temperature)
        neg_sum, imp_sum = 0.0, 0.0
        for k in range(n):
            if k in (i, p):
                continue
            s_ik = dot(z[i], z[k])
            neg_k = math.exp(s_ik / temperature)
            imp_k = 1.0 if beta is None else math.exp(beta * s_ik / temperature)
            neg_sum += imp_k * neg_k
            imp_sum += imp_k
        if beta is not None:
            neg_sum = neg_sum / (imp_sum / num_neg)
        ng = max(
            (neg_sum - tau_plus * num_neg * pos) / (1.0 - tau_plus),
            num_neg * math.exp(-1.0 / temperature),
        )
        total += -math.log(pos / (pos + ng))
    return torch.tensor(total / n, dtype=torch.float64)


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize(
    ("temperature", "tau_plus"), [(0.5, 0.1), (0.2, 0.0), (1.0, 0.3), (0.5, 0.9)]
)
def test_debiased_matches_reference(
    batch: int, dim: int, temperature: float, tau_plus: float
) -> None:
    z_a = randn(batch, dim, seed=batch * 100 + dim)
    z_b = randn(batch, dim, seed=batch * 100 + dim + 1)
    out = debiased_nce(z_a, z_b, temperature=temperature, tau_plus=tau_plus)
    assert out.dim() == 0
    expected = reference_debiased(z_a, z_b, temperature, tau_plus)
    assert_close(out, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize(
    ("temperature", "tau_plus", "beta"),
    [(0.5, 0.1, 1.0), (0.2, 0.05, 0.5), (0.5, 0.0, 2.0), (1.0, 0.6, 3.0)],
)
def test_hard_negative_matches_reference(
    batch: int, dim: int, temperature: float, tau_plus: float, beta: float
) -> None:
    z_a = randn(batch, dim, seed=batch * 10 + dim)
    z_b = randn(batch, dim, seed=batch * 10 + dim + 1)
    out = hard_negative_nce(z_a, z_b, temperature=temperature, tau_plus=tau_plus, beta=beta)
    assert out.dim() == 0
    expected = reference_debiased(z_a, z_b, temperature, tau_plus, beta)
    assert_close(out, expected, rtol=RTOL, atol=ATOL)


def test_clamp_branch_is_exercised() -> None:
    # Near-identical views and a large tau_plus make the clamp N e^{-1/t} active for
    # (at least) some anchors; the reference handles both branches.
    z_a = randn(6, 4, seed=1)
    z_b = z_a + 0.05 * randn(6, 4, seed=2)
    for fn_kwargs in ({}, {"beta": 1.0}):
        fn = hard_negative_nce if fn_kwargs else debiased_nce
        out = fn(z_a, z_b, temperature=0.5, tau_plus=0.8, **fn_kwargs)
        expected = reference_debiased(z_a, z_b, 0.5, 0.8, fn_kwargs.get("beta"))
        assert_close(out, expected, rtol=RTOL, atol=ATOL)


def test_defaults() -> None:
    z_a, z_b = randn(5, 4, seed=3), randn(5, 4, seed=4)
    assert_close(
        debiased_nce(z_a, z_b), reference_debiased(z_a, z_b, 0.5, 0.1), rtol=RTOL, atol=ATOL
    )
    assert_close(
        hard_negative_nce(z_a, z_b),
        reference_debiased(z_a, z_b, 0.5, 0.1, 1.0),
        rtol=RTOL,
        atol=ATOL,
    )


def test_modules_match_functions() -> None:
    z_a, z_b = randn(5, 6, seed=5), randn(5, 6, seed=6)
    assert_close(
        DebiasedNCELoss(temperature=0.3, tau_plus=0.2)(z_a, z_b),
        debiased_nce(z_a, z_b, temperature=0.3, tau_plus=0.2),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(
        HardNegativeNCELoss(temperature=0.3, tau_plus=0.2, beta=0.7)(z_a, z_b),
        hard_negative_nce(z_a, z_b, temperature=0.3, tau_plus=0.2, beta=0.7),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(DebiasedNCELoss()(z_a, z_b), debiased_nce(z_a, z_b), rtol=RTOL, atol=ATOL)
    assert_close(HardNegativeNCELoss()(z_a, z_b), hard_negative_nce(z_a, z_b), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- special cases


@pytest.mark.parametrize(("temperature", "tau_plus"), [(0.5, 0.1), (0.2, 0.4), (0.5, 0.95)])
def test_hard_negative_beta_zero_equals_debiased(temperature: float, tau_plus: float) -> None:
    z_a, z_b = randn(7, 5, seed=7), randn(7, 5, seed=8)
    assert_close(
        hard_negative_nce(z_a, z_b, temperature=temperature, tau_plus=tau_plus, beta=0.0),
        debiased_nce(z_a, z_b, temperature=temperature, tau_plus=tau_plus),
        rtol=RTOL,
        atol=ATOL,
    )


@pytest.mark.parametrize("seed", [9, 10, 11])
def test_debiased_tau_plus_zero_equals_nt_xent(seed: int) -> None:
    # With tau_plus = 0, Ng = max(sum_k neg_k, N e^{-1/t}); each neg_k >= e^{-1/t}, with equality
    # only at s_ik = -1, so the clamp is inactive on random inputs and
    # l_i = -log(pos / (pos + sum_k neg_k)) is exactly the NT-Xent term.
    z_a, z_b = randn(6, 4, seed=seed), randn(6, 4, seed=seed + 100)
    assert_close(
        debiased_nce(z_a, z_b, temperature=0.5, tau_plus=0.0),
        nt_xent(z_a, z_b, temperature=0.5),
        rtol=RTOL,
        atol=ATOL,
    )


# --------------------------------------------------------------------------- known values


def test_debiased_known_value_unclamped() -> None:
    # z_a = z_b = [e1, e2], t = 0.5, tau_plus = 0.1: pos = e^2, two negatives equal to 1, N = 2.
    # Ng = (2 - 0.1 * 2 * e^2) / 0.9 (about 0.58 > 2 e^{-2}), l = log(1 + Ng e^{-2}).
    eye = torch.eye(2, dtype=torch.float64)
    ng = (2.0 - 0.2 * math.exp(2.0)) / 0.9
    assert ng > 2.0 * math.exp(-2.0)
    expected = math.log(1.0 + ng * math.exp(-2.0))
    out = debiased_nce(eye, eye.clone(), temperature=0.5, tau_plus=0.1)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_debiased_known_value_clamped() -> None:
    # Same inputs, tau_plus = 0.5: (2 - e^2) / 0.5 < 0, so Ng = 2 e^{-2} and
    # l = -log(e^2 / (e^2 + 2 e^{-2})) = log(1 + 2 e^{-4}).
    eye = torch.eye(2, dtype=torch.float64)
    expected = math.log(1.0 + 2.0 * math.exp(-4.0))
    out = debiased_nce(eye, eye.clone(), temperature=0.5, tau_plus=0.5)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)
    hard = hard_negative_nce(eye, eye.clone(), temperature=0.5, tau_plus=0.5, beta=2.0)
    assert_close(hard, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_hard_negative_known_value() -> None:
    # z_a = [e1, e2], z_b = [e1, v], v = (e1 + e2)/sqrt(2), c = 1/sqrt(2). Similarity table:
    #   a0 = e1: positive s = 1, negatives (a1, b1) with s = (0, c)
    #   a1 = e2: positive s = c, negatives (a0, b0) with s = (0, 0)
    #   b0 = e1: positive s = 1, negatives (a1, b1) with s = (0, c)
    #   b1 = v : positive s = c, negatives (a0, b0) with s = (c, c)
    # reweighted = sum_k e^{(1+beta) s_k / t} / mean_k e^{beta s_k / t}.
    t, tau, beta = 0.5, 0.1, 1.0
    c = 1.0 / math.sqrt(2.0)

    def term(s_pos: float, s_negs: tuple[float, float]) -> float:
        pos = math.exp(s_pos / t)
        reweighted = (
            math.exp((1 + beta) * s_negs[0] / t) + math.exp((1 + beta) * s_negs[1] / t)
        ) / ((math.exp(beta * s_negs[0] / t) + math.exp(beta * s_negs[1] / t)) / 2)
        ng = max((reweighted - tau * 2 * pos) / (1 - tau), 2 * math.exp(-1 / t))
        return math.log((pos + ng) / pos)

    expected = (term(1.0, (0.0, c)) * 2 + term(c, (0.0, 0.0)) + term(c, (c, c))) / 4
    e1, e2 = torch.eye(2, dtype=torch.float64)
    z_a = torch.stack([e1, e2])
    z_b = torch.stack([e1, (e1 + e2) / math.sqrt(2.0)])
    out = hard_negative_nce(z_a, z_b, temperature=t, tau_plus=tau, beta=beta)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_hard_negative_equal_negatives_equals_debiased() -> None:
    # One-hot aligned pairs: all negatives have s = 0, importance weights are all equal.
    eye = torch.eye(4, dtype=torch.float64)[:3]
    assert_close(
        hard_negative_nce(eye, eye.clone(), temperature=0.4, tau_plus=0.05, beta=5.0),
        debiased_nce(eye, eye.clone(), temperature=0.4, tau_plus=0.05),
        rtol=RTOL,
        atol=ATOL,
    )


def test_scale_invariance() -> None:
    z_a, z_b = randn(5, 4, seed=12), randn(5, 4, seed=13)
    assert_close(debiased_nce(2.0 * z_a, 0.1 * z_b), debiased_nce(z_a, z_b), rtol=RTOL, atol=ATOL)
    assert_close(
        hard_negative_nce(0.3 * z_a, 50.0 * z_b), hard_negative_nce(z_a, z_b), rtol=RTOL, atol=ATOL
    )


# --------------------------------------------------------------------------- optimisation / grads


@pytest.mark.parametrize("fn", [debiased_nce, hard_negative_nce])
def test_descent(fn: Callable[..., torch.Tensor]) -> None:
    z_a = nn.Parameter(randn(8, 4, seed=14))
    z_b = nn.Parameter(randn(8, 4, seed=15))
    lc.assert_descends(lambda: fn(z_a, z_b), [z_a, z_b])


@pytest.mark.parametrize("tau_plus", [0.0, 0.1, 0.5])
def test_debiased_gradcheck(tau_plus: float) -> None:
    z_a, z_b = randn(3, 4, seed=16), randn(3, 4, seed=17)
    lc.assert_gradcheck(
        lambda a, b: debiased_nce(a, b, temperature=0.5, tau_plus=tau_plus), z_a, z_b
    )


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_hard_negative_gradcheck(beta: float) -> None:
    # imp_k is not detached, so the numerical gradient includes its dependence.
    z_a, z_b = randn(3, 4, seed=18), randn(3, 4, seed=19)
    lc.assert_gradcheck(
        lambda a, b: hard_negative_nce(a, b, temperature=0.5, tau_plus=0.1, beta=beta), z_a, z_b
    )


# --------------------------------------------------------------------------- bad input

FUNCTIONS = [debiased_nce, hard_negative_nce]
MODULES = [DebiasedNCELoss, HardNegativeNCELoss]


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_mismatched_shapes(fn: Callable[..., torch.Tensor]) -> None:
    lc.assert_shape_error(lambda: fn(randn(4, 3, seed=0), randn(5, 3, seed=1)), "z_b", (5, 3))
    lc.assert_shape_error(lambda: fn(randn(4, 3, seed=0), randn(4, 7, seed=1)), "z_b", (4, 7))


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_wrong_ndim_and_dtype(fn: Callable[..., torch.Tensor]) -> None:
    with pytest.raises(ValueError, match="z_a"):
        fn(randn(2, 4, 3, seed=0), randn(4, 3, seed=1))
    with pytest.raises(ValueError, match="z_b"):
        fn(randn(4, 3, seed=0), torch.ones(4, 3, dtype=torch.int64))


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize("bad", [float("nan"), float("-inf")])
def test_non_finite(fn: Callable[..., torch.Tensor], bad: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    z_a_bad = z_a.clone()
    z_a_bad[0, 2] = bad
    with pytest.raises(ValueError, match=name_and("z_a", "finite")):
        fn(z_a_bad, z_b)
    z_b_bad = z_b.clone()
    z_b_bad[2, 1] = bad
    with pytest.raises(ValueError, match=name_and("z_b", "finite")):
        fn(z_a, z_b_bad)


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_bad_temperature(temperature: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    for fn in FUNCTIONS:
        with pytest.raises(ValueError, match="temperature"):
            fn(z_a, z_b, temperature=temperature)
    for module_cls in MODULES:
        with pytest.raises(ValueError, match="temperature"):
            module_cls(temperature=temperature)


@pytest.mark.parametrize("tau_plus", [-0.1, 1.0, 1.5])
def test_bad_tau_plus(tau_plus: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    for fn in FUNCTIONS:
        with pytest.raises(ValueError, match="tau_plus"):
            fn(z_a, z_b, tau_plus=tau_plus)
    for module_cls in MODULES:
        # the check may live in __init__ or in forward; either must raise
        with pytest.raises(ValueError, match="tau_plus"):
            module_cls(tau_plus=tau_plus)(z_a, z_b)


@pytest.mark.parametrize("beta", [-0.01, -2.0])
def test_bad_beta(beta: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="beta"):
        hard_negative_nce(z_a, z_b, beta=beta)
    with pytest.raises(ValueError, match="beta"):
        HardNegativeNCELoss(beta=beta)(z_a, z_b)


def test_batch_of_one() -> None:
    z_a, z_b = randn(1, 3, seed=0), randn(1, 3, seed=1)
    for fn in FUNCTIONS:
        with pytest.raises(ValueError, match="batch"):
            fn(z_a, z_b)
    for module_cls in MODULES:
        with pytest.raises(ValueError, match="batch"):
            module_cls()(z_a, z_b)


@pytest.mark.parametrize(
    ("fn", "name"), [(debiased_nce, "debiased_nce"), (hard_negative_nce, "hard_negative_nce")]
)
def test_batch_of_one_names_its_own_loss(fn: Callable[..., torch.Tensor], name: str) -> None:
    with pytest.raises(ValueError, match=f"too small: {name} "):
        fn(randn(1, 3, seed=0), randn(1, 3, seed=1))
