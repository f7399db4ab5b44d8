"""Training-health monitoring: collapse, alignment and uniformity from a step's embeddings.

:func:`health_metrics` measures one pair of view embeddings; :class:`HealthMonitor` is a
:class:`~contrastkit.train.fit.StepObserver` that logs them every few steps during
:func:`~contrastkit.train.fit` and warns once (:class:`CollapseWarning`) when the
representation collapses.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from contrastkit.eval.embedding_stats import (
    alignment,
    effective_rank,
    embedding_std,
    positive_negative_similarity,
    uniformity,
)
from contrastkit.methods.base import MethodOutput
from contrastkit.types import check_pair

__all__ = [
    "HEALTH_KEYS",
    "CollapseWarning",
    "HealthMonitor",
    "alignment",
    "collapse_message",
    "effective_rank",
    "embedding_std",
    "health_metrics",
    "positive_negative_similarity",
    "uniformity",
]

MIN_COLLAPSE_RANK = 1.5  # an effective rank below this counts as collapsed, whatever D

HEALTH_KEYS = (
    "embedding_std",
    "embedding_std_healthy",
    "effective_rank",
    "effective_rank_fraction",
    "alignment",
    "uniformity",
    "positive_similarity",
    "negative_similarity",
    "similarity_gap",
)


class CollapseWarning(UserWarning):
    """The embeddings collapsed: effective rank stayed near 1 for several observations."""


@torch.no_grad()
def health_metrics(z_a: Tensor, z_b: Tensor) -> dict[str, float]:
    """Every health metric of one batch of two views' embeddings, as plain floats.

    Keys: ``embedding_std`` (:func:`embedding_std` of z_a; SimSiam, arXiv 2011.10566) and
    ``embedding_std_healthy`` (``1/sqrt(D)``, its value for isotropic embeddings);
    ``effective_rank`` (RankMe of z_a, arXiv 2210.02885) and ``effective_rank_fraction``
    (rank / D); ``alignment`` of the pairs and ``uniformity`` of z_a and z_b concatenated
    (Wang & Isola, arXiv 2005.10242); ``positive_similarity``, ``negative_similarity`` and
    ``similarity_gap`` (:func:`positive_negative_similarity`).

    Args:
        z_a: (B, D) embeddings of the first views, B >= 2, finite.
        z_b: (B, D) embeddings of the second views.

    Example:
        >>> metrics = health_metrics(torch.eye(4), torch.eye(4))
        >>> round(metrics["effective_rank"], 3), metrics["alignment"], metrics["similarity_gap"]
        (4.0, 0.0, 1.0)
    """
    check_pair("z_a", z_a, "z_b", z_b)
    z_a, z_b = z_a.detach().float(), z_b.detach().float()
    dim = z_a.shape[1]
    rank = effective_rank(z_a)
    positive, negative, gap = positive_negative_similarity(z_a, z_b)
    return {
        "embedding_std": embedding_std(z_a),
        "embedding_std_healthy": 1.0 / math.sqrt(dim),
        "effective_rank": rank,
        "effective_rank_fraction": rank / dim,
        "alignment": alignment(z_a, z_b),
        "uniformity": uniformity(torch.cat([z_a, z_b])),
        "positive_similarity": positive,
        "negative_similarity": negative,
        "similarity_gap": gap,
    }


class HealthMonitor:
    """A training observer that logs health metrics and warns once when embeddings collapse.

    Pass it to :func:`contrastkit.train.fit` as ``observer``. Every ``every`` optimizer steps
    it computes :func:`health_metrics` on the step's ``MethodOutput.embeddings`` (detached, in
    float32, on their device; with several processes, on the local batch) and returns them,
    with the values of ``logs_keys`` (learnable temperature, logit scale) passed through from
    ``output.logs`` when present; on other steps it returns ``{}``. The progress bar shows
    ``effective_rank`` and ``embedding_std``.

    Collapse: an observation counts as collapsed when the effective rank is below
    ``max(1.5, collapse_rank_fraction * D)`` (the floor of 1.5 makes the test meaningful for
    small D, where ``fraction * D`` would fall below the minimum rank of 1; a completely
    collapsed batch has rank about 1). After ``patience`` consecutive collapsed observations it
    emits one :class:`CollapseWarning`, sets ``collapsed`` and records ``collapse_step``; an
    observation above the threshold resets the count. That state is in ``state_dict()``, which
    ``fit`` saves in every checkpoint, so a resumed run neither forgets a streak nor warns twice.

    Args:
        every: observe every this many optimizer steps (steps divisible by it), >= 1.
        collapse_rank_fraction: collapse threshold as a fraction of D, in [0, 1].
        patience: consecutive collapsed observations before warning, >= 1.
        logs_keys: ``output.logs`` entries to pass through when present.

    Example:
        >>> from contrastkit.methods.base import MethodOutput
        >>> monitor = HealthMonitor(every=2)
        >>> output = MethodOutput(torch.tensor(0.0), (torch.eye(4), torch.eye(4)))
        >>> monitor(1, output)
        {}
        >>> round(monitor(2, output)["effective_rank"], 3)
        4.0
    """

    display = ("effective_rank", "embedding_std")

    def __init__(
        self,
        *,
        every: int = 10,
        collapse_rank_fraction: float = 0.01,
        patience: int = 3,
        logs_keys: Sequence[str] = ("temperature", "logit_scale"),
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        if not 0.0 <= collapse_rank_fraction <= 1.0:
            raise ValueError(
                f"collapse_rank_fraction must be in [0, 1], got {collapse_rank_fraction}"
            )
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an integer >= 1, got {patience!r}")
        self.every = every
        self.collapse_rank_fraction = collapse_rank_fraction
        self.patience = patience
        self.logs_keys = tuple(logs_keys)
        self.collapsed = False
        self.collapse_step: int | None = None
        self.collapsed_observations = 0  # consecutive observations below the threshold

    def state_dict(self) -> dict[str, Any]:
        """The collapse state: ``collapsed``, ``collapse_step``, ``collapsed_observations``."""
        return {
            "collapsed": self.collapsed,
            "collapse_step": self.collapse_step,
            "collapsed_observations": self.collapsed_observations,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (with several processes, each restores
        process 0's state, the one the checkpoint holds)."""
        missing = {"collapsed", "collapse_step", "collapsed_observations"} - set(state)
        if missing:
            warnings.warn(
                f"the checkpoint's observer state has no {sorted(missing)}: it was saved by "
                "another observer; the health monitor starts afresh",
                stacklevel=2,
            )
            return
        self.collapsed = bool(state["collapsed"])
        self.collapse_step = state["collapse_step"]
        self.collapsed_observations = int(state["collapsed_observations"])

    def collapse_threshold(self, dim: int) -> float:
        """The effective rank below which an observation of D = ``dim`` counts as collapsed."""
        return max(MIN_COLLAPSE_RANK, self.collapse_rank_fraction * dim)

    def __call__(self, step: int, output: MethodOutput) -> dict[str, float]:
        if step % self.every != 0:
            return {}
        z_a, z_b = (z.detach().float() for z in output.embeddings)
        if not (bool(torch.isfinite(z_a).all()) and bool(torch.isfinite(z_b).all())):
            return {}  # nothing to measure; the trainer reports a non-finite loss itself
        metrics = health_metrics(z_a, z_b)
        for key in self.logs_keys:
            if key in output.logs:
                metrics[key] = float(output.logs[key])
        self._watch(step, metrics, z_a.shape[1])
        return metrics

    def _watch(self, step: int, metrics: dict[str, float], dim: int) -> None:
        if metrics["effective_rank"] >= self.collapse_threshold(dim):
            self.collapsed_observations = 0
            return
        self.collapsed_observations += 1
        if self.collapsed_observations >= self.patience and not self.collapsed:
            self.collapsed, self.collapse_step = True, step
            message = collapse_message(step, metrics, dim, self.patience)
            warnings.warn(message, CollapseWarning, stacklevel=3)  # points at the training loop


def collapse_message(step: int, metrics: dict[str, float], dim: int, patience: int) -> str:
    """What was measured at a collapse, and what usually causes and cures it."""
    return (
        f"representation collapse at step {step}: effective rank "
        f"{metrics['effective_rank']:.2f} of D={dim} and embedding std "
        f"{metrics['embedding_std']:.4f} vs {metrics['embedding_std_healthy']:.4f} when healthy "
        f"(positive/negative cosine {metrics['positive_similarity']:.3f}/"
        f"{metrics['negative_similarity']:.3f}), for {patience} observations in a row. "
        "Likely causes and remedies: a missing stop-gradient or predictor (SimSiam/BYOL: keep "
        "stop_gradient=True and the prediction head); a batch or negative queue too small "
        "(raise batch_size or queue_size); a temperature too high or too low (try 0.1-0.5); "
        "a learning rate too high (lower lr or lengthen warmup); too much weight decay "
        "(lower weight_decay)."
    )
