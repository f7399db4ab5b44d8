"""Learning-rate schedules as pure functions of the step (so a resumed run needs only the step)."""

from __future__ import annotations

import math


def warmup_cosine(
    step: int, total_steps: int, *, base: float, warmup_steps: int = 0, final: float = 0.0
) -> float:
    """Linear warmup from 0 to ``base`` over ``warmup_steps``, then half-cosine to ``final``.

    The schedule of SimCLR, BYOL, MoCo v3 and DINO (arXiv 1608.03983 for the cosine).

    Example:
        >>> warmup_cosine(0, 100, base=1.0, warmup_steps=10)
        0.1
        >>> warmup_cosine(100, 100, base=1.0, warmup_steps=10)
        0.0
    """
    if total_steps < 1 or not 0 <= warmup_steps <= total_steps:
        raise ValueError(
            f"need total_steps >= 1 and 0 <= warmup_steps <= total_steps, "
            f"got total_steps={total_steps}, warmup_steps={warmup_steps}"
        )
    if step < warmup_steps:
        return base * (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return final + (base - final) * (1 + math.cos(math.pi * progress)) / 2
