"""Negative cosine similarity with a stop-gradient on the target (BYOL, SimSiam)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.types import check_batch, check_pair


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """``-mean_i cos(p_i, stopgrad(z_i))``; see :class:`NegativeCosineLoss`."""
    check_pair("p", p, "z", z)
    check_batch(p.shape[0], 1, "negative_cosine (a mean over the pairs of the batch)")
    return -F.cosine_similarity(p, z.detach(), dim=1).mean()


class NegativeCosineLoss(nn.Module):
    """Negative cosine similarity of a prediction and a stop-gradient target.

    BYOL (arXiv 2006.07733) and SimSiam (arXiv 2011.10566) predict one view's projection
    ``z`` from the other's prediction ``p``: ``-mean_i cos(p_i, stopgrad(z_i))``, in [-1, 1].
    No gradient reaches ``z``; without the stop-gradient SimSiam collapses. BYOL's
    ``2 - 2 cos`` is ``2 + 2 * loss``. It uses no negatives, so it needs no gathering: the
    per-sample mean averaged by DDP is the global mean. Symmetrize by calling it twice with the
    views swapped.

    Shapes: ``p``, ``z``: (B, D). Returns a scalar.

    Example:
        >>> import torch
        >>> loss = NegativeCosineLoss()
        >>> p = torch.randn(8, 32)
        >>> round(float(loss(p, p)), 4)
        -1.0
    """

    def __init__(self) -> None:
        super().__init__()

    def forward(self, p: Tensor, z: Tensor) -> Tensor:
        return negative_cosine(p, z)
