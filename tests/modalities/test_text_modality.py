"""The text pipeline: corpora to examples, the batch source, STS dev selection, evaluation."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from contrastkit.data.hard_negatives import mine_hard_negatives
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextSource, group_ids, text_examples
from contrastkit.eval.sts_selection import BEST_NAME, STSDevSelection, best_weights
from contrastkit.methods import SimCSE, TextBatch
from contrastkit.pipelines import pipeline_for
from contrastkit.pipelines.text import (
    TextPipeline,
    build_text_views,
    load_examples,
    planned_steps,
    sts_pairs,
)
from contrastkit.recipe import DataConfig, recipe_from_dict
from contrastkit.runs import load_trained, train_run

NAN = float("nan")
TINY_ENCODER = {"layers": 1, "width": 32, "heads": 2, "ffn_dim": 64}


def needs_text_extra() -> None:
    pytest.importorskip("transformers")
    from contrastkit.encoders.text import minilm_dir

    try:
        minilm_dir()
    except ValueError as error:
        pytest.skip(f"the MiniLM tokenizer is not installed ({error})")


def stsb_available() -> bool:
    try:
        sts_pairs("stsb_dev")
    except ValueError:
        return False
    return True


needs_stsb = pytest.mark.skipif(
    not stsb_available(), reason="STS-B not found (set CONTRASTKIT_DATA to the shared data folder)"
)


def sts_file(path: Path, rows: int = 12) -> Path:
    """A small STS-format file: pairs with overlapping words and scores that follow overlap."""
    lines = []
    for i in range(rows):
        words = ["the", "cat", "sat", "on", "a", "red", "mat", "today"]
        other = words[: 8 - i % 6] + ["dogs"] * (i % 6)
        lines.append(f"g\tf\t2012\t{i}\t{5 - i % 6}\t{' '.join(words)} {i}\t{' '.join(other)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_text_examples_of_every_kind() -> None:
    corpora = [
        TextCorpus(["one sentence", "two sentence", "one sentence"], kind="sentences", source="s"),
        TextCorpus([("a", "b")], kind="pairs", source="p"),
        TextCorpus([("x", "y", 4.0), ("x", "z", 0.5)], kind="scored_pairs", source="sts"),
        TextCorpus([("c1", "c2", "c3"), ("d1",)], kind="groups", source="g"),
    ]
    examples = text_examples(corpora)
    assert examples.texts[0] == ("one sentence",) and examples.texts[-1] == ("c1", "c2", "c3")
    assert len(examples) == 7  # a group of one caption has no positive and is left out
    assert examples.grouped.tolist() == [False] * 6 + [True]
    assert examples.scores is not None and examples.negatives is None
    assert math.isnan(examples.scores[0]) and examples.scores[4].item() == 4.0
    ids = examples.ids.tolist()
    assert ids[0] == ids[2] and ids[0] != ids[1]  # the same sentence shares an id
    assert ids[4] == ids[5]  # the same anchor "x" (scored pairs are not linked otherwise)
    with pytest.raises(ValueError, match="cannot be mixed"):
        text_examples([corpora[1], TextCorpus([("a", "b", "c")], kind="triples", source="t")])
    with pytest.raises(ValueError, match="no text corpus"):
        text_examples([])


def test_group_ids_link_positives_and_identical_texts() -> None:
    ids = group_ids(["a", "b", "c", "d", "a"], [["b"], [], ["x"], ["x"], []]).tolist()
    assert ids == [0, 0, 1, 1, 0]


def test_source_draws_two_different_captions_of_a_group() -> None:
    needs_text_extra()
    from contrastkit.encoders.text import build_text_encoder

    encoder = build_text_encoder("small_transformer", **TINY_ENCODER)
    groups = TextCorpus([(f"cap {g} {i}" for i in range(3)) for g in range(4)], "groups", "g")
    groups.items = [tuple(group) for group in groups.items]
    source = TextSource(text_examples([groups]), encoder.tokenize)
    anchors, positives = source.pick(list(range(4)) * 10, torch.Generator().manual_seed(0))
    assert all(
        a != p and a.split()[1] == p.split()[1] for a, p in zip(anchors, positives, strict=True)
    )
    again = source.pick(list(range(4)) * 10, torch.Generator().manual_seed(0))
    assert again == (anchors, positives)  # drawn with the training generator: reproducible
    batch = source(torch.tensor([0, 1, 2]), torch.Generator(), torch.device("cpu"))
    assert isinstance(batch, TextBatch) and batch.positive is not None and batch.scores is None
    lengths = source.lengths  # token counts of each group's first caption: length-grouped batches
    assert lengths is not None and lengths.tolist() == [5, 5, 5, 5]  # [CLS] cap g 0 [SEP]
    assert TextSource(source.examples, encoder.tokenize, group_by_length=False).lengths is None
    scored = TextCorpus([("a b", "c", 1.0), ("d", "e f", 3.0)], kind="scored_pairs", source="sts")
    ranked = TextSource(text_examples([scored]), encoder.tokenize)
    assert ranked.lengths is None  # a ranking loss compares pairs of every length: no grouping
    sentences = TextCorpus(["a b c d e f g h", "d e", "f"], kind="sentences", source="s")
    unsupervised = TextSource(text_examples([sentences]), encoder.tokenize)
    batch = unsupervised(torch.tensor([0, 2]), torch.Generator(), torch.device("cpu"))
    assert batch.positive is None and batch.anchor.batch_size == 2
    cutoff = build_text_views(DataConfig(views="token_cutoff", views_options={"rate": 0.5}), None)
    augmented = TextSource(text_examples([sentences]), encoder.tokenize, views=cutoff)
    batch = augmented(torch.tensor([0]), torch.Generator().manual_seed(1), torch.device("cpu"))
    assert batch.positive is not None and torch.equal(
        batch.anchor.input_ids, batch.positive.input_ids
    )
    assert batch.anchor.lengths().item() == batch.positive.lengths().item() == 6  # 4 of 8 cut
    assert build_text_views(DataConfig(), None).views == [[], []]  # the image default: dropout
    with pytest.raises(ValueError, match="not text views"):
        build_text_views(DataConfig(views="random_crop"), None)


def test_hard_negatives_drop_candidates_as_similar_as_the_positive() -> None:
    anchors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    positives = torch.tensor([[0.8, 0.6, 0.0], [0.0, 1.0, 0.1]])
    candidates = torch.tensor([[0.9, 0.44, 0.0], [0.6, 0.8, 0.0], [-0.1, 0.0, 1.0], [0, 1, 0]])
    names = ["near-duplicate", "hard", "unrelated", "anchor 1"]
    found = mine_hard_negatives(
        (anchors, positives, candidates), ["a0", "anchor 1"], ["p0", "p1"], names, margin=0.05, k=3
    )
    # anchor 0: cos(a, p) = 0.8; the near-duplicate (0.9) is dropped, "hard" (0.6) is first
    assert found[0].tolist() == [1, 3, 2]
    # anchor 1: its own text is never its negative; "hard" (0.8) is kept, as it is < 0.995 - 0.05
    assert found[1].tolist() == [1, 0, 2]
    strict = mine_hard_negatives(
        (anchors, positives, candidates), ["a0", "a1"], ["p0", "p1"], names, margin=0.5, k=2
    )
    assert strict[0].tolist() == [3, 2] and strict[1].tolist() == [0, 2]
    padded = mine_hard_negatives(
        (anchors, positives, candidates), ["a0", "a1"], ["p0", "p1"], names, margin=0.5, k=4
    )
    assert padded[1].tolist() == [0, 2, -1, -1]  # fewer than k qualify
    with pytest.raises(ValueError, match="margin"):
        mine_hard_negatives((anchors, positives, candidates), ["a"], ["p"], names, margin=-1)
    with pytest.raises(ValueError, match="candidate embeddings must be"):
        mine_hard_negatives((anchors, positives, candidates[:2]), ["a", "b"], ["p", "q"], names)


def test_hard_negatives_with_an_encoder() -> None:
    needs_text_extra()
    from contrastkit.encoders.text import build_text_encoder

    encoder = build_text_encoder("small_transformer", **TINY_ENCODER)
    candidates = ["a cat sleeps", "stocks fell", "rain today", "a cat naps"]
    found = mine_hard_negatives(encoder, ["a cat naps"], ["a cat sleeps"], candidates, k=2)
    assert found.shape == (1, 2) and not set(found[0].tolist()) & {0, 3}


def tiny_recipe(tmp_path: Path, **values: object) -> dict[str, object]:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "anchor,positive\n" + "".join(f"sentence {i} here,the sentence {i}\n" for i in range(12))
    )
    return {
        "method": "simcse",
        "dataset": str(pairs),
        "encoder": "small_transformer",
        "encoder_options": dict(TINY_ENCODER),
        "batch_size": 4,
        "epochs": 1,
        "optimizer": "adamw",
        "lr": 1e-3,
        "protocols": ["sts"],
        "eval_data": str(sts_file(tmp_path / "sts.tsv")),
        "progress_bar": False,
        "device": "cpu",
        **values,
    }


def test_pipeline_trains_loads_and_evaluates(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path))
    assert isinstance(pipeline_for("simcse"), TextPipeline)
    setup = TextPipeline().training_setup(recipe)
    assert isinstance(setup.method, SimCSE) and len(setup.source) == 12 and not setup.observers
    assert planned_steps(recipe, len(setup.source)) == 3
    result = train_run(recipe, tmp_path / "run")
    assert result.steps == 3 and all(math.isfinite(loss) for loss in result.losses)
    loaded_recipe, method = load_trained(tmp_path / "run")
    (record,) = TextPipeline().evaluate(loaded_recipe, method)
    assert record["protocol"] == "sts" and list(record["metrics"]["per_dataset"]) == ["sts"]
    assert -1.0 <= record["metrics"]["all"]["spearman"] <= 1.0
    bad = dataclasses.replace(recipe, eval=dataclasses.replace(recipe.eval, protocols=["knn"]))
    with pytest.raises(ValueError, match="protocols = \\['sts'\\]"):
        TextPipeline().evaluate(bad, method)


def test_gradient_caching_trains_a_text_recipe(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path, micro_batch_size=2, protocols=[]))
    result = train_run(recipe, tmp_path / "run")
    assert result.steps == 3 and all(math.isfinite(loss) for loss in result.losses)


def test_max_examples_takes_a_seeded_subset(tmp_path: Path) -> None:
    recipe = recipe_from_dict(tiny_recipe(tmp_path, max_examples=5))
    first = load_examples(recipe.data, seed=0)
    assert len(first) == 5 and first.texts == load_examples(recipe.data, seed=0).texts
    with pytest.raises(ValueError, match="max_examples"):
        load_examples(recipe_from_dict(tiny_recipe(tmp_path, max_examples=0)).data, seed=0)
    with pytest.raises(ValueError, match="empty name"):
        load_examples(recipe_from_dict(tiny_recipe(tmp_path, dataset="stsb+")).data, seed=0)


def test_unknown_sts_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown STS data 'nope'"):
        sts_pairs("nope")
    assert list(sts_pairs(str(sts_file(tmp_path / "a.tsv")))) == ["a"]


def test_selection_keeps_the_best_weights_and_load_trained_uses_them(tmp_path: Path) -> None:
    needs_text_extra()
    from contrastkit.encoders.text import build_text_encoder

    first, second, scores = sts_pairs(str(sts_file(tmp_path / "dev.tsv")))["dev"]
    method = SimCSE(build_text_encoder("small_transformer", **TINY_ENCODER))
    selection = STSDevSelection(method, (first, second, scores), tmp_path, every=2, last_step=5)
    assert selection(1, None) == {}  # type: ignore[arg-type]
    logged = selection(2, None)  # type: ignore[arg-type]
    assert set(logged) == {"stsb_dev_spearman", "best_stsb_dev_spearman"}
    saved = torch.load(tmp_path / BEST_NAME, weights_only=True)
    assert saved["step"] == 2 and saved["score"] == logged["stsb_dev_spearman"]
    selection.best = 2.0  # nothing beats it: best.pt stays
    assert selection(5, None)  # type: ignore[arg-type]
    assert torch.load(tmp_path / BEST_NAME, weights_only=True)["step"] == 2
    assert selection.finish(5) == {}  # step 5 was just evaluated
    assert set(selection.finish(6)) == set(logged)  # a budget stop at an unscheduled step
    resumed = STSDevSelection(method, (first, second, scores), tmp_path, every=2)
    assert resumed.best == saved["score"]
    assert best_weights(tmp_path) is not None and best_weights(tmp_path / "none") is None
    with pytest.raises(ValueError, match="every"):
        STSDevSelection(method, (first, second, scores), tmp_path, every=0)
    with pytest.raises(ValueError, match="encode_texts"):
        STSDevSelection(torch.nn.Linear(2, 2), (first, second, scores), tmp_path, every=1)


@needs_stsb
def test_training_with_selection_writes_best_pt(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path, select_every=2))
    train_run(recipe, tmp_path / "run")
    saved = torch.load(tmp_path / "run" / BEST_NAME, weights_only=True)
    assert saved["step"] in (2, 3) and saved["metric"] == "stsb_dev_spearman"
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert any("stsb_dev_spearman" in record for record in logged)
