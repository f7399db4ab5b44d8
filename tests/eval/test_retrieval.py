"""Retrieval protocol: known ranks, tie rules, chunking, the 5-captions-per-image layout."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from contrastkit.eval.retrieval import image_text_retrieval, retrieval_evaluate, retrieval_metrics


def naive_ranks(query: torch.Tensor, gallery: torch.Tensor, relevant: list[list[int]]) -> list:
    """1-based rank of the best relevant item by sorting each query's similarities (no ties)."""
    similarity = F.normalize(query, dim=1) @ F.normalize(gallery, dim=1).T
    ranks = []
    for i, row in enumerate(similarity):
        order = row.argsort(descending=True).tolist()
        ranks.append(min(order.index(j) for j in relevant[i]) + 1)
    return ranks


def test_identity_embeddings_are_perfect() -> None:
    metrics = retrieval_metrics(torch.eye(12), torch.eye(12), torch.arange(12))
    assert metrics == {
        "recall@1": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "median_rank": 1.0,
        "mean_rank": 1.0,
        "mrr": 1.0,
    }


def test_relevant_item_at_rank_three() -> None:
    query = torch.tensor([[1.0, 0.0]])
    gallery = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0]])
    metrics = retrieval_metrics(query, gallery, [[2]])
    assert metrics["recall@1"] == 0.0 and metrics["recall@5"] == 1.0
    assert metrics["median_rank"] == 3.0 and metrics["mrr"] == pytest.approx(1 / 3)
    # Several relevant items: the best-ranked one counts.
    assert retrieval_metrics(query, gallery, [[3, 1]])["median_rank"] == 2.0


def test_median_mean_and_mrr_over_queries() -> None:
    query = torch.tensor([[1.0, 0.0]]).expand(3, 2)
    gallery = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5], [0.0, 1.0]])
    metrics = retrieval_metrics(query, gallery, [[0], [1], [3]], ks=(2,))
    assert metrics["recall@2"] == pytest.approx(2 / 3)
    assert metrics["median_rank"] == 2.0 and metrics["mean_rank"] == pytest.approx(7 / 3)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 4) / 3)


def test_tie_rules() -> None:
    query = torch.tensor([[1.0, 0.0]])
    gallery = torch.tensor([[1.0, 0.0], [2.0, 0.0]])  # same direction: tied similarity
    assert retrieval_metrics(query, gallery, [[1]])["median_rank"] == 2.0
    assert retrieval_metrics(query, gallery, [[1]], ties="optimistic")["median_rank"] == 1.0
    collapsed = torch.ones(6, 4)
    assert retrieval_metrics(collapsed, collapsed, torch.arange(6), ks=(1,))["recall@1"] == 0.0


def test_matches_naive_loop_and_does_not_depend_on_chunks() -> None:
    generator = torch.Generator().manual_seed(0)
    query, gallery = (
        torch.randn(37, 8, generator=generator),
        torch.randn(50, 8, generator=generator),
    )
    relevant = [torch.randperm(50, generator=generator)[: 1 + i % 4].tolist() for i in range(37)]
    ranks = np.array(naive_ranks(query, gallery, relevant), dtype=float)
    expected = retrieval_metrics(query, gallery, relevant, chunk_size=1024)
    assert expected["recall@5"] == pytest.approx((ranks <= 5).mean())
    assert expected["median_rank"] == pytest.approx(np.median(ranks))
    assert expected["mrr"] == pytest.approx((1 / ranks).mean())
    for chunk_size in (1, 7):
        assert retrieval_metrics(query, gallery, relevant, chunk_size=chunk_size) == expected
    padded = torch.full((37, 4), -1)
    for i, row in enumerate(relevant):
        padded[i, : len(row)] = torch.tensor(row)
    assert retrieval_metrics(query, gallery, padded) == expected


def test_five_captions_per_image() -> None:
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(6, 16, generator=generator)
    texts = images.repeat_interleave(5, dim=0) + 0.1 * torch.randn(30, 16, generator=generator)
    record = image_text_retrieval(images, texts)
    for direction in ("image_to_text", "text_to_image"):
        assert record["metrics"][direction]["recall@1"] == 1.0
    assert record["params"]["num_texts"] == 30
    # The same captions shuffled, with an explicit caption -> image index, give the same numbers.
    order = torch.randperm(30, generator=generator)
    mapping = torch.arange(6).repeat_interleave(5)[order]
    shuffled = image_text_retrieval(images, texts[order], text_to_image=mapping)
    assert shuffled["metrics"] == record["metrics"]
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_image_to_text_counts_any_of_the_captions() -> None:
    images = torch.eye(2)
    # Image 0's captions: one exact match and four pointing at image 1.
    texts = torch.cat([torch.eye(2)[[0, 1, 1, 1, 1]], torch.eye(2)[[1, 1, 1, 1, 1]]])
    metrics = image_text_retrieval(images, texts, ties="optimistic")["metrics"]
    assert metrics["image_to_text"]["recall@1"] == 1.0
    assert metrics["text_to_image"]["recall@1"] == pytest.approx(6 / 10)


