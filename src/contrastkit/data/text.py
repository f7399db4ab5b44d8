"""Text data by name or path: :func:`load_text_corpus`, and :func:`unlabeled_sentences`.

Readers, one per source: :mod:`~contrastkit.data.text_files` (user .txt / .csv / STS files),
:mod:`~contrastkit.data.text_nltk` (NLTK corpus zips), :mod:`~contrastkit.data.text_wordnet`
(Debian's WordNet), :mod:`~contrastkit.data.text_captions` (Flickr8k captions). Each returns a
:class:`~contrastkit.data.text_corpus.TextCorpus`: the items plus what was skipped and why.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from contrastkit.data.root import check_split, shared_file
from contrastkit.data.text_captions import read_caption_groups
from contrastkit.data.text_corpus import Skips, TextCorpus, finish
from contrastkit.data.text_files import read_pairs_csv, read_sentences, read_sts_file
from contrastkit.data.text_nltk import NLTK_CORPORA, read_nltk_corpus
from contrastkit.data.text_wordnet import read_wordnet

TEXT_SUFFIXES = (".txt", ".csv", ".tsv")
TEXT_CORPORA = (
    "wordnet",
    "wordnet_pairs",
    "nltk",
    *NLTK_CORPORA,
    "flickr8k_captions",
    "stsb",
)


def is_text_corpus(name_or_path: str | Path) -> bool:
    """Whether ``load_text_corpus`` reads ``name_or_path``: a corpus name or a text file.

    Example:
        >>> is_text_corpus("stsb"), is_text_corpus("captions.txt"), is_text_corpus("cifar10")
        (True, True, False)
    """
    suffix = Path(name_or_path).suffix.lower()
    return str(name_or_path) in TEXT_CORPORA or suffix in TEXT_SUFFIXES


def load_text_corpus(name_or_path: str | Path, *, split: str = "train") -> TextCorpus:
    """A text corpus by name, or a user file by path.

    Names (:data:`TEXT_CORPORA`):

    - ``"wordnet"``: WordNet definitions and examples (sentences; Debian ``wordnet-base``);
      ``"wordnet_pairs"``: (definition, usage example) pairs.
    - ``"nltk"``: every NLTK corpus below, concatenated (sentences); or one of them:
      ``"brown"``, ``"sentence_polarity"``, ``"subjectivity"``, ``"movie_reviews"``,
      ``"inaugural"``, ``"state_union"``, ``"rte"``.
    - ``"flickr8k_captions"``: the 5 captions of each of 8,091 images (groups).
    - ``"stsb"``: STS-B's ``split`` (scored pairs): ``"train"`` by default; never train on
      ``"test"``.

    Paths: ``.txt`` (one sentence per line), ``.csv`` with an ``anchor,positive[,negative]``
    header (pairs or triples), or an STS-benchmark file (``.tsv``, or a ``.csv`` whose first
    line is tab-separated, as STS-B's own files).

    Raises:
        ValueError: an unknown name or extension, a missing file (with how to point
            ``CONTRASTKIT_DATA`` at the shared data), or nothing usable in it.

    Example:
        >>> corpus = load_text_corpus("sentence_polarity")  # doctest: +SKIP
        >>> corpus.kind, len(corpus)  # doctest: +SKIP
        ('sentences', 10662)
    """
    name = str(name_or_path)
    if name in ("wordnet", "wordnet_pairs"):
        return read_wordnet(pairs=name == "wordnet_pairs")
    if name == "nltk":
        return _concatenate([read_nltk_corpus(c) for c in NLTK_CORPORA], source="NLTK corpora")
    if name in NLTK_CORPORA:
        return read_nltk_corpus(name)
    if name == "flickr8k_captions":
        return read_caption_groups()
    if name == "stsb":
        check_split(split, ("train", "dev", "test"), what="STS-B")
        return read_sts_file(shared_file(f"text/stsbenchmark/sts-{split}.csv", what="STS-B"))
    return _load_path(Path(name_or_path).expanduser(), name)


def _load_path(path: Path, name: str) -> TextCorpus:
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise ValueError(
            f"unknown text corpus {name!r}: not one of {', '.join(TEXT_CORPORA)}, and not a "
            ".txt (sentences), .csv (anchor,positive[,negative]) or .tsv (STS) file"
        )
    if not path.is_file():
        raise ValueError(f"text file not found: {path}; check the path")
    if suffix == ".txt":
        return read_sentences(path)
    if suffix == ".tsv" or _looks_like_sts(path):
        return read_sts_file(path)
    return read_pairs_csv(path)


def _looks_like_sts(path: Path) -> bool:
    with path.open("rb") as handle:
        first = handle.readline()
    return b"\t" in first and b"anchor" not in first.lower()


def _concatenate(corpora: list[TextCorpus], *, source: str) -> TextCorpus:
    skips = Skips()
    for corpus in corpora:
        for reason, count in corpus.reasons.items():
            skips.add(f"{reason} ({corpus.source})", count)
    items = [item for corpus in corpora for item in corpus.items]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each part already warned
        return finish(items, skips, kind=corpora[0].kind, source=source, fix="")


def unlabeled_sentences(
    *, limit: int | None = None, min_words: int = 3, seed: int = 0
) -> TextCorpus:
    """Unlabeled English sentences for unsupervised SimCSE: WordNet + every NLTK corpus.

    About 250,000 distinct sentences (WordNet definitions and examples, Brown, MR, SUBJ, movie
    reviews, inaugural and State of the Union speeches, RTE), none from STS data. Sentences
    with fewer than ``min_words`` words are dropped, duplicates (ignoring case and surrounding
    spaces) keep their first occurrence.

    Args:
        limit: keep a random subset of this many (chosen with ``seed``, kept in corpus order);
            None keeps all.
        min_words: the shortest sentence kept, in whitespace-separated words.
        seed: the seed of the subset.

    Raises:
        ValueError: WordNet or the NLTK zips are missing, or a bad ``limit``.

    Example:
        >>> corpus = unlabeled_sentences(limit=200_000)  # doctest: +SKIP
        >>> len(corpus)  # doctest: +SKIP
        200000
    """
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        raise ValueError(f"limit must be None or >= 1, got {limit!r}")
    parts = [read_wordnet(), *(read_nltk_corpus(name) for name in NLTK_CORPORA)]
    seen: set[str] = set()
    sentences = []
    short = duplicates = 0
    for text in (t for part in parts for t in part.items):
        key = " ".join(text.lower().split())
        if len(key.split()) < min_words:
            short += 1
        elif key in seen:
            duplicates += 1
        else:
            seen.add(key)
            sentences.append(text)
    if limit is not None and limit < len(sentences):
        generator = torch.Generator().manual_seed(seed)
        chosen = torch.randperm(len(sentences), generator=generator)[:limit].sort().values
        sentences = [sentences[i] for i in chosen.tolist()]
    corpus = TextCorpus(sentences, kind="sentences", source="WordNet + NLTK corpora")
    corpus.reasons = {f"shorter than {min_words} words": short, "duplicate": duplicates}
    return corpus


__all__ = ["TEXT_CORPORA", "is_text_corpus", "load_text_corpus", "unlabeled_sentences"]
