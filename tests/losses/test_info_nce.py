"""info_nce / InfoNCELoss versus an independent loop reference.

Spec: the loss's docstring and README table.
"""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import ATOL, RTOL, dot, name_and, randn, unit_rows
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import InfoNCELoss, info_nce


def reference_info_nce(
    query: torch.Tensor,
    key: torch.Tensor,
    temperature: float,
    negatives: torch.Tensor | None = None,
) -> torch.Tensor:
    q, k = unit_rows(query), unit_rows(key)
    n = unit_rows(negatives) if negatives is not None else []
    total = 0.0
    for i in range(len(q)):
        logits = [dot(q[i], k_j) / temperature for k_j in k]
        logits += [dot(q[i], n_m) / temperature for n_m in n]
        log_sum_exp = math.log(sum(math.exp(v) for v in logits))
        total += log_sum_exp - logits[i]
    return torch.tensor(total / len(q), dtype=torch.float64)


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_matches_reference_without_negatives(batch: int, dim: int, temperature: float) -> None:
    query = randn(batch, dim, seed=batch * 10 + dim)
    key = randn(batch, dim, seed=batch * 10 + dim + 1)
    out = info_nce(query, key, temperature=temperature)
    assert out.dim() == 0
    assert_close(out, reference_info_nce(query, key, temperature), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("num_negatives", [1, 13])
def test_matches_reference_with_queue(batch: int, dim: int, num_negatives: int) -> None:
    query = randn(batch, dim, seed=batch + dim)
    key = randn(batch, dim, seed=batch + dim + 1)
    negatives = randn(num_negatives, dim, seed=batch + dim + 2)
    out = info_nce(query, key, temperature=0.2, negatives=negatives)
    expected = reference_info_nce(query, key, 0.2, negatives)
    assert_close(out, expected, rtol=RTOL, atol=ATOL)


def test_batch_of_one_with_negatives_is_allowed() -> None:
    query, key, negatives = randn(1, 5, seed=1), randn(1, 5, seed=2), randn(4, 5, seed=3)
    out = info_nce(query, key, temperature=0.1, negatives=negatives)
    assert_close(out, reference_info_nce(query, key, 0.1, negatives), rtol=RTOL, atol=ATOL)


def test_default_temperature() -> None:
    query, key = randn(6, 5, seed=4), randn(6, 5, seed=5)
    assert_close(info_nce(query, key), reference_info_nce(query, key, 0.07), rtol=RTOL, atol=ATOL)


def test_module_matches_function() -> None:
    query, key, negatives = randn(5, 6, seed=6), randn(5, 6, seed=7), randn(9, 6, seed=8)
    module = InfoNCELoss(temperature=0.3)
    assert_close(module(query, key), info_nce(query, key, temperature=0.3), rtol=RTOL, atol=ATOL)
    assert_close(
        module(query, key, negatives),
        info_nce(query, key, temperature=0.3, negatives=negatives),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(
        module(query, key, negatives=negatives),
        info_nce(query, key, temperature=0.3, negatives=negatives),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(InfoNCELoss()(query, key), info_nce(query, key), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_known_value_one_hot(temperature: float) -> None:
    # q = k = I_3: logits_i = [1/t, 0, 0] (rotated) -> l = log(1 + 2 e^{-1/t}).
    eye = torch.eye(3, dtype=torch.float64)
    expected = math.log(1.0 + 2.0 * math.exp(-1.0 / temperature))
    out = info_nce(eye, eye.clone(), temperature=temperature)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_known_value_with_orthogonal_and_antipodal_negatives() -> None:
    # q = k = [e1, e2] in R^4; negatives = [e3, e4, -e1].
    # anchor 0 logits: [1/t, 0 | 0, 0, -1/t] -> l_0 = log(1 + 3 e^{-1/t} + e^{-2/t})
    # anchor 1 logits: [0, 1/t | 0, 0,  0  ] -> l_1 = log(1 + 4 e^{-1/t})
    t = 0.25
    eye = torch.eye(4, dtype=torch.float64)
    qk = eye[:2]
    negatives = torch.stack([eye[2], eye[3], -eye[0]])
    l0 = math.log(1.0 + 3.0 * math.exp(-1.0 / t) + math.exp(-2.0 / t))
    l1 = math.log(1.0 + 4.0 * math.exp(-1.0 / t))
    out = info_nce(qk, qk.clone(), temperature=t, negatives=negatives)
    assert_close(out, torch.tensor((l0 + l1) / 2, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_scale_invariance() -> None:
    query, key, negatives = randn(5, 4, seed=9), randn(5, 4, seed=10), randn(7, 4, seed=11)
    base = info_nce(query, key, temperature=0.1, negatives=negatives)
    scaled = info_nce(4.0 * query, 0.02 * key, temperature=0.1, negatives=30.0 * negatives)
    assert_close(scaled, base, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- optimisation / grads


@pytest.mark.parametrize("with_negatives", [False, True])
def test_descent(with_negatives: bool) -> None:
    query = nn.Parameter(randn(8, 4, seed=12))
    key = nn.Parameter(randn(8, 4, seed=13))
    negatives = randn(16, 4, seed=14) if with_negatives else None
    lc.assert_descends(
        lambda: info_nce(query, key, temperature=0.2, negatives=negatives), [query, key]
    )


def test_gradcheck_without_negatives() -> None:
    query, key = randn(3, 4, seed=15), randn(3, 4, seed=16)
    lc.assert_gradcheck(lambda q, k: info_nce(q, k, temperature=0.5), query, key)


def test_gradcheck_with_negatives() -> None:
    query, key, negatives = randn(3, 4, seed=17), randn(3, 4, seed=18), randn(2, 4, seed=19)
    lc.assert_gradcheck(
        lambda q, k, n: info_nce(q, k, temperature=0.5, negatives=n), query, key, negatives
    )


# --------------------------------------------------------------------------- bad input


def test_mismatched_key_batch() -> None:
    lc.assert_shape_error(lambda: info_nce(randn(4, 3, seed=0), randn(5, 3, seed=1)), "key", (5, 3))


def test_mismatched_key_dim() -> None:
    lc.assert_shape_error(lambda: info_nce(randn(4, 3, seed=0), randn(4, 7, seed=1)), "key", (4, 7))


def test_mismatched_negatives_dim() -> None:
    query, key, negatives = randn(4, 3, seed=0), randn(4, 3, seed=1), randn(6, 5, seed=2)
    lc.assert_shape_error(lambda: info_nce(query, key, negatives=negatives), "negatives", (6, 5))


def test_wrong_ndim() -> None:
    with pytest.raises(ValueError, match="query"):
        info_nce(randn(4, seed=0), randn(4, 3, seed=1))
    with pytest.raises(ValueError, match="key"):
        info_nce(randn(4, 3, seed=0), randn(4, 3, 1, seed=1))
    with pytest.raises(ValueError, match="negatives"):
        info_nce(randn(4, 3, seed=0), randn(4, 3, seed=1), negatives=randn(3, seed=2))


def test_integer_dtype() -> None:
    with pytest.raises(ValueError, match="key"):
        info_nce(randn(4, 3, seed=0), torch.ones(4, 3, dtype=torch.int32))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(bad: float) -> None:
    query, key, negatives = randn(4, 3, seed=0), randn(4, 3, seed=1), randn(5, 3, seed=2)
    for name in ("query", "key", "negatives"):
        tensors = {"query": query.clone(), "key": key.clone(), "negatives": negatives.clone()}
        tensors[name][0, 1] = bad
        with pytest.raises(ValueError, match=name_and(name, "finite")):
            info_nce(
                tensors["query"], tensors["key"], temperature=0.1, negatives=tensors["negatives"]
            )


@pytest.mark.parametrize("temperature", [0.0, -0.07])
def test_bad_temperature(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        info_nce(randn(4, 3, seed=0), randn(4, 3, seed=1), temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=temperature)


def test_batch_of_one_without_negatives() -> None:
    with pytest.raises(ValueError, match="batch"):
        info_nce(randn(1, 3, seed=0), randn(1, 3, seed=1))
    with pytest.raises(ValueError, match="batch"):
        InfoNCELoss()(randn(1, 3, seed=0), randn(1, 3, seed=1))