def test_retrieval_evaluate_record() -> None:
    record = retrieval_evaluate(torch.eye(3), torch.eye(3), [[0], [1], [2]])
    assert record["protocol"] == "retrieval" and record["params"]["ks"] == [1, 5, 10]
    assert json.loads(json.dumps(record, allow_nan=False)) == record


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"query_emb": torch.ones(3)}, "query_emb"),
        ({"gallery_emb": torch.ones(3, 5)}, "same D"),
        ({"gallery_emb": torch.full((3, 4), float("nan"))}, "gallery_emb"),
        ({"relevant": [[0], [1]]}, "one entry per query"),
        ({"relevant": [[0], [7], [1]]}, "outside"),
        ({"relevant": [[0], [], [1]]}, "no relevant item"),
        ({"relevant": torch.zeros(3, 1)}, "integer"),
        ({"ks": (0,)}, "ks"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"ties": "random"}, "ties"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs: dict, match: str) -> None:
    arguments = {"query_emb": torch.eye(3, 4), "gallery_emb": torch.eye(3, 4)}
    arguments |= {"relevant": [[0], [1], [2]], **kwargs}
    with pytest.raises(ValueError, match=match):
        retrieval_metrics(**arguments)


def test_image_text_layout_errors() -> None:
    with pytest.raises(ValueError, match="multiple"):
        image_text_retrieval(torch.eye(3), torch.eye(3)[[0, 1, 2, 0]])
    with pytest.raises(ValueError, match="text_to_image"):
        image_text_retrieval(torch.eye(3), torch.eye(3), text_to_image=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="image 2 has no caption"):
        image_text_retrieval(torch.eye(3), torch.eye(3), text_to_image=torch.tensor([0, 1, 1]))


class _FakePairs:
    """An image-text evaluation context: 6 images, 2 noisy captions each, 16 dims."""

    def test_pairs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, str]:
        generator = torch.Generator().manual_seed(0)
        images = torch.randn(6, 16, generator=generator)
        owners = torch.arange(6).repeat_interleave(2)
        texts = images[owners] + 0.8 * torch.randn(12, 16, generator=generator)
        return images, texts, owners, "fake"


def test_retrieval_per_dim_and_precision() -> None:
    from contrastkit.eval.compression import hamming_distance, quantize_binary, truncate
    from contrastkit.eval.retrieval import RetrievalParams, retrieval_protocol
    from contrastkit.registry import PROTOCOLS

    params = RetrievalParams(eval_dims=[8, 4], eval_precisions=["float32", "binary"])
    (record,) = retrieval_protocol(_FakePairs(), params)
    entries = {(e["dim"], e["precision"]): e for e in record["metrics"]["compressed"]}
    assert list(entries) == [
        (16, "binary"),
        (8, "float32"),
        (8, "binary"),
        (4, "float32"),
        (4, "binary"),
    ]
    assert entries[(8, "binary")]["bytes"] == 1 and entries[(8, "float32")]["bytes"] == 32
    images, texts, owners, _ = _FakePairs().test_pairs()
    plain = image_text_retrieval(truncate(images, 8), truncate(texts, 8), text_to_image=owners)
    assert (
        entries[(8, "float32")]["text_to_image r@1"]
        == plain["metrics"]["text_to_image"]["recall@1"]
    )
    # binary: text-to-image rank by Hamming distance, ties counted against the query
    distance = hamming_distance(
        quantize_binary(texts[:, :4]), quantize_binary(images[:, :4]), pairwise=True
    )
    own = distance[torch.arange(12), owners]
    others = (distance <= own[:, None]).sum(dim=1) - 1
    assert entries[(4, "binary")]["text_to_image r@1"] == float((others == 0).double().mean())
    assert "Hamming" in record["params"]["similarity_per_precision"]["binary"]
    cells = dict(PROTOCOLS["retrieval"].cells(record))
    assert "mean R@1 @8 (float32/binary)" in cells


def test_retrieval_params_are_checked() -> None:
    from contrastkit.eval.retrieval import RetrievalParams, retrieval_protocol

    with pytest.raises(ValueError, match="choose from float32, int8, binary"):
        RetrievalParams(eval_precisions=["float16"])
    with pytest.raises(ValueError, match="exceed the embedding dimension 16"):
        retrieval_protocol(_FakePairs(), RetrievalParams(eval_dims=[32]))
