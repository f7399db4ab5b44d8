"""info_nce's false-negative mask (query_ids / key_ids / negative_ids) versus a loop reference.

Spec: a key (or negative) whose id equals the query's id, other than the query's own positive,
is not one of the query's negatives.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from loss_checks import ATOL, RTOL, dot, randn, two_process_runs, unit_rows
from torch.testing import assert_close

from contrastkit.losses import InfoNCELoss, info_nce


def reference(
    query: torch.Tensor,
    key: torch.Tensor,
    temperature: float,
    query_ids: list[int],
    key_ids: list[int],
    negatives: torch.Tensor | None = None,
    negative_ids: list[int] | None = None,
) -> torch.Tensor:
    q, k = unit_rows(query), unit_rows(key)
    n = unit_rows(negatives) if negatives is not None else []
    total = 0.0
    for i in range(len(q)):
        logits = [dot(q[i], k[i]) / temperature]  # the positive first
        for j in range(len(k)):
            if j != i and key_ids[j] != query_ids[i]:
                logits.append(dot(q[i], k[j]) / temperature)
        for m in range(len(n)):
            if negative_ids is None or negative_ids[m] != query_ids[i]:
                logits.append(dot(q[i], n[m]) / temperature)
        total += math.log(sum(math.exp(v) for v in logits)) - logits[0]
    return torch.tensor(total / len(q), dtype=torch.float64)


IDS = [
    [0, 1, 2, 3, 4, 5],  # no duplicates: plain InfoNCE
    [0, 0, 1, 2, 2, 2],  # duplicated texts
    [7, 7, 7, 7, 7, 7],  # every key is the query's own text: only the positive is left
]


@pytest.mark.parametrize("ids", IDS)
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_matches_reference_with_shared_ids(ids: list[int], temperature: float) -> None:
    query, key = randn(6, 8, seed=1), randn(6, 8, seed=2)
    out = info_nce(query, key, temperature=temperature, query_ids=torch.tensor(ids))
    assert_close(out, reference(query, key, temperature, ids, ids), rtol=RTOL, atol=ATOL)


def test_matches_reference_with_separate_key_ids_and_negatives() -> None:
    query, key, negatives = randn(5, 4, seed=3), randn(5, 4, seed=4), randn(7, 4, seed=5)
    query_ids, key_ids, negative_ids = [0, 1, 2, 1, 3], [9, 0, 2, 1, 1], [1, 1, 4, 0, 8, 3, 3]
    out = info_nce(
        query,
        key,
        temperature=0.1,
        negatives=negatives,
        query_ids=torch.tensor(query_ids),
        key_ids=torch.tensor(key_ids),
        negative_ids=torch.tensor(negative_ids),
    )
    expected = reference(query, key, 0.1, query_ids, key_ids, negatives, negative_ids)
    assert_close(out, expected, rtol=RTOL, atol=ATOL)
    module = InfoNCELoss(temperature=0.1)(
        query,
        key,
        negatives,
        query_ids=torch.tensor(query_ids),
        key_ids=torch.tensor(key_ids),
        negative_ids=torch.tensor(negative_ids),
    )
    assert_close(module, expected, rtol=RTOL, atol=ATOL)


def test_negatives_without_ids_stay_negatives() -> None:
    query, key, negatives = randn(4, 3, seed=6), randn(4, 3, seed=7), randn(5, 3, seed=8)
    ids = [0, 0, 1, 1]
    out = info_nce(query, key, temperature=0.2, negatives=negatives, query_ids=torch.tensor(ids))
    expected = reference(query, key, 0.2, ids, ids, negatives, None)
    assert_close(out, expected, rtol=RTOL, atol=ATOL)


def test_unique_ids_change_nothing() -> None:
    query, key = randn(6, 5, seed=9), randn(6, 5, seed=10)
    plain = info_nce(query, key, temperature=0.05)
    masked = info_nce(query, key, temperature=0.05, query_ids=torch.arange(6))
    assert_close(masked, plain, rtol=RTOL, atol=ATOL)


def test_a_duplicate_gets_no_gradient_as_a_negative() -> None:
    """Query 0 and key 1 are the same text: key 1's gradient comes only from query 1."""
    query = randn(3, 4, seed=11)
    key = randn(3, 4, seed=12).requires_grad_()
    ids = torch.tensor([5, 5, 6])
    loss = info_nce(query, key, temperature=0.1, query_ids=ids)
    (grad,) = torch.autograd.grad(loss, key)
    alone = key.detach().clone().requires_grad_()
    # the same loss without the masked pairs: query 0 against keys {0, 2}, query 1 against {1, 2}
    terms = []
    for i, allowed in ((0, [0, 2]), (1, [1, 2]), (2, [0, 1, 2])):
        logits = (
            torch.nn.functional.normalize(query[i], dim=0)
            @ torch.nn.functional.normalize(alone[allowed], dim=1).T
        )
        terms.append(torch.logsumexp(logits / 0.1, 0) - logits[allowed.index(i)] / 0.1)
    (expected,) = torch.autograd.grad(torch.stack(terms).mean(), alone)
    assert_close(grad, expected, rtol=RTOL, atol=ATOL)


