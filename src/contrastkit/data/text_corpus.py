"""What a text reader returns: the usable items, and a count of what it skipped and why."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_KINDS = ("sentences", "pairs", "triples", "groups", "scored_pairs")


@dataclass
class TextCorpus:
    """Text items read from a file or a corpus, with the skipped rows counted by reason.

    Attributes:
        items: the usable items; their type depends on ``kind``:
            ``"sentences"``: ``str``; ``"pairs"``: ``(anchor, positive)``; ``"triples"``:
            ``(anchor, positive, negative)``; ``"groups"``: a tuple of texts that are positives
            for each other (the captions of one image); ``"scored_pairs"``:
            ``(sentence1, sentence2, score)``.
        kind: one of :data:`TEXT_KINDS`.
        source: where the items come from (a path or a corpus name), for messages.
        reasons: skipped rows per reason ("invalid UTF-8", "empty line", ...).
        names: a name per item, or None (the image file of each caption group).

    Example:
        >>> corpus = TextCorpus(["a b", "c"], kind="sentences", source="demo",
        ...                     reasons={"empty line": 2})
        >>> len(corpus), corpus.skipped, corpus.texts()
        (2, 2, ['a b', 'c'])
    """

    items: list[Any]
    kind: str
    source: str
    reasons: dict[str, int] = field(default_factory=dict)
    names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in TEXT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(TEXT_KINDS)}, got {self.kind!r}")
        if self.names is not None and len(self.names) != len(self.items):
            raise ValueError(
                f"names has {len(self.names)} entries for {len(self.items)} items: one per item"
            )

    @property
    def skipped(self) -> int:
        """Rows or lines left out, all reasons together."""
        return sum(self.reasons.values())

    def __len__(self) -> int:
        return len(self.items)

    def texts(self) -> list[str]:
        """Every text of every item, in order (scores left out): e.g. for unsupervised use."""
        if self.kind == "sentences":
            return list(self.items)
        return [text for item in self.items for text in item if isinstance(text, str)]


class Skips:
    """Count skipped rows by reason while reading."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, reason: str, count: int = 1) -> None:
        """Count ``count`` rows skipped for ``reason``."""
        if count:
            self.counts[reason] += count


def finish(
    items: list[Any],
    skips: Skips,
    *,
    kind: str,
    source: str,
    fix: str,
    names: list[str] | None = None,
) -> TextCorpus:
    """Make the :class:`TextCorpus`; warn once about skipped rows, fail if nothing is usable.

    Args:
        items: the usable items.
        skips: what was skipped.
        kind: the items' kind.
        source: the path or name, for messages.
        fix: what the file should hold, said in the error when nothing is usable.
        names: a name per item, or None.

    Raises:
        ValueError: no usable item.
    """
    reasons = dict(skips.counts)
    summary = ", ".join(f"{count} {reason}" for reason, count in reasons.items())
    if not items:
        detail = f" (skipped: {summary})" if summary else ""
        raise ValueError(f"{source}: no usable text{detail}; {fix}")
    if reasons:
        warnings.warn(f"{source}: skipped {summary}", UserWarning, stacklevel=3)
    return TextCorpus(items, kind=kind, source=source, reasons=reasons, names=names)


def decoded_lines(data: bytes, skips: Skips) -> Iterator[str]:
    """The lines of ``data`` decoded as UTF-8; undecodable lines are counted and left out.

    A leading byte-order mark is dropped; line ends (``\\n``, ``\\r\\n``) are kept, so that
    ``csv.reader`` still sees quoted fields that span lines.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for raw in data.splitlines(keepends=True):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            skips.add("invalid UTF-8")


def read_bytes(path: str | Path, *, what: str) -> bytes:
    """The bytes of ``path``, or a ``ValueError`` naming ``what`` when it is not a file."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"{what} not found: {file}; check the path")
    return file.read_bytes()


__all__ = ["Skips", "TextCorpus", "decoded_lines", "finish", "read_bytes"]
