"""TwoTower (CLIP / SigLIP / LiT): losses, learnable scale and bias, locked towers, state, caching.

Towers are tiny: MLPs on vectors and a fake text tower that follows the text-encoder contract
(``tokenize`` -> ``Tokens``, ``forward(Tokens)``, ``encode_texts``), so nothing is loaded.
"""

from __future__ import annotations

import io
import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from contrastkit.encoders.towers import mlp_tower
from contrastkit.losses import clip_loss, siglip_loss
from contrastkit.methods import TwoTower
from contrastkit.train.gradcache import GradCache
from contrastkit.types import PairBatch, Tokens


class FakeTextTower(nn.Module):
    """Bag of hashed words: tokenize -> Tokens, forward(Tokens) -> (B, feature_dim)."""

    def __init__(self, feature_dim: int = 12, vocab: int = 97) -> None:
        super().__init__()
        self.feature_dim, self.vocab = feature_dim, vocab
        self.embedding = nn.Embedding(vocab, feature_dim)
        self.dropout = nn.Dropout(0.1)

    def tokenize(self, texts: list[str], *, max_length: int = 32) -> Tokens:
        ids = [
            [1 + sum(map(ord, w)) % (self.vocab - 1) for w in t.split()][:max_length] for t in texts
        ]
        width = max(len(row) for row in ids)
        input_ids = torch.zeros(len(ids), width, dtype=torch.long)
        mask = torch.zeros(len(ids), width, dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return Tokens(input_ids, mask)

    def forward(self, tokens: Tokens) -> Tensor:
        states = self.dropout(self.embedding(tokens.input_ids))
        mask = tokens.attention_mask.unsqueeze(-1).float()
        return (states * mask).sum(1) / mask.sum(1).clamp_min(1)

    @torch.no_grad()
    def encode_texts(self, texts: list[str], *, batch_size: int = 256, device="cpu", max_length=32):
        return self(self.tokenize(texts, max_length=max_length))


def pair_batch(seed: int, rows: int = 8, labels: Tensor | None = None) -> PairBatch:
    gen = torch.Generator().manual_seed(seed)
    return PairBatch(
        a=torch.randn(rows, 6, generator=gen), b=torch.randn(rows, 4, generator=gen), labels=labels
    )


def make(loss: str = "clip", **options) -> TwoTower:
    torch.manual_seed(0)
    return TwoTower(
        mlp_tower(in_dim=6, hidden_dim=16, feature_dim=10),
        mlp_tower(in_dim=4, hidden_dim=16, feature_dim=10),
        proj_dim=8,
        loss=loss,
        **options,
    )


def test_initial_scale_and_bias_follow_the_papers() -> None:
    clip, siglip = make("clip"), make("siglip")
    assert clip.logit_scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    assert clip.logit_bias is None
    assert siglip.logit_scale().item() == pytest.approx(10.0, rel=1e-5)
    assert siglip.logit_bias.item() == -10.0
    with torch.no_grad():
        clip.temperature.log_scale.fill_(10.0)  # exp(10) >> 100
    assert clip.logit_scale().item() == pytest.approx(100.0)


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_loss_is_the_library_loss_on_the_projections(loss: str) -> None:
    model, batch = make(loss), pair_batch(0)
    output = model(batch, progress=0.5)
    z_a = model.projection_a(model.encoder_a(batch.a))
    z_b = model.projection_b(model.encoder_b(batch.b))
    if loss == "clip":
        expected = clip_loss(z_a, z_b, logit_scale=1 / 0.07)
    else:
        expected = siglip_loss(z_a, z_b, logit_scale=10.0, logit_bias=-10.0)
    torch.testing.assert_close(output.loss, expected, rtol=1e-5, atol=1e-6)
    assert [tuple(z.shape) for z in output.embeddings] == [(8, 8), (8, 8)]
    assert "logit_scale" in output.logs and (loss == "clip") == ("logit_bias" not in output.logs)


def test_scale_and_bias_are_learned_and_saved() -> None:
    model = make("siglip")
    model(pair_batch(0), progress=0.0).loss.backward()
    assert model.temperature.log_scale.grad is not None and model.logit_bias.grad is not None
    state = model.state_dict()
    assert "temperature.log_scale" in state and "logit_bias" in state
    fixed = make("siglip", learn_logit_scale=False)
    assert not fixed.logit_bias.requires_grad and not fixed.temperature.log_scale.requires_grad


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_state_round_trip_gives_the_same_loss(loss: str) -> None:
    model = make(loss)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(2):
        optimizer.zero_grad()
        model(pair_batch(step), progress=0.0).loss.backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(5)
    restored = TwoTower(
        mlp_tower(in_dim=6, hidden_dim=16, feature_dim=10),
        mlp_tower(in_dim=4, hidden_dim=16, feature_dim=10),
        proj_dim=8,
        loss=loss,
    )
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    batch = pair_batch(9)
    assert torch.equal(model(batch, progress=0.0).loss, restored(batch, progress=0.0).loss)


def test_labels_give_unicl_targets_and_siglip_refuses_them() -> None:
    labels = torch.tensor([0, 1, 0, 2, 1, 3, 4, 5])
    model, batch = make("clip"), pair_batch(1, labels=labels)
    z_a, z_b = model.embed(batch, progress=0.0)
    expected = clip_loss(z_a, z_b, logit_scale=model.logit_scale(), labels=labels)
    torch.testing.assert_close(model(batch, progress=0.0).loss, expected)
    with pytest.raises(ValueError, match="label-aware"):
        make("siglip")(batch, progress=0.0)


def test_locked_tower_stays_frozen_in_eval_mode_and_takes_cached_features() -> None:
    model = make("clip", lock_a=True)
    model.train()
    assert not model.encoder_a.training and model.encoder_b.training
    assert all(not p.requires_grad for p in model.encoder_a.parameters())
    batch = pair_batch(2)
    model(batch, progress=0.0).loss.backward()
    assert all(p.grad is None for p in model.encoder_a.parameters())
    assert model.projection_a.weight.grad is not None
    # the same step from precomputed features of the locked tower
    features = model.encoder_a(batch.a).detach()
    cached = PairBatch(features_a=features, b=batch.b)
    torch.testing.assert_close(model(cached, progress=0.0).loss, model(batch, progress=0.0).loss)
    with pytest.raises(ValueError, match="only a locked tower"):
        make("clip")(cached, progress=0.0)


def test_text_tower_from_the_contract_trains_with_tokens() -> None:
    torch.manual_seed(0)
    text = FakeTextTower()
    model = TwoTower(
        mlp_tower(in_dim=6, feature_dim=10), text, proj_dim=8, projection="mlp", proj_hidden_dim=16
    )
    captions = ["a dog runs", "two cats sleep on a sofa", "a man rides a bike", "kids play"]
    batch = PairBatch(a=torch.randn(4, 6), b=text.tokenize(captions))
    output = model(batch, progress=0.0)
    output.loss.backward()
    assert math.isfinite(output.loss.item()) and text.embedding.weight.grad is not None
    assert model.encode_b(text.tokenize(captions)).norm(dim=1).allclose(torch.ones(4))
    parts = batch.split(3)
    assert [p.batch_size for p in parts] == [3, 1] and isinstance(parts[0].b, Tokens)


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_gradient_caching_gives_the_whole_batch_gradients(loss: str) -> None:
    batch = pair_batch(3, rows=10)
    grads = []
    for micro in (None, 3):
        model = make(loss, lock_a=(loss == "siglip"))
        if micro is None:
            model(batch, progress=0.0).loss.backward()
        else:
            GradCache(model, micro_batch_size=micro).backward(batch, progress=0.0)
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6)


