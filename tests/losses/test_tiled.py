"""Tiled losses (``chunk_size=...``) versus the untiled ones: same values, same gradients.

Spec: :mod:`contrastkit.losses.tiled` and the ``chunk_size`` argument of every softmax or
sigmoid contrastive loss. Equality is checked to 1e-5 relative in float32 and float64, for
every input that receives a gradient (embeddings, queue, temperature, logit scale and bias),
gradients relative to their largest entry. Two float32 floors: a loss value below 1 is
compared to 1e-5 absolute (at logit scale 100 a perfectly separated batch has a loss of 0, and
the tiled loss differs by a float32 rounding of a logit of 100, ~1e-6), and gradients to 1e-6
absolute (a saturated softmax's gradient is ``p - 1`` with ``p`` within 1e-5 of 1, which
float32 gives only to ~1e-7 in the untiled loss too; a single candidate that is the positive
has a gradient of exactly 0 untiled and ~1e-7 tiled).
"""

from __future__ import annotations

from collections.abc import Callable

import loss_checks as lc
import pytest
import torch
import torch.nn.functional as F
from loss_checks import randn
from torch import Tensor

from contrastkit import losses
from contrastkit.losses.tiled import blockwise_logsumexp, blockwise_softplus
from contrastkit.losses.tiled_problem import BlockProblem

Inputs = dict[str, Tensor]
LossCall = Callable[[Inputs, "int | None"], Tensor]

CALLS: dict[str, LossCall] = {
    "nt_xent": lambda x, c: losses.nt_xent(x["a"], x["b"], temperature=x["t"], chunk_size=c),
    "info_nce": lambda x, c: losses.info_nce(
        x["a"], x["b"], temperature=0.2, negatives=x["queue"], chunk_size=c
    ),
    "info_nce_no_queue": lambda x, c: losses.info_nce(x["a"], x["b"], chunk_size=c),
    "supcon": lambda x, c: losses.supcon(x["views"], x["labels"], chunk_size=c),
    "supcon_one_view": lambda x, c: losses.supcon(x["views"][:, :1], x["labels"], chunk_size=c),
    "dcl": lambda x, c: losses.dcl(x["a"], x["b"], chunk_size=c),
    "dclw": lambda x, c: losses.dclw(x["a"], x["b"], temperature=0.3, chunk_size=c),
    "clip": lambda x, c: losses.clip_loss(x["a"], x["b"], logit_scale=x["scale"], chunk_size=c),
    "clip_labels": lambda x, c: losses.clip_loss(
        x["a"], x["b"], logit_scale=x["scale"], labels=x["labels"], chunk_size=c
    ),
    "clip_scale_100": lambda x, c: losses.clip_loss(
        x["a"], x["b"], logit_scale=100.0, chunk_size=c
    ),
    "siglip": lambda x, c: losses.siglip_loss(
        x["a"], x["b"], logit_scale=x["scale"], logit_bias=x["bias"], chunk_size=c
    ),
}


def make_inputs(batch: int, dtype: torch.dtype, seed: int = 0) -> Inputs:
    """Leaf tensors (all floating ones require grad) for every call in CALLS."""
    labels = torch.arange(batch) % max(1, batch // 2)  # every label twice (one alone if odd)
    x = {
        "a": randn(batch, 6, seed=seed),
        "b": randn(batch, 6, seed=seed + 1),
        "views": randn(batch, 3, 6, seed=seed + 2),
        "queue": randn(11, 6, seed=seed + 3),
        "t": torch.tensor(0.3, dtype=torch.float64),
        "scale": torch.tensor(7.0, dtype=torch.float64),
        "bias": torch.tensor(-1.5, dtype=torch.float64),
    }
    leaves = {k: v.to(dtype).requires_grad_() for k, v in x.items()}
    return {**leaves, "labels": labels}


def value_and_grads(name: str, x: Inputs, chunk: int | None) -> tuple[Tensor, dict[str, Tensor]]:
    loss = CALLS[name](x, chunk)
    leaves = {k: v for k, v in x.items() if v.requires_grad}
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return loss.detach(), {k: g for k, g in zip(leaves, grads, strict=True) if g is not None}


def assert_relative(actual: Tensor, expected: Tensor, what: str, rtol: float = 1e-5) -> None:
    """Equal to ``rtol`` relative to the largest entry of ``expected``, with the float32
    floors of the module docstring."""
    largest = float(expected.abs().max())
    atol = rtol * largest + 1e-12
    if expected.dtype == torch.float32:
        atol = rtol * max(largest, 1.0) if expected.dim() == 0 else max(atol, 1e-6)
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol, msg=what)


