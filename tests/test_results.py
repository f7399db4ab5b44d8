"""evaluate_features records, and the results table that prints each record as its registered
protocol says."""

from __future__ import annotations

import json

import pytest
import torch

from contrastkit.eval.protocols import evaluate_features
from contrastkit.results import format_table


def test_records_carry_params_and_are_json() -> None:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(10)
    features = torch.nn.functional.one_hot(labels).float() + 0.1 * torch.randn(
        40, 4, generator=generator
    )
    records = evaluate_features(
        features, labels, features, labels, knn_k=5, label_fractions=[1.0, 0.5], probe_seeds=[0, 1]
    )
    assert [r["protocol"] for r in records] == ["knn", "linear", "linear"]
    assert records[0]["params"] == {"k": 5, "temperature": 0.1}
    assert records[2]["params"]["label_fraction"] == 0.5
    assert len(records[1]["metrics"]["top1_per_seed"]) == 2
    json.dumps(records)
    with pytest.raises(ValueError, match="unknown protocols"):
        evaluate_features(features, labels, features, labels, protocols=["nope"])


def test_table_has_a_column_per_protocol() -> None:
    rows = {
        "model": [
            {"protocol": "knn", "params": {"k": 20}, "metrics": {"top1": 0.5}},
            {"protocol": "sts", "params": {}, "metrics": {"all": {"spearman": 0.8}}},
            {"protocol": "zero_shot", "params": {}, "metrics": {"top1": 0.3}},
            {
                "protocol": "image_text_retrieval",
                "params": {},
                "metrics": {
                    d: {"recall@1": 0.1, "recall@5": 0.4}
                    for d in ("image_to_text", "text_to_image")
                },
            },
        ]
    }
    table = format_table(rows)
    for column in (
        "kNN top-1 (k=20)",
        "STS Spearman (all)",
        "zero-shot top-1",
        "image_to_text R@5",
    ):
        assert column in table
