"""Truncated and quantized embeddings (contrastkit.eval.compression) against plain references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from contrastkit.eval.compression import (
    bytes_per_vector,
    check_precision,
    dequantize_int8,
    hamming_distance,
    int8_ranges,
    pair_similarity,
    quantize,
    quantize_binary,
    quantize_int8,
    similarity_matrix,
    truncate,
)


def test_truncate_keeps_a_renormalized_prefix() -> None:
    x = torch.randn(5, 12, generator=torch.Generator().manual_seed(0))
    out = truncate(x, 4)
    torch.testing.assert_close(out, x[:, :4] / x[:, :4].norm(dim=1, keepdim=True))
    torch.testing.assert_close(truncate(x, 12), F.normalize(x, dim=1))


@pytest.mark.parametrize("dim", [0, 13, -1])
def test_truncate_rejects_dims_outside_the_embedding(dim: int) -> None:
    with pytest.raises(ValueError, match="choose a dim from 1 to 12"):
        truncate(torch.randn(2, 12), dim)


def test_int8_ranges_are_calibrated_per_dimension() -> None:
    x = torch.tensor([[0.0, -2.0, 5.0], [1.0, 2.0, 5.0], [0.2, 1.2, 5.0]])
    minimum, maximum = int8_ranges(x)
    assert minimum.tolist() == [0.0, -2.0, 5.0] and maximum.tolist() == [1.0, 2.0, 5.0]
    codes = quantize_int8(x)
    assert codes.dtype == torch.int8
    # each dimension's minimum maps to -128 and its maximum to 127; an empty range to -128
    assert codes[:, 0].tolist() == [-128, 127, -77] and codes[:, 1].tolist() == [-128, 127, 76]
    assert codes[:, 2].tolist() == [-128, -128, -128]


def test_int8_round_trip_error_is_at_most_half_a_step() -> None:
    x = torch.randn(200, 16, generator=torch.Generator().manual_seed(1))
    ranges = int8_ranges(x)
    back = dequantize_int8(quantize_int8(x, ranges), ranges)
    step = (ranges[1] - ranges[0]) / 255
    assert bool(((back - x).abs() <= step / 2 + 1e-6).all())


def test_int8_with_given_ranges_saturates_outside_them() -> None:
    ranges = (torch.zeros(2), torch.ones(2))
    codes = quantize_int8(torch.tensor([[-5.0, 5.0]]), ranges)
    assert codes.tolist() == [[-128, 127]]


def test_binary_packing_matches_numpy_packbits() -> None:
    x = torch.randn(7, 21, generator=torch.Generator().manual_seed(2))
    packed = quantize_binary(x)
    assert packed.dtype == torch.uint8 and packed.shape == (7, 3)
    np.testing.assert_array_equal(packed.numpy(), np.packbits(x.numpy() > 0, axis=1))


def test_hamming_distance_equals_the_count_of_differing_signs() -> None:
    generator = torch.Generator().manual_seed(3)
    a, b = torch.randn(6, 19, generator=generator), torch.randn(4, 19, generator=generator)
    pairwise = hamming_distance(quantize_binary(a), quantize_binary(b), pairwise=True)
    expected = ((a[:, None, :] > 0) != (b[None, :, :] > 0)).sum(dim=2)
    assert torch.equal(pairwise, expected)
    paired = hamming_distance(quantize_binary(a[:4]), quantize_binary(b))
    assert torch.equal(paired, expected[torch.arange(4), torch.arange(4)])


def test_hamming_rejects_unpacked_input() -> None:
    with pytest.raises(ValueError, match="packed bits"):
        hamming_distance(torch.randn(2, 3), torch.randn(2, 3))


def test_sizes_per_vector() -> None:
    assert [bytes_per_vector(384, p) for p in ("float32", "int8", "binary")] == [1536, 384, 48]
    assert bytes_per_vector(20, "binary") == 3


def test_quantize_dtypes_and_unknown_precision() -> None:
    x = torch.randn(3, 10)
    assert [quantize(x, p).dtype for p in ("float32", "int8", "binary")] == [
        torch.float32,
        torch.int8,
        torch.uint8,
    ]
    with pytest.raises(ValueError, match="choose from float32, int8, binary"):
        check_precision("fp16")


def test_similarities_per_precision() -> None:
    generator = torch.Generator().manual_seed(4)
    a, b = torch.randn(5, 16, generator=generator), torch.randn(5, 16, generator=generator)
    torch.testing.assert_close(
        pair_similarity(a, b, "float32"), F.cosine_similarity(a.double(), b.double())
    )
    hamming = hamming_distance(quantize_binary(a), quantize_binary(b)).double()
    torch.testing.assert_close(pair_similarity(a, b, "binary"), 1 - 2 * hamming / 16)
    # int8: the cosine of the vectors after a round trip through int8 (calibrated on both)
    ranges = int8_ranges(torch.cat([a, b]))
    a8, b8 = (dequantize_int8(quantize_int8(x, ranges), ranges).double() for x in (a, b))
    torch.testing.assert_close(pair_similarity(a, b, "int8"), F.cosine_similarity(a8, b8))
    assert (
        float((pair_similarity(a, b, "int8") - pair_similarity(a, b, "float32")).abs().max()) < 0.05
    )
    matrix = similarity_matrix(a, b, "binary")
    assert matrix.shape == (5, 5)
    torch.testing.assert_close(matrix.diagonal(), 1 - 2 * hamming / 16)