def test_batch_and_option_errors() -> None:
    with pytest.raises(ValueError, match="exactly one of a and features_a"):
        PairBatch(b=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="different numbers"):
        PairBatch(a=torch.zeros(2, 3), b=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="split size"):
        pair_batch(0).split(0)
    for options, message in (
        ({"loss": "infonce"}, "loss must be one of"),
        ({"projection": "conv"}, "projection must be one of"),
        ({"logit_scale": 1000.0}, "logit_scale"),
        ({"proj_dim": 0}, "proj_dim"),
    ):
        with pytest.raises(ValueError, match=message):
            TwoTower(mlp_tower(in_dim=2), mlp_tower(in_dim=2), **options)
    with pytest.raises(ValueError, match="PairBatch"):
        make()(torch.zeros(2, 6), progress=0.0)
    with pytest.raises(ValueError, match="progress"):
        make()(pair_batch(0), progress=1.5)


def test_embeddings_are_normalized_for_evaluation() -> None:
    model = make()
    emb = model.encode(torch.randn(5, 6))
    assert emb.shape == (5, 8)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(5))
    torch.testing.assert_close(model.project_b(torch.randn(3, 10)).norm(dim=1), torch.ones(3))
    assert F.cosine_similarity(emb, emb).min() > 0.999


@pytest.mark.parametrize("loss", ["clip", "siglip"])
def test_chunked_loss_is_the_same_loss(loss: str) -> None:
    batch = pair_batch(4, rows=10)
    whole, chunked = make(loss), make(loss, chunk_size=3)
    torch.testing.assert_close(
        chunked(batch, progress=0.0).loss, whole(batch, progress=0.0).loss, rtol=1e-5, atol=1e-6
    )
