"""Length-grouped batch order: a permutation, seeded per epoch, resumable, sharded, less padding."""

from __future__ import annotations

import pytest
import torch

from contrastkit.data.batches import BatchOrder
from contrastkit.data.text_batches import LengthGroupedOrder, length_grouped_order, padding_fraction
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextSource, text_examples
from contrastkit.types import Tokens

LENGTHS = torch.randint(4, 33, (1000,), generator=torch.Generator().manual_seed(0))


def test_order_is_a_permutation_with_the_partial_batch_last() -> None:
    order = length_grouped_order(LENGTHS[:103], 10, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(103))
    again = length_grouped_order(LENGTHS[:103], 10, torch.Generator().manual_seed(0))
    assert torch.equal(order, again)


def test_batches_have_similar_lengths() -> None:
    grouped = LengthGroupedOrder(LENGTHS, 32, seed=0)
    plain = BatchOrder(len(LENGTHS), 32, seed=0)
    grouped_padding = padding_fraction(LENGTHS, list(grouped.epoch_batches(0)))
    plain_padding = padding_fraction(LENGTHS, list(plain.epoch_batches(0)))
    assert grouped_padding < 0.1 < 0.3 < plain_padding


def test_pure_function_of_seed_and_epoch_and_resumable() -> None:
    order = LengthGroupedOrder(LENGTHS, 32, seed=3)
    epoch_1 = [b.tolist() for b in order.epoch_batches(1)]
    assert epoch_1 == [b.tolist() for b in LengthGroupedOrder(LENGTHS, 32, seed=3).epoch_batches(1)]
    assert epoch_1 != [b.tolist() for b in order.epoch_batches(2)]
    assert [b.tolist() for b in order.epoch_batches(1, start_batch=5)] == epoch_1[5:]
    assert len(epoch_1) == order.batches_per_epoch == 1000 // 32


def test_ranks_split_each_global_batch() -> None:
    single = [b.tolist() for b in LengthGroupedOrder(LENGTHS, 64, seed=0).epoch_batches(0)]
    ranks = [
        [
            b.tolist()
            for b in LengthGroupedOrder(LENGTHS, 32, seed=0, rank=r, world_size=2).epoch_batches(0)
        ]
        for r in range(2)
    ]
    assert [a + b for a, b in zip(*ranks, strict=True)] == single


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="1-D"):
        length_grouped_order(LENGTHS.view(10, 100), 4, torch.Generator())
    with pytest.raises(ValueError, match="group_batches"):
        length_grouped_order(LENGTHS, 4, torch.Generator(), group_batches=0)
    with pytest.raises(ValueError, match="epoch"):
        LengthGroupedOrder(LENGTHS, 4).permutation(-1)


def _word_tokens(texts: list[str]) -> Tokens:
    """One token per word, right-padded."""
    longest = max(len(text.split()) for text in texts)
    mask = torch.tensor([[int(i < len(t.split())) for i in range(longest)] for t in texts])
    return Tokens(mask.clone(), mask)


def test_a_text_source_orders_its_batches_by_length_unless_told_not_to() -> None:
    sentences = [" ".join(["word"] * int(n)) for n in LENGTHS[:200]]
    corpus = TextCorpus(sentences, kind="sentences", source="test")
    source = TextSource(text_examples([corpus]), _word_tokens)
    order = source.batch_order(16, seed=3, rank=1, world_size=2)
    expected = LengthGroupedOrder(LENGTHS[:200], 16, seed=3, rank=1, world_size=2)
    assert isinstance(order, LengthGroupedOrder)
    assert [b.tolist() for b in order.epoch_batches(2)] == [
        b.tolist() for b in expected.epoch_batches(2)
    ]
    plain = TextSource(text_examples([corpus]), _word_tokens, group_by_length=False)
    assert type(plain.batch_order(16, seed=3)) is BatchOrder
