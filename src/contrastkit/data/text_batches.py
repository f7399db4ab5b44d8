"""Batches of sentences of similar length: less padding, faster Transformer steps.

With dynamic padding a batch costs as much as its longest sentence. Grouping sentences of
similar length (the "megabatch" scheme of Hugging Face's ``LengthGroupedSampler``) cuts the
padding while keeping batches random: shuffle everything, cut the order into groups of
``group_batches`` batches, sort each group by length, cut it into batches, shuffle the batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from contrastkit.data.batches import _SEED_STRIDE, BatchOrder


def length_grouped_order(
    lengths: Tensor, batch_size: int, generator: torch.Generator, *, group_batches: int = 50
) -> Tensor:
    """A permutation of ``range(N)`` whose consecutive ``batch_size`` chunks have similar lengths.

    Args:
        lengths: (N,) token lengths.
        batch_size: the batch size B the order will be cut into.
        generator: the CPU generator that draws the shuffles (seeded by the caller).
        group_batches: batches per sorted group; larger groups give more uniform lengths
            within a batch, smaller ones more randomness in which sentences meet.

    Returns:
        (N,) int64 permutation. Chunks ``[k*B, (k+1)*B)`` are the batches, in random order;
        the last ``N % B`` entries (a partial batch) stay at the end.

    Example:
        >>> lengths = torch.tensor([5, 30, 6, 31, 7, 29, 8, 28])
        >>> order = length_grouped_order(lengths, 2, torch.Generator().manual_seed(0))
        >>> lengths[order].view(4, 2).tolist()  # each batch: two short or two long sentences
        [[6, 5], [8, 7], [31, 30], [29, 28]]
    """
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D (N,), got shape {tuple(lengths.shape)}")
    for name, value in (("batch_size", batch_size), ("group_batches", group_batches)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    shuffled = torch.randperm(len(lengths), generator=generator)
    groups = shuffled.split(batch_size * group_batches)
    by_length = [g[lengths[g].argsort(descending=True, stable=True)] for g in groups]
    order = torch.cat(by_length) if by_length else shuffled
    full = len(order) // batch_size * batch_size
    batches = order[:full].view(-1, batch_size)
    batches = batches[torch.randperm(len(batches), generator=generator)]
    return torch.cat([batches.reshape(-1), order[full:]])


class LengthGroupedOrder(BatchOrder):
    """A :class:`~contrastkit.data.batches.BatchOrder` whose batches hold similar lengths.

    Epoch ``e``'s permutation is :func:`length_grouped_order` drawn from a generator seeded
    with ``seed * 1_000_003 + e``: still a pure function of ``(seed, epoch)``, so resuming,
    ``drop_last`` and the rank sharding of the parent class work unchanged (each global batch
    of ``batch_size * world_size`` sentences is length-grouped, then split across ranks).

    Args:
        lengths: (N,) token lengths of the N samples (e.g. ``Tokens.lengths()``).
        batch_size: samples per batch on this process.
        group_batches: global batches per sorted group (see :func:`length_grouped_order`).
        seed, drop_last, rank, world_size: as :class:`BatchOrder`.

    Example:
        >>> order = LengthGroupedOrder([3, 9, 4, 8, 5, 7], 2, seed=0)
        >>> [sorted(b.tolist()) for b in order.epoch_batches(0)]
        [[1, 3], [0, 2], [4, 5]]
    """

    def __init__(
        self,
        lengths: Tensor | Sequence[int],
        batch_size: int,
        *,
        group_batches: int = 50,
        seed: int = 0,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = torch.as_tensor(lengths, dtype=torch.long)
        super().__init__(
            len(self.lengths),
            batch_size,
            seed=seed,
            drop_last=drop_last,
            rank=rank,
            world_size=world_size,
        )
        self.group_batches = group_batches

    def permutation(self, epoch: int) -> Tensor:
        """Epoch ``epoch``'s length-grouped order of all N indices, identical on every rank."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        generator = torch.Generator().manual_seed(self.seed * _SEED_STRIDE + epoch)
        return length_grouped_order(
            self.lengths, self.global_batch_size, generator, group_batches=self.group_batches
        )


def padding_fraction(lengths: Tensor, batches: Sequence[Tensor]) -> float:
    """The fraction of padded positions when each batch is padded to its longest sample.

    Example:
        >>> batches = [torch.tensor([0, 1]), torch.tensor([2, 3])]
        >>> round(padding_fraction(torch.tensor([1, 3, 2, 2]), batches), 3)
        0.2
    """
    lengths = torch.as_tensor(lengths)
    padded = sum(int(lengths[b].max()) * len(b) for b in batches if len(b))
    real = sum(int(lengths[b].sum()) for b in batches)
    return 1 - real / padded if padded else 0.0


__all__ = ["LengthGroupedOrder", "length_grouped_order", "padding_fraction"]
