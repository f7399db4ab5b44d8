"""Gradient caching: the gradients of a contrastive batch larger than its activations' memory.

GradCache (Gao, Zhang, Han, Callan, "Scaling Deep Contrastive Learning Batch Size under Memory
Limited Setup", arXiv 2101.06983). A loss with in-batch negatives couples every sample with
every other, so gradient accumulation over small batches changes the loss (fewer negatives).
GradCache keeps the whole batch's loss and only splits the encoder's work, in three passes:

1. graph-less forward: embed each sub-batch (``micro_batch_size`` samples) without autograd,
   keeping only the embeddings (B, D) and the random state each sub-batch started from;
2. representation gradient computation and caching: the loss of the whole batch on the
   concatenated embeddings, backward to the embeddings (and to the parameters the loss itself
   uses: heads, a learnable temperature); the embedding gradients are the cache;
3. sub-batch gradient accumulation: replay each sub-batch with autograd, from the same random
   state (dropout masks repeat exactly), and backpropagate its slice of the cached gradient.

Peak activation memory is that of one sub-batch; the compute is one extra encoder forward.
The method must implement :class:`~contrastkit.methods.base.CachedMethod`.

Exactness. The gradients equal those of the whole batch (up to float rounding) when the
encoder's output for a sample does not depend on the other samples of its batch. BatchNorm in
``embed`` breaks that: its statistics come from each sub-batch, not the whole batch, so the
result is the gradient of a slightly different model (like per-device BatchNorm in
data-parallel training). A warning says so on the first step; use an encoder without batch
statistics (LayerNorm, GroupNorm; ViTs, text transformers) for exact gradients. BatchNorm in
the heads is unaffected (they run on the whole batch in ``loss_from_embeddings``), and
running statistics are updated once per sub-batch (in the graph-less pass; the replay restores
them).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.distributed import all_reduce_sum, world_size
from contrastkit.methods.base import CachedMethod, MethodOutput
from contrastkit.train.batch_norm_watch import batch_norm_watch, running_stats_kept

Autocast = Callable[[], contextlib.AbstractContextManager[Any]]


def cached_method_names() -> list[str]:
    """Names of the built-in methods that implement :class:`CachedMethod`."""
    import contrastkit.methods as methods

    found = []
    for name in methods.__all__:
        cls = getattr(methods, name)
        if isinstance(cls, type) and issubclass(cls, nn.Module) and issubclass(cls, CachedMethod):
            found.append(name)
    return sorted(found)


def check_cached_method(method: nn.Module, *, micro_batch_size: int) -> None:
    """Raise a ``ValueError`` naming the method when it does not implement the protocol."""
    if isinstance(method, CachedMethod):
        return
    raise ValueError(
        f"micro_batch_size={micro_batch_size} (gradient caching) needs a method whose forward "
        "is split into embed(batch, *, progress) and loss_from_embeddings(embeddings, batch, "
        f"*, progress) (contrastkit.methods.base.CachedMethod); {type(method).__name__} has no "
        f"such split. Methods that have it: {', '.join(cached_method_names())}. Remove "
        "micro_batch_size, or lower batch_size until a step fits in memory"
    )


@dataclass
class RandomStates:
    """The global random streams a sub-batch's ``embed`` may draw from (dropout).

    torch's CPU generator, and every CUDA device's when CUDA is in use.
    """

    cpu: Tensor
    cuda: list[Tensor]

    @classmethod
    def capture(cls) -> RandomStates:
        cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        return cls(torch.get_rng_state(), cuda)

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda:
            torch.cuda.set_rng_state_all(self.cuda)


def _concatenate(parts: list[tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
    """Whole-batch embeddings from the sub-batches', as leaves that collect gradients."""
    return tuple(torch.cat(pieces).detach().requires_grad_() for pieces in zip(*parts, strict=True))


Cached = list[tuple[Tensor, Tensor | None]]


def _slices(embeddings: tuple[Tensor, ...], rows: list[int]) -> list[Cached]:
    """Per sub-batch: its rows of every embedding, with their cached gradient (None if unused)."""
    values = [embedding.detach().split(rows) for embedding in embeddings]
    grads = [None if e.grad is None else e.grad.split(rows) for e in embeddings]
    return [
        [
            (value[i], None if grad is None else grad[i])
            for value, grad in zip(values, grads, strict=True)
        ]
        for i in range(len(rows))
    ]


