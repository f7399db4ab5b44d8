"""Smaller embeddings: fewer dimensions (Matryoshka truncation) and fewer bits (int8, binary).

- :func:`truncate`: the first K coordinates, re-normalized (Kusupati et al., arXiv 2205.13147);
  meaningful for a model trained with ``matryoshka_dims``, valid for any.
- :func:`quantize_int8`: per-dimension ranges ``[min, max]`` calibrated on a set of embeddings
  (by default the set being quantized) map each coordinate linearly onto the 256 values
  -128..127; :func:`dequantize_int8` maps them back.
- :func:`quantize_binary`: one bit per coordinate, 1 where it is > 0, packed 8 per byte in
  ``numpy.packbits`` order (the first coordinate is the most significant bit of byte 0);
  compared by :func:`hamming_distance`, the number of differing bits.

Similarity used by the evaluation protocols per precision (:func:`comparable`,
:func:`pair_similarity`, :func:`similarity_matrix`, :data:`SIMILARITY`): cosine for float32;
the cosine of the dequantized int8 vectors (``min + (code + 128) * step`` per dimension, ranges
calibrated on the evaluated set); for binary ``1 - 2 * hamming / D``, a linear function of the
Hamming distance, so rankings and correlations are those of the Hamming distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

PRECISIONS = ("float32", "int8", "binary")
SIMILARITY = {
    "float32": "cosine",
    "int8": "cosine of the dequantized int8 vectors (ranges calibrated on the evaluated set)",
    "binary": "1 - 2 * Hamming distance / D of the sign bits (linear in the Hamming distance)",
}
# number of 1 bits of every byte value
_POPCOUNT = torch.tensor([bin(value).count("1") for value in range(256)], dtype=torch.int64)
_BIT_WEIGHTS = torch.tensor([128, 64, 32, 16, 8, 4, 2, 1], dtype=torch.int64)


def check_precision(precision: str) -> str:
    """``precision`` if it is one of :data:`PRECISIONS`, else a ValueError naming them."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    return precision


def _check(name: str, embeddings: Tensor) -> None:
    if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
        shape = tuple(embeddings.shape) if isinstance(embeddings, Tensor) else type(embeddings)
        raise ValueError(f"{name} must be an (N, D) tensor, got {shape}")
    if not embeddings.is_floating_point():
        raise ValueError(f"{name} must be floating point, got dtype {embeddings.dtype}")


def truncate(embeddings: Tensor, dim: int) -> Tensor:
    """(N, dim): the first ``dim`` coordinates of each row, L2-normalized again.

    Example:
        >>> truncate(torch.tensor([[3.0, 4.0, 12.0]]), 2)
        tensor([[0.6000, 0.8000]])
    """
    _check("embeddings", embeddings)
    width = embeddings.shape[1]
    if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= width:
        raise ValueError(
            f"dim {dim} is not a prefix of the {width}-dimensional embedding; "
            f"choose a dim from 1 to {width}"
        )
    return F.normalize(embeddings[:, :dim], dim=1)


def int8_ranges(embeddings: Tensor) -> tuple[Tensor, Tensor]:
    """Per-dimension ``(minimum (D,), maximum (D,))`` of ``embeddings`` (N, D): the calibration
    of :func:`quantize_int8`."""
    _check("embeddings", embeddings)
    if embeddings.shape[0] == 0:
        raise ValueError("int8 calibration needs at least one embedding, got 0 rows")
    return embeddings.amin(dim=0), embeddings.amax(dim=0)