# --------------------------------------------------------------------------- equality


# Batch and chunk: one row per block, chunks that do not divide the 2B or 3B rows, a chunk
# larger than everything.
SIZES = [
    (torch.float64, 2, 1),
    (torch.float64, 5, 2),
    (torch.float64, 7, 64),
    (torch.float32, 2, 1),
    (torch.float32, 8, 3),
]


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize(("dtype", "batch", "chunk"), SIZES)
def test_tiled_equals_untiled(name: str, batch: int, chunk: int, dtype: torch.dtype) -> None:
    x = make_inputs(batch, dtype, seed=batch)
    if name == "supcon_one_view" and batch == 2:
        x["labels"] = torch.tensor([3, 3])
    expected, expected_grads = value_and_grads(name, x, None)
    value, grads = value_and_grads(name, x, chunk)
    assert value.dtype == dtype and value.shape == ()
    assert_relative(value, expected, f"{name} value")
    assert set(grads) == set(expected_grads), name
    for key, grad in grads.items():
        assert_relative(grad, expected_grads[key], f"{name} d/d {key}")


GRADCHECK = {
    "nt_xent": ["a", "b", "t"],
    "info_nce": ["a", "b", "queue"],
    "supcon": ["views"],
    "dcl": ["a", "b"],
    "clip": ["a", "b", "scale"],
    "siglip": ["a", "b", "scale", "bias"],
}


@pytest.mark.parametrize(("name", "keys"), GRADCHECK.items())
def test_gradcheck(name: str, keys: list[str]) -> None:
    x = make_inputs(3, torch.float64, seed=7)
    x["views"] = x["views"][:, :2, :3].detach()

    def call(*tensors: Tensor) -> Tensor:
        return CALLS[name]({**x, **dict(zip(keys, tensors, strict=True))}, 2)

    assert torch.autograd.gradcheck(call, tuple(x[k].detach().requires_grad_() for k in keys))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_value_without_grad(name: str) -> None:
    x = make_inputs(6, torch.float64)
    expected = CALLS[name](x, None)
    with torch.no_grad():
        value = CALLS[name](x, 4)
    assert_relative(value, expected.detach(), name)


def test_modules_pass_chunk_size() -> None:
    a, b = randn(6, 5, seed=1), randn(6, 5, seed=2)
    scale, bias = torch.tensor(5.0, dtype=torch.float64), torch.tensor(-2.0, dtype=torch.float64)
    views, labels = randn(6, 2, 5, seed=3), torch.tensor([0, 1, 2, 0, 1, 2])
    pairs = [
        (losses.NTXentLoss(chunk_size=4)(a, b), losses.nt_xent(a, b)),
        (losses.InfoNCELoss(chunk_size=4)(a, b), losses.info_nce(a, b)),
        (losses.SupConLoss(chunk_size=4)(views, labels), losses.supcon(views, labels)),
        (losses.DCLLoss(chunk_size=4)(a, b), losses.dcl(a, b)),
        (losses.DCLWLoss(chunk_size=4)(a, b), losses.dclw(a, b)),
        (losses.CLIPLoss(chunk_size=4)(a, b, scale), losses.clip_loss(a, b, logit_scale=scale)),
        (
            losses.SigLIPLoss(chunk_size=4)(a, b, scale, bias),
            losses.siglip_loss(a, b, logit_scale=scale, logit_bias=bias),
        ),
    ]
    for tiled, untiled in pairs:
        assert_relative(tiled, untiled, "module")


# --------------------------------------------------------------------------- the engine


