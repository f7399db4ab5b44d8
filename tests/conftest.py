"""Fixtures shared by the test folders."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def umask_022() -> Iterator[int]:
    """Run the test under umask 022 (files created 0644, as ``open`` would), then restore it."""
    previous = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(previous)
