"""The training loop's progress bar."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from tiny_run import NoiseSource, TinyMethod, config

from contrastkit.train import fit
from contrastkit.train import loop as loop_module


class RecordingBar:
    """Stands in for tqdm and records the total it was given."""

    totals: ClassVar[list[int]] = []

    def __init__(self, *, total: int, **_: Any) -> None:
        RecordingBar.totals.append(total)

    def __enter__(self) -> RecordingBar:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def update(self, _: int) -> None:
        return None

    def set_postfix(self, **_: object) -> None:
        return None


@pytest.mark.parametrize(("max_steps", "total"), [(3, 3), (None, 20), (50, 20)])
def test_progress_bar_total_is_the_planned_steps_capped_by_max_steps(
    monkeypatch: pytest.MonkeyPatch, max_steps: int | None, total: int
) -> None:
    monkeypatch.setattr(RecordingBar, "totals", [])
    monkeypatch.setattr(loop_module, "tqdm", RecordingBar)
    # 40 samples in batches of 8 for 4 epochs: 20 planned steps
    fit(TinyMethod(), NoiseSource(), config(max_steps=max_steps, progress_bar=True))
    assert RecordingBar.totals == [total]
