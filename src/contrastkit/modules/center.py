"""DINO's center: a moving average of the teacher's outputs, subtracted before sharpening."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.distributed import all_reduce_sum


class Center(nn.Module):
    """Running mean of teacher outputs (DINO, arXiv 2104.14294), in ``state_dict``.

    ``update(teacher_out)`` sets ``center <- momentum * center + (1 - momentum) * batch_mean``
    where the batch mean runs over every sample and view of every process. Pass ``center.value``
    to :func:`~contrastkit.losses.dino_loss` *before* updating it with the same batch, as the
    paper does.

    Args:
        dim: output dimension K of the DINO head.
        momentum: center momentum (0.9 in the paper).

    Example:
        >>> import torch
        >>> center = Center(8, momentum=0.9)
        >>> center.update(torch.ones(4, 2, 8))
        >>> round(float(center.value[0]), 6)
        0.1
    """

    value: Tensor

    def __init__(self, dim: int, *, momentum: float = 0.9) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum = momentum
        self.register_buffer("value", torch.zeros(dim))

    @torch.no_grad()
    def update(self, teacher_out: Tensor) -> None:
        """Fold in ``teacher_out`` (..., K): all leading dimensions are averaged."""
        if teacher_out.shape[-1] != self.value.shape[0]:
            raise ValueError(
                f"teacher_out must end in dimension {self.value.shape[0]}, "
                f"got shape {tuple(teacher_out.shape)}"
            )
        flat = teacher_out.detach().reshape(-1, self.value.shape[0]).to(self.value.dtype)
        total = all_reduce_sum(flat.sum(dim=0))
        count = all_reduce_sum(torch.tensor(float(flat.shape[0]), device=flat.device))
        self.value.mul_(self.momentum).add_(total / count, alpha=1 - self.momentum)
