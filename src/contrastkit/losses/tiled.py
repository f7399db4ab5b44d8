"""Tiled exact contrastive objectives: log-sum-exps over blocks of the similarity matrix.

Every softmax contrastive loss (NT-Xent, InfoNCE, SupCon, DCL, CLIP) is a weighted sum of
log-sum-exps of the logits ``L = scale * anchors @ candidates.T`` minus terms linear in ``L``
(the positives), and SigLIP is a sum of ``softplus(L_ij) = logsumexp(0, L_ij)``. This module
computes the log-sum-exp part block by block, ``chunk_size`` rows or columns at a time, and
never holds the (M, N) matrix. Because the result is a scalar, the gradients of the inputs are
accumulated during the forward pass and stored; backward only multiplies them by
``grad_output``. The linear positive terms are cheap, (M, D)-sized, and left to autograd by the
caller.

Three schedules (:mod:`contrastkit.losses.tiled_passes`), all exact: equal to the untiled loss
up to floating-point rounding, in value and in the gradients of every input, temperature and
logit scale and bias included. Counted in matmuls of the (M, N) similarity's size (the untiled
loss needs 3: the forward similarity and the two gradient products):

* rows only (InfoNCE, and every loss across processes): one sweep over strips of
  ``chunk_size`` anchors. Each strip's blocks are exponentiated once and kept (extra memory
  ``chunk_size x N``) until the strip's log-sum-exps are known, then give both gradient
  products: 3 matmuls, the lower bound. SigLIP's terms need no normalizer: one pass over the
  blocks, 3 matmuls, extra memory ``chunk_size x chunk_size``.
* anchors against themselves (NT-Xent, DCL, SupCon in one process, ``candidates=None``): the
  matrix is symmetric, so only blocks on or above the diagonal are computed, a block's
  column log-sum-exps being its mirror's row log-sum-exps. Pass 1 accumulates the
  log-sum-exps, pass 2 recomputes each block and forms both gradient products: 2 matmuls in
  all, below the untiled 3; extra memory ``chunk_size x chunk_size``.
* rows and columns (CLIP in one process, ``columns=True``): the same two passes over every
  block, with row and column log-sum-exps: 4 matmuls.

On top of the matmuls each entry costs a few elementwise operations (mainly one or two
``exp2``); at D = 128 on a CPU they are not negligible, see ``benchmarks/speed/loss_scaling.py``.
``chunk_size`` trades memory for speed only through cache behaviour: a few hundred rows keep
a block in the CPU's cache (512 was fastest on the 2-core development machine), and the
result does not depend on it beyond rounding. On CPU cores shared with other jobs, run with
``OMP_WAIT_POLICY=PASSIVE``: with OpenMP's default spin-waiting each of the many small
operations waits for a descheduled thread (2x to 25x slower at 2 threads on a loaded machine).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from contrastkit.distributed import all_reduce_sum, is_distributed, world_size
from contrastkit.losses.tiled_passes import evaluate
from contrastkit.losses.tiled_problem import BlockProblem


def check_chunk_size(chunk_size: int | None) -> None:
    """Raise unless ``chunk_size`` is None (untiled) or an int >= 1."""
    if chunk_size is None:
        return
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(
            f"chunk_size must be an int >= 1 (rows per block) or None (untiled), got {chunk_size!r}"
        )


def mean_of_sum(total: Tensor, count: int | Tensor, *, gather_distributed: bool) -> Tensor:
    """The local share of a global mean, from the local sum of ``count`` terms.

    The same as :func:`~contrastkit.distributed.global_mean` applied to the terms themselves:
    ``total / count`` in one process, ``total * W / (count summed over processes)`` otherwise.
    """
    count = torch.as_tensor(count, dtype=total.dtype, device=total.device)
    if not (gather_distributed and is_distributed()):
        return total / count
    return total * world_size() / all_reduce_sum(count)


class _BlockwiseObjective(torch.autograd.Function):
    """The objective in forward, with the input gradients computed there and saved."""

    @staticmethod
    def forward(
        ctx: Any,
        settings: dict[str, Any],
        anchors: Tensor,
        candidates: Tensor | None,
        scale: Tensor,
        bias: Tensor | None,
        targets: Tensor | None,
        column_targets: Tensor | None,
    ) -> Tensor:
        problem = BlockProblem(
            anchors=anchors,
            candidates=anchors if candidates is None else candidates,
            symmetric=candidates is None,
            scale=float(scale),
            bias=None if bias is None else float(bias),
            targets=targets,
            column_targets=column_targets,
            **settings,
        )
        value, grad_a, grad_c, grad_bias = evaluate(problem)
        ctx.given = [x is not None for x in (candidates, bias, targets, column_targets)]
        if grad_a is None or grad_c is None:
            return value
        # d/d scale of f(scale * A @ C.T) is sum(G * (A @ C.T)) = sum(A * (G @ C)); when
        # symmetric, grad_a holds (G + G.T) @ A: twice that.
        grad_scale = (anchors * grad_a).sum() / (2 if problem.symmetric else 1)
        grad_a.mul_(scale)
        if not problem.symmetric:  # else grad_c is grad_a
            grad_c.mul_(scale)
        zero = grad_scale.new_zeros(())
        weight = problem.row_weight
        ctx.save_for_backward(
            grad_a,
            grad_c,
            grad_scale,
            zero if grad_bias is None else grad_bias,
            zero - 1 if weight is None else -weight,  # d/d targets
        )
        return value

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        grad_a, grad_c, grad_scale, grad_bias, grad_targets = (
            g * grad_output for g in ctx.saved_tensors
        )
        has_candidates, has_bias, has_targets, has_column_targets = ctx.given
        return (
            None,
            grad_a,
            grad_c if has_candidates else None,
            grad_scale,
            grad_bias if has_bias else None,
            grad_targets.expand(ctx.saved_tensors[0].shape[0]) if has_targets else None,
            -grad_output.expand(grad_c.shape[0]) if has_column_targets else None,
        )


def _as_scalar(name: str, value: float | Tensor, like: Tensor) -> Tensor:
    """``value`` as a 0-d tensor of ``like``'s dtype and device (differentiable)."""
    tensor = torch.as_tensor(value, device=like.device)
    if tensor.numel() != 1:
        raise ValueError(f"{name} must be one number, got shape {tuple(tensor.shape)}")
    return tensor.to(like.dtype).reshape(())


