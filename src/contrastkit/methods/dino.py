"""DINO: self-distillation with no labels, from an EMA teacher with centering and sharpening."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses import DINOLoss
from contrastkit.methods.base import MethodOutput, check_sizes, check_step, feature_dim
from contrastkit.methods.multi_crop import multi_crop_features
from contrastkit.modules import Center, DINOHead, cosine_momentum, update_ema
from contrastkit.types import ViewBatch, check_positive


def teacher_temperature_schedule(
    progress: float, *, warmup_value: float = 0.04, final_value: float = 0.07, warmup: float = 0.3
) -> float:
    """DINO's teacher temperature: linear from ``warmup_value`` to ``final_value`` over the
    first ``warmup`` fraction of training, then constant.

    Example:
        >>> round(teacher_temperature_schedule(0.15), 3), teacher_temperature_schedule(1.0)
        (0.055, 0.07)
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    if progress >= warmup:
        return final_value
    return warmup_value + (final_value - warmup_value) * progress / warmup


class DINO(nn.Module):
    """DINO (arXiv 2104.14294): the student matches the teacher's output distribution.

    ::

        theta_t <- m theta_t + (1 - m) theta_s     m: cosine from base_momentum to 1
        P_t(x) = softmax((g_t(x) - c) / tau_t)     teacher g_t = h_t(f_t(x)), global crops only
        P_s(x) = softmax(g_s(x) / tau_s)           student, every crop
        L = mean_{x in globals, x' in crops, x' != x} H(P_t(x), P_s(x'))
        c <- center_momentum c + (1 - center_momentum) mean(g_t(x))

    The head h is :class:`~contrastkit.modules.DINOHead` (MLP, L2-normalized bottleneck,
    weight-normalized prototypes). The teacher is a copy of the student that receives no
    gradient; inside ``forward`` and under ``torch.no_grad()`` it is first moved towards the
    current student (as MoCo does: this equals the paper's update after each optimizer step),
    and the center is updated after the loss with this batch's teacher outputs. ``tau_t`` follows
    :func:`teacher_temperature_schedule` (the paper warms it up from 0.04 to 0.07 over its first
    30 epochs: 0.3 of a 100-epoch run, 0.1 of 300). Views are ``batch.views`` with the
    ``global_views`` global crops first; same-size crops run through the encoder as one batch.

    ``MethodOutput.embeddings`` are the student's L2-normalized bottleneck vectors (B,
    bottleneck_dim) of the two first global views. ``encode`` uses the teacher's backbone, which
    the paper evaluates (it outperforms the student).

    Args:
        encoder: backbone with a ``feature_dim`` attribute.
        out_dim: number of prototypes K of the head (65536; a few thousand for small data).
        hidden_dim: head MLP width (2048).
        bottleneck_dim: head bottleneck width (256).
        student_temperature: tau_s (0.1).
        warmup_teacher_temperature: tau_t at the start (0.04).
        teacher_temperature: tau_t after the warmup (0.07).
        teacher_temperature_warmup: fraction of training of the warmup (0.3).
        base_momentum: teacher momentum at the start, rising to 1 (0.996).
        center_momentum: momentum of the center (0.9).
        global_views: number of leading global views seen by the teacher (2).

    Example:
        >>> import torch
        >>> from contrastkit.encoders.base import Encoder
        >>> encoder = Encoder(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), feature_dim=16)
        >>> method = DINO(encoder, out_dim=32, hidden_dim=32, bottleneck_dim=8)
        >>> batch = ViewBatch([torch.randn(4, 3, 4, 4), torch.randn(4, 3, 4, 4)])
        >>> method(batch, progress=0.0).logs["teacher_temperature"]
        0.04
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        out_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        student_temperature: float = 0.1,
        warmup_teacher_temperature: float = 0.04,
        teacher_temperature: float = 0.07,
        teacher_temperature_warmup: float = 0.3,
        base_momentum: float = 0.996,
        center_momentum: float = 0.9,
        global_views: int = 2,
    ) -> None:
        super().__init__()
        check_sizes(
            out_dim=out_dim,
            hidden_dim=hidden_dim,
            bottleneck_dim=bottleneck_dim,
            global_views=global_views,
        )
        check_positive("warmup_teacher_temperature", warmup_teacher_temperature)
        check_positive("teacher_temperature", teacher_temperature)
        for name, fraction in {
            "teacher_temperature_warmup": teacher_temperature_warmup,
            "base_momentum": base_momentum,
            "center_momentum": center_momentum,
        }.items():
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {fraction}")
        self.encoder = encoder
        self.head = DINOHead(
            feature_dim(encoder),
            out_dim=out_dim,
            hidden_dim=hidden_dim,
            bottleneck_dim=bottleneck_dim,
        )
        self.teacher_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.teacher_head = copy.deepcopy(self.head).requires_grad_(False)
        self.center = Center(out_dim, momentum=center_momentum)
        self.loss = DINOLoss(student_temperature=student_temperature)
        self.warmup_teacher_temperature = warmup_teacher_temperature
        self.teacher_temperature = teacher_temperature
        self.teacher_temperature_warmup = teacher_temperature_warmup
        self.base_momentum = base_momentum
        self.global_views = global_views

    def forward(self, batch: ViewBatch, *, progress: float) -> MethodOutput:
        check_step(
            batch,
            progress,
            method=f"DINO (global_views={self.global_views})",
            min_views=max(2, self.global_views),
        )
        views, batch_size = len(batch.views), batch.batch_size
        momentum = cosine_momentum(progress, base=self.base_momentum)
        temperature = teacher_temperature_schedule(
            progress,
            warmup_value=self.warmup_teacher_temperature,
            final_value=self.teacher_temperature,
            warmup=self.teacher_temperature_warmup,
        )
        with torch.no_grad():
            update_ema(self.encoder, self.teacher_encoder, momentum)
            update_ema(self.head, self.teacher_head, momentum)
            global_crops = batch.views[: self.global_views]
            teacher = self.teacher_head(multi_crop_features(self.teacher_encoder, global_crops))
            teacher_out = teacher.reshape(self.global_views, batch_size, -1).transpose(0, 1)
        bottleneck = F.normalize(
            self.head.mlp(multi_crop_features(self.encoder, batch.views)), dim=-1
        )
        student_out = (
            self.head.prototypes(bottleneck).reshape(views, batch_size, -1).transpose(0, 1)
        )
        loss = self.loss(
            student_out, teacher_out, center=self.center.value, teacher_temperature=temperature
        )
        self.center.update(teacher_out)
        embeddings = bottleneck.detach().reshape(views, batch_size, -1)
        logs = {"momentum": momentum, "teacher_temperature": temperature}
        return MethodOutput(loss, (embeddings[0], embeddings[1]), logs)

    def encode(self, x: Tensor) -> Tensor:
        """The teacher's backbone features (B, F), as evaluated in the paper."""
        return self.teacher_encoder(x)
