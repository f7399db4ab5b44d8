"""nt_xent / NTXentLoss versus an independent loop reference.

Spec: the loss's docstring and README table.
"""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import ATOL, RTOL, dot, name_and, randn, unit_rows
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import NTXentLoss, nt_xent


def reference_nt_xent(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float) -> torch.Tensor:
    z = unit_rows(z_a) + unit_rows(z_b)
    n = len(z)
    batch = n // 2
    total = 0.0
    for i in range(n):
        p = i + batch if i < batch else i - batch
        denominator = 0.0
        for k in range(n):
            if k != i:
                denominator += math.exp(dot(z[i], z[k]) / temperature)
        numerator = math.exp(dot(z[i], z[p]) / temperature)
        total += -math.log(numerator / denominator)
    return torch.tensor(total / n, dtype=torch.float64)


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.3])
def test_matches_reference(batch: int, dim: int, temperature: float) -> None:
    z_a = randn(batch, dim, seed=batch * 100 + dim)
    z_b = randn(batch, dim, seed=batch * 100 + dim + 1)
    out = nt_xent(z_a, z_b, temperature=temperature)
    assert out.dim() == 0
    assert_close(out, reference_nt_xent(z_a, z_b, temperature), rtol=RTOL, atol=ATOL)


def test_default_temperature_is_half() -> None:
    z_a, z_b = randn(6, 5, seed=1), randn(6, 5, seed=2)
    assert_close(nt_xent(z_a, z_b), reference_nt_xent(z_a, z_b, 0.5), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("temperature", [0.2, 0.5])
def test_module_matches_function(temperature: float) -> None:
    z_a, z_b = randn(5, 7, seed=3), randn(5, 7, seed=4)
    module = NTXentLoss(temperature=temperature)
    assert_close(module(z_a, z_b), nt_xent(z_a, z_b, temperature=temperature), rtol=RTOL, atol=ATOL)
    assert_close(NTXentLoss()(z_a, z_b), nt_xent(z_a, z_b), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_known_value_batch_two_one_hot(temperature: float) -> None:
    # z_a = z_b = [e1, e2]: every anchor has s_ip = 1 and two negatives with s = 0,
    # so l = -log(e^{1/t} / (e^{1/t} + 2)) = log(1 + 2 e^{-1/t}).
    eye = torch.eye(2, dtype=torch.float64)
    expected = math.log(1.0 + 2.0 * math.exp(-1.0 / temperature))
    out = nt_xent(eye, eye.clone(), temperature=temperature)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_known_value_orthogonal_batch() -> None:
    # B aligned one-hot pairs in D >= B: l = log(1 + (2B - 2) e^{-1/t}).
    batch, dim, t = 4, 6, 0.3
    z = torch.eye(dim, dtype=torch.float64)[:batch]
    expected = math.log(1.0 + (2 * batch - 2) * math.exp(-1.0 / t))
    out = nt_xent(z, z.clone(), temperature=t)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_known_value_antipodal_negative() -> None:
    # z_a = z_b = [e1, -e1]: anchor's negatives both have s = -1,
    # l = -log(e^{1/t} / (e^{1/t} + 2 e^{-1/t})) = log(1 + 2 e^{-2/t}).
    t = 0.5
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    expected = math.log(1.0 + 2.0 * math.exp(-2.0 / t))
    out = nt_xent(z, z.clone(), temperature=t)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_scale_invariance() -> None:
    z_a, z_b = randn(5, 4, seed=5), randn(5, 4, seed=6)
    scales = torch.linspace(0.1, 9.0, 5, dtype=torch.float64).unsqueeze(1)
    base = nt_xent(z_a, z_b, temperature=0.2)
    assert_close(nt_xent(3.0 * z_a, 0.01 * z_b, temperature=0.2), base, rtol=RTOL, atol=ATOL)
    assert_close(nt_xent(scales * z_a, z_b, temperature=0.2), base, rtol=RTOL, atol=ATOL)


def test_swapping_views_is_symmetric() -> None:
    z_a, z_b = randn(5, 4, seed=7), randn(5, 4, seed=8)
    assert_close(nt_xent(z_a, z_b), nt_xent(z_b, z_a), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- optimisation / grads


def test_descent() -> None:
    z_a = nn.Parameter(randn(8, 4, seed=9))
    z_b = nn.Parameter(randn(8, 4, seed=10))
    lc.assert_descends(lambda: nt_xent(z_a, z_b, temperature=0.5), [z_a, z_b])


def test_gradcheck() -> None:
    z_a, z_b = randn(3, 4, seed=11), randn(3, 4, seed=12)
    lc.assert_gradcheck(lambda a, b: nt_xent(a, b, temperature=0.5), z_a, z_b)


# --------------------------------------------------------------------------- bad input


def test_mismatched_batch_names_argument_and_shape() -> None:
    lc.assert_shape_error(lambda: nt_xent(randn(4, 3, seed=0), randn(5, 3, seed=1)), "z_b", (5, 3))


def test_mismatched_dim_names_argument_and_shape() -> None:
    lc.assert_shape_error(lambda: nt_xent(randn(4, 3, seed=0), randn(4, 7, seed=1)), "z_b", (4, 7))


def test_wrong_ndim_names_argument() -> None:
    with pytest.raises(ValueError, match="z_a"):
        nt_xent(randn(4, seed=0), randn(4, 3, seed=1))
    with pytest.raises(ValueError, match="z_b"):
        nt_xent(randn(4, 3, seed=0), randn(4, 3, 2, seed=1))


def test_integer_dtype_names_argument() -> None:
    with pytest.raises(ValueError, match="z_a"):
        nt_xent(torch.ones(4, 3, dtype=torch.long), randn(4, 3, seed=1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite(bad: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    z_a_bad = z_a.clone()
    z_a_bad[1, 2] = bad
    with pytest.raises(ValueError, match=name_and("z_a", "finite")):
        nt_xent(z_a_bad, z_b)
    z_b_bad = z_b.clone()
    z_b_bad[0, 0] = bad
    with pytest.raises(ValueError, match=name_and("z_b", "finite")):
        nt_xent(z_a, z_b_bad)


@pytest.mark.parametrize("temperature", [0.0, -0.5])
def test_bad_temperature(temperature: float) -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent(z_a, z_b, temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(temperature=temperature)


def test_batch_of_one() -> None:
    with pytest.raises(ValueError, match="batch"):
        nt_xent(randn(1, 3, seed=0), randn(1, 3, seed=1))
    with pytest.raises(ValueError, match="batch"):
        NTXentLoss()(randn(1, 3, seed=0), randn(1, 3, seed=1))


def test_hyperparameters_are_keyword_only() -> None:
    z_a, z_b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    with pytest.raises(TypeError):
        nt_xent(z_a, z_b, 0.5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        NTXentLoss(0.5)  # type: ignore[misc]
