"""The text modality: sentence corpora tokenized on the fly, SimCSE around a sentence encoder,
STS-B dev selection during training; its evaluation context is the trained sentence encoder."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.text import load_text_corpus, unlabeled_sentences
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_source import TextExamples, TextSource, text_examples
from contrastkit.distributed import world_size
from contrastkit.encoders.text import build_text_encoder
from contrastkit.eval.sts import read_sts_benchmark
from contrastkit.modalities.base import Splits, TrainingSetup
from contrastkit.modalities.text.recipe import TextData
from contrastkit.modalities.text.selection import STSDevSelection
from contrastkit.recipe import Recipe
from contrastkit.registry import METHODS, build_method
from contrastkit.train import planned_steps as training_steps
from contrastkit.train import resolve_device
from contrastkit.train.loop import StepObserver
from contrastkit.transforms.text import TextViews, text_views

ENCODE_BATCH = 128


def load_corpora(data: TextData) -> list[TextCorpus]:
    """The recipe's corpora: ``dataset`` split at ``+``, each loaded by name or path."""
    names = [name.strip() for name in str(data.dataset).split("+")]
    return [
        unlabeled_sentences()
        if name == "unlabeled"
        else load_text_corpus(name, split=data.train_split)
        for name in names
    ]


def load_examples(data: TextData, *, seed: int) -> TextExamples:
    """The recipe's training examples, subsampled to ``max_examples`` (seeded) when set."""
    examples = text_examples(load_corpora(data))
    limit = data.max_examples
    if limit is None or limit >= len(examples):
        return examples
    rows = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed))
    return examples.subset(rows[:limit].sort().values)


def build_text_views(data: TextData, tokenizer: Any) -> TextViews:
    """The recipe's text views (``views``, ``views_options``)."""
    return text_views(data.views, tokenizer=tokenizer, **data.views_options)


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


def planned_steps(recipe: Recipe, source: TextSource) -> int:
    """Optimizer steps of training on ``source`` (:func:`~contrastkit.train.planned_steps`)."""
    return training_steps(source, recipe.train)


def read_texts(data: str | None, split: str) -> tuple[list[str], str]:
    """Every text of a text file or corpus, in order, and a line saying what they are.

    A ``.txt`` file gives one text per line, empty and undecodable lines included (as ``""``
    and with replacement characters), so row i of the embeddings is line i of the file.
    """
    if not data:
        raise ValueError(
            "--data is required for a text run: a .txt file (one sentence per line), a pairs "
            "CSV, an STS file or a corpus name such as stsb"
        )
    path = Path(data).expanduser()
    if path.suffix == ".txt" and path.is_file():
        from contrastkit.data.text_files import read_text_lines

        lines = read_text_lines(path)
        empty = sum(1 for line in lines if not line.strip())
        note = f" ({empty} empty, embedded as empty text)" if empty else ""
        return lines, f"{len(lines)} lines of {path}{note}; row i is line i"
    corpus = load_text_corpus(data, split=split)
    return corpus.texts(), f"{len(corpus)} {corpus.kind} of {corpus.source}"


class SentenceFeatures:
    """The text evaluation context: the trained sentence encoder, in eval mode
    (:class:`~contrastkit.eval.protocol.SentenceEncoder`)."""

    def __init__(self, recipe: Recipe, method: nn.Module) -> None:
        self.device = resolve_device(recipe.train.device)
        self.method = method.to(self.device)
        # the sts protocol reports each of these dims by default (None: not a Matryoshka run)
        self.matryoshka_dims: list[int] | None = getattr(method, "matryoshka_dims", None)

    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        encode: Any = self.method.encode_texts
        return encode(list(texts), batch_size=ENCODE_BATCH, device=self.device)


class TextModality:
    """SimCSE on sentence corpora; STS-B dev model selection; the ``sts`` protocol."""

    name = "text"
    data_section = TextData
    default_encoder = "minilm"
    default_protocols = ("sts",)

    def model_spec(self, recipe: Recipe, splits: Splits) -> dict[str, Any]:
        return {}

    def build_method(self, recipe: Recipe, spec: dict[str, Any]) -> nn.Module:
        return build_text_method(recipe)

    def training_setup(self, recipe: Recipe, splits: Splits, spec: dict[str, Any]) -> TrainingSetup:
        data: Any = recipe.data
        method = self.build_method(recipe, spec)
        examples = splits.get(
            ("text", data.dataset, data.train_split, data.max_examples, recipe.train.seed),
            lambda: load_examples(data, seed=recipe.train.seed),
        )
        encoder: Any = method.encoder
        tokenize = functools.partial(encoder.tokenize, max_length=data.max_length)
        views = build_text_views(data, encoder.tokenizer)
        source = TextSource(examples, tokenize, views=views)
        observers: list[Callable[[Path], StepObserver]] = []
        every = data.select_every
        if every > 0:
            dev, last = read_sts_benchmark("dev"), planned_steps(recipe, source)

            def selection(run_dir: Path) -> StepObserver:
                return STSDevSelection(method, dev, run_dir, every=every, last_step=last)

            observers.append(selection)
        notes = [f"trained on {len(source)} examples from {data.dataset}"]
        return TrainingSetup(method, source, notes, observers)

    def context(self, recipe: Recipe, method: nn.Module, splits: Splits) -> SentenceFeatures:
        return SentenceFeatures(recipe, method)

    def embed(
        self,
        recipe: Recipe,
        method: nn.Module,
        splits: Splits,
        data: str | None,
        split: str,
        skip_corrupt: bool,
    ) -> tuple[Tensor, str]:
        """Features of every text of ``data``: a text file or corpus (:func:`load_text_corpus`)."""
        texts, what = read_texts(data, split)
        return SentenceFeatures(recipe, method).encode_texts(texts), what
