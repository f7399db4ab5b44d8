"""Text corpora as a training batch source: sentence indices in, tokenized ``TextBatch`` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from contrastkit.data.batches import BatchOrder, ShuffledSource
from contrastkit.data.text_batches import LengthGroupedOrder
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.transforms.text.views import TextViews, TokenOp
from contrastkit.types import TextBatch, Tokens

Tokenize = Callable[[list[str]], Tokens]
LENGTH_CHUNK = 4096  # sentences tokenized at once when measuring lengths


@dataclass
class TextExamples:
    """Training examples from one or more corpora.

    Attributes:
        texts: per example, its texts: ``(sentence,)`` (unsupervised: the sentence is its own
            positive, dropout makes the view), ``(anchor, positive)`` for a pair or a scored
            pair, or a group's texts (the captions of one image), from which each batch draws
            an anchor and a different positive at random.
        grouped: (N,) bool, True for groups.
        negatives: one hard negative per example, or None.
        scores: (N,) gold similarity of scored pairs, NaN for the other examples; or None.
        ids: (N,) int64: examples that share a text, or are linked through positive pairs and
            groups, share an id (:func:`group_ids`).
    """

    texts: list[tuple[str, ...]] = field(default_factory=list)
    grouped: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.bool))
    negatives: list[str] | None = None
    scores: Tensor | None = None
    ids: Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Tensor) -> TextExamples:
        """The examples ``rows`` (a 1-D index tensor), in that order."""
        pick = rows.tolist()
        return TextExamples(
            texts=[self.texts[i] for i in pick],
            grouped=self.grouped[rows],
            negatives=[self.negatives[i] for i in pick] if self.negatives is not None else None,
            scores=self.scores[rows] if self.scores is not None else None,
            ids=self.ids[rows],
        )


def _items(corpus: TextCorpus) -> list[tuple[str, ...]]:
    """The texts of every item of a corpus (a scored pair's score left out)."""
    if corpus.kind == "sentences":
        return [(text,) for text in corpus.items]
    if corpus.kind in ("pairs", "scored_pairs"):
        return [(item[0], item[1]) for item in corpus.items]
    if corpus.kind == "triples":
        return [(a, p) for a, p, _ in corpus.items]
    return [tuple(group) for group in corpus.items if len(group) >= 2]


def group_ids(anchors: Sequence[str], linked: Sequence[Sequence[str]]) -> Tensor:
    """(N,) ids: equal for anchors that are the same text or connected through ``linked``.

    Union-find over texts: each anchor is joined with the texts in its ``linked`` entry (its
    positives), so identical sentences and positives of each other end up in one group.

    Example:
        >>> group_ids(["a", "b", "a", "c"], [["x"], [], [], ["x"]]).tolist()
        [0, 1, 0, 0]
    """
    parent: dict[str, str] = {}

    def find(text: str) -> str:
        parent.setdefault(text, text)
        while parent[text] != text:
            parent[text] = parent[parent[text]]
            text = parent[text]
        return text

    for anchor, texts in zip(anchors, linked, strict=True):
        for text in texts:
            parent[find(text)] = find(anchor)
    numbers: dict[str, int] = {}
    return torch.tensor([numbers.setdefault(find(a), len(numbers)) for a in anchors])


def text_examples(corpora: Sequence[TextCorpus]) -> TextExamples:
    """Every corpus's items as :class:`TextExamples`; a group (of captions) is one example.

    Raises:
        ValueError: no corpus, or triples mixed with corpora that have no hard negatives.
    """
    if not corpora:
        raise ValueError("no text corpus given; name at least one dataset")
    with_negatives = {corpus.kind == "triples" for corpus in corpora}
    if len(with_negatives) > 1:
        raise ValueError(
            "triples (with hard negatives) cannot be mixed with corpora without negatives: "
            f"{', '.join(f'{c.source} ({c.kind})' for c in corpora)}; train on one kind"
        )
    texts: list[tuple[str, ...]] = []
    grouped: list[bool] = []
    linked: list[tuple[str, ...]] = []
    scores: list[float] = []
    for corpus in corpora:
        items = _items(corpus)
        texts += items
        grouped += [corpus.kind == "groups"] * len(items)
        # scored pairs are not positives of each other (a score of 0 means unrelated)
        linked += [() if corpus.kind == "scored_pairs" else item[1:] for item in items]
        nan = [float("nan")] * len(items)
        scores += [i[2] for i in corpus.items] if corpus.kind == "scored_pairs" else nan
    scored = any(corpus.kind == "scored_pairs" for corpus in corpora)
    negatives = [n for c in corpora for _, _, n in c.items] if with_negatives == {True} else None
    return TextExamples(
        texts=texts,
        grouped=torch.tensor(grouped, dtype=torch.bool),
        negatives=negatives,
        scores=torch.tensor(scores, dtype=torch.float32) if scored else None,
        ids=group_ids([item[0] for item in texts], linked),
    )


class TextSource(ShuffledSource):
    """A :class:`~contrastkit.train.fit.BatchSource` of sentences: indices -> ``TextBatch``.

    Each call picks the examples, draws an anchor and a different positive from each group
    (with the training generator, so a resumed run repeats the draws), tokenizes anchors,
    positives and hard negatives with the encoder's tokenizer, each padded to its own longest
    sentence (dynamic padding), and moves the batch to ``device``. A corpus of plain
    sentences gives ``positive=None`` (SimCSE encodes the anchors twice); sentences mixed with
    pairs get themselves as positive.

    Its batch order (:meth:`batch_order`) groups sentences of similar length
    (:class:`~contrastkit.data.text_batches.LengthGroupedOrder` over ``lengths``, the token count
    of each example's first text, computed on first use), so batches pad little; negatives
    then come from sentences of similar length. Scored pairs turn it off by default: a ranking
    loss (CoSENT) must compare pairs across lengths, or their cosine scales drift apart by
    length (on STS-B, by genre) and the pooled correlation drops.

    Args:
        examples: the training examples (:func:`text_examples`).
        tokenize: ``texts -> Tokens``, e.g. ``lambda t: encoder.tokenize(t, max_length=32)``.
        group_by_length: length-grouped batches (False: ``lengths`` is None, batches are
            uniformly random); None: True unless the examples have scores.
        views: token-level text views (:func:`~contrastkit.transforms.text.text_views`): view
            0's ops act on the anchors, view 1's on the positives (for plain sentences, on a
            second copy of the anchors). None or ``"dropout"`` views change no token.

    Example:
        >>> from contrastkit.encoders.text import build_text_encoder
        >>> encoder = build_text_encoder("small_transformer", layers=1, width=32, heads=2)
        >>> corpus = TextCorpus([("A cat sleeps.", "A cat naps.")] * 4, kind="pairs", source="demo")
        >>> source = TextSource(text_examples([corpus]), encoder.tokenize)
        >>> batch = source(torch.tensor([0, 2]), torch.Generator(), torch.device("cpu"))
        >>> batch.batch_size, batch.ids.tolist()
        (2, [0, 0])
    """

    def __init__(
        self,
        examples: TextExamples,
        tokenize: Tokenize,
        *,
        group_by_length: bool | None = None,
        views: TextViews | None = None,
    ) -> None:
        if len(examples) == 0:
            raise ValueError("the text corpus has no usable example")
        self.examples, self.tokenize = examples, tokenize
        self.unsupervised = all(len(texts) == 1 for texts in examples.texts)
        ops = views.views if views is not None else [[], []]
        if len(ops) != 2:
            raise ValueError(f"text views must make 2 views (anchor, positive), got {len(ops)}")
        self.anchor_ops, self.positive_ops = ops
        if group_by_length is None:
            group_by_length = examples.scores is None
        self.group_by_length = group_by_length
        self._lengths: Tensor | None = None

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def lengths(self) -> Tensor | None:
        """(N,) token count of each example's first text (None without ``group_by_length``)."""
        if not self.group_by_length:
            return None
        if self._lengths is None:
            firsts = [texts[0] for texts in self.examples.texts]
            chunks = range(0, len(firsts), LENGTH_CHUNK)
            parts = [self.tokenize(firsts[i : i + LENGTH_CHUNK]).lengths() for i in chunks]
            self._lengths = torch.cat(parts)
        return self._lengths

    def batch_order(
        self, batch_size: int, *, seed: int, rank: int = 0, world_size: int = 1
    ) -> BatchOrder:
        """Length-grouped batches when ``lengths`` is set, else uniformly shuffled ones."""
        if self.lengths is None:
            return super().batch_order(batch_size, seed=seed, rank=rank, world_size=world_size)
        return LengthGroupedOrder(
            self.lengths, batch_size, seed=seed, rank=rank, world_size=world_size
        )

    def pick(self, rows: list[int], generator: torch.Generator) -> tuple[list[str], list[str]]:
        """Anchors and positives of ``rows``: two distinct random texts of each group."""
        draws = torch.rand(len(rows), 2, generator=generator).tolist()
        anchors, positives = [], []
        for row, (u, v) in zip(rows, draws, strict=True):
            texts = self.examples.texts[row]
            if not self.examples.grouped[row]:
                anchors.append(texts[0])
                positives.append(texts[-1])
                continue
            first = int(u * len(texts))
            second = int(v * (len(texts) - 1))
            anchors.append(texts[first])
            positives.append(texts[second + (second >= first)])
        return anchors, positives

    def __call__(
        self, indices: Tensor, generator: torch.Generator, device: torch.device
    ) -> TextBatch:
        examples, rows = self.examples, indices.tolist()
        anchors, positives = self.pick(rows, generator)
        anchor = self.tokenize(anchors)
        positive = None
        if not self.unsupervised:
            positive = _apply(self.positive_ops, self.tokenize(positives), generator)
        elif self.positive_ops or self.anchor_ops:  # two token-level views of each sentence
            positive = _apply(self.positive_ops, anchor, generator)
        anchor = _apply(self.anchor_ops, anchor, generator)
        negative = None
        if examples.negatives is not None:
            negative = self.tokenize([examples.negatives[i] for i in rows])
        scores = examples.scores[indices] if examples.scores is not None else None
        return TextBatch(anchor, positive, negative, examples.ids[indices], scores).to(device)


def _apply(ops: Sequence[TokenOp], tokens: Tokens, generator: torch.Generator) -> Tokens:
    for op in ops:
        tokens = op(tokens, generator)
    return tokens


__all__ = ["TextExamples", "TextSource", "group_ids", "text_examples"]
