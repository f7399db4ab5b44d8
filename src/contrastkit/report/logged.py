"""Report sections drawn from what a run wrote: recipe, metrics log and evaluation records."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contrastkit.eval.health import HEALTH_KEYS
from contrastkit.report import plots
from contrastkit.report.html import Section, image, note, table
from contrastkit.report.plots import Panel

TRAINING_PANELS: tuple[Panel, ...] = (
    ("loss", ("loss",)),
    ("learning rate", ("lr",)),
    ("examples / s", ("examples_per_s", "images_per_s")),  # images_per_s: older runs
)
HEALTH_PANELS: tuple[Panel, ...] = (
    ("embedding std (dashed: isotropic 1/√D)", ("embedding_std", "embedding_std_healthy")),
    ("effective rank (RankMe)", ("effective_rank",)),
    ("similarity gap", ("similarity_gap",)),
    ("positive / negative cosine", ("positive_similarity", "negative_similarity")),
    ("alignment (lower: closer pairs)", ("alignment",)),
    ("uniformity (lower: more spread)", ("uniformity",)),
)
SHOWN_WITH = {"effective_rank_fraction"}  # effective_rank / D: the rank panel says it already
NOT_PLOTTED = {"step", "epoch"}
CONFIG_COLUMNS = 3


def _value(value: Any) -> str:
    """A recipe or parameter value as text; floats with at most 6 significant digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def configuration(recipe: dict[str, Any]) -> Section:
    """The flat recipe the run was trained with, one row per key."""
    rows = [(key, _value(value)) for key, value in recipe.items()]
    per_column = max(1, math.ceil(len(rows) / CONFIG_COLUMNS))
    tables = [
        table(("key", "value"), rows[start : start + per_column])
        for start in range(0, len(rows), per_column)
    ]
    return Section("configuration", "Configuration", f'<div class="tables">{"".join(tables)}</div>')


def _numeric_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for record in records:
        for key, value in record.items():
            if key in keys or key in NOT_PLOTTED or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                keys.append(key)
    return keys


def _present(panels: Sequence[Panel], logged: Sequence[str]) -> list[Panel]:
    """The panels with at least one logged key, keeping only the logged keys."""
    kept = [(title, [key for key in keys if key in logged]) for title, keys in panels]
    return [(title, keys) for title, keys in kept if keys]


def _panel_keys(panels: Sequence[Panel]) -> set[str]:
    return {key for _, keys in panels for key in keys}


def training_curves(records: Sequence[dict[str, Any]]) -> Section:
    """Loss, learning rate and throughput, plus any other value the method logged."""
    title = "Training curves"
    if not records:
        return Section("training-curves", title, note("no metrics logged (metrics.jsonl is empty)"))
    logged = _numeric_keys(records)
    body = [image(plots.curves(records, _present(TRAINING_PANELS, logged)), "training curves")]
    known = _panel_keys(TRAINING_PANELS) | set(HEALTH_KEYS)
    others = [(key, [key]) for key in logged if key not in known]
    if others:
        body.append(note("other values logged during training:"))
        body.append(image(plots.curves(records, others), "other logged values"))
    last = records[-1]
    summary = (
        f"{len(records)} log records; last at step {last.get('step')}, epoch {last.get('epoch')}"
    )
    return Section("training-curves", title, note(summary) + "\n" + "\n".join(body))


def health(records: Sequence[dict[str, Any]]) -> Section:
    """Curves of the health monitor's metrics (collapse and uniformity signals) when logged."""
    title = "Training health"
    logged = [key for key in _numeric_keys(records) if key in HEALTH_KEYS]
    panels = _present(HEALTH_PANELS, logged)
    covered = _panel_keys(HEALTH_PANELS) | SHOWN_WITH
    panels += [(key, [key]) for key in logged if key not in covered]
    if not panels:
        return Section("health", title, note("no health metrics logged"))
    explanation = note(
        "Measured by the health monitor on the training batch's two view embeddings. When the "
        "embeddings collapse, the effective rank falls towards 1 and the embedding std far "
        "below 1/√D; alignment and uniformity follow Wang & Isola (arXiv 2005.10242); the "
        "similarity gap is the mean positive minus the mean negative cosine similarity."
    )
    return Section("health", title, explanation + image(plots.curves(records, panels), "health"))


def _metrics_text(metrics: dict[str, Any], prefix: str = "") -> str:
    """Every metric, nested ones flattened (``all.spearman``), floats to 4 decimals."""
    parts = []
    for key, value in metrics.items():
        if key.endswith("_std") and key[: -len("_std")] in metrics:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            parts.append(_metrics_text(value, f"{name}."))
        elif isinstance(value, list):
            shown = ", ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in value)
            parts.append(f"{name} [{shown}]")
        elif isinstance(value, float):
            std = metrics.get(f"{key}_std")
            spread = f" ± {std:.4f}" if isinstance(std, float) else ""
            parts.append(f"{name} {value:.4f}{spread}")
        else:
            parts.append(f"{name} {value}")
    return "; ".join(parts)


def evaluation(run_dir: Path) -> Section:
    """The records of ``eval.json`` (one row per record, its headline as its protocol prints
    it in the results table); never evaluates."""
    from contrastkit.results import record_cells

    title = "Evaluation"
    path = run_dir / "eval.json"
    if not path.is_file():
        if not (run_dir / "checkpoint.pt").is_file():
            advice = "the run has no checkpoint yet: train it first (contrastkit train --out ...)"
        else:
            advice = f"not evaluated; run contrastkit eval {run_dir}"
        return Section("evaluation", title, note(advice))
    try:
        records = json.loads(path.read_text())
        rows = [
            (
                record["protocol"],
                "; ".join(f"{name} {value}" for name, value in record_cells(record)),
                ", ".join(f"{k}={_value(v)}" for k, v in record.get("params", {}).items()),
                _metrics_text(record["metrics"]),
            )
            for record in records
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return Section("evaluation", title, note(f"eval.json is unreadable ({error})"))
    header = ("protocol", "result", "parameters", "all metrics")
    return Section("evaluation", title, table(header, rows, css_class="evaluation"))
