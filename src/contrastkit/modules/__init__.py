"""Small stateful blocks that methods compose: heads, the MoCo queue, EMA, DINO's center."""

from contrastkit.modules.center import Center
from contrastkit.modules.dino_head import DINOHead
from contrastkit.modules.ema import cosine_momentum, update_ema
from contrastkit.modules.heads import HEAD_PRESETS, MLP, HeadPreset, make_head
from contrastkit.modules.queue import FeatureQueue
from contrastkit.modules.temperature import LearnableTemperature

__all__ = [
    "HEAD_PRESETS",
    "MLP",
    "Center",
    "DINOHead",
    "FeatureQueue",
    "HeadPreset",
    "LearnableTemperature",
    "cosine_momentum",
    "make_head",
    "update_ema",
]
