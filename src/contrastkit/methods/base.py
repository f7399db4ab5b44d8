"""What every method returns, and the protocols the training engine relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from torch import Tensor, nn

from contrastkit.types import ViewBatch, check_in_range


@dataclass
class MethodOutput:
    """The result of one training forward pass.

    Attributes:
        loss: the scalar to minimize.
        embeddings: two views' embeddings as the loss saw them (z_a, z_b), each (B, D), detached
            or not; the health monitor measures collapse, alignment and uniformity on them.
        logs: extra scalars worth logging this step (EMA momentum, teacher temperature, logit
            scale, queue fill), as plain floats.
    """

    loss: Tensor
    embeddings: tuple[Tensor, Tensor]
    logs: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Method(Protocol):
    """A self-supervised method: an ``nn.Module`` with these two methods.

    ``forward(batch, *, progress)`` computes the loss of one batch; ``progress`` runs from 0 to 1
    over training and drives schedules (EMA momentum, teacher temperature). EMA updates happen
    inside ``forward`` under ``torch.no_grad()``. ``encode(x)`` gives frozen features (B, F)
    of the backbone for evaluation. All state that matters (queues, EMA teachers, centers,
    learnable temperatures) lives in the module's ``state_dict``.
    """

    def forward(self, batch: Any, *, progress: float) -> MethodOutput: ...

    def encode(self, x: Tensor) -> Tensor: ...

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def parameters(self, recurse: bool = True) -> Any: ...

    def state_dict(self, *args: Any, **kwargs: Any) -> Any: ...


@runtime_checkable
class CachedMethod(Protocol):
    """A method whose step splits into per-sample embedding and a whole-batch loss.

    Gradient caching (GradCache, Gao et al., arXiv 2101.06983;
    :mod:`contrastkit.train.gradcache`) trains a loss with in-batch negatives at a batch size
    whose activations do not fit in memory, with the gradients of the whole batch. It needs the
    method's ``forward`` cut in two, with ``forward`` being exactly::

        self.loss_from_embeddings(self.embed(batch, progress=p), batch, progress=p)

    ``embed(batch, *, progress) -> tuple[Tensor, ...]``: the expensive per-sample part (the
    encoder), with gradients: e.g. ``(h_a, h_b)``, each (B, F). Every tensor holds the batch's
    B samples along dim 0 in batch order, so that the embeddings of consecutive sub-batches
    (``batch.split(size)``), concatenated along dim 0, are those of the whole batch: a
    multi-view method returns one tensor per view, not a view-major (V * B, F) stack. It
    validates the batch, may use randomness (dropout: the engine replays it exactly) and must
    not change state (no EMA update, no queue write): the engine runs it twice per sub-batch,
    once without autograd and once with.

    ``loss_from_embeddings(embeddings, batch, *, progress) -> MethodOutput``: everything else,
    once per step, on the whole batch: the heads (their BatchNorm then sees the whole batch),
    the loss with its in-batch negatives (and its gather across processes), state updates (EMA
    teachers, queues) and targets that need no gradient, such as momentum-encoder keys
    (computed from ``batch`` under ``torch.no_grad()`` after the EMA update). Parameters it
    uses directly (heads, a learnable temperature) get their gradients from its loss.

    Implemented by :class:`~contrastkit.methods.SimCLR`, :class:`~contrastkit.methods.MoCoV3`
    and :class:`~contrastkit.methods.SupCon`.
    """

    def embed(self, batch: Any, *, progress: float) -> tuple[Tensor, ...]: ...

    def loss_from_embeddings(
        self, embeddings: tuple[Tensor, ...], batch: Any, *, progress: float
    ) -> MethodOutput: ...


def check_sizes(**sizes: int) -> None:
    """Raise a ``ValueError`` naming the first size (layer width, count) that is not >= 1.

    Example:
        >>> check_sizes(proj_dim=128, proj_hidden_dim=2048)
    """
    for name, size in sizes.items():
        check_in_range(name, size, 1)


def feature_dim(encoder: nn.Module) -> int:
    """The output width of an encoder: its ``feature_dim`` attribute.

    Built-in encoders set it; wrap any other module with
    :class:`contrastkit.encoders.Encoder` (module plus its feature dimension).
    """
    dim = getattr(encoder, "feature_dim", None)
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(
            f"encoder {type(encoder).__name__} has no integer feature_dim attribute; wrap it as "
            "contrastkit.encoders.Encoder(module, feature_dim=...)"
        )
    return dim


def check_step(batch: ViewBatch, progress: float, *, method: str, min_views: int = 2) -> None:
    """Validate the inputs of one training step, with messages that name the method.

    Raises ``ValueError`` when ``batch`` is not a :class:`~contrastkit.types.ViewBatch`,
    when ``progress`` is outside [0, 1] (or nan), or when the batch has fewer than
    ``min_views`` views.

    Example:
        >>> import torch
        >>> check_step(ViewBatch([torch.zeros(2, 3)]), 0.5, method="SimCLR")
        Traceback (most recent call last):
        ...
        ValueError: SimCLR needs a batch of at least 2 views, got 1
    """
    if not isinstance(batch, ViewBatch):
        raise ValueError(f"{method} takes a ViewBatch of image views, got {type(batch).__name__}")
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    if len(batch.views) < min_views:
        raise ValueError(
            f"{method} needs a batch of at least {min_views} views, got {len(batch.views)}"
        )
