"""DINO: cross-entropy between a centered, sharpened teacher and the student, across views."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from contrastkit.types import check_embeddings, check_positive


def _check_views(student_out: Tensor, teacher_out: Tensor, center: Tensor) -> None:
    check_embeddings("student_out", student_out, ndim=3)
    check_embeddings("teacher_out", teacher_out, ndim=3)
    batch, student_views, dim = student_out.shape
    if teacher_out.shape[0] != batch or teacher_out.shape[2] != dim:
        raise ValueError(
            f"teacher_out must have shape ({batch}, Vt, {dim}) to match student_out "
            f"{tuple(student_out.shape)}, got {tuple(teacher_out.shape)}"
        )
    if not 1 <= teacher_out.shape[1] <= student_views or student_views < 2:
        raise ValueError(
            "dino_loss needs at least 2 student views and 1 <= Vt <= Vs teacher views "
            f"(teacher view v is student view v), got student_out {tuple(student_out.shape)} "
            f"and teacher_out {tuple(teacher_out.shape)}"
        )
    if center.numel() != dim or not bool(torch.isfinite(center).all()):
        raise ValueError(
            f"center must hold {dim} finite values, shape ({dim},) or (1, {dim}), "
            f"got {tuple(center.shape)}"
        )


def dino_loss(
    student_out: Tensor,
    teacher_out: Tensor,
    *,
    center: Tensor,
    student_temperature: float = 0.1,
    teacher_temperature: float = 0.04,
) -> Tensor:
    """DINO self-distillation loss; see :class:`DINOLoss`."""
    check_positive("student_temperature", student_temperature)
    check_positive("teacher_temperature", teacher_temperature)
    _check_views(student_out, teacher_out, center)
    centered = (teacher_out - center.reshape(-1)) / teacher_temperature
    teacher_probs = torch.softmax(centered, dim=-1).detach()
    student_log_probs = torch.log_softmax(student_out / student_temperature, dim=-1)
    # cross[v, w] = mean_b -sum_k teacher_probs[b, v, k] * student_log_probs[b, w, k]
    cross = -torch.einsum("bvk,bwk->vw", teacher_probs, student_log_probs) / student_out.shape[0]
    teacher_views, student_views = cross.shape
    other_view = ~torch.eye(teacher_views, student_views, dtype=torch.bool, device=cross.device)
    return cross[other_view].mean()


class DINOLoss(nn.Module):
    """DINO (arXiv 2104.14294): self-distillation with a centered, sharpened teacher.

    For every pair of a teacher view v and a different student view w, the cross-entropy
    ``-sum_k softmax((t_v - center) / T_t)_k log softmax(s_w / T_s)_k`` (temperatures T_t, T_s),
    averaged over the batch; the loss is the mean over the ``Vt * Vs - Vt`` pairs. Teacher
    view v is the same crop as student view v (the global crops come first), so same-view
    pairs are skipped. No gradient reaches the teacher. Centering and sharpening prevent
    collapse instead of negatives.

    The ``center`` (a :class:`~contrastkit.modules.Center`) and the scheduled
    ``teacher_temperature`` (warmed up from 0.04 to 0.07 in the paper) are passed to
    ``forward``; the loss holds only ``student_temperature``. Per-sample terms, so no
    gathering is needed.

    Shapes: ``student_out``: (B, Vs, K); ``teacher_out``: (B, Vt, K); ``center``: (K,).

    Example:
        >>> import torch
        >>> loss = DINOLoss(student_temperature=0.1)
        >>> student, teacher = torch.randn(4, 6, 32), torch.randn(4, 2, 32)
        >>> loss(student, teacher, center=torch.zeros(32)).shape
        torch.Size([])
    """

    def __init__(self, *, student_temperature: float = 0.1) -> None:
        super().__init__()
        check_positive("student_temperature", student_temperature)
        self.student_temperature = student_temperature

    def forward(
        self,
        student_out: Tensor,
        teacher_out: Tensor,
        *,
        center: Tensor,
        teacher_temperature: float = 0.04,
    ) -> Tensor:
        return dino_loss(
            student_out,
            teacher_out,
            center=center,
            student_temperature=self.student_temperature,
            teacher_temperature=teacher_temperature,
        )
