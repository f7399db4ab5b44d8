"""The text modality: corpora to examples, the batch source, STS dev selection, evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextSource, group_ids, text_examples
from contrastkit.eval.sts import sts_pairs
from contrastkit.methods import SimCSE, TextBatch
from contrastkit.modalities.base import Splits
from contrastkit.modalities.text import BEST_NAME, TEXT, STSDevSelection, TextData
from contrastkit.modalities.text.modality import build_text_views, load_examples, planned_steps
from contrastkit.recipe import recipe_from_dict
from contrastkit.registry import modality_of
from contrastkit.run import Run

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
    cutoff = build_text_views(TextData(views="token_cutoff", views_options={"rate": 0.5}), None)
    augmented = TextSource(text_examples([sentences]), encoder.tokenize, views=cutoff)
    batch = augmented(torch.tensor([0]), torch.Generator().manual_seed(1), torch.device("cpu"))
    assert batch.positive is not None and torch.equal(
        batch.anchor.input_ids, batch.positive.input_ids
    )
    assert batch.anchor.lengths().item() == batch.positive.lengths().item() == 6  # 4 of 8 cut
    assert build_text_views(TextData(), None).views == [[], []]  # the default: dropout
    with pytest.raises(ValueError, match="views must be one of dropout"):
        TextData(views="simclr")  # image views are not text views


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


def test_modality_trains_loads_and_evaluates(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path))
    assert modality_of("simcse") is TEXT
    setup = TEXT.training_setup(recipe, Splits(), {})
    assert isinstance(setup.method, SimCSE) and len(setup.source) == 12 and not setup.observers
    assert planned_steps(recipe, setup.source) == 3
    result = Run(recipe, tmp_path / "run").train()
    assert result.steps == 3 and all(math.isfinite(loss) for loss in result.losses)
    (record,) = Run.load(tmp_path / "run").evaluate()
    assert record["protocol"] == "sts" and list(record["metrics"]["per_dataset"]) == ["sts"]
    assert -1.0 <= record["metrics"]["all"]["spearman"] <= 1.0
    with pytest.raises(ValueError, match="do not evaluate simcse runs; choose from sts"):
        Run.load(tmp_path / "run").evaluate(["knn"])


def test_gradient_caching_trains_a_text_recipe(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path, micro_batch_size=2, protocols=[]))
    result = Run(recipe, tmp_path / "run").train()
    assert result.steps == 3 and all(math.isfinite(loss) for loss in result.losses)


def test_max_examples_takes_a_seeded_subset(tmp_path: Path) -> None:
    recipe = recipe_from_dict(tiny_recipe(tmp_path, max_examples=5))
    first = load_examples(recipe.data, seed=0)
    assert len(first) == 5 and first.texts == load_examples(recipe.data, seed=0).texts
    with pytest.raises(ValueError, match="max_examples"):
        recipe_from_dict(tiny_recipe(tmp_path, max_examples=0))
    with pytest.raises(ValueError, match="empty name"):
        recipe_from_dict(tiny_recipe(tmp_path, dataset="stsb+"))


def test_unknown_sts_data_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown STS data 'nope'"):
        sts_pairs("nope")
    assert list(sts_pairs(str(sts_file(tmp_path / "a.tsv")))) == ["a"]


def test_selection_keeps_the_best_weights(tmp_path: Path) -> None:
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
    with pytest.raises(ValueError, match="every"):
        STSDevSelection(method, (first, second, scores), tmp_path, every=0)
    with pytest.raises(ValueError, match="encode_texts"):
        STSDevSelection(torch.nn.Linear(2, 2), (first, second, scores), tmp_path, every=1)


@needs_stsb
def test_training_with_selection_writes_best_pt(tmp_path: Path) -> None:
    needs_text_extra()
    recipe = recipe_from_dict(tiny_recipe(tmp_path, select_every=2))
    run = Run(recipe, tmp_path / "run")
    run.train()
    saved = torch.load(tmp_path / "run" / BEST_NAME, weights_only=True)
    assert saved["step"] in (2, 3) and saved["metric"] == "stsb_dev_spearman"
    logged = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert any("stsb_dev_spearman" in record for record in logged)
    reloaded = Run.load(tmp_path / "run")
    assert reloaded.weights_path().name == BEST_NAME  # evaluation reports the selected model
    best = torch.load(tmp_path / "run" / BEST_NAME, weights_only=True)["model"]
    for name, value in run.method.state_dict().items():  # and so does the trained run in memory
        assert torch.equal(value, best[name]) and torch.equal(
            value, reloaded.method.state_dict()[name]
        )
