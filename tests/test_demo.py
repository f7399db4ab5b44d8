"""The demo: SimCLR on digits beats the random-init encoder, and its recipe file matches."""

from __future__ import annotations

import sys
from pathlib import Path

from contrastkit.demo import DEMO_RECIPE, run_demo
from contrastkit.recipe import load_recipe, recipe_from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECIPE_FILE = Path(__file__).resolve().parents[1] / "recipes" / "simclr_digits.toml"


def _top1(records: list[dict], protocol: str, fraction: float = 1.0) -> float:
    for record in records:
        if (
            record["protocol"] == protocol
            and record["params"].get("label_fraction", 1.0) == fraction
        ):
            return float(record["metrics"]["top1"])
    raise AssertionError(f"no {protocol} record")


def test_short_demo_trains_and_beats_random_init(tmp_path: Path) -> None:
    results = run_demo(["epochs=8", "probe_seeds=[0]", "label_fractions=[1.0]"], run_dir=tmp_path)
    assert set(results) == {"raw pixels", "random-init ConvNet", "SimCLR ConvNet"}
    trained, untrained = results["SimCLR ConvNet"], results["random-init ConvNet"]
    assert _top1(trained, "linear") > _top1(untrained, "linear")
    assert _top1(trained, "knn") > 0.8
    for name in ("checkpoint.pt", "metrics.jsonl", "eval.json", "report.html"):
        assert (tmp_path / name).exists(), name


def test_recipe_file_is_the_demo_recipe() -> None:
    assert tomllib.loads(RECIPE_FILE.read_text()) == DEMO_RECIPE
    assert load_recipe(RECIPE_FILE) == recipe_from_dict(DEMO_RECIPE)
