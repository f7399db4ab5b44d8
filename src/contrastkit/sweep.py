"""Hyper-parameter sweeps: short runs over a grid of ``--set key=v1,v2,...`` values.

Temperature and batch size are the settings contrastive learning is most sensitive to; a sweep
trains one run per combination in ``out/<key=value,...>/``, evaluates each with the recipe's
protocols, and writes ``sweep.json`` (one record per run), a table and ``sweep.png`` (the metric
against the first swept value, one line per combination of the others).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from contrastkit.modalities.base import Splits
from contrastkit.recipe import parse_override, read_recipe_file, recipe_from_dict
from contrastkit.run import Run


def split_sweep(overrides: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Separate fixed ``key=value`` overrides from swept ``key=v1,v2`` ones.

    A value in brackets (a TOML list such as ``[1.0, 0.1]``) is never split.

    Example:
        >>> split_sweep(["epochs=5", "temperature=0.1,0.5"])
        (['epochs=5'], {'temperature': ['0.1', '0.5']})
    """
    fixed: list[str] = []
    swept: dict[str, list[str]] = {}
    for text in overrides:
        key, _ = parse_override(text)
        raw = text.partition("=")[2].strip()
        if "," in raw and not raw.startswith(("[", "{", '"', "'")):
            swept[key] = [value.strip() for value in raw.split(",") if value.strip()]
        else:
            fixed.append(text)
    return fixed, swept


def metric_of(records: list[dict[str, Any]], metric: str) -> float:
    """``knn`` (top-1) or ``linear`` (top-1 with all labels, else the first fraction)."""
    matching = [record for record in records if record["protocol"] == metric]
    full = [r for r in matching if r["params"].get("label_fraction", 1.0) == 1.0]
    for record in full or matching:
        return float(record["metrics"]["top1"])
    raise ValueError(f"metric {metric!r} was not evaluated; add it to the recipe's protocols")


def run_sweep(
    recipe_path: str | Path, overrides: list[str], out: str | Path, *, metric: str = "knn"
) -> list[dict[str, Any]]:
    """Train and evaluate one run per combination of the swept values; returns the records.

    Every combination's recipe is built and checked before the first run trains, so a bad
    value fails at once. The runs share their decoded data (each split is decoded once for the
    whole sweep). ``sweep.json`` stores each swept value as the recipe read it (a number stays
    a number).
    """
    fixed, swept = split_sweep(overrides)
    if not swept:
        raise ValueError("nothing to sweep: give at least one --set key=v1,v2,...")
    out = Path(out)
    keys = list(swept)
    values = read_recipe_file(recipe_path)
    plans = []
    for combination in itertools.product(*(swept[k] for k in keys)):
        settings = [f"{k}={v}" for k, v in zip(keys, combination, strict=True)]
        typed = dict(parse_override(setting) for setting in settings)
        plans.append((recipe_from_dict(values, [*fixed, *settings]), settings, typed))
    records, splits = [], Splits()
    for recipe, settings, typed in plans:
        run = Run(recipe, out / ",".join(settings), splits=splits)
        if run.train().stopped == "interrupted":
            raise KeyboardInterrupt(f"sweep interrupted during {run.folder}; rerun it to resume")
        score = metric_of(run.evaluate(), metric)
        records.append({"settings": typed, "metric": metric, "top1": score, "run": str(run.folder)})
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(records, indent=2) + "\n")
    plot_sweep(records, keys, out / "sweep.png")
    return records


def format_sweep(records: list[dict[str, Any]]) -> str:
    """A plain-text table of a sweep's settings and metric."""
    keys = list(records[0]["settings"])
    lines = ["  ".join([*keys, f"{records[0]['metric']} top-1"])]
    for record in records:
        lines.append(
            "  ".join(
                [*(str(record["settings"][k]).ljust(len(k)) for k in keys), f"{record['top1']:.4f}"]
            )
        )
    return "\n".join(lines)


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def plot_sweep(records: list[dict[str, Any]], keys: list[str], path: Path) -> Path:
    """Metric against the first swept key (log scale when positive), one line per other setting."""
    first, others = keys[0], keys[1:]
    figure, axis = plt.subplots(figsize=(5, 3.5), dpi=100)
    groups: dict[str, list[tuple[float, float]]] = {}
    numeric = all(_is_number(r["settings"][first]) for r in records)
    categories = list(dict.fromkeys(str(r["settings"][first]) for r in records))
    for record in records:
        label = ", ".join(f"{k}={record['settings'][k]}" for k in others) or record["metric"]
        value = record["settings"][first]
        x = float(value) if numeric else float(categories.index(str(value)))
        groups.setdefault(label, []).append((x, record["top1"]))
    for label, points in groups.items():
        points.sort()
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    if not numeric:
        axis.set_xticks(range(len(categories)), categories)
    elif all(float(r["settings"][first]) > 0 for r in records):
        axis.set_xscale("log")
    axis.set_xlabel(first)
    axis.set_ylabel(f"{records[0]['metric']} top-1")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