def dense_objective(mode: str, a: Tensor, c: Tensor, scale: Tensor, t: Tensor) -> Tensor:
    """What blockwise_logsumexp computes, on the whole matrix (see ENGINE_CASES)."""
    if mode == "symmetric":
        c = a
    logits = scale * a @ c.T
    if mode == "columns":
        return (logits.logsumexp(1) - t[: a.shape[0]]).sum() + (logits.logsumexp(0) - t).sum()
    excluded = torch.zeros_like(logits, dtype=torch.bool)
    excluded[torch.arange(a.shape[0]), torch.arange(a.shape[0]) % c.shape[0]] = True
    weight = torch.linspace(0.0, 2.0, a.shape[0], dtype=a.dtype)
    lse = logits.masked_fill(excluded, float("-inf")).logsumexp(dim=1)
    return (weight * (lse - t[: a.shape[0]])).sum()


def tiled_objective(mode: str, a: Tensor, c: Tensor, scale: Tensor, t: Tensor) -> Tensor:
    rows = a.shape[0]
    if mode == "columns":
        return blockwise_logsumexp(
            a, c, scale=scale, chunk_size=4, targets=t[:rows], columns=True, column_targets=t
        )
    return blockwise_logsumexp(
        a,
        None if mode == "symmetric" else c,
        scale=scale,
        chunk_size=4,
        targets=t[:rows],
        exclude=torch.stack([torch.arange(rows) % c.shape[0], torch.full((rows,), -1)], dim=1),
        row_weight=torch.linspace(0.0, 2.0, rows, dtype=a.dtype),
    )


def uses_shared_reference(a: Tensor, c: Tensor, scale: float) -> bool:
    problem = BlockProblem(
        anchors=a, candidates=c, symmetric=False, columns=False, sigmoid=False, scale=scale,
        bias=None, chunk=4, marked=None, row_weight=None, targets=None, column_targets=None,
        need_grad=False,
    )  # fmt: skip
    return problem.reference is not None


# Small scales take the shared-reference path (one exp2 per entry), large ones the path with
# per-row and per-column maxima; both must be exact, in both dtypes.
ENGINE_CASES = [
    (torch.float64, 1.7, True),
    (torch.float64, 400.0, False),
    (torch.float32, 1.7, True),
    (torch.float32, 30.0, False),
]


@pytest.mark.parametrize("mode", ["rows", "symmetric", "columns"])
@pytest.mark.parametrize(("dtype", "scale", "shared"), ENGINE_CASES)
def test_blockwise_logsumexp_against_dense(
    mode: str, dtype: torch.dtype, scale: float, shared: bool
) -> None:
    rows = 9 if mode == "symmetric" else 7
    leaves = [
        randn(rows, 4, seed=1).to(dtype).requires_grad_(),
        randn(9, 4, seed=2).to(dtype).requires_grad_(),
        torch.tensor(scale, dtype=dtype, requires_grad=True),
        randn(9, seed=3).to(dtype).requires_grad_(),
    ]
    assert uses_shared_reference(leaves[0].detach(), leaves[1].detach(), scale) == shared
    expected = dense_objective(mode, *leaves)
    value = tiled_objective(mode, *leaves)
    assert_relative(value.detach(), expected.detach(), f"{mode} value")
    grads = torch.autograd.grad(value, leaves, allow_unused=True)
    expected_grads = torch.autograd.grad(expected, leaves, allow_unused=True)
    for name, grad, reference in zip("acst", grads, expected_grads, strict=True):
        assert (grad is None) == (reference is None), name
        if grad is not None and reference is not None:
            assert_relative(grad, reference, f"{mode} d/d {name}")


def test_blockwise_symmetric_matches_explicit_candidates() -> None:
    z = randn(9, 4, seed=3).requires_grad_()
    own = torch.arange(9)[:, None]
    symmetric = blockwise_logsumexp(z, None, scale=2.0, chunk_size=4, exclude=own)
    explicit = blockwise_logsumexp(z, z * 1.0, scale=2.0, chunk_size=4, exclude=own)
    lc.close_scalar(symmetric, explicit.detach())
    (grad_sym,) = torch.autograd.grad(symmetric, z)
    (grad_explicit,) = torch.autograd.grad(explicit, z)
    assert_relative(grad_sym, grad_explicit, "symmetric gradient")


def test_blockwise_softplus_against_dense() -> None:
    a, c = randn(6, 4, seed=4), randn(5, 4, seed=5)
    positive = torch.tensor([[0], [1], [2], [3], [4], [-1]])
    signs = -torch.ones(6, 5, dtype=torch.float64)
    signs[torch.arange(5), torch.arange(5)] = 1.0
    expected = F.softplus(-signs * (3.0 * a @ c.T - 1.0)).sum()
    tiled = blockwise_softplus(a, c, scale=3.0, bias=-1.0, chunk_size=2, positive=positive)
    lc.close_scalar(tiled, expected)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "8", 2.0])
