"""A learnable softmax temperature, owned by the model and passed to the loss."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LearnableTemperature(nn.Module):
    """A temperature learned by gradient descent, as CLIP learns its logit scale (arXiv 2103.00020).

    The parameter is the log of the inverse temperature (CLIP's ``logit_scale``), initialised
    to ``log(1 / initial)``. ``forward()`` returns the temperature ``exp(-log_scale)``, clamped
    to ``[min_temperature, max_temperature]`` (CLIP clamps the scale at 100, i.e. t >= 0.01);
    at a bound the gradient is zero, so the parameter stops moving outward. It lives in the
    model's ``state_dict`` and checkpoints, and a method reports its value in
    ``MethodOutput.logs["temperature"]``.

    Args:
        initial: starting temperature.
        min_temperature: lower clamp (0.01).
        max_temperature: upper clamp (1.0).

    Example:
        >>> temperature = LearnableTemperature(0.1)
        >>> round(float(temperature()), 6)
        0.1
    """

    def __init__(
        self, initial: float = 0.07, *, min_temperature: float = 0.01, max_temperature: float = 1.0
    ) -> None:
        super().__init__()
        if not 0 < min_temperature <= initial <= max_temperature:
            raise ValueError(
                "need 0 < min_temperature <= initial <= max_temperature, got "
                f"min_temperature={min_temperature}, initial={initial}, "
                f"max_temperature={max_temperature}"
            )
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / initial)))
        self.min_temperature, self.max_temperature = min_temperature, max_temperature

    def forward(self) -> Tensor:
        low, high = math.log(1 / self.max_temperature), math.log(1 / self.min_temperature)
        return torch.exp(-self.log_scale.clamp(low, high))
