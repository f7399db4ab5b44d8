"""Token states to one sentence vector: the poolers compared in SimCSE (arXiv 2104.08821)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

POOLERS = ("cls", "cls_before_pooler", "mean", "max", "avg_first_last")


def mean_pooling(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Average of the attended token states (Sentence-BERT's default, arXiv 1908.10084).

    Args:
        hidden: (B, L, D) token states.
        attention_mask: (B, L), 1 for attended tokens.

    Returns:
        (B, D): ``sum(hidden * mask) / max(sum(mask), 1e-9)``, as sentence-transformers.

    Example:
        >>> hidden = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> mean_pooling(hidden, torch.tensor([[1, 1, 0]]))
        tensor([[2.]])
    """
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def max_pooling(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Per-dimension maximum over the attended token states (InferSent, arXiv 1705.02364).

    Example:
        >>> hidden = torch.tensor([[[1.0, 5.0], [3.0, 0.0], [100.0, 100.0]]])
        >>> max_pooling(hidden, torch.tensor([[1, 1, 0]]))
        tensor([[3., 5.]])
    """
    masked = hidden.masked_fill(~attention_mask.bool().unsqueeze(-1), torch.finfo(hidden.dtype).min)
    return masked.amax(dim=1)


def avg_first_last(first: Tensor, last: Tensor, attention_mask: Tensor) -> Tensor:
    """Mean over tokens of the average of the first and the last Transformer layer's states.

    SimCSE's ``avg_first_last`` (its code takes ``hidden_states[1]``, the output of the first
    layer, not the embedding layer); BERT-flow (arXiv 2011.05864) popularized it.

    Example:
        >>> first, last = torch.ones(1, 2, 1), 3 * torch.ones(1, 2, 1)
        >>> avg_first_last(first, last, torch.tensor([[1, 0]]))
        tensor([[2.]])
    """
    return mean_pooling((first + last) / 2, attention_mask)


def pool(
    name: str,
    hidden_states: Sequence[Tensor],
    attention_mask: Tensor,
    *,
    bert_pooler: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Apply the pooler ``name`` to an encoder's per-layer token states.

    Args:
        name: one of :data:`POOLERS`. ``"cls"`` is the [CLS] state through BERT's pooler
            (dense + tanh) when the model has one, else the plain [CLS] state;
            ``"cls_before_pooler"`` is always the plain [CLS] (first token) state; ``"mean"``
            and ``"max"`` pool the last layer over attended tokens; ``"avg_first_last"``
            averages the first and last layers, then pools with the mean.
        hidden_states: (B, L, D) states, index 0 the embedding layer's output, index 1 the
            first Transformer layer's, index -1 the last layer's. Only ``avg_first_last``
            reads more than the last one.
        attention_mask: (B, L), 1 for attended tokens.
        bert_pooler: BERT's pooler, (B, L, D) last-layer states to (B, D) (dense + tanh of the
            [CLS] state, as ``transformers``' ``BertPooler``); used by ``"cls"``.

    Returns:
        (B, D) sentence features.

    Example:
        >>> states = [torch.zeros(2, 3, 4), torch.ones(2, 3, 4)]
        >>> pool("mean", states, torch.ones(2, 3, dtype=torch.long)).shape
        torch.Size([2, 4])
    """
    last = hidden_states[-1]
    if name == "mean":
        return mean_pooling(last, attention_mask)
    if name == "max":
        return max_pooling(last, attention_mask)
    if name == "cls_before_pooler":
        return last[:, 0]
    if name == "cls":
        return bert_pooler(last) if bert_pooler is not None else last[:, 0]
    if name == "avg_first_last":
        if len(hidden_states) < 3:
            raise ValueError("avg_first_last needs the embedding layer and >= 2 layers of states")
        return avg_first_last(hidden_states[1], last, attention_mask)
    raise ValueError(f"unknown pooler {name!r}; choose one of {', '.join(POOLERS)}")


def check_pooler(name: str) -> None:
    """Raise a ``ValueError`` listing :data:`POOLERS` unless ``name`` is one of them."""
    if name not in POOLERS:
        raise ValueError(f"unknown pooler {name!r}; choose one of {', '.join(POOLERS)}")