def quantize_int8(embeddings: Tensor, ranges: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """(N, D) int8: each coordinate mapped linearly from its dimension's ``[min, max]`` onto
    -128..127 (rounded, clamped; values outside a range given by ``ranges`` saturate).

    ``ranges`` default: :func:`int8_ranges` of ``embeddings`` itself. A dimension whose range is
    empty (min == max) maps to -128.

    Example:
        >>> quantize_int8(torch.tensor([[0.0, 1.0], [1.0, -1.0], [0.2, 0.6]]))
        tensor([[-128,  127],
                [ 127, -128],
                [ -77,   76]], dtype=torch.int8)
    """
    _check("embeddings", embeddings)
    minimum, maximum = int8_ranges(embeddings) if ranges is None else ranges
    step = (maximum - minimum) / 255
    step = torch.where(step > 0, step, torch.ones_like(step))
    scaled = ((embeddings - minimum) / step).round() - 128
    return scaled.clamp(-128, 127).to(torch.int8)


def dequantize_int8(codes: Tensor, ranges: tuple[Tensor, Tensor]) -> Tensor:
    """(N, D) float32 values of int8 ``codes`` made with ``ranges`` (the centre of each step)."""
    minimum, maximum = ranges
    step = (maximum - minimum) / 255
    return ((codes.float() + 128) * step + minimum).float()


def quantize_binary(embeddings: Tensor) -> Tensor:
    """(N, ceil(D / 8)) uint8: bit j of a row is 1 where coordinate j is > 0, packed 8 per byte
    with the first coordinate in the most significant bit (``numpy.packbits`` order; the last
    byte is padded with 0 bits).

    Example:
        >>> quantize_binary(torch.tensor([[1.0, -1.0, 0.5, 0.0, 2.0, -3.0, 1.0, 1.0, 0.1]]))
        tensor([[171, 128]], dtype=torch.uint8)
    """
    _check("embeddings", embeddings)
    bits = (embeddings > 0).to(torch.int64)
    pad = (-bits.shape[1]) % 8
    bits = F.pad(bits, (0, pad)).reshape(bits.shape[0], -1, 8)
    return (bits * _BIT_WEIGHTS.to(bits.device)).sum(dim=2).to(torch.uint8)


def _popcount(x: Tensor) -> Tensor:
    """Number of 1 bits, summed over the last axis of a uint8 tensor."""
    return _POPCOUNT.to(x.device)[x.long()].sum(dim=-1)


def hamming_distance(a: Tensor, b: Tensor, *, pairwise: bool = False) -> Tensor:
    """Differing bits between packed binary codes (uint8, (N, B) and (N, B) or (M, B)).

    ``pairwise=False``: (N,) row i of ``a`` against row i of ``b``; ``pairwise=True``: (N, M),
    every row of ``a`` against every row of ``b`` (in chunks of rows).
    """
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, Tensor) or x.dtype != torch.uint8 or x.ndim != 2:
            raise ValueError(f"{name} must be packed bits, a uint8 (N, B) tensor")
    if a.shape[1] != b.shape[1] or (not pairwise and a.shape[0] != b.shape[0]):
        raise ValueError(f"a and b must have matching shapes, got {tuple(a.shape)}, {b.shape}")
    if not pairwise:
        return _popcount(torch.bitwise_xor(a, b))
    rows = max(1, 2**22 // max(1, b.shape[0] * b.shape[1]))
    return torch.cat(
        [
            _popcount(torch.bitwise_xor(a[i : i + rows, None, :], b[None, :, :]))
            for i in range(0, a.shape[0], rows)
        ]
    )


def quantize(embeddings: Tensor, precision: str) -> Tensor:
    """``embeddings`` at ``precision``: float32 as they are, int8 (self-calibrated), or binary
    packed bits (uint8)."""
    check_precision(precision)
    if precision == "int8":
        return quantize_int8(embeddings)
    if precision == "binary":
        return quantize_binary(embeddings)
    return embeddings.float()


def bytes_per_vector(dim: int, precision: str) -> int:
    """Storage of one ``dim``-dimensional vector: 4 bytes per value (float32), 1 (int8), or
    one bit per value rounded up to whole bytes (binary)."""
    check_precision(precision)
    return {"float32": 4 * dim, "int8": dim, "binary": (dim + 7) // 8}[precision]


def comparable(embeddings: Sequence[Tensor], precision: str) -> list[Tensor]:
    """Float64 versions of several sets of float (N_i, D) embeddings whose cosine similarity is
    the similarity at ``precision``: float32 as they are; int8 dequantized after quantization
    with ranges calibrated on all the sets together; binary as sign vectors (+1 where the
    coordinate is > 0, else -1), whose cosine is ``1 - 2 * hamming / D``, a linear function of
    the Hamming distance of the packed bits, so it ranks and correlates as Hamming does."""
    check_precision(precision)
    both = torch.cat([e.detach().double() for e in embeddings])
    if precision == "int8":
        ranges = int8_ranges(both)
        both = dequantize_int8(quantize_int8(both, ranges), ranges).double()
    elif precision == "binary":
        both = torch.where(both > 0, 1.0, -1.0).double()
    return list(both.split([e.shape[0] for e in embeddings]))


def pair_similarity(first: Tensor, second: Tensor, precision: str) -> Tensor:
    """(N,) float64 similarity of row i of ``first`` and of ``second`` (float (N, D) each) at
    ``precision`` (:data:`SIMILARITY`); int8 ranges are calibrated on both sets."""
    a, b = comparable([first, second], precision)
    return F.cosine_similarity(a, b, dim=1)


def similarity_matrix(query: Tensor, gallery: Tensor, precision: str) -> Tensor:
    """(Q, G) float64 similarities of every query to every gallery row at ``precision``; int8
    ranges are calibrated on queries and gallery together."""
    a, b = comparable([query, gallery], precision)
    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


def check_eval_dims(dims: Any) -> None:
    """Raise unless ``dims`` is None or a list of positive integers (the ``eval_dims`` key)."""
    if dims is None:
        return
    if not isinstance(dims, list) or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims
    ):
        raise ValueError(f"eval_dims must be a list of positive integers or unset, got {dims!r}")


def check_eval_precisions(precisions: Sequence[str]) -> None:
    """Raise unless every entry of ``precisions`` (the ``eval_precisions`` key) is known."""
    if not isinstance(precisions, list) or not precisions:
        raise ValueError(
            f"eval_precisions must be a non-empty list of {', '.join(PRECISIONS)}, "
            f"got {precisions!r}"
        )
    for precision in precisions:
        if precision not in PRECISIONS:
            raise ValueError(
                f"eval_precisions: unknown precision {precision!r}; "
                f"choose from {', '.join(PRECISIONS)}"
            )


def compressed_cells(record: dict[str, Any], label: str, key: str) -> list[tuple[str, str]]:
    """One cell per dim of ``metrics["compressed"]``: its metric ``key`` at each precision,
    e.g. ``("STS @64 (float32/int8/binary)", "0.8012/0.7990/0.7511")``."""
    by_dim: dict[int, list[dict[str, Any]]] = {}
    for entry in record["metrics"].get("compressed", []):
        by_dim.setdefault(entry["dim"], []).append(entry)
    return [
        (
            f"{label} @{dim} ({'/'.join(e['precision'] for e in entries)})",
            "/".join(f"{e[key]:.4f}" for e in entries),
        )
        for dim, entries in by_dim.items()
    ]


def compressed_settings(
    width: int, dims: list[int] | None, precisions: list[str]
) -> list[tuple[int, str]]:
    """The (dim, precision) pairs to report besides (width, float32): every dim of ``dims``
    and the full ``width``, at every precision, largest dim first."""
    too_large = [d for d in dims or [] if d > width]
    if too_large:
        raise ValueError(
            f"eval_dims {too_large} exceed the embedding dimension {width}; "
            f"use dims of at most {width}"
        )
    every = sorted({width, *(dims or [])}, reverse=True)
    return [(d, p) for d in every for p in precisions if (d, p) != (width, "float32")]


def plan_compressed(
    record: dict[str, Any],
    context: object,
    width: int,
    dims: list[int] | None,
    precisions: Sequence[str],
) -> list[tuple[int, str]]:
    """The (dim, precision) settings a protocol reports besides (width, float32), from its
    ``eval_dims`` (None: the ``matryoshka_dims`` of the run's context, if any) and
    ``eval_precisions``; when there are any, writes the full dim, its size and each
    precision's similarity into ``record["params"]`` (a plain record stays as it was)."""
    if dims is None:  # a run trained with matryoshka_dims reports each of them
        dims = getattr(context, "matryoshka_dims", None)
    settings = compressed_settings(width, dims, list(precisions))
    if settings:
        record["params"]["dim"], record["params"]["bytes_per_vector"] = width, 4 * width
        record["params"]["similarity_per_precision"] = {
            p: SIMILARITY[p] for p in dict.fromkeys(p for _, p in settings)
        }
    return settings
