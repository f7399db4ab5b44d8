"""User text files: sentences (.txt), anchor/positive[/negative] CSV, STS-benchmark TSV."""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

from contrastkit.data.sts_files import read_sts_tsv
from contrastkit.data.text_corpus import Skips, TextCorpus, decoded_lines, finish, read_bytes

PAIR_COLUMNS = ("anchor", "positive", "negative")


def read_sentences(path: str | Path) -> TextCorpus:
    """One sentence per line of a UTF-8 text file.

    Surrounding whitespace is stripped. Empty lines and lines that are not valid UTF-8 are
    counted in ``reasons`` and reported with one ``UserWarning``.

    Raises:
        ValueError: the file is missing or holds no sentence.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
        >>> _ = f.write_bytes(b"A cat sleeps.\\n\\nTwo dogs run.\\n")
        >>> import warnings; warnings.simplefilter("ignore")
        >>> corpus = read_sentences(f)
        >>> corpus.items, corpus.reasons
        (['A cat sleeps.', 'Two dogs run.'], {'empty line': 1})
    """
    skips = Skips()
    sentences = []
    for line in decoded_lines(read_bytes(path, what="sentence file"), skips):
        text = line.strip()
        if text:
            sentences.append(text)
        else:
            skips.add("empty line")
    return finish(
        sentences, skips, kind="sentences", source=str(path), fix="expected one sentence per line"
    )


def read_text_lines(path: str | Path) -> list[str]:
    """Every line of a text file, one string per line, none left out: the input of ``embed``.

    Unlike :func:`read_sentences` (training data, where empty and undecodable lines are skipped),
    nothing is dropped, so row ``i`` of any embedding computed from the result is line ``i`` of
    the file (counted from 0; line ``i + 1`` in an editor). Lines end at ``\\n``, ``\\r\\n`` or
    ``\\r``; the line end is removed and nothing else (an empty line is ``""``). Bytes that
    are not valid UTF-8 are decoded as U+FFFD (``errors="replace"``), and a leading
    byte-order mark is dropped. A final line end does not start another line, so an empty file
    gives ``[]``.

    Raises:
        ValueError: the file does not exist (or is not a file).

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "s.txt"
        >>> _ = f.write_bytes(b"A cat sleeps.\\n\\nbad \\xff byte\\r\\nTwo dogs run.\\n")
        >>> lines = read_text_lines(f)
        >>> len(lines), lines[:2], lines[2] == "bad \\ufffd byte", lines[3]
        (4, ['A cat sleeps.', ''], True, 'Two dogs run.')
    """
    data = read_bytes(path, what="text file")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # bytes.splitlines splits at \n, \r\n and \r only (str.splitlines would also split at
    # form feeds and Unicode separators, which are not line ends for the user)
    return [line.decode("utf-8", errors="replace") for line in data.splitlines()]


def read_pairs_csv(path: str | Path) -> TextCorpus:
    """Positive pairs, or triples with a hard negative, from a CSV file with a header row.

    The header names the columns ``anchor``, ``positive`` and optionally ``negative`` (any
    order, any case; other columns are ignored). Fields may be quoted as usual for CSV. A row
    with a missing column or an empty text is skipped and counted, as are lines that are not
    valid UTF-8.

    Returns:
        A :class:`TextCorpus` of kind ``"pairs"`` (``(anchor, positive)``) or ``"triples"``
        (``(anchor, positive, negative)``) when the header has a ``negative`` column.

    Raises:
        ValueError: a missing file, a header without ``anchor`` and ``positive``, or no
            usable row.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "pairs.csv"
        >>> _ = f.write_text('anchor,positive\\nA cat sleeps.,"A cat, asleep."\\n')
        >>> read_pairs_csv(f).items
        [('A cat sleeps.', 'A cat, asleep.')]
    """
    skips = Skips()
    rows = csv.reader(decoded_lines(read_bytes(path, what="pairs CSV file"), skips))
    header = [name.strip().lower() for name in next(rows, [])]
    if "anchor" not in header or "positive" not in header:
        raise ValueError(
            f"{path}: the first row must be a header naming the columns anchor,positive "
            f"(and optionally negative), got {header}; add such a header row"
        )
    names = [name for name in PAIR_COLUMNS if name in header]
    columns = [header.index(name) for name in names]
    items: list[tuple[str, ...]] = []
    for row in rows:
        if not any(field.strip() for field in row):
            skips.add("empty line")
            continue
        if len(row) <= max(columns):
            skips.add("row with missing columns")
            continue
        texts = tuple(row[column].strip() for column in columns)
        if not all(texts):
            skips.add("row with an empty text")
            continue
        items.append(texts)
    kind = "triples" if "negative" in names else "pairs"
    return finish(
        items, skips, kind=kind, source=str(path), fix=f"expected rows of {','.join(names)}"
    )


def read_sts_file(path: str | Path) -> TextCorpus:
    """Scored sentence pairs from an STS-benchmark file (tab-separated, no header).

    The parsing is :func:`contrastkit.data.sts_files.read_sts_tsv`'s (columns genre, file, year,
    id, score, sentence1, sentence2); its count of malformed rows lands in ``reasons``.

    Returns:
        A :class:`TextCorpus` of kind ``"scored_pairs"``: ``(sentence1, sentence2, score)``.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "sts.csv"
        >>> _ = f.write_text("g\\tf\\t2012\\t1\\t4.5\\tA cat sits.\\tA cat is sitting.\\n")
        >>> read_sts_file(f).items
        [('A cat sits.', 'A cat is sitting.', 4.5)]
    """

    skips = Skips()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second, scores = read_sts_tsv(path)
    for warning in caught:
        found = re.search(r"skipped (\d+) malformed", str(warning.message))
        if found:
            skips.add("malformed row", int(found.group(1)))
        else:
            warnings.warn(warning.message, warning.category, stacklevel=2)
    items = list(zip(first, second, scores, strict=True))
    return finish(items, skips, kind="scored_pairs", source=str(path), fix="")
