"""The frozen-encoder feature cache (keying and sources are tested in test_image_text.py)."""

from __future__ import annotations

import stat
from pathlib import Path

import torch
from torch import nn

from contrastkit.data.feature_cache import cached_features, feature_cache_path


def test_feature_cache_files_follow_the_umask(tmp_path: Path, umask_022: int) -> None:
    layer = nn.Linear(3, 2)
    features = cached_features(layer, ["a", "b"], lambda: torch.zeros(2, 2), tag="t", root=tmp_path)
    entry = feature_cache_path(layer, ["a", "b"], tag="t", root=tmp_path)
    assert entry.is_file() and stat.S_IMODE(entry.stat().st_mode) == 0o644
    assert torch.equal(features, torch.zeros(2, 2))
