"""Two towers (CLIP, SigLIP, LiT): two encoders, two projections, one contrastive loss."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.losses import clip_loss, siglip_loss
from contrastkit.methods.base import MethodOutput, check_sizes, feature_dim
from contrastkit.modules import MLP, LearnableTemperature
from contrastkit.types import PairBatch

TWO_TOWER_LOSSES = ("clip", "siglip")
PROJECTIONS = ("linear", "mlp")
MAX_LOGIT_SCALE = 100.0  # CLIP clamps its logit scale at 100


def _projection(kind: str, in_dim: int, proj_dim: int, hidden_dim: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(in_dim, proj_dim, bias=False)
    return MLP([in_dim, hidden_dim, proj_dim], batch_norm=False)


class TwoTower(nn.Module):
    """Two towers trained contrastively: CLIP (arXiv 2103.00020), SigLIP (2303.15343), LiT
    (2111.07991).

    For B pairs (x_a, x_b), e.g. images and their captions::

        h_a, h_b = f_a(x_a), f_b(x_b)          # any two encoders (B, F_a), (B, F_b)
        z_a, z_b = g_a(h_a), g_b(h_b)          # linear or MLP projections to (B, proj_dim)
        clip:   L = CLIPLoss(z_a, z_b; t)      # softmax over the batch, both directions
        siglip: L = SigLIPLoss(z_a, z_b; t, b) # an independent sigmoid per pair

    The logit scale ``t`` is learned (as log t, clamped at 100): CLIP starts it at 1/0.07,
    SigLIP at 10 (t' = log 10) with a learnable bias ``b`` starting at -10 (the paper's values).
    Both live in the ``state_dict``. When the batch carries labels, the CLIP loss uses UniCL's
    label-aware targets (arXiv 2204.03610): every pair with the same label is a positive.

    A locked tower (LiT: ``lock_a=True`` locks the image tower) stays in eval mode, runs under
    ``torch.no_grad()`` and gets no gradient; its features may come precomputed in the batch
    (``PairBatch.features_a``), so that the pipeline computes them once and caches them on
    disk. Projections are always trained: locking both towers trains the projections only.
    Supports gradient caching (:class:`~contrastkit.methods.base.CachedMethod`): ``embed``
    gives the projected (z_a, z_b), the loss runs on the whole batch.

    Args:
        encoder_a: tower a (the image tower for image-text), with an integer ``feature_dim``.
        encoder_b: tower b (the text tower), with an integer ``feature_dim``.
        proj_dim: width of the shared embedding space.
        projection: ``"linear"`` (CLIP, no bias) or ``"mlp"`` (Linear-ReLU-Linear).
        proj_hidden_dim: hidden width of the MLP projections.
        loss: ``"clip"`` (softmax, UniCL with labels) or ``"siglip"`` (sigmoid).
        lock_a: freeze tower a (LiT's locked image tower).
        lock_b: freeze tower b.
        logit_scale: initial logit scale (None: 1/0.07 for CLIP, 10 for SigLIP).
        logit_bias: initial SigLIP bias (-10).
        learn_logit_scale: learn the scale (and SigLIP's bias); False keeps them fixed.
        gather_distributed: score against the pairs of every process.
        chunk_size: compute the loss in blocks of this many rows (the same value and
            gradients in O(B x chunk_size) memory instead of O(B^2); None: at once).

    Shapes: ``embeddings`` of the output are (z_a, z_b), (B, proj_dim) each; ``encode(x)``
    gives tower a's L2-normalized embeddings (B, proj_dim), ``encode_b`` tower b's.

    Example:
        >>> from contrastkit.encoders.towers import mlp_tower
        >>> model = TwoTower(mlp_tower(in_dim=6), mlp_tower(in_dim=4), proj_dim=8)
        >>> batch = PairBatch(a=torch.randn(5, 6), b=torch.randn(5, 4))
        >>> model(batch, progress=0.0).loss.shape, model.encode(torch.randn(2, 6)).shape
        (torch.Size([]), torch.Size([2, 8]))
    """

    def __init__(
        self,
        encoder_a: nn.Module,
        encoder_b: nn.Module,
        *,
        proj_dim: int = 256,
        projection: str = "linear",
        proj_hidden_dim: int = 1024,
        loss: str = "clip",
        lock_a: bool = False,
        lock_b: bool = False,
        logit_scale: float | None = None,
        logit_bias: float = -10.0,
        learn_logit_scale: bool = True,
        gather_distributed: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_sizes(proj_dim=proj_dim, proj_hidden_dim=proj_hidden_dim)
        if loss not in TWO_TOWER_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(TWO_TOWER_LOSSES)}, got {loss!r}")
        if projection not in PROJECTIONS:
            raise ValueError(
                f"projection must be one of {', '.join(PROJECTIONS)}, got {projection!r}"
            )
        scale = logit_scale if logit_scale is not None else (1 / 0.07 if loss == "clip" else 10.0)
        if not 1.0 <= scale <= MAX_LOGIT_SCALE or not math.isfinite(logit_bias):
            raise ValueError(
                f"logit_scale must lie in [1, {MAX_LOGIT_SCALE:g}] and logit_bias be finite, "
                f"got {scale} and {logit_bias}"
            )
        self.encoder_a, self.encoder_b = encoder_a, encoder_b
        self.projection_a = _projection(
            projection, feature_dim(encoder_a), proj_dim, proj_hidden_dim
        )
        self.projection_b = _projection(
            projection, feature_dim(encoder_b), proj_dim, proj_hidden_dim
        )
        self.loss, self.lock_a, self.lock_b = loss, lock_a, lock_b
        self.gather_distributed, self.chunk_size = gather_distributed, chunk_size
        # the learnable scale is 1 / temperature, clamped to [1, 100]
        self.temperature = LearnableTemperature(1 / scale, min_temperature=1 / MAX_LOGIT_SCALE)
        self.logit_bias = (
            nn.Parameter(torch.tensor(float(logit_bias))) if loss == "siglip" else None
        )
        for parameter in (self.temperature.log_scale, self.logit_bias):
            if parameter is not None:
                parameter.requires_grad_(learn_logit_scale)
        for tower, locked in ((encoder_a, lock_a), (encoder_b, lock_b)):
            if locked:
                tower.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> TwoTower:
        """Set the training mode; locked towers always stay in eval mode (LiT)."""
        super().train(mode)
        for tower, locked in ((self.encoder_a, self.lock_a), (self.encoder_b, self.lock_b)):
            if locked:
                tower.eval()
        return self

    def logit_scale(self) -> Tensor:
        """The current logit scale t (0-d tensor, 1 <= t <= 100)."""
        return 1 / self.temperature()

    def forward(self, batch: PairBatch, *, progress: float) -> MethodOutput:
        return self.loss_from_embeddings(
            self.embed(batch, progress=progress), batch, progress=progress
        )

    def embed(self, batch: PairBatch, *, progress: float) -> tuple[Tensor, Tensor]:
        """Projected embeddings (z_a, z_b), each (B, proj_dim), not normalized."""
        if not isinstance(batch, PairBatch):
            raise ValueError(f"TwoTower takes a PairBatch, got {type(batch).__name__}")
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress must be in [0, 1], got {progress}")
        h_a = self._features("a", self.encoder_a, self.lock_a, batch.a, batch.features_a)
        h_b = self._features("b", self.encoder_b, self.lock_b, batch.b, batch.features_b)
        return self.projection_a(h_a), self.projection_b(h_b)

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: PairBatch, *, progress: float
    ) -> MethodOutput:
        """The CLIP or SigLIP loss of the whole batch's (z_a, z_b) at the learned scale."""
        z_a, z_b = embeddings
        scale = self.logit_scale()
        logs = {"logit_scale": float(scale.detach())}
        if self.logit_bias is None:
            loss = clip_loss(
                z_a,
                z_b,
                logit_scale=scale,
                labels=batch.labels,
                gather_distributed=self.gather_distributed,
                chunk_size=self.chunk_size,
            )
        else:
            if batch.labels is not None:
                raise ValueError(
                    "the SigLIP loss has no label-aware targets; use loss='clip' (UniCL) for "
                    "labelled pairs, or drop the labels"
                )
            loss = siglip_loss(
                z_a,
                z_b,
                logit_scale=scale,
                logit_bias=self.logit_bias,
                gather_distributed=self.gather_distributed,
                chunk_size=self.chunk_size,
            )
            logs["logit_bias"] = float(self.logit_bias.detach())
        return MethodOutput(loss, (z_a.detach(), z_b.detach()), logs)

    def _features(
        self, side: str, tower: nn.Module, locked: bool, inputs: Any, features: Tensor | None
    ) -> Tensor:
        if features is not None:
            if not locked:
                raise ValueError(
                    f"the batch carries precomputed features for tower {side}, but tower {side} "
                    f"is trained; only a locked tower's features can be cached (lock_{side}=True)"
                )
            return features
        if locked:
            with torch.no_grad():
                return tower(inputs)
        return tower(inputs)

    def project_a(self, features: Tensor) -> Tensor:
        """Tower a's features (B, F_a) to L2-normalized embeddings (B, proj_dim)."""
        return F.normalize(self.projection_a(features), dim=-1)

    def project_b(self, features: Tensor) -> Tensor:
        """Tower b's features (B, F_b) to L2-normalized embeddings (B, proj_dim)."""
        return F.normalize(self.projection_b(features), dim=-1)

    def encode(self, x: Any) -> Tensor:
        """Tower a's L2-normalized embeddings (B, proj_dim) of inputs ``x``."""
        return self.project_a(self.encoder_a(x))

    def encode_b(self, x: Any) -> Tensor:
        """Tower b's L2-normalized embeddings (B, proj_dim) of inputs ``x`` (e.g. Tokens)."""
        return self.project_b(self.encoder_b(x))
