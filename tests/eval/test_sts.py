"""STS protocol: hand-built correlations, SentEval's aggregations, and the STS-B reader."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from contrastkit.data import data_root
from contrastkit.eval.sts import read_sts_benchmark, read_sts_tsv, sts_correlation, sts_evaluate

STSB_TEST = data_root() / "text" / "stsbenchmark" / "sts-test.csv"


def pairs(similarities: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Row pairs whose cosine similarities are exactly the given values (up to rounding)."""
    angles = torch.tensor(similarities, dtype=torch.float64).acos()
    first = torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(len(similarities), 2)
    second = torch.stack([angles.cos(), angles.sin()], dim=1) * 3.0  # norm does not matter
    return first, second


def test_perfect_and_anti_correlation() -> None:
    e1, e2 = pairs([0.1, 0.4, 0.5, 0.9])
    up = sts_correlation(e1, e2, [1.0, 2.0, 3.0, 4.0])
    assert up["spearman"] == pytest.approx(1.0) and up["pearson"] < 1.0 and up["n"] == 4
    linear = sts_correlation(e1, e2, [0.2, 0.8, 1.0, 1.8])  # gold = 2 * similarity
    assert linear["pearson"] == pytest.approx(1.0)
    down = sts_correlation(e1, e2, [4.0, 3.0, 2.0, 1.0])
    assert down["spearman"] == pytest.approx(-1.0)


def test_numpy_inputs_and_scipy_agreement() -> None:
    rng = np.random.default_rng(0)
    e1, e2 = rng.normal(size=(20, 6)), rng.normal(size=(20, 6))
    gold = rng.uniform(0, 5, size=20)
    result = sts_correlation(e1, e2, gold)
    cosine = (e1 * e2).sum(1) / np.linalg.norm(e1, axis=1) / np.linalg.norm(e2, axis=1)
    ranks_x, ranks_y = cosine.argsort().argsort(), gold.argsort().argsort()
    assert result["spearman"] == pytest.approx(np.corrcoef(ranks_x, ranks_y)[0, 1])
    assert result["pearson"] == pytest.approx(np.corrcoef(cosine, gold)[0, 1])


def test_all_mean_and_wmean_match_hand_computation() -> None:
    # Each data set alone is perfectly ordered, but their similarity scales disagree.
    a = (*pairs([0.1, 0.2, 0.3]), [3.0, 4.0, 5.0])
    b = (*pairs([0.7, 0.8, 0.9]), [0.0, 1.0, 2.0])
    metrics = sts_evaluate({"a": a, "b": b})["metrics"]
    assert metrics["per_dataset"]["a"]["spearman"] == pytest.approx(1.0)
    assert metrics["mean"]["spearman"] == pytest.approx(1.0)
    assert metrics["wmean"]["spearman"] == pytest.approx(1.0)
    # Pooled ranks: similarity 1..6, gold 4,5,6,1,2,3 -> sum d^2 = 54.
    assert metrics["all"]["spearman"] == pytest.approx(1 - 6 * 54 / (6 * 35))
    # Pooled Pearson: sum dx*dy = -2.3, sum dx^2 = 0.58, sum dy^2 = 17.5.
    assert metrics["all"]["pearson"] == pytest.approx(-2.3 / math.sqrt(0.58 * 17.5))
    assert metrics["all"]["n"] == 6


def test_wmean_weights_by_pair_count() -> None:
    a = (*pairs([0.1, 0.2, 0.3]), [1.0, 2.0, 3.0])  # +1, 3 pairs
    c = (*pairs([0.1, 0.2, 0.3, 0.4]), [4.0, 3.0, 2.0, 1.0])  # -1, 4 pairs
    metrics = sts_evaluate({"a": a, "c": c})["metrics"]
    assert metrics["mean"]["spearman"] == pytest.approx(0.0)
    assert metrics["wmean"]["spearman"] == pytest.approx((3 * 1 - 4 * 1) / 7)
    assert metrics["wmean"]["n"] == 7


def test_record_is_json_ready() -> None:
    record = sts_evaluate({"a": (*pairs([0.1, 0.2, 0.3]), torch.tensor([1.0, 2.0, 3.0]))})
    assert record["protocol"] == "sts" and record["params"]["datasets"] == ["a"]
    assert json.loads(json.dumps(record, allow_nan=False)) == record


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.ones(3, 2), torch.ones(4, 2), [1, 2, 3]), "embeddings_1 and embeddings_2"),
        ((torch.eye(2)[:1], torch.eye(2)[:1], [1.0]), "at least 2 pairs"),
        ((torch.eye(3), torch.eye(3), [1.0, 2.0]), "gold_scores"),
        ((torch.eye(3), torch.eye(3), [1.0, 1.0, 1.0]), "gold_scores are all equal"),
        ((torch.eye(3), torch.eye(3), [1.0, float("nan"), 2.0]), "gold_scores"),
        ((torch.full((3, 2), float("inf")), torch.eye(3)[:, :2], [1, 2, 3]), "embeddings_1"),
        ((torch.eye(3), torch.eye(3), [1.0, 2.0, 3.0]), "collapsed"),
        ((torch.eye(3).long(), torch.eye(3), [1.0, 2.0, 3.0]), "embeddings_1"),
    ],
)
def test_bad_inputs_name_the_argument(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sts_correlation(*args)


def test_evaluate_errors_name_the_dataset() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sts_evaluate({})
    with pytest.raises(ValueError, match=r"datasets\['bad'\].*gold_scores"):
        sts_evaluate({"bad": (*pairs([0.1, 0.2]), [1.0, 1.0])})


def test_read_tsv_skips_and_counts_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "sts.csv"
    path.write_text(
        'g\tf\t2012\t1\t4.5\tHe said "hi.\tHe greeted.\n'  # unbalanced quote, kept
        "g\tf\t2012\t2\t1.0\tA.\tB.\tlicence\tsource\n"  # extra columns ignored
        "g\tf\t2012\t3\tfive\tA.\tB.\n"  # bad score
        "g\tf\t2012\t4\t2.0\tonly one sentence\n",  # too few columns
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="skipped 2 malformed"):
        s1, s2, scores = read_sts_tsv(path)
    assert s1 == ['He said "hi.', "A."] and s2 == ["He greeted.", "B."] and scores == [4.5, 1.0]


def test_read_tsv_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        read_sts_tsv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("just one column\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no usable row"):
        read_sts_tsv(empty)
    with pytest.raises(ValueError, match="unknown split"):
        read_sts_benchmark("validation")


@pytest.mark.skipif(not STSB_TEST.is_file(), reason=f"STS-B not found at {STSB_TEST}")
def test_real_stsb_test_split() -> None:
    s1, s2, scores = read_sts_benchmark("test")
    assert len(s1) == len(s2) == len(scores) == 1379
    assert min(scores) >= 0.0 and max(scores) <= 5.0
    assert s1[0] == "A girl is styling her hair." and scores[0] == 2.5