def _objective(
    anchors: Tensor,
    candidates: Tensor | None,
    *,
    scale: float | Tensor,
    bias: float | Tensor | None = None,
    targets: Tensor | None = None,
    column_targets: Tensor | None = None,
    chunk_size: int,
    **settings: Any,
) -> Tensor:
    check_chunk_size(chunk_size)
    scale = _as_scalar("scale", scale, anchors)
    bias = None if bias is None else _as_scalar("bias", bias, anchors)
    tensors = (anchors, candidates, scale, bias, targets, column_targets)
    need_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    settings.update(chunk=chunk_size, need_grad=need_grad)
    value: Tensor = _BlockwiseObjective.apply(settings, *tensors)
    return value


def blockwise_logsumexp(
    anchors: Tensor,
    candidates: Tensor | None = None,
    *,
    scale: float | Tensor,
    chunk_size: int,
    targets: Tensor | None = None,
    exclude: Tensor | None = None,
    row_weight: Tensor | None = None,
    columns: bool = False,
    column_targets: Tensor | None = None,
) -> Tensor:
    """Summed cross-entropies of the rows (and columns) of ``L = scale * anchors @ candidates.T``.

    ``sum_i w_i (log sum_{j not in exclude[i]} exp(L_ij) - t_i)``, plus
    ``sum_j (log sum_i exp(L_ij) - t'_j)`` with ``columns=True``: with ``t`` the positives'
    logits this is every softmax contrastive loss (InfoNCE, arXiv 1807.03748, and its
    siblings), summed over anchors. Computed ``chunk_size`` rows at a time, exactly, without
    the (M, N) matrix; the gradients of every tensor argument are computed in the forward pass
    (see the module docstring for the schedules and their cost).

    Args:
        anchors: (M, D).
        candidates: (N, D), or None for the anchors themselves (the symmetric case, about a
            third cheaper; ``exclude`` must then be symmetric, as a sample's own column is).
        scale: float or 0-d tensor (1 / temperature, or CLIP's logit scale).
        chunk_size: rows (and columns) per block; extra memory is O(N x chunk_size).
        targets: (M,) subtracted from each row's log-sum-exp, e.g. its positive's logit.
        exclude: (M, E) integer columns left out of each row's sum, -1 for none.
        row_weight: (M,) non-negative weight of each row's term; None for ones.
        columns: add every column's (unweighted) term (CLIP's text-to-image half).
        column_targets: (N,) subtracted from each column's log-sum-exp.

    Returns:
        A scalar tensor.

    Example:
        >>> import torch
        >>> a, c = torch.randn(6, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
        >>> tiled = blockwise_logsumexp(a, c, scale=2.0, chunk_size=4)
        >>> torch.allclose(tiled, (2.0 * a @ c.T).logsumexp(dim=1).sum())
        True
    """
    if columns and candidates is None:
        raise ValueError("columns=True needs candidates: the symmetric case has no columns")
    return _objective(
        anchors,
        candidates,
        scale=scale,
        targets=targets,
        column_targets=column_targets if columns else None,
        chunk_size=chunk_size,
        marked=exclude,
        columns=columns,
        sigmoid=False,
        row_weight=None if row_weight is None else row_weight.to(anchors.dtype),
    )


def blockwise_softplus(
    anchors: Tensor,
    candidates: Tensor,
    *,
    scale: float | Tensor,
    bias: float | Tensor,
    chunk_size: int,
    positive: Tensor | None = None,
) -> Tensor:
    """``sum_ij softplus(-z_ij * L_ij)`` with ``L = scale * anchors @ candidates.T + bias``.

    SigLIP's objective (arXiv 2303.15343): ``z_ij = +1`` at the ``positive`` columns and -1
    elsewhere, so each term is ``-log sigmoid(z_ij L_ij)``, a two-term log-sum-exp. Computed
    ``chunk_size`` rows by ``chunk_size`` columns at a time, the gradients of every tensor
    argument in the forward pass: 3 matmuls of the logits' size.

    Args:
        anchors: (M, D).
        candidates: (N, D).
        scale: float or 0-d tensor.
        bias: float or 0-d tensor.
        chunk_size: rows and columns per block.
        positive: (M, E) integer columns where ``z = +1``, -1 for none.

    Returns:
        A scalar tensor.

    Example:
        >>> import torch
        >>> a, c = torch.randn(6, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
        >>> tiled = blockwise_softplus(a, c, scale=2.0, bias=-1.0, chunk_size=4)
        >>> torch.allclose(tiled, torch.nn.functional.softplus(2.0 * a @ c.T - 1.0).sum())
        True
    """
    return _objective(
        anchors,
        candidates,
        scale=scale,
        bias=bias,
        chunk_size=chunk_size,
        marked=positive,
        columns=False,
        sigmoid=True,
        row_weight=None,
    )
