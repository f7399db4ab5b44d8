"""Sweeps: value splitting, and a tiny temperature sweep end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contrastkit.cli import main
from contrastkit.sweep import split_sweep

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "simclr_digits.toml"


def test_split_sweep_keeps_lists_whole() -> None:
    fixed, swept = split_sweep(["label_fractions=[1.0,0.1]", "temperature=0.1, 0.5", "lr=0.1"])
    assert fixed == ["label_fractions=[1.0,0.1]", "lr=0.1"]
    assert swept == {"temperature": ["0.1", "0.5"]}


def test_temperature_sweep_writes_table_json_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from contrastkit.modalities.image import modality

    loads: list[str] = []
    decode = modality.load_dataset

    def counted(name: Any, split: str = "train", **options: Any) -> Any:
        loads.append(split)
        return decode(name, split, **options)

    monkeypatch.setattr(modality, "load_dataset", counted)
    argv = [
        "sweep",
        "--recipe",
        str(RECIPE),
        "--set",
        "temperature=0.1,0.5",
        "--set",
        "epochs=1",
        "--set",
        "warmup_epochs=0",
        "--set",
        "protocols=['knn']",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    records = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["settings"]["temperature"] for r in records] == [0.1, 0.5]  # typed, as read
    assert all(0.0 <= r["top1"] <= 1.0 for r in records)
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert "temperature" in capsys.readouterr().out
    assert sorted(loads) == ["test", "train"]  # two runs, each split decoded once for both


def test_nothing_to_sweep_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["sweep", "--recipe", str(RECIPE), "--set", "epochs=1", "--out", str(tmp_path)]) == 2
    )
    assert "nothing to sweep" in capsys.readouterr().err


def test_plot_handles_categorical_values(tmp_path: Path) -> None:
    from contrastkit.sweep import plot_sweep

    records = [
        {"settings": {"optimizer": name}, "metric": "knn", "top1": top1}
        for name, top1 in (("sgd", 0.5), ("adamw", 0.6))
    ]
    assert plot_sweep(records, ["optimizer"], tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
