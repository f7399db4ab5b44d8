"""WordNet glosses and usage examples from Debian's ``wordnet-base`` (a licence-clean corpus)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from contrastkit.data.text_corpus import Skips, TextCorpus, decoded_lines, finish

WORDNET_DIR = Path("/usr/share/wordnet")
WORDNET_PARTS = ("noun", "verb", "adj", "adv")
_EXAMPLE = re.compile(r'"([^"]+)"')


@dataclass(frozen=True)
class WordNetGloss:
    """One synset's gloss: its words, definition and quoted usage examples.

    Attributes:
        words: the synset's lemmas (underscores turned into spaces).
        pos: part of speech, ``"noun"``, ``"verb"``, ``"adj"`` or ``"adv"``.
        definition: the definition (the gloss before its first quoted example).
        examples: the quoted usage examples, without quotes.
    """

    words: tuple[str, ...]
    pos: str
    definition: str
    examples: tuple[str, ...]


def parse_data_line(line: str, pos: str) -> WordNetGloss | None:
    """Parse one line of a WordNet ``data.<pos>`` file; None for a malformed line.

    Layout (wndb(5)): ``offset lex_filenum ss_type w_cnt(hex) word lex_id ... | gloss``; the
    gloss is ``definition; "example"; "example"``.

    Example:
        >>> line = '00001 03 n 01 big_cat 0 000 | a large feline; "a big cat sleeps"  '
        >>> gloss = parse_data_line(line, "noun")
        >>> gloss.words, gloss.definition, gloss.examples
        (('big cat',), 'a large feline', ('a big cat sleeps',))
    """
    head, bar, gloss = line.partition("|")
    fields = head.split()
    if not bar or len(fields) < 6:
        return None
    try:
        count = int(fields[3], 16)
    except ValueError:
        return None
    words = tuple(w.replace("_", " ") for w in fields[4 : 4 + 2 * count : 2])
    examples = tuple(e.strip() for e in _EXAMPLE.findall(gloss) if e.strip())
    definition = gloss.split('"', 1)[0].strip().rstrip(";").strip()
    if not definition and not examples:
        return None
    return WordNetGloss(words, pos, definition, examples)


def read_wordnet_glosses(folder: str | Path = WORDNET_DIR) -> tuple[list[WordNetGloss], Skips]:
    """Every synset gloss of ``data.noun``, ``data.verb``, ``data.adj`` and ``data.adv``.

    The licence header (lines starting with spaces) is not counted as skipped.

    Raises:
        ValueError: the folder or its data files are missing (the message names the Debian
            package to install).
    """
    folder = Path(folder)
    files = [folder / f"data.{part}" for part in WORDNET_PARTS]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:
        raise ValueError(
            f"WordNet data files not found: {', '.join(missing)}; install Debian's "
            "wordnet-base package (apt-get install wordnet-base) or pass its folder"
        )
    skips = Skips()
    glosses = []
    for part, file in zip(WORDNET_PARTS, files, strict=True):
        for line in decoded_lines(file.read_bytes(), skips):
            if line.startswith(" ") or not line.strip():
                continue
            gloss = parse_data_line(line, part)
            if gloss is None:
                skips.add("malformed line")
            else:
                glosses.append(gloss)
    return glosses, skips


def read_wordnet(folder: str | Path = WORDNET_DIR, *, pairs: bool = False) -> TextCorpus:
    """WordNet as text: definitions and examples as sentences, or (definition, example) pairs.

    About 117,000 definitions and 48,000 examples. Pairs (``pairs=True``) match each usage
    example with its synset's definition: a natural positive pair for supervised training.

    Raises:
        ValueError: the WordNet files are missing or hold nothing usable.

    Example:
        >>> corpus = read_wordnet()  # doctest: +SKIP
        >>> corpus.kind, len(corpus) > 150_000  # doctest: +SKIP
        ('sentences', True)
    """
    glosses, skips = read_wordnet_glosses(folder)
    items: list[object]
    if pairs:
        items = [(g.definition, e) for g in glosses if g.definition for e in g.examples]
        kind = "pairs"
    else:
        items = [t for g in glosses for t in (g.definition, *g.examples) if t]
        kind = "sentences"
    return finish(
        items, skips, kind=kind, source=f"WordNet ({folder})", fix="expected WordNet data files"
    )
