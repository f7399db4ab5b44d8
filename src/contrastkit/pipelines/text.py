"""Text: sentence corpora, a sentence encoder inside SimCSE, STS-B selection and evaluation.

Recipe keys: ``dataset`` (a :func:`~contrastkit.data.text.load_text_corpus` name or file, or
``"unlabeled"`` for :func:`~contrastkit.data.text.unlabeled_sentences`; several joined by
``+``, e.g. ``"stsb+flickr8k_captions"``), ``train_split`` (STS-B's split when ``stsb`` is
trained on), ``max_examples`` (a seeded random subset), ``max_length`` (training tokens per
sentence), ``views`` (``"dropout"``, ``"token_cutoff"``, ...) with ``views_options``
(``rate``), ``encoder`` (``"minilm"``, ``"small_transformer"`` or a local Hugging Face folder)
with ``encoder_options`` (``pooler``, ``dropout``, ``layers``...), SimCSE's options as method
keys, ``select_every`` (STS-B dev model selection, ``best.pt``), ``protocols = ["sts"]`` and
``eval_data`` (``"stsb"``: STS-B test, the default).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.batches import BatchOrder
from contrastkit.data.text import load_text_corpus, unlabeled_sentences
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextExamples, TextSource, text_examples
from contrastkit.distributed import world_size
from contrastkit.encoders.text import build_text_encoder
from contrastkit.eval.sts import read_sts_benchmark, read_sts_tsv, sts_evaluate
from contrastkit.eval.sts_selection import STSDevSelection
from contrastkit.pipelines.base import TrainingSetup
from contrastkit.recipe import DataConfig, Recipe
from contrastkit.registry import METHODS, build_method
from contrastkit.train import resolve_device
from contrastkit.train.loop import StepObserver
from contrastkit.transforms.text import TEXT_VIEWS, TextViews, text_views

PROTOCOLS = ("sts",)
STSB_NAMES = {"stsb": "test", "stsb_test": "test", "stsb_dev": "dev", "stsb_train": "train"}
ENCODE_BATCH = 128


def load_corpora(data: DataConfig) -> list[TextCorpus]:
    """The recipe's corpora: ``dataset`` split at ``+``, each loaded by name or path."""
    names = [name.strip() for name in str(data.dataset).split("+")]
    if not all(names):
        raise ValueError(f"dataset {data.dataset!r} has an empty name; join names with '+'")
    return [
        unlabeled_sentences()
        if name == "unlabeled"
        else load_text_corpus(name, split=data.train_split)
        for name in names
    ]


def load_examples(data: DataConfig, *, seed: int) -> TextExamples:
    """The recipe's training examples, subsampled to ``max_examples`` (seeded) when set."""
    limit = data.max_examples
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"max_examples must be an integer >= 1, got {limit!r}")
    examples = text_examples(load_corpora(data))
    if limit is None or limit >= len(examples):
        return examples
    rows = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed))
    return examples.subset(rows[:limit].sort().values)


def build_text_views(data: DataConfig, tokenizer: Any) -> TextViews:
    """The recipe's text views: ``views`` from :data:`~contrastkit.transforms.text.TEXT_VIEWS`
    (the image default ``"simclr"`` counts as ``"dropout"``), ``views_options`` (``rate``)."""
    name = "dropout" if data.views == "simclr" else data.views
    if name not in TEXT_VIEWS:
        raise ValueError(
            f"views {data.views!r} are not text views; choose one of {', '.join(TEXT_VIEWS)}"
        )
    return text_views(name, tokenizer=tokenizer, **data.views_options)


def build_text_method(recipe: Recipe) -> nn.Module:
    """The recipe's sentence encoder inside its method (``gather_distributed`` with several
    processes unless the recipe sets it)."""
    model = recipe.model
    encoder = build_text_encoder(model.encoder, **model.encoder_options)
    options = dict(model.method_options)
    accepted = inspect.signature(METHODS[model.method].cls).parameters
    if world_size() > 1 and "gather_distributed" in accepted:
        options.setdefault("gather_distributed", True)
    return build_method(model.method, encoder, **options)


