"""STS-benchmark files: tab-separated sentence pairs with a 0-5 similarity score.

Read by training (scored pairs, :mod:`contrastkit.data.text`) and by evaluation
(:mod:`contrastkit.eval.sts`), so the one parser lives here, below both.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

from contrastkit.data.root import check_split, shared_file

STSB_SPLITS = ("train", "dev", "test")
_STSB_COLUMNS = 7  # genre, file, year, id, score, sentence1, sentence2 (then optional licence)


def _parse_row(row: list[str]) -> tuple[str, str, float] | None:
    if len(row) < _STSB_COLUMNS:
        return None
    try:
        score = float(row[4])
    except ValueError:
        return None
    sentence_1, sentence_2 = row[5].strip(), row[6].strip()
    if not math.isfinite(score) or not sentence_1 or not sentence_2:
        return None
    return sentence_1, sentence_2, score


def read_sts_tsv(path: str | Path) -> tuple[list[str], list[str], list[float]]:
    """Read an STS-benchmark file: tab-separated, no header, one sentence pair per line.

    Columns: genre, file, year, id, score, sentence1, sentence2; some rows carry two more
    (licence/source) columns, which are ignored. Quotes are not special (``csv.QUOTE_NONE``):
    the sentences contain unbalanced ``"``. A row with fewer than 7 columns, a score that is
    not a finite number or an empty sentence is skipped, and the number of skipped rows is
    reported with a single ``UserWarning``.

    Args:
        path: the ``.csv`` file, e.g. ``stsbenchmark/sts-test.csv``.

    Returns:
        ``(sentences_1, sentences_2, scores)``, three lists of equal length.

    Raises:
        ValueError: the file does not exist, is not UTF-8, or holds no usable row.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "sts.csv"
        >>> _ = f.write_text("g\\tf\\t2012\\t1\\t4.5\\tA cat sits.\\tA cat is sitting.\\n")
        >>> read_sts_tsv(f)
        (['A cat sits.'], ['A cat is sitting.'], [4.5])
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"STS file not found: {path}")
    sentences_1: list[str] = []
    sentences_2: list[str] = []
    scores: list[float] = []
    malformed = 0
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                if not row:
                    continue
                parsed = _parse_row(row)
                if parsed is None:
                    malformed += 1
                    continue
                sentences_1.append(parsed[0])
                sentences_2.append(parsed[1])
                scores.append(parsed[2])
    except UnicodeDecodeError as error:
        raise ValueError(f"STS file {path} is not UTF-8 text: {error}") from error
    if not scores:
        raise ValueError(
            f"STS file {path} holds no usable row ({malformed} malformed); expected "
            "tab-separated genre, file, year, id, score, sentence1, sentence2"
        )
    if malformed:
        warnings.warn(
            f"{path}: skipped {malformed} malformed row(s) (fewer than 7 tab-separated "
            "columns, a non-numeric score or an empty sentence)",
            UserWarning,
            stacklevel=2,
        )
    return sentences_1, sentences_2, scores


def read_sts_benchmark(split: str = "test") -> tuple[list[str], list[str], list[float]]:
    """STS-B (Cer et al. 2017) from the shared data folder: ``text/stsbenchmark/sts-{split}.csv``.

    Args:
        split: ``"train"`` (5749 pairs), ``"dev"`` (1500) or ``"test"`` (1379).

    Returns:
        ``(sentences_1, sentences_2, scores)`` as :func:`read_sts_tsv`; scores lie in [0, 5].

    Raises:
        ValueError: unknown split, or the file is missing (the message says how to point
            ``CONTRASTKIT_DATA`` at the data).

    Example:
        >>> s1, s2, scores = read_sts_benchmark("test")  # doctest: +SKIP
        >>> len(scores)  # doctest: +SKIP
        1379
    """
    check_split(split, STSB_SPLITS, what="STS-B")
    path = shared_file(f"text/stsbenchmark/sts-{split}.csv", what=f"STS-B {split} split")
    return read_sts_tsv(path)
