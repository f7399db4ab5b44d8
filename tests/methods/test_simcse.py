"""SimCSE and TextBatch with a tiny fake text encoder that follows the TextEncoder contract."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence

import pytest
import torch
from method_checks import assert_finite_training, assert_state_round_trip
from torch import Tensor, nn
from torch.testing import assert_close

from contrastkit.losses import cosent, info_nce
from contrastkit.methods import CachedMethod, SimCSE
from contrastkit.registry import METHODS, build_method
from contrastkit.train.gradcache import GradCache
from contrastkit.types import TextBatch, Tokens

DIM, VOCAB = 16, 64


class FakeTextEncoder(nn.Module):
    """Hashed words -> embeddings -> dropout -> masked mean -> Linear; the contract's API."""

    def __init__(self, *, dropout: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.feature_dim = DIM
        self.embedding = nn.Embedding(VOCAB, DIM)
        self.dropout = nn.Dropout(dropout)
        self.mix = nn.Linear(DIM, DIM)

    def tokenize(self, texts: Sequence[str], *, max_length: int = 32) -> Tokens:
        rows = [
            [1 + zlib.crc32(w.encode()) % (VOCAB - 1) for w in t.split()][:max_length]
            for t in texts
        ]
        length = max(len(r) for r in rows)
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        mask = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
        return Tokens(ids, mask)

    def forward(self, tokens: Tokens) -> Tensor:
        states = self.dropout(self.embedding(tokens.input_ids))
        mask = tokens.attention_mask[..., None].to(states.dtype)
        return self.mix((states * mask).sum(1) / mask.sum(1).clamp(min=1))

    @torch.no_grad()
    def encode_texts(
        self, texts: Sequence[str], *, batch_size: int = 256, device: object = "cpu"
    ) -> Tensor:
        was_training = self.training
        self.eval()
        features = torch.cat(
            [
                self(self.tokenize(texts[i : i + batch_size]))
                for i in range(0, len(texts), batch_size)
            ]
        )
        self.train(was_training)
        return features


SENTENCES = [f"sentence {i} about topic {i % 3} with words {i * 7 % 11}" for i in range(8)]


def tokens(texts: Sequence[str]) -> Tokens:
    return FakeTextEncoder().tokenize(texts)


def unsupervised(seed: int = 0) -> TextBatch:
    return TextBatch(tokens(SENTENCES), ids=torch.arange(8))


def supervised(seed: int = 0) -> TextBatch:
    return TextBatch(
        tokens(SENTENCES),
        positive=tokens([s + " again" for s in SENTENCES]),
        negative=tokens([s.replace("topic", "not") for s in reversed(SENTENCES)]),
    )


def scored(seed: int = 0) -> TextBatch:
    scores = torch.tensor([5.0, 4.5, 1.0, float("nan"), 0.0, 3.0, float("nan"), 2.0])
    return TextBatch(
        tokens(SENTENCES), positive=tokens([s + " too" for s in SENTENCES]), scores=scores
    )


def test_registered_as_a_text_method() -> None:
    assert METHODS["simcse"].modality == "text" and not METHODS["simcse"].needs_labels
    assert isinstance(build_method("simcse", FakeTextEncoder(), temperature=0.1), SimCSE)
    assert isinstance(SimCSE(FakeTextEncoder()), CachedMethod)


@pytest.mark.parametrize("make_batch", [unsupervised, supervised, scored])
def test_two_training_steps_are_finite(make_batch) -> None:  # type: ignore[no-untyped-def]
    method = SimCSE(FakeTextEncoder(), cosent_weight=1.0, positive_score=4.0)
    losses = assert_finite_training(method, make_batch)
    assert losses[0] > 0


def test_unsupervised_views_differ_only_by_dropout() -> None:
    method = SimCSE(FakeTextEncoder(dropout=0.3))
    h_a, h_b = method.embed(unsupervised(), progress=0.0)
    assert h_a.shape == (8, DIM) and not torch.allclose(h_a, h_b)
    method.eval()
    h_a, h_b = method.embed(unsupervised(), progress=0.0)
    assert_close(h_a, h_b)


def test_loss_is_info_nce_of_the_head_outputs() -> None:
    method = SimCSE(FakeTextEncoder(dropout=0.0), temperature=0.05)
    batch = supervised()
    output = method(batch, progress=0.5)
    z = [method.head(method.encoder(t)) for t in (batch.anchor, batch.positive, batch.negative)]
    expected = info_nce(z[0], z[1], temperature=0.05, negatives=z[2])
    assert_close(output.loss, expected)
    assert_close(output.embeddings[0], z[0].detach())


def test_ids_mask_identical_sentences() -> None:
    method = SimCSE(FakeTextEncoder(dropout=0.0), mlp_head=False)
    texts = SENTENCES[:4] + SENTENCES[:4]
    ids = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    output = method(TextBatch(tokens(texts), ids=ids), progress=0.0)
    h = method.encoder(tokens(texts))
    assert_close(output.loss, info_nce(h, h, temperature=0.05, query_ids=ids))
    unmasked = method(TextBatch(tokens(texts)), progress=0.0)
    assert float(unmasked.loss.detach()) > float(
        output.loss.detach()
    )  # duplicates were pushed apart before


def test_scored_pairs_feed_cosent_and_high_scores_info_nce() -> None:
    method = SimCSE(FakeTextEncoder(dropout=0.0), cosent_weight=0.5, positive_score=4.0)
    batch = scored()
    output = method(batch, progress=0.0)
    z_a, z_b = (method.head(method.encoder(t)) for t in (batch.anchor, batch.positive))
    assert batch.scores is not None
    pairs = torch.tensor([True, True, False, True, False, False, True, False])
    rows = torch.isfinite(batch.scores)
    expected = info_nce(z_a[pairs], z_b[pairs], temperature=0.05) + 0.5 * cosent(
        z_a[rows], z_b[rows], batch.scores[rows]
    )
    assert_close(output.loss, expected)
    assert "cosent" in output.logs
    no_threshold = SimCSE(FakeTextEncoder(dropout=0.0), cosent_weight=0.5)
    assert no_threshold._positive_rows(batch).tolist() == (~rows).tolist()


def test_encode_is_the_pooled_output_without_the_head() -> None:
    method = SimCSE(FakeTextEncoder()).eval()
    batch = tokens(SENTENCES)
    assert_close(method.encode(batch), method.encoder(batch))
    assert_close(method.encode_texts(SENTENCES), method.encoder(batch))
    kept = SimCSE(FakeTextEncoder(), mlp_only_train=False).eval()
    assert_close(kept.encode(batch), kept.head(kept.encoder(batch)))
    assert_close(kept.encode_texts(SENTENCES), kept.encode(batch))


def test_state_round_trip() -> None:
    method = SimCSE(FakeTextEncoder(seed=1))
    assert_state_round_trip(
        method, lambda: SimCSE(FakeTextEncoder(seed=2)), supervised(), progress=0.2, seed=3
    )


@pytest.mark.parametrize("make_batch", [unsupervised, supervised, scored])
def test_split_embeddings_concatenate_to_the_whole_batch(make_batch) -> None:  # type: ignore[no-untyped-def]
    method = SimCSE(FakeTextEncoder(dropout=0.0))
    batch = make_batch()
    whole = method.embed(batch, progress=0.0)
    parts = [method.embed(part, progress=0.0) for part in batch.split(3)]
    for index, embedding in enumerate(whole):
        assert_close(torch.cat([part[index] for part in parts]), embedding)


@pytest.mark.parametrize("make_batch", [unsupervised, supervised, scored])
def test_gradient_caching_gives_the_whole_batch_gradients(make_batch) -> None:  # type: ignore[no-untyped-def]
    def gradients(cached: bool) -> list[Tensor]:
        method = SimCSE(FakeTextEncoder(dropout=0.0), cosent_weight=1.0, positive_score=4.0)
        if cached:
            GradCache(method, micro_batch_size=3).backward(make_batch(), progress=0.0)
        else:
            method(make_batch(), progress=0.0).loss.backward()
        return [p.grad.clone() for p in method.parameters() if p.grad is not None]

    for cached, whole in zip(gradients(True), gradients(False), strict=True):
        assert_close(cached, whole, rtol=1e-5, atol=1e-6)


def test_gradient_caching_replays_dropout_exactly() -> None:
    method = SimCSE(FakeTextEncoder(dropout=0.3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a replay that differs warns
        output = GradCache(method, micro_batch_size=3).backward(unsupervised(), progress=0.0)
    assert torch.isfinite(output.loss)


def test_text_batch_split_and_to_keep_every_field() -> None:
    batch = scored()
    parts = batch.split(5)
    assert [part.batch_size for part in parts] == [5, 3]
    assert parts[1].scores is not None and parts[1].positive is not None
    assert parts[1].negative is None and parts[1].ids is None
    moved = batch.to("cpu")
    assert moved.scores is not None and torch.equal(moved.scores.isnan(), batch.scores.isnan())  # type: ignore[union-attr]


def test_bad_inputs_are_named() -> None:
    method = SimCSE(FakeTextEncoder())
    with pytest.raises(ValueError, match="TextBatch"):
        method(tokens(SENTENCES), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        method(unsupervised(), progress=1.5)
    with pytest.raises(ValueError, match="positive must be Tokens with the anchor's 8 rows"):
        TextBatch(tokens(SENTENCES), positive=tokens(SENTENCES[:3]))
    with pytest.raises(ValueError, match=r"ids must be a \(8,\) tensor"):
        TextBatch(tokens(SENTENCES), ids=torch.arange(3))
    with pytest.raises(ValueError, match="temperature"):
        SimCSE(FakeTextEncoder(), temperature=0.0)
    with pytest.raises(ValueError, match="cosent_weight"):
        SimCSE(FakeTextEncoder(), cosent_weight=-1.0)
    with pytest.raises(ValueError, match="feature_dim"):
        SimCSE(nn.Linear(3, 3))


def test_matryoshka_dims_sum_both_terms_over_prefixes() -> None:
    method = SimCSE(
        FakeTextEncoder(dropout=0.0),
        mlp_head=False,
        cosent_weight=0.5,
        positive_score=4.0,
        matryoshka_dims=[16, 8, 4],
        matryoshka_weights=[1.0, 1.0, 2.0],
    )
    batch = scored()
    output = method(batch, progress=0.0)
    h_a, h_b = (method.encoder(t) for t in (batch.anchor, batch.positive))
    assert batch.scores is not None
    pairs = torch.tensor([True, True, False, True, False, False, True, False])
    rows = torch.isfinite(batch.scores)
    expected = sum(
        weight
        * (
            info_nce(h_a[pairs, :d], h_b[pairs, :d], temperature=0.05)
            + 0.5 * cosent(h_a[rows, :d], h_b[rows, :d], batch.scores[rows])
        )
        for d, weight in ((16, 1.0), (8, 1.0), (4, 2.0))
    )
    assert_close(output.loss, expected)
    full = cosent(h_a[rows], h_b[rows], batch.scores[rows]).detach()
    assert output.logs["cosent"] == pytest.approx(float(full))  # the full dim's term
    assert_finite_training(method, supervised)  # hard negatives are truncated too


def test_matryoshka_dims_are_checked() -> None:
    with pytest.raises(ValueError, match="exceed the embedding dimension 16"):
        SimCSE(FakeTextEncoder(), mlp_head=False, matryoshka_dims=[32, 8])
    with pytest.raises(ValueError, match="strictly descending"):
        SimCSE(FakeTextEncoder(), mlp_head=False, matryoshka_dims=[8, 16])
    with pytest.raises(ValueError, match="mlp_head = false or mlp_only_train = false"):
        SimCSE(FakeTextEncoder(), matryoshka_dims=[16, 8])
    with pytest.raises(ValueError, match="needs matryoshka_dims"):
        SimCSE(FakeTextEncoder(), matryoshka_weights=[1.0])
    kept_head = SimCSE(FakeTextEncoder(), mlp_only_train=False, matryoshka_dims=[16, 8])
    assert kept_head.matryoshka_dims == [16, 8]
