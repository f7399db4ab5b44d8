"""Small stateful blocks that methods compose: heads, the MoCo queue, EMA, DINO's center."""

from contrastkit.modules.center import Center
from contrastkit.modules.dino_head import DINOHead
from contrastkit.modules.ema import cosine_momentum, update_ema
from contrastkit.modules.global_batch_norm import GlobalBatchNorm, convert_global_batch_norm
from contrastkit.modules.heads import HEAD_PRESETS, MLP, HeadPreset, make_head
from contrastkit.modules.queue import FeatureQueue
from contrastkit.modules.temperature import LearnableTemperature

__all__ = [
    "HEAD_PRESETS",
    "MLP",
    "Center",
    "DINOHead",
    "FeatureQueue",
    "GlobalBatchNorm",
    "HeadPreset",
    "LearnableTemperature",
    "convert_global_batch_norm",
    "cosine_momentum",
    "make_head",
    "update_ema",
]
