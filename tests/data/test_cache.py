"""The decoded-array cache."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from contrastkit.data.cache import cache_path, cached_array


def test_cache_files_follow_the_umask(tmp_path: Path, umask_022: int) -> None:
    source = tmp_path / "data" / "images.bin"
    source.parent.mkdir()
    source.write_bytes(b"x")
    array = cached_array(source, "t", lambda: np.zeros((2, 3), dtype=np.uint8))
    entry = cache_path(source, "t")
    assert entry.is_file() and stat.S_IMODE(entry.stat().st_mode) == 0o644
    assert np.array_equal(cached_array(source, "t", lambda: np.ones(1, np.uint8)), array)