def test_bad_chunk_size(bad: object) -> None:
    a, b = randn(4, 3, seed=0), randn(4, 3, seed=1)
    calls = [
        lambda: losses.nt_xent(a, b, chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.info_nce(a, b, chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.dcl(a, b, chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.supcon(a[:, None], torch.zeros(4, dtype=torch.long), chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.clip_loss(a, b, logit_scale=2.0, chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.siglip_loss(a, b, logit_scale=2.0, logit_bias=0.0, chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.NTXentLoss(chunk_size=bad),  # type: ignore[arg-type]
        lambda: losses.CLIPLoss(chunk_size=bad),  # type: ignore[arg-type]
        lambda: blockwise_logsumexp(a, b, scale=1.0, chunk_size=bad),  # type: ignore[arg-type]
    ]
    for call in calls:
        lc.assert_raises_naming(call, "chunk_size")


def test_validation_is_unchanged_when_tiled() -> None:
    a = randn(4, 3, seed=0)
    lc.assert_shape_error(
        lambda: losses.nt_xent(a, randn(5, 3, seed=1), chunk_size=2), "z_b", (5, 3)
    )
    with pytest.raises(ValueError, match="batch"):
        losses.nt_xent(a[:1], a[:1], chunk_size=2)
    with pytest.raises(ValueError, match="temperature"):
        losses.dcl(a, a, temperature=0.0, chunk_size=2)
    with pytest.raises(ValueError, match="negatives"):
        losses.info_nce(a, a, negatives=randn(5, 2, seed=2), chunk_size=2)
    with pytest.raises(ValueError, match="no anchor has a positive"):
        losses.supcon(a[:, None], torch.arange(4), chunk_size=2)
    with pytest.raises(ValueError, match="labels"):
        losses.clip_loss(a, a, logit_scale=1.0, labels=torch.arange(3), chunk_size=2)
    with pytest.raises(ValueError, match="logit_scale"):
        losses.siglip_loss(a, a, logit_scale=-1.0, logit_bias=0.0, chunk_size=2)


# --------------------------------------------------------------------------- memory


def saved_for_backward(call: Callable[[], Tensor]) -> list[int]:
    """Sizes (elements) of every tensor the autograd graph of ``call()`` saves."""
    sizes: list[int] = []

    def pack(tensor: Tensor) -> Tensor:
        sizes.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        call()
    return sizes


@pytest.mark.parametrize("name", sorted(CALLS))
def test_nothing_of_the_similarity_matrix_is_saved(name: str) -> None:
    # 64 pairs: the similarity matrices have 64 x 64 to 192 x 192 entries, the embeddings are
    # at most 192 x 6; a tiled loss saves only embedding-sized tensors for backward.
    x = make_inputs(64, torch.float32)
    untiled = saved_for_backward(lambda: CALLS[name](x, None))
    tiled = saved_for_backward(lambda: CALLS[name](x, 16))
    assert max(untiled) >= 64 * 64, "the check sees the untiled loss's matrix"
    assert max(tiled) <= 192 * 6, f"{name} saves a tensor of {max(tiled)} elements"


def largest_allocation(call: Callable[[], None]) -> int:
    """Bytes of the largest allocation any single op makes while ``call`` runs."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        call()
    return max(event.self_cpu_memory_usage for event in prof.events())


@pytest.mark.slow  # the profiler's start-up takes seconds
def test_no_operation_allocates_the_matrix() -> None:
    # 64 pairs of dimension 4: the (128, 128) matrix is 64 KiB, a 32 x 32 block 4 KiB.
    a = randn(64, 4, seed=0).float().requires_grad_()
    b = randn(64, 4, seed=1).float().requires_grad_()
    matrix = 128 * 128 * 4
    assert largest_allocation(lambda: losses.nt_xent(a, b).backward()) >= matrix
    for loss in (losses.nt_xent, losses.info_nce, losses.dcl):
        assert largest_allocation(lambda f=loss: f(a, b, chunk_size=32).backward()) <= matrix / 16