def test_bad_ids_are_named() -> None:
    query, key = randn(4, 3, seed=13), randn(4, 3, seed=14)
    with pytest.raises(ValueError, match=r"query_ids must have shape \(4,\)"):
        info_nce(query, key, query_ids=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="query_ids must be an integer tensor"):
        info_nce(query, key, query_ids=torch.zeros(4))
    with pytest.raises(ValueError, match=r"key_ids must have shape \(4,\)"):
        info_nce(query, key, query_ids=torch.arange(4), key_ids=torch.arange(5))
    with pytest.raises(ValueError, match="need query_ids"):
        info_nce(query, key, key_ids=torch.arange(4))
    with pytest.raises(ValueError, match="without negatives"):
        info_nce(query, key, query_ids=torch.arange(4), negative_ids=torch.arange(2))
    with pytest.raises(ValueError, match="chunk_size=None"):  # not tiled: a clear refusal
        info_nce(query, key, query_ids=torch.arange(4), chunk_size=2)
    with pytest.raises(ValueError, match=r"negative_ids must have shape \(2,\)"):
        info_nce(
            query,
            key,
            negatives=randn(2, 3, seed=15),
            query_ids=torch.arange(4),
            negative_ids=torch.arange(3),
        )


# ------------------------------------------------------------------ two processes (gloo, CPU)

WORKER = """
import sys, torch
from contrastkit.distributed import init_from_env, rank, world_size, shutdown
from contrastkit.losses import info_nce

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(0)
weight = torch.randn(6, 4, generator=gen)
x_q, x_k, x_n = torch.randn(7, 6, generator=gen), torch.randn(7, 6, generator=gen), torch.randn(
    3, 6, generator=gen)
ids, negative_ids = torch.tensor([0, 1, 0, 2, 2, 3, 1]), torch.tensor([1, 4, 3])
init_from_env()
rows = slice(0, 3) if rank() == 0 else slice(3, 7)
rows = rows if world_size() > 1 else slice(None)
w = weight.clone().requires_grad_()
loss = info_nce(x_q[rows] @ w, x_k[rows] @ w, temperature=0.1, negatives=x_n @ w,
                gather_distributed=True, query_ids=ids[rows], negative_ids=negative_ids)
loss.backward()
torch.save({"loss": loss.detach(), "grad": w.grad}, sys.argv[1])
shutdown()
"""


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path: Path) -> None:
    """Gathered keys and ids on 2 processes (3 + 4 rows) repeat the single-process loss."""
    ranks, single = two_process_runs(WORKER, tmp_path)
    assert_close((ranks[0]["loss"] + ranks[1]["loss"]) / 2, single["loss"], rtol=RTOL, atol=ATOL)
    assert_close((ranks[0]["grad"] + ranks[1]["grad"]) / 2, single["grad"], rtol=RTOL, atol=ATOL)