def _check_embeddings(name: str, embeddings: Any) -> int:
    """The number of samples (rows) of one sub-batch's embeddings; ValueError if malformed."""
    if not isinstance(embeddings, (tuple, list)) or not embeddings:
        raise ValueError(f"{name}.embed must return a non-empty tuple of tensors")
    rows = {e.shape[0] if isinstance(e, Tensor) and e.dim() else -1 for e in embeddings}
    if len(rows) != 1 or -1 in rows:
        raise ValueError(
            f"{name}.embed returned tensors with {sorted(rows)} rows for one sub-batch: every "
            "embedding must hold the sub-batch's samples along dim 0 (one tensor per view)"
        )
    return rows.pop()


class GradCache:
    """Gradient caching (GradCache, arXiv 2101.06983) for a :class:`CachedMethod`.

    ``backward(batch, progress=p)`` is a drop-in for ``method(batch, progress=p).loss
    .backward()``: it returns the step's ``MethodOutput`` and leaves the whole batch's
    gradients in ``.grad``, while holding the activations of only ``micro_batch_size``
    samples at a time. The batch needs ``split(size)`` (like
    :class:`~contrastkit.types.ViewBatch`); the embeddings of the sub-batches are
    concatenated along dim 0. Gradients accumulate like ``loss.backward()`` (call it once per
    accumulated batch with ``accumulate``), and ``average_gradients()`` averages them over
    processes as ``DistributedDataParallel`` would: the engine calls the method itself, never a
    DDP wrapper, and a loss with ``gather_distributed`` gathers the whole batch's embeddings.
    See the module docstring for exactness (BatchNorm).

    Args:
        method: an ``nn.Module`` implementing :class:`CachedMethod`.
        micro_batch_size: samples per sub-batch (the last one holds the remainder).
        autocast: makes the context for forward computations (mixed precision); backward
            passes run outside it.

    Example:
        >>> from contrastkit.encoders import Encoder
        >>> from contrastkit.methods import SimCLR
        >>> from contrastkit.types import ViewBatch
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = SimCLR(encoder, proj_hidden_dim=32, proj_dim=8)
        >>> batch = ViewBatch([torch.randn(10, 3, 4, 4), torch.randn(10, 3, 4, 4)])
        >>> output = GradCache(method, micro_batch_size=4).backward(batch, progress=0.0)
        >>> encoder.module[1].weight.grad.shape
        torch.Size([16, 48])
    """

    def __init__(
        self, method: nn.Module, *, micro_batch_size: int, autocast: Autocast | None = None
    ) -> None:
        if isinstance(micro_batch_size, bool) or not isinstance(micro_batch_size, int):
            raise ValueError(f"micro_batch_size must be an integer, got {micro_batch_size!r}")
        if micro_batch_size < 1:
            raise ValueError(f"micro_batch_size must be >= 1, got {micro_batch_size}")
        check_cached_method(method, micro_batch_size=micro_batch_size)
        self.method, self.micro_batch_size = method, micro_batch_size
        self.autocast: Autocast = autocast or contextlib.nullcontext
        self.name = type(method).__name__
        self._warned: set[str] = set()
        self._checked = False  # whether a first step looked for BatchNorm in embed

    def backward(self, batch: Any, *, progress: float, accumulate: int = 1) -> MethodOutput:
        """The loss of ``batch`` and its gradients (the loss divided by ``accumulate``)."""
        if not callable(getattr(batch, "split", None)):
            raise ValueError(
                f"gradient caching splits the batch into sub-batches, but a "
                f"{type(batch).__name__} has no split(size) method (use a ViewBatch)"
            )
        sub_batches: Sequence[Any] = batch.split(self.micro_batch_size)
        method: Any = self.method
        embeddings, states, rows = self.graph_less_forward(sub_batches, progress=progress)
        with self.autocast():
            output: MethodOutput = method.loss_from_embeddings(embeddings, batch, progress=progress)
        if not bool(torch.isfinite(output.loss.detach())):
            return output  # the caller stops; nothing to backpropagate
        (output.loss / accumulate).backward()
        after = RandomStates.capture()
        with running_stats_kept(self.method):
            for sub_batch, state, cached in zip(
                sub_batches, states, _slices(embeddings, rows), strict=True
            ):
                self.sub_batch_backward(sub_batch, state, cached, progress=progress)
        after.restore()  # the random streams go on as if the replay had not happened
        return output

    def graph_less_forward(
        self, sub_batches: Sequence[Any], *, progress: float
    ) -> tuple[tuple[Tensor, ...], list[RandomStates], list[int]]:
        """Pass 1: every sub-batch's embeddings without autograd, and its starting RNG state."""
        method: Any = self.method
        parts, states, rows = [], [], []
        watch: contextlib.AbstractContextManager[list[str]] = (
            contextlib.nullcontext([]) if self._checked else batch_norm_watch(self.method)
        )
        with torch.no_grad(), watch as batch_norms:
            for sub_batch in sub_batches:
                states.append(RandomStates.capture())
                with self.autocast():
                    part = tuple(method.embed(sub_batch, progress=progress))
                rows.append(_check_embeddings(self.name, part))
                parts.append(part)
        if len({len(part) for part in parts}) > 1:
            raise ValueError(f"{self.name}.embed returned a different number of tensors per call")
        if batch_norms:
            self._warn_once("batch_norm", self._batch_norm_message(batch_norms))
        self._checked = True
        return _concatenate(parts), states, rows

    def sub_batch_backward(
        self, sub_batch: Any, state: RandomStates, cached: Cached, *, progress: float
    ) -> None:
        """Pass 3: replay one sub-batch from ``state``; backpropagate its cached gradients.

        ``cached`` holds, per embedding, this sub-batch's rows from the graph-less pass and
        their gradient (None when the loss did not use that embedding).
        """
        method: Any = self.method
        state.restore()
        with self.autocast():
            replayed = tuple(method.embed(sub_batch, progress=progress))
        self._check_replay(replayed, [value for value, _ in cached])
        pairs = [
            (new, grad)
            for new, (_, grad) in zip(replayed, cached, strict=True)
            if grad is not None and new.requires_grad  # frozen towers get no gradient
        ]
        if pairs:
            torch.autograd.backward([new for new, _ in pairs], [grad for _, grad in pairs])

    def average_gradients(self) -> None:
        """Average ``.grad`` over processes, as DDP does (no-op in one process).

        Parameters with a gradient on any process get the average (zeros where a process has
        none); parameters without a gradient anywhere keep ``None``.
        """
        if world_size() == 1:
            return
        params = [p for p in self.method.parameters() if p.requires_grad]
        if not params:
            return
        present = torch.tensor([float(p.grad is not None) for p in params], device=params[0].device)
        anywhere = all_reduce_sum(present).tolist()
        for param, count in zip(params, anywhere, strict=True):
            if count == 0:
                continue
            grad = param.grad if param.grad is not None else torch.zeros_like(param)
            param.grad = all_reduce_sum(grad) / world_size()

    def _check_replay(self, replayed: tuple[Tensor, ...], cached: list[Tensor]) -> None:
        """Warn once when the replay differs from the graph-less pass (wrong gradients)."""
        for new, old in zip(replayed, cached, strict=True):
            if new.shape != old.shape or not torch.allclose(
                new.detach().float(), old.float(), rtol=1e-3, atol=1e-5
            ):
                self._warn_once(
                    "replay",
                    f"gradient caching: {self.name}.embed gave other values when replayed than "
                    "in the graph-less pass, so the gradients are not the whole batch's. Its "
                    "randomness must come from torch's global generator (dropout's does), and "
                    "embed must not depend on state that loss_from_embeddings changes",
                )
                return

    def _batch_norm_message(self, layers: list[str]) -> str:
        names = sorted(set(layers))
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        return (
            f"gradient caching: {self.name}.embed runs BatchNorm in training mode ({shown}); "
            f"its statistics come from sub-batches of {self.micro_batch_size} samples, not the "
            "whole batch, so the gradients are not exactly the whole batch's. Use an encoder "
            "without batch statistics (LayerNorm, GroupNorm) for exact gradients"
        )

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=3)
