"""LARS: SGD with a layer-wise trust ratio, for large-batch training (arXiv 1708.03888)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose per-tensor step is scaled by ``eta * ||w|| / ||g + wd * w||``.

    As in SimCLR and BYOL, parameter groups with ``lars_exclude=True`` (biases and
    normalization weights, see :func:`contrastkit.train.optim.parameter_groups`) get neither
    weight decay nor the trust ratio.

    Args:
        params: parameters or parameter groups.
        lr: learning rate.
        momentum: SGD momentum (0.9).
        weight_decay: L2 weight decay (1e-6 in SimCLR).
        eta: trust coefficient (1e-3).
    """

    def __init__(
        self,
        params: Iterable[Any],
        *,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eta: float = 1e-3,
    ) -> None:
        if lr < 0 or not 0 <= momentum < 1 or weight_decay < 0 or eta <= 0:
            raise ValueError(
                f"invalid LARS settings lr={lr}, momentum={momentum}, "
                f"weight_decay={weight_decay}, eta={eta}"
            )
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "weight_decay": weight_decay,
            "eta": eta,
            "lars_exclude": False,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One LARS update of every parameter that has a gradient."""
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        grad = param.grad
        assert grad is not None
        if not group["lars_exclude"]:
            grad = grad.add(param, alpha=group["weight_decay"])
            param_norm, grad_norm = torch.linalg.norm(param), torch.linalg.norm(grad)
            trust = torch.where(
                (param_norm > 0) & (grad_norm > 0),
                group["eta"] * param_norm / grad_norm,
                torch.ones_like(param_norm),
            )
            grad = grad * trust
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.clone(grad).detach()
        else:
            state["momentum_buffer"].mul_(group["momentum"]).add_(grad)
        param.add_(state["momentum_buffer"], alpha=-group["lr"])
