"""Cross-modal and same-modal retrieval: recall@k, median/mean rank and MRR by cosine similarity.

The standard Flickr30k/COCO protocol of VSE++ (Faghri et al. 2017, arXiv 1707.05612) and CLIP
(Radford et al. 2021, arXiv 2103.00020): every query ranks the whole gallery by cosine
similarity; a query may have several relevant gallery items (an image has 5 captions).

Definitions, for one query with relevant set ``R`` and similarities ``s``:

- ``rank`` (1-based) is the rank of the best-ranked relevant item. Ties are broken
  *pessimistically* by default: ``rank = 1 + #{irrelevant j : s_j >= max_{r in R} s_r}``, so an
  irrelevant item with exactly the same similarity counts as ranked ahead, and collapsed
  (constant) embeddings score as badly as they should instead of "perfectly".
  ``ties="optimistic"`` counts only strictly greater similarities (``s_j > max s_r``).
- ``recall@k`` is the fraction of queries with ``rank <= k`` (a hit if ANY relevant item is
  in the top k), a fraction in [0, 1], not a percentage.
- ``median_rank`` is ``numpy.median`` of the ranks (it can end in .5 for an even number of
  queries; VSE++ prints its floor), ``mean_rank`` their mean.
- ``mrr`` is the mean over queries of ``1 / rank`` (reciprocal rank of the first relevant item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from contrastkit.eval.compression import (
    bytes_per_vector,
    check_eval_dims,
    check_eval_precisions,
    comparable,
    compressed_cells,
    plan_compressed,
    truncate,
)
from contrastkit.eval.protocol import EvalProtocol, ImageTextEmbedder, Record

Ties = Literal["pessimistic", "optimistic"]
Relevant = Tensor | Sequence[Sequence[int]]


def _check_embeddings(name: str, x: Tensor) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a float (N, D) tensor, got {shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one row")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds non-finite values (NaN or inf)")


def _relevance_table(relevant: Relevant, num_queries: int, gallery_size: int) -> Tensor:
    """(Q, R) long tensor of gallery indices; -1 pads rows with fewer relevant items."""
    if isinstance(relevant, Tensor):
        if relevant.is_floating_point() or relevant.ndim not in (1, 2):
            raise ValueError(
                "relevant must be an integer (Q,) or (Q, R) tensor, got shape "
                f"{tuple(relevant.shape)} and dtype {relevant.dtype}"
            )
        table = relevant.detach().cpu().long().reshape(relevant.shape[0], -1)
    else:
        rows = [list(map(int, row)) for row in relevant]
        width = max((len(row) for row in rows), default=0)
        table = torch.full((len(rows), max(width, 1)), -1, dtype=torch.long)
        for i, row in enumerate(rows):
            table[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    if table.shape[0] != num_queries:
        raise ValueError(
            f"relevant must hold one entry per query ({num_queries}), got {table.shape[0]}"
        )
    if bool((table >= gallery_size).any()) or bool((table < -1).any()):
        raise ValueError(
            f"relevant holds gallery indices outside [0, {gallery_size}) (-1 is padding)"
        )
    empty = (table < 0).all(dim=1).nonzero().flatten()
    if empty.numel():
        raise ValueError(
            f"relevant: {empty.numel()} queries have no relevant item (first: query "
            f"{int(empty[0])}); every query needs at least one"
        )
    return table


def _ranks(query: Tensor, gallery: Tensor, table: Tensor, *, chunk_size: int, ties: Ties) -> Tensor:
    gallery_size = gallery.shape[0]
    ranks = []
    for start in range(0, query.shape[0], chunk_size):
        chunk = query[start : start + chunk_size]
        similarity = chunk @ gallery.T  # (chunk, G)
        rows = table[start : start + chunk_size].to(gallery.device)
        mask = torch.zeros(rows.shape[0], gallery_size + 1, dtype=torch.bool, device=rows.device)
        mask.scatter_(1, torch.where(rows < 0, gallery_size, rows), True)
        mask = mask[:, :gallery_size]  # drop the padding column
        best = similarity.masked_fill(~mask, -torch.inf).amax(dim=1, keepdim=True)
        ahead = similarity >= best if ties == "pessimistic" else similarity > best
        ranks.append((ahead & ~mask).sum(dim=1) + 1)
    return torch.cat(ranks).cpu()


def retrieval_metrics(
    query_emb: Tensor,
    gallery_emb: Tensor,
    relevant: Relevant,
    *,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 1024,
    ties: Ties = "pessimistic",
) -> dict[str, float]:
    """Recall@k, median rank, mean rank and MRR of query-to-gallery cosine retrieval.

    See the module docstring for the exact definitions and the tie rule. Similarities are
    computed in float32 on the device of ``gallery_emb``, ``chunk_size`` queries at a time
    (peak extra memory about ``chunk_size x G``), so the result does not depend on the chunk.

    Args:
        query_emb: (Q, D) query embeddings (image-to-text: images; text-to-text: queries).
        gallery_emb: (G, D) gallery embeddings.
        relevant: for each query, the gallery indices that count as correct: a list of lists
            (any lengths), or an integer tensor (Q,) (one each) or (Q, R) where ``-1`` pads.
        ks: cut-offs for recall@k, each >= 1.
        chunk_size: queries per similarity block, >= 1.
        ties: ``"pessimistic"`` (default) or ``"optimistic"``.

    Returns:
        ``{"recall@1": ..., "recall@5": ..., "recall@10": ..., "median_rank": ...,
        "mean_rank": ..., "mrr": ...}``, plain floats.

    Raises:
        ValueError: wrong shapes, non-finite values, an index outside the gallery, a query
            without a relevant item, or a bad ``ks``/``chunk_size``/``ties``.

    Example:
        >>> import torch
        >>> gallery = torch.eye(3)
        >>> retrieval_metrics(gallery, gallery, [[0], [1], [2]], ks=(1,))
        {'recall@1': 1.0, 'median_rank': 1.0, 'mean_rank': 1.0, 'mrr': 1.0}
    """
    _check_embeddings("query_emb", query_emb)
    _check_embeddings("gallery_emb", gallery_emb)
    if query_emb.shape[1] != gallery_emb.shape[1]:
        raise ValueError(
            f"query_emb and gallery_emb must have the same D, got {query_emb.shape[1]} "
            f"and {gallery_emb.shape[1]}"
        )
    if not ks or any(int(k) != k or k < 1 for k in ks):
        raise ValueError(f"ks must be a non-empty sequence of integers >= 1, got {ks!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if ties not in ("pessimistic", "optimistic"):
        raise ValueError(f"ties must be 'pessimistic' or 'optimistic', got {ties!r}")
    table = _relevance_table(relevant, query_emb.shape[0], gallery_emb.shape[0])
    gallery = F.normalize(gallery_emb.detach().float(), dim=1)
    query = F.normalize(query_emb.detach().to(gallery.device, torch.float32), dim=1)
    ranks = _ranks(query, gallery, table, chunk_size=chunk_size, ties=ties).double().numpy()
    metrics = {f"recall@{int(k)}": float((ranks <= k).mean()) for k in ks}
    metrics["median_rank"] = float(np.median(ranks))
    metrics["mean_rank"] = float(ranks.mean())
    metrics["mrr"] = float((1.0 / ranks).mean())
    return metrics


def retrieval_evaluate(
    query_emb: Tensor,
    gallery_emb: Tensor,
    relevant: Relevant,
    *,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 1024,
    ties: Ties = "pessimistic",
) -> dict[str, Any]:
    """:func:`retrieval_metrics` as a JSON-ready record (e.g. for text-to-text retrieval).

    Returns:
        ``{"protocol": "retrieval", "params": {...}, "metrics": retrieval_metrics(...)}``.

    Example:
        >>> import torch
        >>> record = retrieval_evaluate(torch.eye(2), torch.eye(2), [[0], [1]], ks=(1,))
        >>> record["protocol"], record["metrics"]["recall@1"]
        ('retrieval', 1.0)
    """
    metrics = retrieval_metrics(
        query_emb, gallery_emb, relevant, ks=ks, chunk_size=chunk_size, ties=ties
    )
    params = {
        "num_queries": int(query_emb.shape[0]),
        "gallery_size": int(gallery_emb.shape[0]),
        "ks": [int(k) for k in ks],
        "similarity": "cosine",
        "ties": ties,
    }
    return {"protocol": "retrieval", "params": params, "metrics": metrics}


def _text_to_image(
    text_to_image: Tensor | None, num_images: int, num_texts: int
) -> tuple[Tensor, str]:
    if text_to_image is None:
        if num_texts % num_images:
            raise ValueError(
                f"text_emb has {num_texts} rows, not a multiple of the {num_images} images; "
                "pass text_to_image (the image index of every caption) for other layouts"
            )
        per_image = num_texts // num_images
        layout = f"grouped: captions {per_image}*i .. {per_image}*i+{per_image - 1} of image i"
        return torch.arange(num_images).repeat_interleave(per_image), layout
    if (
        not isinstance(text_to_image, Tensor)
        or text_to_image.is_floating_point()
        or text_to_image.shape != (num_texts,)
    ):
        raise ValueError(
            f"text_to_image must be an integer tensor of shape ({num_texts},), the image "
            "index of every caption"
        )
    mapping = text_to_image.detach().cpu().long()
    if bool((mapping < 0).any()) or bool((mapping >= num_images).any()):
        raise ValueError(f"text_to_image holds image indices outside [0, {num_images})")
    return mapping, "explicit text_to_image"


def image_text_retrieval(
    image_emb: Tensor,
    text_emb: Tensor,
    *,
    text_to_image: Tensor | None = None,
    ks: Sequence[int] = (1, 5, 10),
    chunk_size: int = 1024,
    ties: Ties = "pessimistic",
) -> dict[str, Any]:
    """Image-to-text and text-to-image retrieval, the Flickr30k/COCO protocol.

    Image-to-text: each image queries all captions; all of its captions are relevant (a hit
    if any is in the top k). Text-to-image: each caption queries all images; its one image is
    relevant. Metrics of each direction as in :func:`retrieval_metrics`.

    Args:
        image_emb: (N, D) image embeddings.
        text_emb: (M, D) caption embeddings. Without ``text_to_image``, M must be a multiple
            of N and captions are grouped by image: rows ``c*i .. c*i + c - 1`` (``c = M // N``,
            5 for Flickr30k/COCO) describe image ``i``.
        text_to_image: optional (M,) integer tensor, the image index of every caption (every
            image needs at least one caption).
        ks: recall cut-offs.
        chunk_size: queries per similarity block.
        ties: tie rule, see the module docstring.

    Returns:
        ``{"protocol": "image_text_retrieval", "params": {...}, "metrics": {"image_to_text":
        {...}, "text_to_image": {...}}}``, JSON-ready.

    Example:
        >>> import torch
        >>> images = torch.eye(2)
        >>> texts = images.repeat_interleave(5, dim=0)  # 5 captions per image
        >>> record = image_text_retrieval(images, texts, ks=(1,))
        >>> record["metrics"]["image_to_text"]["recall@1"], record["params"]["num_texts"]
        (1.0, 10)
    """
    _check_embeddings("image_emb", image_emb)
    _check_embeddings("text_emb", text_emb)
    num_images, num_texts = image_emb.shape[0], text_emb.shape[0]
    mapping, layout = _text_to_image(text_to_image, num_images, num_texts)
    order = torch.argsort(mapping, stable=True)
    counts = torch.bincount(mapping, minlength=num_images)
    if bool((counts == 0).any()):
        missing = int((counts == 0).nonzero()[0])
        raise ValueError(f"text_to_image: image {missing} has no caption")
    starts = torch.cumsum(counts, dim=0) - counts
    slot = torch.arange(num_texts) - starts[mapping[order]]  # position within its image
    captions = torch.full((num_images, int(counts.max())), -1, dtype=torch.long)
    captions[mapping[order], slot] = order  # (N, max captions per image), -1 pads
    options: dict[str, Any] = {"ks": ks, "chunk_size": chunk_size, "ties": ties}
    metrics = {
        "image_to_text": retrieval_metrics(image_emb, text_emb, captions, **options),
        "text_to_image": retrieval_metrics(text_emb, image_emb, mapping, **options),
    }
    params = {
        "num_images": int(num_images),
        "num_texts": int(num_texts),
        "layout": layout,
        "ks": [int(k) for k in ks],
        "similarity": "cosine",
        "ties": ties,
    }
    return {"protocol": "image_text_retrieval", "params": params, "metrics": metrics}


@dataclass(frozen=True)
class RetrievalParams:
    """Recipe keys of the ``retrieval`` protocol."""

    # also report these prefix dims of the embeddings (truncated, re-normalized)
    eval_dims: list[int] | None = None
    # also report these precisions (float32, int8, binary) at every dim, with bytes per vector
    eval_precisions: list[str] = field(default_factory=lambda: ["float32"])

    def __post_init__(self) -> None:
        check_eval_dims(self.eval_dims)
        check_eval_precisions(self.eval_precisions)


def retrieval_protocol(context: ImageTextEmbedder, params: RetrievalParams) -> list[Record]:
    """Image-to-text and text-to-image recall@1/5/10 on the test split, all captions; with
    ``eval_dims`` or ``eval_precisions`` also each truncated dim and precision
    (``metrics["compressed"]``: recall@1 and MRR of both directions, bytes per vector)."""
    image_emb, text_emb, owners, name = context.test_pairs()
    record = image_text_retrieval(image_emb, text_emb, text_to_image=owners)
    record["params"]["dataset"] = name
    width = image_emb.shape[1]
    settings = plan_compressed(record, context, width, params.eval_dims, params.eval_precisions)
    if settings:
        compressed = []
        for dim, precision in settings:
            images, texts = comparable(
                [truncate(image_emb, dim), truncate(text_emb, dim)], precision
            )
            result = image_text_retrieval(images.float(), texts.float(), text_to_image=owners)
            entry: dict[str, Any] = {
                "dim": dim,
                "precision": precision,
                "bytes": bytes_per_vector(dim, precision),
            }
            for direction, metrics in result["metrics"].items():
                entry[f"{direction} r@1"] = metrics["recall@1"]
                entry[f"{direction} mrr"] = metrics["mrr"]
            entry["r@1"] = (entry["image_to_text r@1"] + entry["text_to_image r@1"]) / 2
            compressed.append(entry)
        record["metrics"]["compressed"] = compressed
    return [record]


def _retrieval_cells(record: Record) -> list[tuple[str, str]]:
    metrics = record["metrics"]
    if "image_to_text" not in metrics:
        return [("R@1", f"{metrics['recall@1']:.4f}"), ("MRR", f"{metrics['mrr']:.4f}")]
    return [
        (f"{direction} R@{k}", f"{metrics[direction][f'recall@{k}']:.4f}")
        for direction in ("image_to_text", "text_to_image")
        for k in (1, 5)
    ] + compressed_cells(record, "mean R@1", "r@1")


RETRIEVAL = EvalProtocol(
    "retrieval",
    ("image_text",),
    retrieval_protocol,
    RetrievalParams,
    cells=_retrieval_cells,
    record_names=("image_text_retrieval",),
)
