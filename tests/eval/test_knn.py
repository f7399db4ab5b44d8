"""Weighted kNN against a naive per-query loop."""

from __future__ import annotations

import math

import pytest
import torch

from contrastkit.eval import knn_accuracy, knn_scores


def naive_knn_scores(
    train: torch.Tensor,
    labels: torch.Tensor,
    test: torch.Tensor,
    k: int,
    temperature: float,
    classes: int,
) -> torch.Tensor:
    train = torch.nn.functional.normalize(train, dim=1)
    test = torch.nn.functional.normalize(test, dim=1)
    scores = torch.zeros(len(test), classes)
    for q in range(len(test)):
        sims = sorted(((float(test[q] @ train[i]), i) for i in range(len(train))), reverse=True)
        for sim, i in sims[:k]:
            scores[q, int(labels[i])] += math.exp(sim / temperature)
    return scores


@pytest.mark.parametrize("chunk_size", [1, 3, 1024])
def test_matches_naive_loop(chunk_size: int) -> None:
    generator = torch.Generator().manual_seed(0)
    train, test = torch.randn(30, 5, generator=generator), torch.randn(7, 5, generator=generator)
    labels = torch.randint(0, 4, (30,), generator=generator)
    got = knn_scores(
        train, labels, test, k=5, temperature=0.5, num_classes=4, chunk_size=chunk_size
    )
    torch.testing.assert_close(got, naive_knn_scores(train, labels, test, 5, 0.5, 4))


def test_accuracy_on_separable_clusters() -> None:
    generator = torch.Generator().manual_seed(1)
    centers = torch.eye(3) * 10
    labels = torch.arange(3).repeat(20)
    train = centers[labels] + torch.randn(60, 3, generator=generator)
    result = knn_accuracy(train, labels, train, labels, k=5)
    assert result == {"top1": 1.0, "top5": 1.0}


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="train_labels"):
        knn_scores(torch.randn(4, 2), torch.zeros(3, dtype=torch.long), torch.randn(2, 2))
    with pytest.raises(ValueError, match="k must"):
        knn_scores(torch.randn(4, 2), torch.zeros(4, dtype=torch.long), torch.randn(2, 2), k=0)


def test_defaults_are_instdisc() -> None:
    import inspect

    for function in (knn_scores, knn_accuracy):
        parameters = inspect.signature(function).parameters
        assert parameters["k"].default == 200
        assert parameters["temperature"].default == 0.1


def test_large_bank_chunked_matches_unchunked() -> None:
    generator = torch.Generator().manual_seed(2)
    bank = torch.randn(20_000, 64, generator=generator)
    labels = torch.randint(0, 10, (20_000,), generator=generator)
    queries = torch.randn(600, 64, generator=generator).double()  # any float dtype
    got = knn_scores(bank, labels, queries, num_classes=10, chunk_size=256)
    # Unchunked: the whole (600, 20000) similarity matrix at once.
    normalized = torch.nn.functional.normalize
    similarity, index = (normalized(queries.float(), dim=1) @ normalized(bank, dim=1).T).topk(200)
    expected = torch.zeros(600, 10).scatter_add_(1, labels[index], torch.exp(similarity / 0.1))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)
    assert got.shape == (600, 10) and got.dtype == torch.float32


def test_more_bad_inputs() -> None:
    bank, labels = torch.randn(4, 2), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="same D"):
        knn_scores(bank, labels, torch.randn(2, 3))
    with pytest.raises(ValueError, match="num_classes"):
        knn_scores(bank, labels, torch.randn(2, 2), num_classes=3)
    with pytest.raises(ValueError, match="chunk_size"):
        knn_scores(bank, labels, torch.randn(2, 2), chunk_size=0)
    with pytest.raises(ValueError, match="test_labels"):
        knn_accuracy(bank, labels, torch.randn(2, 2), torch.tensor([0]))


class _FakeFeatures:
    """An image evaluation context: 3 well-separated classes in 16 dims."""

    def labelled_features(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(0 if split == "train" else 1)
        labels = torch.arange(30) % 3
        centers = torch.eye(16)[:3] * 4
        return centers[labels] + torch.randn(30, 16, generator=generator), labels


def test_knn_per_dim_and_precision() -> None:
    from contrastkit.eval.compression import comparable, truncate
    from contrastkit.eval.knn import KNNParams, knn_protocol
    from contrastkit.registry import PROTOCOLS

    params = KNNParams(knn_k=5, eval_dims=[8], eval_precisions=["float32", "int8", "binary"])
    (record,) = knn_protocol(_FakeFeatures(), params)
    entries = {(e["dim"], e["precision"]): e for e in record["metrics"]["compressed"]}
    assert list(entries) == [
        (16, "int8"),
        (16, "binary"),
        (8, "float32"),
        (8, "int8"),
        (8, "binary"),
    ]
    assert [entries[(8, p)]["bytes"] for p in ("float32", "int8", "binary")] == [32, 8, 1]
    train, train_labels = _FakeFeatures().labelled_features("train")
    test, test_labels = _FakeFeatures().labelled_features("test")
    a, b = comparable([truncate(train, 8), truncate(test, 8)], "binary")
    expected = knn_accuracy(a.float(), train_labels, b.float(), test_labels, k=5)
    assert entries[(8, "binary")]["top1"] == expected["top1"]
    assert "kNN top-1 @8 (float32/int8/binary)" in dict(PROTOCOLS["knn"].cells(record))
    (plain,) = knn_protocol(_FakeFeatures(), KNNParams(knn_k=5))
    assert "compressed" not in plain["metrics"] and "dim" not in plain["params"]
