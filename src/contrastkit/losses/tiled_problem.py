"""A tiled objective's inputs: :class:`BlockProblem`, the blocks of its logits and their buffers.

:mod:`contrastkit.losses.tiled_passes` runs the passes over these blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

LOG2_E = 1.4426950408889634  # 1 / ln 2
Block = tuple[slice, slice]
Entries = tuple[Tensor, Tensor]


@dataclass(frozen=True)
class BlockProblem:
    """One objective over the blocks of ``scale * anchors @ candidates.T + bias``.

    Attributes:
        anchors: (M, D) rows.
        candidates: (N, D) columns; the anchors themselves when ``symmetric``.
        symmetric: the logits are symmetric (anchors against themselves): only blocks on or
            above the diagonal are visited, a block's columns standing for its mirror's rows.
        columns: add every column's log-sum-exp (unweighted) to the rows'.
        sigmoid: the objective is ``sum softplus(L)`` (marked entries negated) instead.
        scale: the logits' scale.
        bias: added to every logit, or None.
        chunk: rows and columns per block.
        marked: (M, E) columns per row, -1 for none: left out of the log-sum-exps (-inf), or
            negated in the sigmoid objective (SigLIP's positives).
        row_weight: (M,) non-negative weight of each row's term, or None for ones.
        targets: (M,) subtracted from each row's log-sum-exp before weighting, or None.
        column_targets: (N,) subtracted from each column's log-sum-exp, or None.
        need_grad: compute the gradient products (False: the value only).
    """

    anchors: Tensor
    candidates: Tensor
    symmetric: bool
    columns: bool
    sigmoid: bool
    scale: float
    bias: float | None
    chunk: int
    marked: Tensor | None
    row_weight: Tensor | None
    targets: Tensor | None
    column_targets: Tensor | None
    need_grad: bool

    @cached_property
    def unit(self) -> float:
        """Logits are in base 2 (times log2(e)) for the log-sum-exps, natural for sigmoid."""
        return 1.0 if self.sigmoid else LOG2_E

    @cached_property
    def scaled_anchors(self) -> Tensor:
        """(M, D) ``scale * anchors`` (in the logits' unit), computed once."""
        return self.anchors * (self.scale * self.unit)

    @cached_property
    def reference(self) -> float | None:
        """A base-2 logit no entry exceeds, when one ``exp2(L - reference)`` per entry is exact.

        ``|L| <= |scale| max|a| max|c|`` (Cauchy-Schwarz), so with that bound as the reference
        every exponent lies in [-2 bound, 0]. When that range (plus log2 of the largest row
        weight) fits the dtype's exponents, no term underflows and no weighted softmax
        overflows, and one shared reference replaces the per-row and per-column maxima: one
        exp2 per entry serves both directions. Normalized embeddings qualify in float32 up to
        a scale of 40 (temperature 0.025). None otherwise (and for the sigmoid objective).
        """
        if self.sigmoid or self.anchors.numel() == 0 or self.candidates.numel() == 0:
            return None
        norms = float(self.anchors.norm(dim=1).max()) * float(self.candidates.norm(dim=1).max())
        bound = abs(self.scale) * LOG2_E * norms
        heaviest = 0.0
        if self.row_weight is not None and bool((self.row_weight > 1).any()):
            heaviest = math.log2(float(self.row_weight.max()))
        limit = -math.log2(torch.finfo(self.anchors.dtype).tiny) - 8
        return bound if 2 * bound + heaviest <= limit else None

    @cached_property
    def touched(self) -> frozenset[tuple[int, int]]:
        """(row start, column start) of every block that holds a marked entry."""
        if self.marked is None:
            return frozenset()
        marked, chunk = self.marked, self.chunk
        row = torch.arange(marked.shape[0], device=marked.device)[:, None].expand_as(marked)
        valid = marked >= 0
        width = self.candidates.shape[0] + chunk
        keys = (row[valid] // chunk * chunk * width + marked[valid] // chunk * chunk).unique()
        return frozenset((key // width, key % width) for key in keys.tolist())

    def blocks(self) -> list[Block]:
        """Row and column ranges of the blocks, on or above the diagonal when symmetric."""
        rows, cols, step = self.anchors.shape[0], self.candidates.shape[0], self.chunk
        return [
            (slice(r, min(r + step, rows)), slice(c, min(c + step, cols)))
            for r in range(0, rows, step)
            for c in range(r if self.symmetric else 0, cols, step)
        ]

    def mirrored(self, block: Block) -> bool:
        """The block's columns stand for more rows (symmetric, off the diagonal)."""
        return self.symmetric and block[0] != block[1]

    def buffers(self, count: int) -> list[Tensor]:
        """``count`` flat buffers that hold the largest block; see :func:`_shaped`."""
        size = min(self.chunk, self.anchors.shape[0]) * min(self.chunk, self.candidates.shape[0])
        return [self.anchors.new_empty(size) for _ in range(count)]

    def logits(self, block: Block, buffer: Tensor) -> tuple[Tensor, Entries | None]:
        """The block of logits (in the problem's unit), written into ``buffer``, with its marked
        entries set (-inf, or negated); and those entries."""
        rows, cols = block
        logits = torch.mm(
            self.scaled_anchors[rows], self.candidates[cols].T, out=shaped(buffer, block)
        )
        if self.bias is not None:
            logits += self.bias * self.unit
        marked = self._marked_entries(block)
        if marked is not None:
            logits[marked] = -logits[marked] if self.sigmoid else float("-inf")
        return logits, marked

    def _marked_entries(self, block: Block) -> Entries | None:
        rows, cols = block
        if self.marked is None or (rows.start, cols.start) not in self.touched:
            return None
        local = self.marked[rows] - cols.start
        inside = (local >= 0) & (local < cols.stop - cols.start)
        row = torch.arange(local.shape[0], device=local.device)[:, None].expand_as(local)
        return row[inside], local[inside]


def shaped(buffer: Tensor, block: Block) -> Tensor:
    """The first rows x cols elements of a flat buffer, as a contiguous (rows, cols) matrix."""
    rows, cols = block[0].stop - block[0].start, block[1].stop - block[1].start
    return buffer[: rows * cols].view(rows, cols)
