"""Sentences from NLTK corpus zips, read with ``zipfile`` alone (NLTK is not needed).

The zips live in the shared data folder, ``text/nltk_data/corpora/<name>.zip``. Each corpus has
its own layout: Brown is part-of-speech tagged (``word/tag`` tokens, one sentence per line);
sentence_polarity, subjectivity and movie_reviews hold one tokenized sentence per line;
inaugural and state_union hold running text (split into sentences here); RTE holds XML text /
hypothesis pairs.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

from contrastkit.data.root import shared_file
from contrastkit.data.text_corpus import Skips, TextCorpus, decoded_lines, finish

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_SPACE_BEFORE = re.compile(r" ([,.;:?!%)\]}]|n't|'s|'re|'ve|'ll|'d|'m)(?=\s|$)")
_SPACE_AFTER = re.compile(r"([(\[{$]) ")


def detokenize(tokens: list[str]) -> str:
    """Join Penn-style tokens into plain text: ``["it", "'s", "fine", "."]`` -> ``"it's fine."``.

    Example:
        >>> detokenize(["``", "Hi", "''", ",", "he", "said", "(", "twice", ")", "."])
        '" Hi ", he said (twice).'
    """
    text = " ".join('"' if token in ("``", "''") else token for token in tokens)
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at ``.``, ``!`` or ``?`` followed by a capital or digit.

    A rule of thumb, not a parser ("Mr. Smith" is split after "Mr."); enough for unlabeled
    training text.

    Example:
        >>> split_sentences("We met. It rained!  Then 3 left?")
        ['We met.', 'It rained!', 'Then 3 left?']
    """
    lines = (" ".join(line.split()) for line in text.splitlines())
    return [s for line in lines for s in _SENTENCE_END.split(line) if s.strip()]


def _brown(name: str, data: bytes, skips: Skips) -> Iterator[str]:
    for line in decoded_lines(data, skips):
        tokens = line.split()
        if not tokens:
            continue  # Brown separates sentences by blank lines: not a defect
        words = [token.rsplit("/", 1)[0] for token in tokens]
        yield detokenize(words)


def _lines(name: str, data: bytes, skips: Skips) -> Iterator[str]:
    for line in decoded_lines(data, skips):
        if line.strip():
            yield line.strip()


def _running_text(name: str, data: bytes, skips: Skips) -> Iterator[str]:
    yield from split_sentences("".join(decoded_lines(data, skips)))


def _rte(name: str, data: bytes, skips: Skips) -> Iterator[str]:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        skips.add("unparsable XML file")
        return
    for element in root.iter():
        if element.tag in ("t", "h") and element.text:
            yield from split_sentences(element.text)


# corpus -> (which members hold text, how to read one member)
_Reader = Callable[[str, bytes, Skips], Iterator[str]]
_CORPORA: dict[str, tuple[Callable[[str], bool], _Reader]] = {
    "brown": (lambda m: bool(re.fullmatch(r"brown/c[a-r]\d\d", m)), _brown),
    "sentence_polarity": (lambda m: m.endswith((".pos", ".neg")), _lines),
    "subjectivity": (lambda m: ".tok." in m, _lines),
    "movie_reviews": (lambda m: m.endswith(".txt") and ("/pos/" in m or "/neg/" in m), _lines),
    "inaugural": (lambda m: m.endswith(".txt"), _running_text),
    "state_union": (lambda m: m.endswith(".txt"), _running_text),
    "rte": (lambda m: m.endswith(".xml"), _rte),
}
NLTK_CORPORA = tuple(_CORPORA)


def nltk_zip(name: str) -> Path:
    """The shared data folder's ``text/nltk_data/corpora/<name>.zip`` (clear error if absent)."""
    if name not in _CORPORA:
        raise ValueError(f"unknown NLTK corpus {name!r}; choose one of {', '.join(_CORPORA)}")
    return shared_file(f"text/nltk_data/corpora/{name}.zip", what=f"NLTK corpus {name}")


def read_nltk_corpus(name: str, path: str | Path | None = None) -> TextCorpus:
    """The sentences of one NLTK corpus zip, as plain strings.

    Args:
        name: one of :data:`NLTK_CORPORA`: ``"brown"`` (57k tagged sentences, tags dropped),
            ``"sentence_polarity"`` (MR, 10,662), ``"subjectivity"`` (SUBJ, 10,000),
            ``"movie_reviews"`` (one sentence per line of 2,000 reviews), ``"inaugural"``,
            ``"state_union"`` (speeches split into sentences), ``"rte"`` (texts and
            hypotheses).
        path: the zip; by default the shared data folder's (``CONTRASTKIT_DATA``).

    Raises:
        ValueError: unknown name, missing or corrupt zip, or no sentence in it.

    Example:
        >>> corpus = read_nltk_corpus("sentence_polarity")  # doctest: +SKIP
        >>> len(corpus)  # doctest: +SKIP
        10662
    """
    file = Path(path) if path is not None else nltk_zip(name)
    if name not in _CORPORA:
        raise ValueError(f"unknown NLTK corpus {name!r}; choose one of {', '.join(_CORPORA)}")
    if not file.is_file():
        raise ValueError(f"NLTK corpus {name}: file not found: {file}")
    wanted, reader = _CORPORA[name]
    skips = Skips()
    sentences: list[str] = []
    try:
        with zipfile.ZipFile(file) as archive:
            for member in sorted(archive.namelist()):
                if wanted(member):
                    sentences.extend(reader(member, archive.read(member), skips))
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"NLTK corpus {name}: cannot read {file} as a zip ({error})") from None
    return finish(
        sentences,
        skips,
        kind="sentences",
        source=f"NLTK {name} ({file})",
        fix=f"expected the NLTK {name} corpus zip",
    )
