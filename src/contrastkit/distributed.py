"""The only module that touches ``torch.distributed``: collectives and process groups.

Every helper is a no-op in a single process (``torch.distributed`` unavailable or not
initialized), so library code calls them unconditionally.

Gradient convention. A loss that uses negatives from other processes gathers embeddings with
:func:`gather_with_grad` and computes its terms for the *local* anchors only, reduced with
:func:`global_mean`. ``DistributedDataParallel`` then averages parameter gradients over the W
processes. ``gather_with_grad``'s backward sums the incoming gradients over all processes and
returns each process the slice of its own inputs, so that after DDP's average the parameter
gradients equal those of one process computing the loss on the whole batch (not W times
larger, not W times smaller). ``tests/test_distributed.py`` proves this for every loss on 2
processes.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True when a default process group is initialized."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Number of processes, 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's rank, 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def _batch_sizes(x: Tensor) -> list[int]:
    """Leading-dimension size of ``x`` on every process, in rank order."""
    size = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes = [torch.zeros_like(size) for _ in range(world_size())]
    dist.all_gather(sizes, size)
    return [int(s.item()) for s in sizes]


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 (sizes may differ); backward sums over processes, keeps own slice."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        sizes = _batch_sizes(x)
        largest = max(sizes)
        padded = x.new_zeros((largest, *x.shape[1:]))
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        ctx.start = sum(sizes[: rank()])
        ctx.size = x.shape[0]
        return torch.cat([part[:n] for part, n in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.start : ctx.start + ctx.size]


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` (B_r, ...) from every process along dim 0, keeping gradients.

    Sizes along dim 0 may differ between processes. The backward pass all-reduces (sums) the
    gradient of the gathered tensor and returns this process its own rows: see the module
    docstring for why this gives exact gradients under ``DistributedDataParallel``.
    Returns ``x`` itself in a single process.
    """
    if not is_distributed():
        return x
    return _GatherWithGrad.apply(x)


def batch_offset(local_size: int, device: torch.device | None = None) -> int:
    """Index of this process's first row in a tensor gathered by :func:`gather_with_grad`."""
    if not is_distributed():
        return 0
    sizes = _batch_sizes(torch.empty(local_size, device=device))
    return sum(sizes[: rank()])


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over processes (no gradient); ``x`` itself in a single process."""
    if not is_distributed():
        return x
    total = x.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def global_mean(terms: Tensor, *, gather_distributed: bool) -> Tensor:
    """The local share of the mean of ``terms`` over all processes.

    With ``gather_distributed`` (and a process group), returns
    ``sum(local terms) * W / count(all terms)``, so that averaging the returned values over the
    W processes (as DDP averages gradients) gives the mean over every term of every process,
    even when processes hold different numbers of terms. Otherwise ``terms.mean()``.
    """
    if not (gather_distributed and is_distributed()):
        return terms.mean()
    count = all_reduce_sum(torch.tensor(float(terms.numel()), device=terms.device))
    return terms.sum() * world_size() / count


class _AllReduceWithGrad(torch.autograd.Function):
    """Sum over processes; backward sums the incoming gradients over processes too."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        total = x.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def all_reduce_with_grad(x: Tensor) -> Tensor:
    """Sum of ``x`` over processes, differentiable (``x`` itself in a single process).

    Every process gets the same sum; the backward pass sums the gradients of all processes'
    uses of it, the same convention as :func:`gather_with_grad` (exact under DDP averaging).
    Used for batch statistics over the global batch (:class:`~contrastkit.modules.GlobalBatchNorm`).
    """
    if not is_distributed():
        return x
    return _AllReduceWithGrad.apply(x)


def init_from_env() -> bool:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    Uses NCCL when CUDA is available (one GPU per local rank) and gloo on CPU. Returns True when
    this process is part of a multi-process run.
    """
    import os

    if is_distributed() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return is_distributed()
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    atexit.register(shutdown)
    return True


def shutdown() -> None:
    """Leave the process group (no-op when not distributed); safe to call twice.

    A process must not reach interpreter teardown with a live group: gloo's worker threads still
    hold finished work whose tensors then die without a Python interpreter, and the process
    aborts (SIGABRT) after all its work is done. :func:`init_from_env` registers this to run at
    exit; call it earlier to leave on purpose.
    """
    if is_distributed():
        dist.destroy_process_group()


@contextlib.contextmanager
def private_group() -> Iterator[Any]:
    """A new process group of every process, destroyed on exit; None in a single process.

    ``fit`` gives ``DistributedDataParallel`` its own group, so that DDP's gradient all-reduces
    never interleave with the collectives of the backward pass itself (gathered negatives,
    global BatchNorm), which run in the default group.
    """
    if not is_distributed():
        yield None
        return
    group = dist.new_group()
    try:
        yield group
    finally:
        dist.destroy_process_group(group)
