"""The passes over blocks of the logits behind :mod:`contrastkit.losses.tiled`.

A :class:`BlockProblem` describes one objective over ``L = scale * A @ C.T (+ bias)``: a
weighted sum of row (and column) log-sum-exps, or a sum of softplus terms. :func:`evaluate`
returns its value and ``dObjective/dL`` already multiplied into ``G @ C`` and ``G.T @ A`` (the
input gradients, up to the scale), visiting ``chunk x chunk`` blocks only. The three schedules
and their cost are described in :mod:`contrastkit.losses.tiled`.

Elementwise work on the blocks costs about as much as the matmuls at D = 128 on a CPU, so it
is kept small: the log-sum-exps are computed in base 2 (logits times log2(e)), because
``torch.exp2`` is about 3x faster than ``torch.exp``; logarithms are only taken of reduced
vectors; and the blocks live in buffers allocated once (fresh memory costs page faults).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from contrastkit.losses.tiled_problem import LOG2_E, BlockProblem, shaped


class Evaluation(NamedTuple):
    """The objective, ``G @ C`` and ``G.T @ A`` for ``G = dObjective/dL`` (None without
    need_grad; the same tensor when symmetric: ``(G + G.T) @ A``), and ``sum(G)``."""

    value: Tensor
    grad_anchors: Tensor | None
    grad_candidates: Tensor | None
    grad_bias: Tensor | None


def evaluate(p: BlockProblem) -> Evaluation:
    """Run the schedule that fits the problem; see :mod:`contrastkit.losses.tiled`."""
    if p.sigmoid:
        return _gradient_pass(p, None, None)
    if not (p.symmetric or p.columns):
        return _row_sweep(p)
    rows_lse, cols_lse = _log_sum_exps(p)
    value = _weighted_sum(p, rows_lse)
    if p.columns:
        terms = cols_lse / LOG2_E
        value = value + (terms if p.column_targets is None else terms - p.column_targets).sum()
    if not p.need_grad:
        return Evaluation(value, None, None, None)
    shift = _shifted(p, rows_lse)
    _, grad_a, grad_c, _ = _gradient_pass(p, shift, shift if p.symmetric else cols_lse)
    return Evaluation(value, grad_a, grad_c, None)


def _softplus_sum(logits: Tensor) -> Tensor:
    """``sum(softplus(logits))`` as ``sum(relu(z)) + log(prod(1 + exp(-|z|)))``.

    The products run over groups of 64 factors in (1, 2], in float64, so a logarithm is taken
    of one value in 64 (``torch.log`` is scalar code on some CPUs, 30x slower than ``exp2``)
    without losing precision: the result is closer to the exact sum than float32's
    ``F.softplus(logits).sum()``.
    """
    factors = logits.abs().mul_(-LOG2_E).exp2_().double().add_(1.0).reshape(-1)
    whole = factors.numel() // 64 * 64
    logs = factors[:whole].view(-1, 64).prod(dim=1).log().sum() + factors[whole:].log().sum()
    return logits.clamp_min(0).sum() + logs.to(logits.dtype)


def _log2_sum_exp2(logits: Tensor, dim: int, scratch: Tensor) -> Tensor:
    """``log2(sum(exp2(logits)))`` along ``dim`` (-inf where all are -inf); one exp2 each."""
    top = logits.amax(dim=dim, keepdim=True).clamp_min(torch.finfo(logits.dtype).min)
    exps = torch.sub(logits, top, out=scratch[: logits.numel()].view_as(logits)).exp2_()
    return top.squeeze(dim) + exps.sum(dim=dim).log2()


def _log_sum_exps(p: BlockProblem) -> tuple[Tensor, Tensor]:
    """Pass 1: every row's (and column's) log-sum-exp (base 2), accumulated over the blocks."""
    if p.reference is not None:
        return _log_sum_exps_from_reference(p, p.reference)
    rows_lse = p.anchors.new_full((p.anchors.shape[0],), float("-inf"))
    cols_lse = rows_lse if p.symmetric else torch.full_like(p.candidates[:, 0], float("-inf"))
    buffer, scratch = p.buffers(2)
    for block in p.blocks():
        rows, cols = block
        logits, _ = p.logits(block, buffer)
        rows_lse[rows] = torch.logaddexp2(rows_lse[rows], _log2_sum_exp2(logits, 1, scratch))
        if p.columns or p.mirrored(block):
            cols_lse[cols] = torch.logaddexp2(cols_lse[cols], _log2_sum_exp2(logits, 0, scratch))
    return rows_lse, cols_lse


def _log_sum_exps_from_reference(p: BlockProblem, reference: float) -> tuple[Tensor, Tensor]:
    """Pass 1 with a shared reference: sums of ``exp2(L - reference)`` along both directions."""
    rows_sum = torch.zeros_like(p.anchors[:, 0])
    cols_sum = rows_sum if p.symmetric else torch.zeros_like(p.candidates[:, 0])
    (buffer,) = p.buffers(1)
    for block in p.blocks():
        rows, cols = block
        exps = p.logits(block, buffer)[0].sub_(reference).exp2_()
        rows_sum[rows] += exps.sum(dim=1)
        if p.columns or p.mirrored(block):
            cols_sum[cols] += exps.sum(dim=0)
    return rows_sum.log2().add_(reference), cols_sum.log2().add_(reference)


def _gradient_pass(
    p: BlockProblem, row_shift: Tensor | None, col_shift: Tensor | None
) -> Evaluation:
    """Pass 2: recompute every block, form G on it, accumulate G @ C and G.T @ A.

    For log-sum-exps ``G = exp2(L - row_shift) (+ exp2(L - col_shift))``, each a softmax times
    its weight; for the sigmoid objective ``G = sigmoid(L)`` and the value is summed here.
    """
    grad_a = torch.zeros_like(p.anchors)
    grad_c = grad_a if p.symmetric else torch.zeros_like(p.candidates)
    value, grad_bias = p.anchors.new_zeros(()), p.anchors.new_zeros(())
    buffer, grad_buffer = p.buffers(2)
    if p.reference is not None and row_shift is not None and col_shift is not None:
        # exp2(L - shift) = exp2(L - reference) * exp2(reference - shift): one exp2 per entry
        row_scale, col_scale = (p.reference - row_shift).exp2(), (p.reference - col_shift).exp2()
    for block in p.blocks():
        rows, cols = block
        logits, marked = p.logits(block, buffer)
        grad = shaped(grad_buffer, block)
        if p.sigmoid:
            value += _softplus_sum(logits)
            if not p.need_grad:
                continue
            torch.sigmoid(logits, out=grad)
            if marked is not None:
                grad[marked] = -grad[marked]
            grad_bias += grad.sum()  # d/d bias
        elif p.reference is not None:
            exps = logits.sub_(p.reference).exp2_()
            torch.mul(exps, row_scale[rows, None], out=grad)
            if p.columns or p.mirrored(block):
                grad.addcmul_(exps, col_scale[None, cols])
        else:
            assert row_shift is not None and col_shift is not None
            torch.sub(logits, row_shift[rows, None], out=grad).exp2_()
            if p.columns or p.mirrored(block):
                grad += logits.sub_(col_shift[None, cols]).exp2_()
        grad_a[rows].addmm_(grad, p.candidates[cols])
        grad_c[cols].addmm_(grad.T, p.anchors[rows])
    if not p.need_grad:
        return Evaluation(value, None, None, None)
    return Evaluation(value, grad_a, grad_c, grad_bias if p.sigmoid else None)


def _row_sweep(p: BlockProblem) -> Evaluation:
    """Rows only, one sweep: per strip of ``chunk`` anchors, exponentiate each block once and
    keep it until the strip's log-sum-exps are known, then form both gradient products."""
    grad_a, grad_c = torch.zeros_like(p.anchors), torch.zeros_like(p.candidates)
    rows_lse = torch.empty_like(p.anchors[:, 0])
    lowest = torch.finfo(p.anchors.dtype).min
    blocks = p.blocks()
    buffers = p.buffers(math.ceil(p.candidates.shape[0] / p.chunk))
    reference = None if p.reference is None else p.anchors.new_tensor(p.reference)
    for start in range(0, p.anchors.shape[0], p.chunk):
        strip, maxima, sums = [], [], []
        for block, buffer in zip([b for b in blocks if b[0].start == start], buffers, strict=False):
            logits, _ = p.logits(block, buffer)
            if reference is None:
                maxima.append(logits.amax(dim=1, keepdim=True).clamp_min(lowest))
            else:
                maxima.append(reference.expand(logits.shape[0], 1))
            sums.append(logits.sub_(maxima[-1]).exp2_().sum(dim=1, keepdim=True))
            strip.append((block[1], logits))
        rows = slice(start, start + strip[0][1].shape[0])
        per_block = torch.cat(maxima, 1) + torch.cat(sums, 1).log2()
        rows_lse[rows] = _log2_sum_exp2(per_block, 1, torch.empty_like(per_block))
        if not p.need_grad:
            continue
        shift = _shifted(p, rows_lse)[rows, None]
        for (cols, exps), maximum in zip(strip, maxima, strict=True):
            factor = (maximum - shift).exp2()  # (rows, 1): softmax = exps * factor
            grad_a[rows].addcmul_(exps @ p.candidates[cols], factor)
            grad_c[cols].addmm_(exps.T, p.anchors[rows] * factor)
    value = _weighted_sum(p, rows_lse)
    if not p.need_grad:
        return Evaluation(value, None, None, None)
    return Evaluation(value, grad_a, grad_c, None)


def _weighted_sum(p: BlockProblem, rows_lse: Tensor) -> Tensor:
    """``sum_i w_i (lse_i - t_i)`` (lse in natural units), rows of weight 0 left out."""
    terms = rows_lse / LOG2_E
    terms = terms if p.targets is None else terms - p.targets
    if p.row_weight is None:
        return terms.sum()
    return torch.where(p.row_weight > 0, p.row_weight * terms, 0.0).sum()


def _shifted(p: BlockProblem, rows_lse: Tensor) -> Tensor:
    """``lse - log2(weight)``: ``exp2(L - shift)`` is a row's softmax times its weight."""
    return rows_lse if p.row_weight is None else rows_lse - p.row_weight.log2()
