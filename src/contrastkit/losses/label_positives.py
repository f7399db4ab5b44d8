"""Similarities to same-label candidates, summed per anchor without an (M, N) label mask.

The positive terms of the label-aware losses (SupCon's, UniCL's targets in CLIP) are linear in
the similarities: ``sum_{j: y_j = y_i} a_i . c_j = a_i . (sum of the candidates labelled y_i)``.
Summing the candidates per label first costs O((M + N) D) instead of the O(M N D) of the
similarity matrix, which is what the tiled losses (:mod:`contrastkit.losses.tiled`) need.
"""

from __future__ import annotations

import torch
from torch import Tensor


def same_label_sums(
    anchors: Tensor, anchor_labels: Tensor, candidates: Tensor, candidate_labels: Tensor
) -> tuple[Tensor, Tensor]:
    """Per anchor, the sum of its dot products with the candidates of its label, and their count.

    Args:
        anchors: (M, D).
        anchor_labels: (M,) integers.
        candidates: (N, D).
        candidate_labels: (N,) integers.

    Returns:
        ``(sums, counts)``, both (M,): ``sums[i] = sum_{j: y_j = y_i} anchors[i] . candidates[j]``
        (differentiable) and ``counts[i]`` the number of such j.

    Example:
        >>> import torch
        >>> a, c = torch.eye(2), torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
        >>> same_label_sums(a, torch.tensor([0, 1]), c, torch.tensor([0, 0, 1]))
        (tensor([3., 3.]), tensor([2, 1]))
    """
    labels, index = torch.unique(torch.cat([anchor_labels, candidate_labels]), return_inverse=True)
    anchor_index, candidate_index = index[: anchors.shape[0]], index[anchors.shape[0] :]
    per_label = candidates.new_zeros(labels.shape[0], candidates.shape[1])
    per_label = per_label.index_add(0, candidate_index, candidates)
    counts = torch.bincount(candidate_index, minlength=labels.shape[0])
    return (anchors * per_label[anchor_index]).sum(dim=1), counts[anchor_index]
