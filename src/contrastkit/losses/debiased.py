"""Debiased (Chuang et al.) and hard-negative (Robinson et al.) contrastive losses.

Both replace NT-Xent's sum over negatives by an estimate of the sum over *true* negatives,
given a class prior ``tau_plus`` (the chance that a "negative" shares the anchor's class). The
estimate is computed in log space so that small temperatures neither overflow nor underflow.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from contrastkit.distributed import global_mean
from contrastkit.losses.two_views import two_view_similarities
from contrastkit.types import check_in_range, check_positive


def _debiased_terms(
    log_pos: Tensor, log_neg_sum: Tensor, num_negatives: int, temperature: float, tau_plus: float
) -> Tensor:
    """Per-anchor ``-log(pos / (pos + Ng))`` with Ng the clamped debiased negative sum.

    ``Ng = max((neg_sum - tau_plus * N * pos) / (1 - tau_plus), N * exp(-1 / temperature))``.
    """
    ratio = tau_plus * num_negatives * torch.exp(log_pos - log_neg_sum)
    below_one = ratio < 1
    safe = ratio.clamp(max=1 - torch.finfo(ratio.dtype).eps)
    log_corrected = log_neg_sum + torch.log1p(-safe) - math.log1p(-tau_plus)
    log_corrected = torch.where(below_one, log_corrected, torch.full_like(ratio, float("-inf")))
    log_floor = torch.full_like(ratio, math.log(num_negatives) - 1 / temperature)
    log_ng = torch.maximum(log_corrected, log_floor)
    return torch.logaddexp(log_pos, log_ng) - log_pos


def _check(temperature: float, tau_plus: float, beta: float) -> None:
    check_positive("temperature", temperature)
    check_in_range("tau_plus", tau_plus, 0.0, 1.0)
    check_in_range("beta", beta, 0.0)


def hard_negative_nce(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float = 0.5,
    tau_plus: float = 0.1,
    beta: float = 1.0,
    gather_distributed: bool = False,
) -> Tensor:
    """Hard-negative contrastive loss (HCL); see :class:`HardNegativeNCELoss`."""
    return _estimated_negatives_nce(
        z_a, z_b, temperature, tau_plus, beta, gather_distributed, "hard_negative_nce"
    )


def _estimated_negatives_nce(
    z_a: Tensor,
    z_b: Tensor,
    temperature: float,
    tau_plus: float,
    beta: float,
    gather_distributed: bool,
    loss_name: str,
) -> Tensor:
    """HCL (debiased NCE when ``beta=0``), with ``loss_name`` named in batch-size errors."""
    _check(temperature, tau_plus, beta)
    views = two_view_similarities(
        z_a, z_b, gather_distributed=gather_distributed, loss_name=loss_name
    )
    logits = views.similarity / temperature
    not_negative = ~views.negatives_mask()
    count = views.num_negatives
    # log(sum_k imp_k neg_k / mean_k imp_k) with imp_k = exp(beta s_k / t), neg_k = exp(s_k / t)
    weighted = ((beta + 1) * logits).masked_fill(not_negative, float("-inf")).logsumexp(dim=1)
    importance = (beta * logits).masked_fill(not_negative, float("-inf")).logsumexp(dim=1)
    log_neg_sum = weighted - importance + math.log(count)
    log_pos = views.positive_similarity() / temperature
    terms = _debiased_terms(log_pos, log_neg_sum, count, temperature, tau_plus)
    return global_mean(terms, gather_distributed=gather_distributed)


def debiased_nce(
    z_a: Tensor,
    z_b: Tensor,
    *,
    temperature: float = 0.5,
    tau_plus: float = 0.1,
    gather_distributed: bool = False,
) -> Tensor:
    """Debiased contrastive loss; see :class:`DebiasedNCELoss`. Equals HCL with ``beta=0``."""
    return _estimated_negatives_nce(
        z_a, z_b, temperature, tau_plus, 0.0, gather_distributed, "debiased_nce"
    )


class DebiasedNCELoss(nn.Module):
    """Debiased contrastive loss (Chuang et al., arXiv 2007.00224).

    As :class:`NTXentLoss` (2B anchors, N = 2B - 2 negatives), but the sum over negatives is
    replaced by an estimate of the sum over true negatives for class prior ``tau_plus``:
    ``Ng = max((sum_k exp(s_ik/t) - tau_plus * N * exp(s_ip/t)) / (1 - tau_plus), N e^(-1/t))``
    and ``l_i = -log(exp(s_ip/t) / (exp(s_ip/t) + Ng))``, mean over the 2B anchors. With
    ``tau_plus=0`` (and the clamp inactive) it is NT-Xent; :class:`HardNegativeNCELoss` adds
    importance weighting of hard negatives.

    Args:
        temperature: softmax temperature (0.5 in the paper).
        tau_plus: class prior, the probability that a sampled negative is a false negative,
            in [0, 1) (0.1 for CIFAR-10's ten classes).
        gather_distributed: use the embeddings of every process as negatives.

    Example:
        >>> import torch
        >>> loss = DebiasedNCELoss(temperature=0.5, tau_plus=0.1)
        >>> loss(torch.randn(8, 32), torch.randn(8, 32)).shape
        torch.Size([])
    """

    def __init__(
        self, *, temperature: float = 0.5, tau_plus: float = 0.1, gather_distributed: bool = False
    ) -> None:
        super().__init__()
        _check(temperature, tau_plus, 0.0)
        self.temperature = temperature
        self.tau_plus = tau_plus
        self.gather_distributed = gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return debiased_nce(
            z_a,
            z_b,
            temperature=self.temperature,
            tau_plus=self.tau_plus,
            gather_distributed=self.gather_distributed,
        )


class HardNegativeNCELoss(nn.Module):
    """Hard-negative contrastive loss (HCL, Robinson et al., arXiv 2010.04592).

    :class:`DebiasedNCELoss` with negatives importance-weighted towards the hard ones:
    ``sum_k neg_k`` becomes ``sum_k imp_k neg_k / mean_k imp_k`` with
    ``imp_k = exp(beta * s_ik / t)``. ``beta=0`` gives the debiased loss exactly.

    Args:
        temperature: softmax temperature (0.5 in the paper).
        tau_plus: class prior in [0, 1).
        beta: concentration on hard negatives, >= 0 (0.5 to 1 in the paper).
        gather_distributed: use the embeddings of every process as negatives.

    Example:
        >>> import torch
        >>> loss = HardNegativeNCELoss(temperature=0.5, tau_plus=0.1, beta=1.0)
        >>> loss(torch.randn(8, 32), torch.randn(8, 32)).shape
        torch.Size([])
    """

    def __init__(
        self,
        *,
        temperature: float = 0.5,
        tau_plus: float = 0.1,
        beta: float = 1.0,
        gather_distributed: bool = False,
    ) -> None:
        super().__init__()
        _check(temperature, tau_plus, beta)
        self.temperature = temperature
        self.tau_plus = tau_plus
        self.beta = beta
        self.gather_distributed = gather_distributed

    def forward(self, z_a: Tensor, z_b: Tensor) -> Tensor:
        return hard_negative_nce(
            z_a,
            z_b,
            temperature=self.temperature,
            tau_plus=self.tau_plus,
            beta=self.beta,
            gather_distributed=self.gather_distributed,
        )
