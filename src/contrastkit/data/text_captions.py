"""Captions grouped by image (Flickr8k): the captions of one image are positives for each other."""

from __future__ import annotations

import csv
from pathlib import Path

from contrastkit.data.root import shared_file
from contrastkit.data.text_corpus import Skips, TextCorpus, decoded_lines, finish, read_bytes

FLICKR8K_CAPTIONS = "text/flickr8k-captions/captions.txt"


def read_caption_groups(path: str | Path | None = None) -> TextCorpus:
    """Captions grouped by image from an ``image,caption`` CSV file with a header row.

    Flickr8k (Hodosh et al. 2013) gives 5 independent human captions per image: 8,091 groups,
    40,455 captions. Groups keep the file's order of images and captions. An image with a
    single usable caption gives no positive pair and is skipped (counted), like rows with a
    missing column, an empty caption or invalid UTF-8.

    Note: STS-B's "images" genre comes from Flickr8k/PASCAL captions, so captions can overlap
    STS-B's test pairs; keep them out of STS-B model selection.

    Args:
        path: the CSV file; by default the shared data folder's Flickr8k captions
            (``text/flickr8k-captions/captions.txt`` under ``CONTRASTKIT_DATA``).

    Returns:
        A :class:`TextCorpus` of kind ``"groups"`` (tuples of captions), ``names`` holding
        each group's image file.

    Raises:
        ValueError: a missing file, a header without ``image`` and ``caption`` columns, or no
            image with at least two captions.

    Example:
        >>> import pathlib, tempfile
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "captions.txt"
        >>> _ = f.write_text("image,caption\\na.jpg,A dog runs.\\na.jpg,\\"A dog, running.\\"\\n")
        >>> corpus = read_caption_groups(f)
        >>> corpus.items, corpus.names
        ([('A dog runs.', 'A dog, running.')], ['a.jpg'])
    """
    if path is None:
        path = shared_file(FLICKR8K_CAPTIONS, what="Flickr8k captions")
    skips = Skips()
    rows = csv.reader(decoded_lines(read_bytes(path, what="captions file"), skips))
    header = [name.strip().lower() for name in next(rows, [])]
    if "image" not in header or "caption" not in header:
        raise ValueError(
            f"{path}: the first row must be the header image,caption, got {header}; "
            "add it (one row per caption: image file name, caption text)"
        )
    image_column, caption_column = header.index("image"), header.index("caption")
    groups: dict[str, list[str]] = {}
    for row in rows:
        if len(row) <= max(image_column, caption_column):
            skips.add("empty line" if not any(row) else "row with missing columns")
            continue
        image, caption = row[image_column].strip(), row[caption_column].strip()
        if not image or not caption:
            skips.add("row with an empty image or caption")
            continue
        groups.setdefault(image, []).append(caption)
    kept = {image: tuple(captions) for image, captions in groups.items() if len(captions) > 1}
    skips.add("image with a single caption", len(groups) - len(kept))
    return finish(
        list(kept.values()),
        skips,
        kind="groups",
        source=str(path),
        fix="expected image,caption rows with at least two captions per image",
        names=list(kept),
    )