def planned_steps(recipe: Recipe, examples: int) -> int:
    """The optimizer steps training will run (``epochs`` of full batches, or ``max_steps``)."""
    train = recipe.train
    order = BatchOrder(examples, train.batch_size, seed=train.seed, world_size=world_size())
    total = train.epochs * (order.batches_per_epoch // train.accumulate)
    return min(total, train.max_steps) if train.max_steps is not None else total


def read_texts(data: str | None, split: str) -> tuple[list[str], str]:
    """Every text of a text file or corpus, in order, and a line saying what they are."""
    if not data:
        raise ValueError(
            "--data is required for a text run: a .txt file (one sentence per line), a pairs "
            "CSV, an STS file or a corpus name such as stsb"
        )
    corpus = load_text_corpus(data, split=split)
    return corpus.texts(), f"{len(corpus)} {corpus.kind} of {corpus.source}"


def sts_pairs(name: str) -> dict[str, tuple[list[str], list[str], list[float]]]:
    """STS pairs by ``eval_data``: ``stsb`` (test), ``stsb_dev``, ... or files; ``+`` joins."""
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


class TextPipeline:
    """SimCSE on sentence corpora; STS-B dev model selection; the ``sts`` protocol."""

    def training_setup(self, recipe: Recipe) -> TrainingSetup:
        method = self.build_method(recipe)
        examples = load_examples(recipe.data, seed=recipe.train.seed)
        encoder: Any = method.encoder
        tokenize = functools.partial(encoder.tokenize, max_length=recipe.data.max_length)
        views = build_text_views(recipe.data, encoder.tokenizer)
        source = TextSource(examples, tokenize, views=views)
        observers: list[Callable[[Path], StepObserver]] = []
        every = recipe.eval.select_every
        if every > 0:
            dev, last = read_sts_benchmark("dev"), planned_steps(recipe, len(source))

            def selection(run_dir: Path) -> StepObserver:
                return STSDevSelection(method, dev, run_dir, every=every, last_step=last)

            observers.append(selection)
        notes = [f"trained on {len(source)} examples from {recipe.data.dataset}"]
        return TrainingSetup(method, source, notes, observers)

    def build_method(self, recipe: Recipe) -> nn.Module:
        return build_text_method(recipe)

    def embed(
        self, recipe: Recipe, method: nn.Module, data: str | None, split: str
    ) -> tuple[Tensor, str]:
        """Features of every text of ``data``: a text file or corpus (:func:`load_text_corpus`)."""
        texts, what = read_texts(data, split)
        device = resolve_device(recipe.train.device)
        encode: Any = method.to(device).encode_texts
        return encode(texts, batch_size=ENCODE_BATCH, device=device), what

    def evaluate(self, recipe: Recipe, method: nn.Module) -> list[dict[str, Any]]:
        unknown = sorted(set(recipe.eval.protocols) - set(PROTOCOLS))
        if unknown:
            raise ValueError(
                f"protocols {unknown} do not apply to text runs; use protocols = ['sts'] "
                "(STS-B test Spearman) or contrastkit eval RUN --protocol sts"
            )
        if not recipe.eval.protocols:
            return []
        encode: Any = method.encode_texts
        device = resolve_device(recipe.train.device)
        method.to(device)
        datasets = {}
        for label, (first, second, scores) in sts_pairs(recipe.eval.eval_data or "stsb").items():
            features = encode(first + second, batch_size=ENCODE_BATCH, device=device)
            datasets[label] = (features[: len(first)], features[len(first) :], scores)
        record = sts_evaluate(datasets)
        record["params"]["encoder_output"] = "encode(): pooled sentence features"
        return [record]
