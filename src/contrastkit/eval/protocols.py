"""Run several evaluation protocols on one set of frozen features, as JSON-ready records.

Each record is ``{"protocol": name, "params": {...}, "metrics": {...}}`` so that every number
carries the parameters that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from torch import Tensor

from contrastkit.eval.knn import knn_accuracy
from contrastkit.eval.linear import linear_probe

PROTOCOLS = ("knn", "linear")


def evaluate_features(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    *,
    protocols: Sequence[str] = PROTOCOLS,
    knn_k: int = 200,
    knn_temperature: float = 0.1,
    label_fractions: Sequence[float] = (1.0,),
    probe_seeds: Sequence[int] = (0, 1, 2),
) -> list[dict[str, Any]]:
    """kNN (top-1/top-5) and a linear probe per label fraction (mean and std over seeds).

    Example:
        >>> import torch
        >>> x, y = torch.eye(4).repeat(5, 1), torch.arange(4).repeat(5)
        >>> [r["protocol"] for r in evaluate_features(x, y, x, y, knn_k=3, probe_seeds=[0])]
        ['knn', 'linear']
    """
    unknown = sorted(set(protocols) - set(PROTOCOLS))
    if unknown:
        raise ValueError(
            f"unknown protocols {unknown} for image features; choose from {', '.join(PROTOCOLS)} "
            "(sts, retrieval and zero_shot evaluate text and two-tower embeddings: "
            "contrastkit.eval.sts_evaluate, image_text_retrieval, zero_shot_evaluate)"
        )
    records: list[dict[str, Any]] = []
    if "knn" in protocols:
        params: dict[str, Any] = {"k": knn_k, "temperature": knn_temperature}
        metrics = knn_accuracy(
            train_features,
            train_labels,
            test_features,
            test_labels,
            k=knn_k,
            temperature=knn_temperature,
        )
        records.append({"protocol": "knn", "params": params, "metrics": metrics})
    if "linear" in protocols:
        for fraction in label_fractions:
            result = linear_probe(
                train_features,
                train_labels,
                test_features,
                test_labels,
                label_fraction=fraction,
                seeds=tuple(probe_seeds),
            )
            probe: dict[str, Any] = {
                "top1": result.top1_mean,
                "top1_std": result.top1_std,
                "top1_per_seed": list(result.top1_per_seed),
                "weight_decay_per_seed": list(result.weight_decay_per_seed),
            }
            records.append({"protocol": "linear", "params": result.parameters, "metrics": probe})
    return records


def _cells(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The table columns of one record: (column name, formatted value)."""
    protocol, metrics, params = record["protocol"], record["metrics"], record["params"]
    if protocol == "knn":
        return [(f"kNN top-1 (k={params['k']})", f"{metrics['top1']:.4f}")]
    if protocol in ("linear", "linear_probe"):
        fraction = params.get("label_fraction", 1.0)
        value = f"{metrics['top1']:.4f} ± {metrics['top1_std']:.4f}"
        return [(f"linear {fraction:.0%} labels", value)]
    if protocol == "sts":
        return [("STS Spearman (all)", f"{metrics['all']['spearman']:.4f}")]
    if protocol == "image_text_retrieval":
        return [
            (f"{direction} R@{k}", f"{metrics[direction][f'recall@{k}']:.4f}")
            for direction in ("image_to_text", "text_to_image")
            for k in (1, 5)
        ]
    if protocol == "retrieval":
        return [("R@1", f"{metrics['recall@1']:.4f}"), ("MRR", f"{metrics['mrr']:.4f}")]
    if protocol == "zero_shot":
        return [("zero-shot top-1", f"{metrics['top1']:.4f}")]
    return [(protocol, json.dumps(metrics)[:40])]


def format_table(rows: dict[str, list[dict[str, Any]]]) -> str:
    """A plain-text table: one row per representation, one column per protocol record.

    Example:
        >>> print(format_table({"raw": [{"protocol": "knn", "params": {"k": 5},
        ...                              "metrics": {"top1": 0.5}}]}))
        representation  kNN top-1 (k=5)
        raw             0.5000
    """
    columns: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for name, records in rows.items():
        cells[name] = dict(cell for record in records for cell in _cells(record))
        columns += [c for c in cells[name] if c not in columns]
    width = max(len("representation"), *(len(name) for name in rows))
    sizes = [max(len(c), *(len(cells[n].get(c, "")) for n in rows)) for c in columns]
    header = "  ".join(
        ["representation".ljust(width), *(c.ljust(s) for c, s in zip(columns, sizes, strict=True))]
    )
    lines = [header.rstrip()]
    for name in rows:
        values = [cells[name].get(c, "").ljust(s) for c, s in zip(columns, sizes, strict=True)]
        lines.append("  ".join([name.ljust(width), *values]).rstrip())
    return "\n".join(lines)
