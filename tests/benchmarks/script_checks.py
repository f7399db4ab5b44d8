"""What the benchmark smoke tests share: importing a script by path and checking its record."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(relative: str) -> ModuleType:
    """Import ``benchmarks/<relative>`` by path (``benchmarks/`` is not a package), once."""
    path = BENCHMARKS / relative
    if path.stem in sys.modules:
        return sys.modules[path.stem]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def dataset_available(name: str) -> bool:
    """Whether ``load_dataset(name, "test")`` finds its files on this machine."""
    from contrastkit.data import load_dataset

    try:
        load_dataset(name, "test")
    except ValueError:
        return False
    return True


needs_cifar10 = pytest.mark.skipif(
    not dataset_available("cifar10"),
    reason="CIFAR-10 not found (set CONTRASTKIT_DATA to the shared data folder)",
)


def assert_finite(record: dict[str, Any], keys: list[str]) -> None:
    for key in keys:
        value = record[key]
        assert isinstance(value, (int, float)) and math.isfinite(value), (key, value)


def check_run_record(results: dict[str, Any], out: Path) -> None:
    """The JSON written to ``--out`` is this run's, with its command, commit, date and set-up."""
    saved = json.loads(out.read_text())
    assert saved["benchmark"] == results["benchmark"]
    for key in ("command", "commit", "date", "torch", "threads"):
        assert key in saved["run"], key
    assert "--quick" in saved["run"]["command"]
