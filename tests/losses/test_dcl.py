"""Tests for dcl / dclw / vmf_weights and their modules.

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

from contrastkit.losses import DCLLoss, DCLWLoss, dcl, dclw, vmf_weights

WeightFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reference_vmf_weights(z_a: torch.Tensor, z_b: torch.Tensor, sigma: float) -> list[float]:
    a, b = unit_rows(z_a), unit_rows(z_b)
    batch = len(a)
    exps = [math.exp(dot(a[i], b[i]) / sigma) for i in range(batch)]
    total = sum(exps)
    return [2.0 - batch * e / total for e in exps]


def reference_dcl(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    temperature: float,
    weights: list[float] | None = None,
) -> torch.Tensor:
    z = unit_rows(z_a) + unit_rows(z_b)
    n = len(z)
    batch = n // 2
    if weights is None:
        weights = [1.0] * batch
    total = 0.0
    for i in range(n):
        p = i + batch if i < batch else i - batch
        negatives = 0.0
        for k in range(n):
            if k not in (i, p):
                negatives += math.exp(dot(z[i], z[k]) / temperature)
        total += -weights[i % batch] * dot(z[i], z[p]) / temperature + math.log(negatives)
    return torch.tensor(total / n, dtype=torch.float64)


def _weights_from_fn(z_a: torch.Tensor, z_b: torch.Tensor, weight_fn: WeightFn) -> list[float]:
    a = torch.tensor(unit_rows(z_a), dtype=torch.float64)
    b = torch.tensor(unit_rows(z_b), dtype=torch.float64)
    return [float(w) for w in weight_fn(a, b)]


def _norm_sensitive_weight_fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Positive weights that also depend on the norms of its inputs, so the test fails
    # if weight_fn is not given L2-normalized embeddings.
    return 0.5 * a.norm(dim=1) + (a * b).sum(dim=1) ** 2 + b[:, 0] ** 2


# --------------------------------------------------------------------------- dcl: reference


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_dcl_matches_reference(batch: int, dim: int, temperature: float) -> None:
    z_a = randn(batch, dim, seed=batch * 100 + dim)
    z_b = randn(batch, dim, seed=batch * 100 + dim + 1)
    out = dcl(z_a, z_b, temperature=temperature)
    assert out.dim() == 0
    assert_close(out, reference_dcl(z_a, z_b, temperature), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
def test_dcl_with_weight_fn_matches_reference(batch: int, dim: int) -> None:
    z_a = 3.0 * randn(batch, dim, seed=batch + dim)
    z_b = 0.2 * randn(batch, dim, seed=batch + dim + 1)
    weights = _weights_from_fn(z_a, z_b, _norm_sensitive_weight_fn)
    out = dcl(z_a, z_b, temperature=0.2, weight_fn=_norm_sensitive_weight_fn)
    assert_close(out, reference_dcl(z_a, z_b, 0.2, weights), rtol=RTOL, atol=ATOL)


def test_dcl_weight_fn_of_ones_is_unweighted() -> None:
    z_a, z_b = randn(6, 4, seed=1), randn(6, 4, seed=2)
    out = dcl(z_a, z_b, weight_fn=lambda a, b: torch.ones(a.shape[0], dtype=a.dtype))
    assert_close(out, dcl(z_a, z_b), rtol=RTOL, atol=ATOL)


def test_dcl_default_temperature() -> None:
    z_a, z_b = randn(6, 4, seed=3), randn(6, 4, seed=4)
    assert_close(dcl(z_a, z_b), reference_dcl(z_a, z_b, 0.1), rtol=RTOL, atol=ATOL)


def test_dcl_module_matches_function() -> None:
    z_a, z_b = randn(5, 6, seed=5), randn(5, 6, seed=6)
    assert_close(
        DCLLoss(temperature=0.3)(z_a, z_b), dcl(z_a, z_b, temperature=0.3), rtol=RTOL, atol=ATOL
    )
    assert_close(
        DCLLoss(temperature=0.3, weight_fn=_norm_sensitive_weight_fn)(z_a, z_b),
        dcl(z_a, z_b, temperature=0.3, weight_fn=_norm_sensitive_weight_fn),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(DCLLoss()(z_a, z_b), dcl(z_a, z_b), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- vmf_weights


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("sigma", [0.2, 0.5, 2.0])
def test_vmf_weights_match_reference(batch: int, sigma: float) -> None:
    z_a, z_b = randn(batch, 5, seed=batch), randn(batch, 5, seed=batch + 50)
    weights = vmf_weights(z_a, z_b, sigma=sigma)
    assert weights.shape == (batch,)
    expected = torch.tensor(reference_vmf_weights(z_a, z_b, sigma), dtype=torch.float64)
    assert_close(weights, expected, rtol=RTOL, atol=ATOL)
    # sum_i (2 - B softmax_i) = 2B - B = B
    assert_close(
        weights.sum(), torch.tensor(float(batch), dtype=torch.float64), rtol=RTOL, atol=ATOL
    )


def test_vmf_weights_default_sigma_and_scale_invariance() -> None:
    z_a, z_b = randn(4, 3, seed=7), randn(4, 3, seed=8)
    expected = torch.tensor(reference_vmf_weights(z_a, z_b, 0.5), dtype=torch.float64)
    assert_close(vmf_weights(z_a, z_b), expected, rtol=RTOL, atol=ATOL)
    assert_close(vmf_weights(7.0 * z_a, 0.1 * z_b), expected, rtol=RTOL, atol=ATOL)


def test_vmf_weights_known_value() -> None:
    # pairs (e1, e1) and (e1, e2): cosines (1, 0); with sigma = 0.5,
    # w_0 = 2 - 2 e^{2} / (e^{2} + 1) = 2 - 2 / (1 + e^{-2}), w_1 = 2 - 2 / (1 + e^{2}).
    eye = torch.eye(2, dtype=torch.float64)
    z_a = torch.stack([eye[0], eye[0]])
    z_b = torch.stack([eye[0], eye[1]])
    expected = torch.tensor(
        [2.0 - 2.0 / (1.0 + math.exp(-2.0)), 2.0 - 2.0 / (1.0 + math.exp(2.0))],
        dtype=torch.float64,
    )
    assert_close(vmf_weights(z_a, z_b, sigma=0.5), expected, rtol=RTOL, atol=ATOL)


def test_vmf_weights_gradcheck() -> None:
    z_a, z_b = randn(3, 4, seed=9), randn(3, 4, seed=10)
    lc.assert_gradcheck(lambda a, b: vmf_weights(a, b, sigma=0.5), z_a, z_b)


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_vmf_weights_bad_sigma(sigma: float) -> None:
    with pytest.raises(ValueError, match="sigma"):
        vmf_weights(randn(3, 4, seed=0), randn(3, 4, seed=1), sigma=sigma)


# --------------------------------------------------------------------------- dclw: reference


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("sigma", [0.5, 1.5])
def test_dclw_matches_reference(batch: int, dim: int, sigma: float) -> None:
    z_a = randn(batch, dim, seed=batch * 7 + dim)
    z_b = randn(batch, dim, seed=batch * 7 + dim + 1)
    weights = reference_vmf_weights(z_a, z_b, sigma)
    out = dclw(z_a, z_b, temperature=0.2, sigma=sigma)
    assert out.dim() == 0
    assert_close(out, reference_dcl(z_a, z_b, 0.2, weights), rtol=RTOL, atol=ATOL)


def test_dclw_with_negative_vmf_weights() -> None:
    # One pair far better aligned than the rest: its vMF weight 2 - B softmax is negative,
    # and dclw is still dcl with exactly those weights (no clamping).
    z_a = randn(6, 4, seed=11)
    z_b = randn(6, 4, seed=12)
    z_b[0] = z_a[0]
    weights = reference_vmf_weights(z_a, z_b, 0.2)
    assert min(weights) < 0.0
    out = dclw(z_a, z_b, temperature=0.1, sigma=0.2)
    assert_close(out, reference_dcl(z_a, z_b, 0.1, weights), rtol=RTOL, atol=ATOL)


def test_dclw_defaults() -> None:
    z_a, z_b = randn(5, 4, seed=13), randn(5, 4, seed=14)
    weights = reference_vmf_weights(z_a, z_b, 0.5)
    assert_close(dclw(z_a, z_b), reference_dcl(z_a, z_b, 0.1, weights), rtol=RTOL, atol=ATOL)


def test_dclw_equals_dcl_with_vmf_weight_fn() -> None:
    z_a, z_b = randn(5, 4, seed=15), randn(5, 4, seed=16)
    expected = dcl(z_a, z_b, temperature=0.3, weight_fn=lambda a, b: vmf_weights(a, b, sigma=0.7))
    assert_close(dclw(z_a, z_b, temperature=0.3, sigma=0.7), expected, rtol=RTOL, atol=ATOL)


def test_dclw_module_matches_function() -> None:
    z_a, z_b = randn(5, 6, seed=17), randn(5, 6, seed=18)
    assert_close(
        DCLWLoss(temperature=0.3, sigma=0.8)(z_a, z_b),
        dclw(z_a, z_b, temperature=0.3, sigma=0.8),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(DCLWLoss()(z_a, z_b), dclw(z_a, z_b), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_dcl_known_value_batch_two(temperature: float) -> None:
    # z_a = z_b = [e1, e2]: s_ip = 1, two negatives with s = 0: l = -1/t + log 2.
    eye = torch.eye(2, dtype=torch.float64)
    expected = -1.0 / temperature + math.log(2.0)
    out = dcl(eye, eye.clone(), temperature=temperature)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_dcl_known_value_antipodal_and_orthogonal() -> None:
    # z_a = z_b = [e1, -e1, e2] (B = 3): anchors along +-e1 see one antipodal pair (s = -1)
    # and one orthogonal pair; anchors along e2 see four orthogonal negatives.
    # e1 anchors: -1/t + log(2 e^{-1/t} + 2); e2 anchors: -1/t + log 4.
    t = 0.25
    eye = torch.eye(2, dtype=torch.float64)
    z = torch.stack([eye[0], -eye[0], eye[1]])
    l_e1 = -1.0 / t + math.log(2.0 * math.exp(-1.0 / t) + 2.0)
    l_e2 = -1.0 / t + math.log(4.0)
    expected = (4 * l_e1 + 2 * l_e2) / 6
    out = dcl(z, z.clone(), temperature=t)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_dcl_known_value_constant_weights() -> None:
    # weight_fn = 3 on aligned one-hot pairs: l = -3/t + log 2.
    eye = torch.eye(2, dtype=torch.float64)
    t = 0.5
    out = dcl(
        eye, eye.clone(), temperature=t, weight_fn=lambda a, b: torch.full((2,), 3.0, dtype=a.dtype)
    )
    assert_close(
        out, torch.tensor(-3.0 / t + math.log(2.0), dtype=torch.float64), rtol=RTOL, atol=ATOL
    )


def test_dclw_known_value_equal_alignment() -> None:
    # All pairs perfectly aligned: softmax is uniform, w_i = 2 - B / B = 1, so dclw = dcl:
    # one-hot B = 3 in R^3 -> l = -1/t + log 4.
    eye = torch.eye(3, dtype=torch.float64)
    t = 0.2
    out = dclw(eye, eye.clone(), temperature=t, sigma=0.5)
    assert_close(
        out, torch.tensor(-1.0 / t + math.log(4.0), dtype=torch.float64), rtol=RTOL, atol=ATOL
    )


def test_scale_invariance() -> None:
    z_a, z_b = randn(5, 4, seed=19), randn(5, 4, seed=20)
    assert_close(dcl(5.0 * z_a, 0.3 * z_b), dcl(z_a, z_b), rtol=RTOL, atol=ATOL)
    assert_close(dclw(0.05 * z_a, 11.0 * z_b), dclw(z_a, z_b), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- optimisation / grads


@pytest.mark.parametrize("loss_name", ["dcl", "dclw"])
def test_descent(loss_name: str) -> None:
    fn = {"dcl": dcl, "dclw": dclw}[loss_name]
    z_a = nn.Parameter(randn(8, 4, seed=21))
    z_b = nn.Parameter(randn(8, 4, seed=22))
    lc.assert_descends(lambda: fn(z_a, z_b, temperature=0.2), [z_a, z_b])


def test_dcl_gradcheck() -> None:
    z_a, z_b = randn(3, 4, seed=23), randn(3, 4, seed=24)
    lc.assert_gradcheck(lambda a, b: dcl(a, b, temperature=0.5), z_a, z_b)


def test_dcl_gradcheck_with_weight_fn() -> None:
    z_a, z_b = randn(3, 4, seed=25), randn(3, 4, seed=26)
    lc.assert_gradcheck(
        lambda a, b: dcl(a, b, temperature=0.5, weight_fn=_norm_sensitive_weight_fn), z_a, z_b
    )


def test_dclw_gradcheck() -> None:
    # Weights are not detached, so the numerical gradient includes their dependence.
    z_a, z_b = randn(3, 4, seed=27), randn(3, 4, seed=28)
    lc.assert_gradcheck(lambda a, b: dclw(a, b, temperature=0.5, sigma=0.5), z_a, z_b)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [dcl, dclw, vmf_weights])
def test_mismatched_shapes(fn: Callable[..., torch.Tensor]) -> None:
    lc.assert_shape_error(lambda: fn(randn(4, 3, seed=0), randn(5, 3, seed=1)), "z_b", (5, 3))
    lc.assert_shape_error(lambda: fn(randn(4, 3, seed=0), randn(4, 7, seed=1)), "z_b", (4, 7))


@pytest.mark.parametrize("fn", [dcl, dclw])
def test_wrong_ndim_and_dtype(fn: Callable[..., torch.Tensor]) -> None:
    with pytest.raises(ValueError, match="z_a"):
        fn(randn(4, seed=0), randn(4, 3, seed=1))
    with pytest.raises(ValueError, match="z_b"):
        fn(randn(4, 3, seed=0), torch.ones(4, 3, dtype=torch.long))


@pytest.mark.parametrize("fn", [dcl, dclw])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(fn: Callable[..., torch.Tensor], bad: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    z_a_bad = z_a.clone()
    z_a_bad[3, 0] = bad
    with pytest.raises(ValueError, match=name_and("z_a", "finite")):
        fn(z_a_bad, z_b)
    z_b_bad = z_b.clone()
    z_b_bad[1, 1] = bad
    with pytest.raises(ValueError, match=name_and("z_b", "finite")):
        fn(z_a, z_b_bad)


@pytest.mark.parametrize("temperature", [0.0, -0.1])
def test_bad_temperature(temperature: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    for fn in (dcl, dclw):
        with pytest.raises(ValueError, match="temperature"):
            fn(z_a, z_b, temperature=temperature)
    for module_cls in (DCLLoss, DCLWLoss):
        with pytest.raises(ValueError, match="temperature"):
            module_cls(temperature=temperature)


@pytest.mark.parametrize("sigma", [0.0, -0.5])
def test_dclw_bad_sigma(sigma: float) -> None:
    with pytest.raises(ValueError, match="sigma"):
        dclw(randn(4, 3, seed=0), randn(4, 3, seed=1), sigma=sigma)
    with pytest.raises(ValueError, match="sigma"):
        DCLWLoss(sigma=sigma)


def test_batch_of_one() -> None:
    z_a, z_b = randn(1, 3, seed=0), randn(1, 3, seed=1)
    for fn in (dcl, dclw):
        with pytest.raises(ValueError, match="batch"):
            fn(z_a, z_b)
    for module_cls in (DCLLoss, DCLWLoss):
        with pytest.raises(ValueError, match="batch"):
            module_cls()(z_a, z_b)


@pytest.mark.parametrize("chunk_size", [None, 1])
def test_batch_of_one_names_its_own_loss(chunk_size: int | None) -> None:
    z_a, z_b = randn(1, 3, seed=0), randn(1, 3, seed=1)
    with pytest.raises(ValueError, match="too small: dcl "):
        dcl(z_a, z_b, chunk_size=chunk_size)
    with pytest.raises(ValueError, match="too small: dclw "):
        dclw(z_a, z_b, chunk_size=chunk_size)
    with pytest.raises(ValueError, match="too small: dclw "):
        DCLWLoss(chunk_size=chunk_size)(z_a, z_b)
