"""matryoshka_loss / MatryoshkaLoss versus an independent loop reference.

Spec: the loss's docstring (arXiv 2205.13147): the inner loss on each nested prefix of the
embedding dimension, weighted (1 each by default) and summed.
"""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import dot, randn, unit_rows
from torch.testing import assert_close

from contrastkit.losses import InfoNCELoss, MatryoshkaLoss, NTXentLoss, info_nce, matryoshka_loss
from contrastkit.losses.matryoshka import check_matryoshka_dims


def reference_info_nce_prefix(
    query: torch.Tensor, key: torch.Tensor, dim: int, temperature: float
) -> float:
    """InfoNCE of the first ``dim`` coordinates, each prefix re-normalized, in plain floats."""
    q, k = unit_rows(query[:, :dim]), unit_rows(key[:, :dim])
    total = 0.0
    for i in range(len(q)):
        logits = [dot(q[i], k_j) / temperature for k_j in k]
        total += math.log(sum(math.exp(v) for v in logits)) - logits[i]
    return total / len(q)


def reference_matryoshka(query, key, dims, weights, temperature) -> torch.Tensor:
    total = 0.0
    for dim, weight in zip(dims, weights, strict=True):
        total += weight * reference_info_nce_prefix(query, key, dim, temperature)
    return torch.tensor(total, dtype=torch.float64)


@pytest.mark.parametrize("dims", [[16], [16, 8, 4, 2], [12, 3]])
@pytest.mark.parametrize("weights", [None, "ramp"])
def test_matches_loop_reference(dims: list[int], weights: str | None) -> None:
    query, key = randn(6, 16, seed=0), randn(6, 16, seed=1)
    w = None if weights is None else [0.5 + i for i in range(len(dims))]
    out = MatryoshkaLoss(InfoNCELoss(temperature=0.1), dims=dims, weights=w)(query, key)
    lc.close_scalar(out, reference_matryoshka(query, key, dims, w or [1.0] * len(dims), 0.1))


def test_function_truncates_every_tensor_including_negatives() -> None:
    query, key, negatives = randn(4, 8, seed=0), randn(4, 8, seed=1), randn(5, 8, seed=2)
    out = matryoshka_loss(
        lambda q, k, n: info_nce(q, k, temperature=0.2, negatives=n),
        [query, key, negatives],
        dims=[8, 4],
    )
    expected = sum(
        info_nce(query[:, :d], key[:, :d], temperature=0.2, negatives=negatives[:, :d])
        for d in (8, 4)
    )
    assert_close(out, expected)


def test_known_value_orthogonal_prefixes() -> None:
    # 2-d prefixes: query i equals key i, the other key orthogonal -> log(1 + e^{-1/t})
    query = torch.tensor([[1.0, 0.0, 5.0, 5.0], [0.0, 1.0, 5.0, 5.0]], dtype=torch.float64)
    out = MatryoshkaLoss(InfoNCELoss(temperature=1.0), dims=[2], weights=[3.0])(query, query)
    lc.close_scalar(out, 3.0 * math.log(1 + math.exp(-1.0)))


def test_single_full_dim_equals_inner_loss() -> None:
    z_a, z_b = randn(8, 10, seed=3), randn(8, 10, seed=4)
    inner = NTXentLoss(temperature=0.5)
    assert_close(MatryoshkaLoss(inner, dims=[10])(z_a, z_b), inner(z_a, z_b))


def test_keyword_arguments_reach_the_inner_loss() -> None:
    query, key, negatives = randn(4, 6, seed=0), randn(4, 6, seed=1), randn(3, 6, seed=2)
    loss = MatryoshkaLoss(InfoNCELoss(temperature=0.1), dims=[6])
    assert_close(
        loss(query, key, negatives=negatives),
        info_nce(query, key, temperature=0.1, negatives=negatives),
    )


def test_descends() -> None:
    query = randn(8, 16, seed=5).float().requires_grad_()
    key = randn(8, 16, seed=6).float().requires_grad_()
    loss = MatryoshkaLoss(InfoNCELoss(temperature=0.1), dims=[16, 8, 4])
    lc.assert_descends(lambda: loss(query, key), [query, key])


def test_gradcheck() -> None:
    loss = MatryoshkaLoss(InfoNCELoss(temperature=0.3), dims=[5, 3, 1])
    lc.assert_gradcheck(lambda q, k: loss(q, k), randn(4, 5, seed=7), randn(4, 5, seed=8))


@pytest.mark.parametrize(
    ("dims", "weights", "match"),
    [
        ([], None, "non-empty"),
        ([8, 8], None, "strictly descending"),
        ([4, 8], None, "strictly descending"),
        ([8, 0], None, "positive integers"),
        ([8, 2.5], None, "positive integers"),
        ("8", None, "non-empty list"),
        ([8, 4], [1.0], "one weight per dim"),
        ([8, 4], [1.0, -1.0], "finite and >= 0"),
        ([8, 4], [1.0, float("nan")], "finite and >= 0"),
    ],
)
def test_bad_dims_and_weights(dims, weights, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MatryoshkaLoss(InfoNCELoss(), dims=dims, weights=weights)


def test_dims_larger_than_the_embedding() -> None:
    loss = MatryoshkaLoss(InfoNCELoss(), dims=[32, 16])
    with pytest.raises(ValueError, match=r"exceed the embedding dimension 16"):
        loss(randn(4, 16, seed=0), randn(4, 16, seed=1))
    with pytest.raises(ValueError, match="exceed the embedding dimension 16"):
        check_matryoshka_dims([32], embedding_dim=16)


def test_bad_embeddings() -> None:
    loss = MatryoshkaLoss(InfoNCELoss(), dims=[4, 2])
    with pytest.raises(ValueError, match=r"embeddings\[1\] must have shape \(N, 4\)"):
        loss(randn(3, 4, seed=0), randn(3, 5, seed=1))
    with pytest.raises(ValueError, match=r"embeddings\[0\] must have shape \(B, D\)"):
        loss(randn(4, seed=0), randn(4, seed=1))
    with pytest.raises(ValueError, match="at least one"):
        matryoshka_loss(lambda: torch.zeros(()), [], dims=[2])
    with pytest.raises(ValueError, match="loss must be a loss module or function"):
        MatryoshkaLoss("info_nce", dims=[2])  # type: ignore[arg-type]
