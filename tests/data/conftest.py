"""Data tests never write to the user's cache: CONTRASTKIT_CACHE points at a temporary folder."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(cache))
    return cache
