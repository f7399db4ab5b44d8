"""Semantic textual similarity (STS): correlation of cosine similarity with human scores.

The protocol of SentEval (Conneau & Kiela 2018, arXiv 1803.05449) and SimCSE (Gao et al. 2021,
arXiv 2104.08821): embed both sentences of every pair, take the cosine similarity of the two
embeddings, and correlate it with the gold similarity score (0-5). Correlations are returned as
plain coefficients in [-1, 1]; papers multiply them by 100, this module does not.

Aggregation over several data sets (:func:`sts_evaluate`), the three numbers SentEval reports:

- ``all``: the correlation computed once on the concatenation of every data set's pairs
  (pooled). This is SentEval's "all" and what SimCSE reports for STS12-STS16.
- ``mean``: the unweighted mean of the per-data-set correlations.
- ``wmean``: the mean of the per-data-set correlations weighted by their number of pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor

# The STS-B file readers live in data/ (training reads the same files); re-exported here.
from contrastkit.data.sts_files import STSB_SPLITS as STSB_SPLITS
from contrastkit.data.sts_files import read_sts_benchmark as read_sts_benchmark
from contrastkit.data.sts_files import read_sts_tsv as read_sts_tsv
from contrastkit.eval.compression import (
    bytes_per_vector,
    check_eval_dims,
    check_eval_precisions,
    compressed_cells,
    pair_similarity,
    plan_compressed,
    truncate,
)
from contrastkit.eval.protocol import EvalProtocol, Record, SentenceEncoder

Embeddings = Tensor | np.ndarray
Scores = Tensor | np.ndarray | Sequence[float]


def _pair_similarities(embeddings_1: Embeddings, embeddings_2: Embeddings) -> np.ndarray:
    a = torch.as_tensor(embeddings_1).detach()
    b = torch.as_tensor(embeddings_2).detach()
    for name, x in (("embeddings_1", a), ("embeddings_2", b)):
        if x.ndim != 2 or not x.is_floating_point():
            raise ValueError(
                f"{name} must be a float (N, D) tensor, got shape {tuple(x.shape)} "
                f"and dtype {x.dtype}"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} holds non-finite values (NaN or inf)")
    if a.shape != b.shape:
        raise ValueError(
            "embeddings_1 and embeddings_2 must have the same shape (one row per pair), got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )
    b = b.to(a.device)
    similarity = F.cosine_similarity(a.double(), b.double(), dim=1)
    return similarity.cpu().numpy()


def _gold(gold_scores: Scores, n: int) -> np.ndarray:
    if isinstance(gold_scores, Tensor):
        gold_scores = gold_scores.detach().cpu().numpy()
    gold = np.asarray(gold_scores, dtype=np.float64)
    if gold.shape != (n,):
        raise ValueError(
            f"gold_scores must hold one score per pair, shape ({n},), got {gold.shape}"
        )
    if not np.isfinite(gold).all():
        raise ValueError("gold_scores holds non-finite values (NaN or inf)")
    return gold


def _correlations(similarity: np.ndarray, gold: np.ndarray) -> dict[str, Any]:
    if similarity.shape[0] < 2:
        raise ValueError(f"need at least 2 pairs to correlate, got {similarity.shape[0]}")
    if np.ptp(gold) == 0:
        raise ValueError("gold_scores are all equal: correlation is undefined")
    if np.ptp(similarity) == 0:
        raise ValueError(
            "embeddings_1 and embeddings_2 give the same cosine similarity for every pair "
            "(collapsed embeddings?): correlation is undefined"
        )
    spearman = stats.spearmanr(similarity, gold)[0]
    pearson = stats.pearsonr(similarity, gold)[0]
    return {"spearman": float(spearman), "pearson": float(pearson), "n": int(gold.shape[0])}


def sts_correlation(
    embeddings_1: Embeddings, embeddings_2: Embeddings, gold_scores: Scores
) -> dict[str, Any]:
    """Spearman and Pearson correlation between pair cosine similarities and gold scores.

    ``similarity[i] = cos(embeddings_1[i], embeddings_2[i])`` (computed in float64); then
    ``spearman = scipy.stats.spearmanr(similarity, gold_scores)`` (rank correlation, ties get
    their average rank) and ``pearson = scipy.stats.pearsonr(similarity, gold_scores)``. Both
    are coefficients in [-1, 1], not multiplied by 100 as papers print them.

    Args:
        embeddings_1: (N, D) embeddings of the first sentence of each pair (tensor or array).
        embeddings_2: (N, D) embeddings of the second sentence of each pair.
        gold_scores: (N,) human similarity scores (any scale, e.g. 0-5 for STS-B).

    Returns:
        ``{"spearman": float, "pearson": float, "n": int}``.

    Raises:
        ValueError: shapes do not match, fewer than 2 pairs, non-finite values, constant gold
            scores, or constant similarities (collapsed embeddings); the message names the
            argument.

    Example:
        >>> import torch
        >>> e1 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
        >>> e2 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        >>> sts_correlation(e1, e2, [5.0, 2.5, 0.0])["spearman"]
        1.0
    """
    similarity = _pair_similarities(embeddings_1, embeddings_2)
    return _correlations(similarity, _gold(gold_scores, similarity.shape[0]))


def sts_evaluate(
    datasets: Mapping[str, tuple[Embeddings, Embeddings, Scores]],
) -> dict[str, Any]:
    """The STS protocol on several data sets, with SentEval's three aggregations.

    Per data set: :func:`sts_correlation`. Aggregations, each for Spearman and Pearson:

    - ``all`` (pooled): the correlation of the concatenation of every data set's similarities
      with the concatenation of their gold scores; SentEval's "all", SimCSE's STS12-16 number.
      It differs from ``mean`` because it also rewards a similarity scale that is consistent
      across data sets.
    - ``mean``: ``sum(r_d) / len(datasets)``, the unweighted mean of per-data-set correlations.
    - ``wmean``: ``sum(n_d * r_d) / sum(n_d)``, weighted by each data set's number of pairs.

    Args:
        datasets: name -> ``(embeddings_1 (N_d, D), embeddings_2 (N_d, D), gold_scores (N_d,))``.

    Returns:
        A JSON-ready record ``{"protocol": "sts", "params": {...}, "metrics": {...}}`` with
        ``metrics = {"per_dataset": {name: {"spearman", "pearson", "n"}}, "all": {...},
        "mean": {...}, "wmean": {...}}`` (plain floats; ``n`` is the pair count).

    Raises:
        ValueError: ``datasets`` is empty, or any data set is invalid (see
            :func:`sts_correlation`; the message names the data set).

    Example:
        >>> import torch
        >>> e1 = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
        >>> e2 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        >>> record = sts_evaluate({"a": (e1, e2, [5.0, 2.5, 0.0]), "b": (e1, e2, [3, 2, 1])})
        >>> record["metrics"]["mean"]["spearman"], record["metrics"]["all"]["n"]
        (1.0, 6)
    """
    if not datasets:
        raise ValueError("datasets must hold at least one data set")
    per_dataset: dict[str, dict[str, Any]] = {}
    similarities, golds = [], []
    for name, entry in datasets.items():
        if not isinstance(entry, tuple | list) or len(entry) != 3:
            raise ValueError(
                f"datasets[{name!r}] must be (embeddings_1, embeddings_2, gold_scores)"
            )
        try:
            similarity = _pair_similarities(entry[0], entry[1])
            gold = _gold(entry[2], similarity.shape[0])
            per_dataset[str(name)] = _correlations(similarity, gold)
        except ValueError as error:
            raise ValueError(f"datasets[{name!r}]: {error}") from error
        similarities.append(similarity)
        golds.append(gold)
    try:
        pooled = _correlations(np.concatenate(similarities), np.concatenate(golds))
    except ValueError as error:
        raise ValueError(f"datasets (pooled 'all'): {error}") from error
    counts = np.array([m["n"] for m in per_dataset.values()], dtype=np.float64)
    total = int(counts.sum())
    mean: dict[str, Any] = {"n": total}
    wmean: dict[str, Any] = {"n": total}
    for key in ("spearman", "pearson"):
        values = np.array([m[key] for m in per_dataset.values()])
        mean[key] = float(values.mean())
        wmean[key] = float((values * counts).sum() / counts.sum())
    params = {
        "datasets": list(per_dataset),
        "similarity": "cosine",
        "scale": "coefficient in [-1, 1] (not x100)",
    }
    metrics = {"per_dataset": per_dataset, "all": pooled, "mean": mean, "wmean": wmean}
    return {"protocol": "sts", "params": params, "metrics": metrics}


STSB_NAMES = {"stsb": "test", "stsb_test": "test", "stsb_dev": "dev", "stsb_train": "train"}


def sts_pairs(name: str) -> dict[str, tuple[list[str], list[str], list[float]]]:
    """STS pairs by name: ``stsb`` (test), ``stsb_dev``, ``stsb_train`` or STS-benchmark files;
    ``+`` joins several."""
    pairs = {}
    for part in (p.strip() for p in name.split("+")):
        if part in STSB_NAMES:
            pairs[f"stsb_{STSB_NAMES[part]}"] = read_sts_benchmark(STSB_NAMES[part])
        elif Path(part).expanduser().is_file():
            pairs[Path(part).stem] = read_sts_tsv(Path(part).expanduser())
        else:
            raise ValueError(
                f"unknown STS data {part!r}: use {', '.join(STSB_NAMES)} or the path of an "
                "STS-benchmark file (tab-separated genre, file, year, id, score, s1, s2)"
            )
    return pairs


@dataclass(frozen=True)
class STSParams:
    """Recipe keys of the ``sts`` protocol."""

    eval_data: str = "stsb"  # STS pairs to report: stsb (test), stsb_dev, or a file; + joins
    # also report these prefix dims (truncated, re-normalized); unset: the run's matryoshka_dims
    eval_dims: list[int] | None = None
    # also report these precisions (float32, int8, binary) at every dim, with bytes per vector
    eval_precisions: list[str] = field(default_factory=lambda: ["float32"])

    def __post_init__(self) -> None:
        if not isinstance(self.eval_data, str) or not self.eval_data.strip():
            raise ValueError(
                f"eval_data must name STS pairs (stsb, stsb_dev or a file), got {self.eval_data!r}"
            )
        check_eval_dims(self.eval_dims)
        check_eval_precisions(self.eval_precisions)


def _compressed_scores(
    datasets: dict[str, tuple[Tensor, Tensor, list[float]]], settings: list[tuple[int, str]]
) -> list[dict[str, Any]]:
    """Pooled Spearman and Pearson of every (dim, precision) setting, with its size."""
    gold = np.concatenate(
        [np.asarray(scores, dtype=np.float64) for *_, scores in datasets.values()]
    )
    scores = []
    for dim, precision in settings:
        similarity = torch.cat(
            [
                pair_similarity(truncate(first, dim), truncate(second, dim), precision)
                for first, second, _ in datasets.values()
            ]
        )
        correlations = _correlations(similarity.numpy(), gold)
        scores.append(
            {"dim": dim, "precision": precision, "bytes": bytes_per_vector(dim, precision)}
            | {key: correlations[key] for key in ("spearman", "pearson")}
        )
    return scores


def sts_protocol(context: SentenceEncoder, params: STSParams) -> list[Record]:
    """Spearman and Pearson of cosine similarity against gold scores on ``eval_data``; with
    ``eval_dims`` (or a run trained with ``matryoshka_dims``) or ``eval_precisions``, the
    pooled correlations of each truncated dim and precision too (``metrics["compressed"]``)."""
    datasets = {}
    for label, (first, second, scores) in sts_pairs(params.eval_data).items():
        features = context.encode_texts(first + second)
        datasets[label] = (features[: len(first)], features[len(first) :], scores)
    record = sts_evaluate(datasets)
    record["params"]["encoder_output"] = "encode(): pooled sentence features"
    width = next(iter(datasets.values()))[0].shape[1]
    settings = plan_compressed(record, context, width, params.eval_dims, params.eval_precisions)
    if settings:
        record["metrics"]["compressed"] = _compressed_scores(datasets, settings)
    return [record]


def _sts_cells(record: Record) -> list[tuple[str, str]]:
    metrics = record["metrics"]
    cells = [("STS Spearman (all)", f"{metrics['all']['spearman']:.4f}")]
    if len(metrics.get("per_dataset", {})) > 1:
        cells += [
            (f"{name} Spearman", f"{m['spearman']:.4f}")
            for name, m in metrics["per_dataset"].items()
        ]
    return cells + compressed_cells(record, "STS", "spearman")


STS = EvalProtocol("sts", ("text",), sts_protocol, STSParams, _sts_cells, data_key="eval_data")
