"""cosent / CoSENTLoss versus a loop reference, known values, descent, errors, 2 processes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from loss_checks import (
    ATOL,
    RTOL,
    assert_descends,
    assert_gradcheck,
    assert_mismatch_names,
    dot,
    randn,
    two_process_runs,
    unit_rows,
)
from torch.testing import assert_close

from contrastkit.losses import CoSENTLoss, cosent


def reference_cosent(
    z_a: torch.Tensor, z_b: torch.Tensor, scores: list[float], temperature: float
) -> torch.Tensor:
    a, b = unit_rows(z_a), unit_rows(z_b)
    cosine = [dot(u, v) for u, v in zip(a, b, strict=True)]
    total = 1.0
    for i in range(len(cosine)):
        for j in range(len(cosine)):
            if scores[i] > scores[j]:
                total += math.exp((cosine[j] - cosine[i]) / temperature)
    return torch.tensor(math.log(total), dtype=torch.float64)


@pytest.mark.parametrize("batch", [2, 5, 9])
@pytest.mark.parametrize("temperature", [0.05, 0.3])
def test_matches_reference(batch: int, temperature: float) -> None:
    z_a, z_b = randn(batch, 6, seed=batch), randn(batch, 6, seed=batch + 1)
    scores = [float(s) for s in (randn(batch, seed=batch + 2) * 2).round()]  # with ties
    out = cosent(z_a, z_b, torch.tensor(scores, dtype=torch.float64), temperature=temperature)
    assert out.dim() == 0
    assert_close(out, reference_cosent(z_a, z_b, scores, temperature), rtol=RTOL, atol=ATOL)
    module = CoSENTLoss(temperature=temperature)(z_a, z_b, torch.tensor(scores).double())
    assert_close(module, out, rtol=RTOL, atol=ATOL)


def test_known_values() -> None:
    same = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    opposite = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    # pair 0 (cos 1) is scored above pair 1 (cos -1): one term exp((-1 - 1) / t)
    out = cosent(same, opposite, torch.tensor([5.0, 0.0], dtype=torch.float64), temperature=0.5)
    assert_close(out, torch.tensor(math.log(1 + math.exp(-4.0)), dtype=torch.float64))
    # equal scores give no term: log(1) = 0
    tied = cosent(same, opposite, torch.tensor([2.0, 2.0], dtype=torch.float64))
    assert float(tied) == 0.0


def test_only_the_order_of_scores_matters() -> None:
    z_a, z_b = randn(6, 4, seed=1), randn(6, 4, seed=2)
    scores = torch.tensor([0.1, 3.0, 2.2, 4.9, 0.5, 1.0], dtype=torch.float64)
    assert_close(cosent(z_a, z_b, scores), cosent(z_a, z_b, scores.exp() * 7))


def test_descends_and_orders_cosines() -> None:
    z_a = randn(8, 5, seed=3).requires_grad_()
    z_b = randn(8, 5, seed=4).requires_grad_()
    scores = torch.arange(8, dtype=torch.float64)
    assert_descends(lambda: cosent(z_a, z_b, scores, temperature=0.1), [z_a, z_b], steps=60)
    cosine = torch.nn.functional.cosine_similarity(z_a, z_b).detach()
    assert float(torch.corrcoef(torch.stack([cosine, scores]))[0, 1]) > 0.5


def test_gradcheck() -> None:
    scores = torch.tensor([1.0, 4.0, 2.0, 2.0], dtype=torch.float64)
    assert_gradcheck(
        lambda a, b: cosent(a, b, scores, temperature=0.2), randn(4, 3, seed=5), randn(4, 3, seed=6)
    )


def test_bad_inputs_are_named() -> None:
    assert_mismatch_names(lambda a, b: cosent(a, b, torch.zeros(4)), "z_b")
    z = randn(4, 3, seed=7)
    with pytest.raises(ValueError, match=r"scores must have shape \(4,\)"):
        cosent(z, z, torch.zeros(3))
    with pytest.raises(ValueError, match="scores must be finite"):
        cosent(z, z, torch.tensor([0.0, 1.0, float("nan"), 2.0]))
    with pytest.raises(ValueError, match="scores must be finite floating"):
        cosent(z, z, torch.arange(4))
    with pytest.raises(ValueError, match="temperature"):
        CoSENTLoss(temperature=0.0)
    with pytest.raises(ValueError, match="at least 2"):
        cosent(z[:1], z[:1], torch.zeros(1))


# ------------------------------------------------------------------ two processes (gloo, CPU)

WORKER = """
import sys, torch
from contrastkit.distributed import init_from_env, rank, world_size, shutdown
from contrastkit.losses import cosent

torch.set_default_dtype(torch.float64)
gen = torch.Generator().manual_seed(0)
weight = torch.randn(6, 4, generator=gen)
x_a, x_b = torch.randn(7, 6, generator=gen), torch.randn(7, 6, generator=gen)
scores = torch.tensor([0.0, 1.5, 3.0, 1.5, 5.0, 2.0, 4.0])
init_from_env()
rows = (slice(0, 3) if rank() == 0 else slice(3, 7)) if world_size() > 1 else slice(None)
w = weight.clone().requires_grad_()
loss = cosent(x_a[rows] @ w, x_b[rows] @ w, scores[rows], gather_distributed=True)
loss.backward()
torch.save({"loss": loss.detach(), "grad": w.grad}, sys.argv[1])
shutdown()
"""


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path: Path) -> None:
    ranks, single = two_process_runs(WORKER, tmp_path)
    assert_close((ranks[0]["loss"] + ranks[1]["loss"]) / 2, single["loss"], rtol=RTOL, atol=ATOL)
    assert_close((ranks[0]["grad"] + ranks[1]["grad"]) / 2, single["grad"], rtol=RTOL, atol=ATOL)
