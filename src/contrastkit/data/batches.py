"""Which samples go into which batch: seeded per epoch, resumable mid-epoch, sharded by rank."""

from __future__ import annotations

from collections.abc import Iterator, Sized

import torch
from torch import Tensor

_SEED_STRIDE = 1_000_003


class BatchOrder:
    """The batch order of every epoch, a pure function of ``(seed, epoch)``.

    Epoch ``e`` shuffles the sample indices with ``torch.randperm`` drawn from a
    ``torch.Generator`` seeded with ``seed * 1_000_003 + e``, so the order depends on nothing
    but the seed and the epoch: a run resumed at ``(epoch, batch)`` sees exactly the batches the
    interrupted run would have seen, with no sampler state to save.

    Distributed: the *global* batch is ``batch_size * world_size`` samples, and rank ``r`` takes
    rows ``r * batch_size : (r + 1) * batch_size`` of each global batch. The ranks' shards of one
    step are disjoint and together are the batch a single process with
    ``batch_size * world_size`` would draw at that step (same seed). Every rank must use the same
    seed. With ``drop_last=False`` the last, partial global batch is split as evenly as possible
    (``torch.tensor_split``), so near the end a rank may get fewer samples, or none if fewer
    samples than ranks remain.

    Args:
        num_samples: the dataset's size N.
        batch_size: samples per batch on this process.
        seed: the run's seed.
        drop_last: drop the last global batch of an epoch when it is incomplete.
        rank: this process's rank in ``[0, world_size)``.
        world_size: the number of processes W.

    Raises:
        ValueError: a non-positive size, a bad rank, or a dataset smaller than the global batch
            with ``drop_last=True`` (no batch at all).

    Example:
        >>> order = BatchOrder(10, 4, seed=0)
        >>> order.batches_per_epoch
        2
        >>> resumed = list(order.epoch_batches(3, start_batch=1))
        >>> [b.tolist() for b in resumed] == [b.tolist() for b in order.epoch_batches(3)][1:]
        True
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        *,
        seed: int = 0,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        for label, value in (("num_samples", num_samples), ("batch_size", batch_size)):
            if value < 1:
                raise ValueError(f"{label} must be >= 1, got {value}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"need world_size >= 1 and 0 <= rank < world_size, got {rank=}, {world_size=}"
            )
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last
        self.rank = rank
        self.world_size = world_size
        self.global_batch_size = batch_size * world_size
        if drop_last and num_samples < self.global_batch_size:
            raise ValueError(self._too_small_message())

    def _too_small_message(self) -> str:
        """Why a dataset smaller than one global batch gives no batch, and the recipe fixes."""
        processes = f" x {self.world_size} processes" if self.world_size > 1 else ""
        fixes = []
        largest = self.num_samples // self.world_size
        if largest >= 2:  # the smallest batch a contrastive loss can use
            fixes.append(f"lower batch_size to at most {largest} (--set batch_size={largest})")
        if self.world_size > 1:
            fixes.append("use fewer processes")
        advice = ", ".join(fixes) + (" or " if fixes else "") + "use more data"
        return (
            f"the dataset has {self.num_samples} samples, fewer than one batch of "
            f"{self.global_batch_size} (batch_size = {self.batch_size}{processes}), so training "
            f"would get no batch: {advice}"
        )

    @property
    def batches_per_epoch(self) -> int:
        """Steps per epoch (the same on every rank)."""
        full, rest = divmod(self.num_samples, self.global_batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __len__(self) -> int:
        return self.batches_per_epoch

    def permutation(self, epoch: int) -> Tensor:
        """Epoch ``epoch``'s order of all N sample indices (int64), identical on every rank."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        generator = torch.Generator().manual_seed(self.seed * _SEED_STRIDE + epoch)
        return torch.randperm(self.num_samples, generator=generator)

    def position(self, step: int) -> tuple[int, int]:
        """The ``(epoch, start_batch)`` of global step ``step`` (0-based), for resuming."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        return divmod(step, self.batches_per_epoch)

    def epoch_batches(self, epoch: int, start_batch: int = 0) -> Iterator[Tensor]:
        """This rank's batches of epoch ``epoch``, from batch ``start_batch`` on.

        Args:
            epoch: the epoch (0-based).
            start_batch: the first batch to yield, in ``[0, batches_per_epoch]``; resuming
                after ``k`` finished steps of the epoch passes ``k``.

        Returns:
            An iterator of 1-D int64 index tensors, one per remaining step.

        Raises:
            ValueError: a negative epoch or a ``start_batch`` out of range.
        """
        if not 0 <= start_batch <= self.batches_per_epoch:
            raise ValueError(
                f"start_batch must be in [0, {self.batches_per_epoch}], got {start_batch}"
            )
        return self._batches(self.permutation(epoch), start_batch)

    def _batches(self, order: Tensor, start_batch: int) -> Iterator[Tensor]:
        size = self.global_batch_size
        for batch in range(start_batch, self.batches_per_epoch):
            rows = order[batch * size : (batch + 1) * size]
            if len(rows) == size:
                yield rows[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
            else:
                yield torch.tensor_split(rows, self.world_size)[self.rank]


class ShuffledSource:
    """Mix-in for a batch source whose batches are uniformly shuffled samples.

    A batch source owns its batch order (``batch_order`` of
    :class:`~contrastkit.train.BatchSource`); this one is a :class:`BatchOrder` over the
    source's ``len(self)`` samples. A source with another order (length-grouped text batches:
    :class:`~contrastkit.data.text_source.TextSource`) defines its own ``batch_order``.

    Example:
        >>> class Numbers(ShuffledSource):
        ...     def __len__(self) -> int:
        ...         return 10
        >>> Numbers().batch_order(4, seed=0).batches_per_epoch
        2
    """

    def batch_order(
        self: Sized, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1
    ) -> BatchOrder:
        """This rank's batches of ``batch_size`` samples, shuffled anew each epoch from ``seed``."""
        return BatchOrder(len(self), batch_size, seed=seed, rank=rank, world_size=world_size)
