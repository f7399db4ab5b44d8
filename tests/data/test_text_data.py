"""Text data: every file format (with bad UTF-8, empty and malformed rows) and the real corpora."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from contrastkit.data.root import data_root
from contrastkit.data.text import TEXT_CORPORA, load_text_corpus, unlabeled_sentences
from contrastkit.data.text_captions import read_caption_groups
from contrastkit.data.text_corpus import TextCorpus
from contrastkit.data.text_files import (
    read_pairs_csv,
    read_sentences,
    read_sts_file,
    read_text_lines,
)
from contrastkit.data.text_nltk import detokenize, read_nltk_corpus, split_sentences
from contrastkit.data.text_wordnet import parse_data_line, read_wordnet

BAD_UTF8 = b"caf\xe9 au lait\n"  # latin-1, not UTF-8
SHARED_TEXT = data_root() / "text"
needs_shared = pytest.mark.skipif(
    not (SHARED_TEXT / "nltk_data").is_dir(), reason="shared data (CONTRASTKIT_DATA) is absent"
)
needs_wordnet = pytest.mark.skipif(
    not Path("/usr/share/wordnet/data.noun").is_file(),
    reason="Debian's wordnet-base is not installed (/usr/share/wordnet)",
)


# --- user files -----------------------------------------------------------------------------


def test_sentences_skip_bad_utf8_and_empty_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_bytes(b"\xef\xbb\xbfA cat sleeps.\n\n   \n" + BAD_UTF8 + b"Two dogs run.\r\n")
    with pytest.warns(UserWarning, match=r"2 empty line, 1 invalid UTF-8"):
        corpus = read_sentences(path)
    assert corpus.items == ["A cat sleeps.", "Two dogs run."]
    assert corpus.kind == "sentences" and corpus.skipped == 3
    assert corpus.reasons == {"empty line": 2, "invalid UTF-8": 1}


def test_sentences_nothing_usable(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_bytes(b"\n" + BAD_UTF8)
    with pytest.raises(ValueError, match=r"no usable text .*1 empty line, 1 invalid UTF-8"):
        read_sentences(path)
    with pytest.raises(ValueError, match="not found"):
        read_sentences(tmp_path / "missing.txt")


def test_pairs_csv_with_quotes_and_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_bytes(
        b"Positive,Anchor,source\n"
        b'"A dog, running.",A dog runs.,x\n'
        b"only one column\n"
        b",empty anchor,x\n"
        b"\n" + b"ok positive," + BAD_UTF8 + b"fine positive,fine anchor\n"
    )
    with pytest.warns(UserWarning, match="skipped"):
        corpus = read_pairs_csv(path)
    assert corpus.kind == "pairs"
    assert corpus.items == [("A dog runs.", "A dog, running."), ("fine anchor", "fine positive")]
    assert corpus.reasons == {
        "row with missing columns": 1,
        "row with an empty text": 1,
        "empty line": 1,
        "invalid UTF-8": 1,
    }


def test_triples_csv(tmp_path: Path) -> None:
    path = tmp_path / "triples.csv"
    path.write_text("anchor,positive,negative\na,b,c\nd,e,\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="1 row with an empty text"):
        corpus = load_text_corpus(path)
    assert corpus.kind == "triples" and corpus.items == [("a", "b", "c")]
    assert corpus.texts() == ["a", "b", "c"]


def test_pairs_csv_needs_a_header(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("a cat,a feline\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header naming the columns anchor,positive"):
        read_pairs_csv(path)


def test_sts_file_reuses_the_evaluation_parser(tmp_path: Path) -> None:
    path = tmp_path / "sts.csv"
    path.write_text(
        "g\tf\t2012\t1\t4.5\tA cat sits.\tA cat is sitting.\textra\tlicence\n"
        "g\tf\t2012\t2\tnot-a-score\tA.\tB.\n"
        "g\tf\t2012\t3\t0.5\tA dog.\tA car.\n",
        encoding="utf-8",
    )
    with pytest.warns(UserWarning, match="skipped 1 malformed row"):
        corpus = load_text_corpus(path)  # .csv whose first line is tab-separated: STS
    assert corpus.kind == "scored_pairs" and corpus.reasons == {"malformed row": 1}
    assert corpus.items == [("A cat sits.", "A cat is sitting.", 4.5), ("A dog.", "A car.", 0.5)]
    with pytest.warns(UserWarning):
        assert read_sts_file(path).texts()[:2] == ["A cat sits.", "A cat is sitting."]


def test_caption_groups(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_bytes(
        b"image,caption\n"
        b"a.jpg,A dog runs.\n"
        b'a.jpg,"A dog, running."\n'
        b"b.jpg,A lone caption.\n"
        b"c.jpg,\n"
        b"c.jpg,Two cats.\n" + b"c.jpg," + BAD_UTF8 + b"c.jpg,Cats, two of them.\n"
    )
    with pytest.warns(UserWarning, match="1 image with a single caption"):
        corpus = read_caption_groups(path)
    assert corpus.kind == "groups" and corpus.names == ["a.jpg", "c.jpg"]
    assert corpus.items == [("A dog runs.", "A dog, running."), ("Two cats.", "Cats")]
    assert corpus.reasons["invalid UTF-8"] == 1
    assert corpus.reasons["row with an empty image or caption"] == 1


def test_caption_groups_need_a_header(tmp_path: Path) -> None:
    path = tmp_path / "captions.txt"
    path.write_text("a.jpg,A dog runs.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header image,caption"):
        read_caption_groups(path)


def test_unknown_name_or_extension(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown text corpus 'bookcorpus'"):
        load_text_corpus("bookcorpus")
    with pytest.raises(ValueError, match="text file not found"):
        load_text_corpus(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="split"):
        load_text_corpus("stsb", split="validation")


def test_text_corpus_checks_kind_and_names() -> None:
    with pytest.raises(ValueError, match="kind"):
        TextCorpus([], kind="paragraphs", source="x")
    with pytest.raises(ValueError, match="one per item"):
        TextCorpus([("a", "b")], kind="groups", source="x", names=[])


# --- NLTK zips and WordNet (temporary copies of their formats) -------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_brown_tags_are_dropped(tmp_path: Path) -> None:
    text = (
        b"\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ,/, it/pps is/bez 1/2/cd ./.\n\n"
        b"\tA/at second/od one/cd ./.\n"
    )
    archive = _zip(tmp_path / "brown.zip", {"brown/ca01": text, "brown/README": b"not text"})
    corpus = read_nltk_corpus("brown", archive)
    assert corpus.items == ['The jury said " no ", it is 1/2.', "A second one."]


def test_line_corpora_skip_bad_utf8(tmp_path: Path) -> None:
    archive = _zip(
        tmp_path / "sentence_polarity.zip",
        {
            "sentence_polarity/rt-polarity.pos": b"a fine film .\n" + BAD_UTF8 + b"\n",
            "sentence_polarity/rt-polarity.neg": b"a dull film .\n",
            "sentence_polarity/README.txt": b"about the data\n",
        },
    )
    with pytest.warns(UserWarning, match="1 invalid UTF-8"):
        corpus = read_nltk_corpus("sentence_polarity", archive)
    assert corpus.items == ["a dull film .", "a fine film ."]


def test_running_text_and_rte(tmp_path: Path) -> None:
    speech = b"Fellow citizens:\n\nWe met. It rained! Then 3 left?\n"
    archive = _zip(tmp_path / "inaugural.zip", {"inaugural/1789-Washington.txt": speech})
    assert read_nltk_corpus("inaugural", archive).items == [
        "Fellow citizens:",
        "We met.",
        "It rained!",
        "Then 3 left?",
    ]
    xml = b'<c><pair id="1"><t>Oil rose. Gas fell.</t><h>Oil rose.</h></pair></c>'
    archive = _zip(tmp_path / "rte.zip", {"rte/rte1_dev.xml": xml, "rte/broken.xml": b"<c>"})
    with pytest.warns(UserWarning, match="1 unparsable XML file"):
        corpus = read_nltk_corpus("rte", archive)
    assert corpus.items == ["Oil rose.", "Gas fell.", "Oil rose."]


def test_nltk_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown NLTK corpus"):
        read_nltk_corpus("gutenberg", tmp_path / "x.zip")
    (tmp_path / "brown.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="cannot read"):
        read_nltk_corpus("brown", tmp_path / "brown.zip")


def test_detokenize_and_split_sentences() -> None:
    assert detokenize(["it", "'s", "(", "fine", ")", "$", "5", "."]) == "it's (fine) $5."
    assert split_sentences("One. Two?\nThree") == ["One.", "Two?", "Three"]


def test_wordnet_from_a_temporary_folder(tmp_path: Path) -> None:
    header = b"  1 This software and database is provided AS IS\n"
    lines = {
        "noun": header + b'00001 03 n 02 big_cat 0 lion 0 000 | a large feline; "a big cat"  \n',
        "verb": b'00002 29 v 01 run 0 000 | move fast; "she runs"; "he ran"  \n',
        "adj": b"garbage without a bar\n" + BAD_UTF8,
        "adv": b"00003 02 r 01 fast 0 000 | quickly  \n",
    }
    for part, data in lines.items():
        (tmp_path / f"data.{part}").write_bytes(data)
    with pytest.warns(UserWarning, match="1 malformed line, 1 invalid UTF-8"):
        corpus = read_wordnet(tmp_path)
    assert corpus.items == [
        "a large feline",
        "a big cat",
        "move fast",
        "she runs",
        "he ran",
        "quickly",
    ]
    with pytest.warns(UserWarning):
        pairs = read_wordnet(tmp_path, pairs=True)
    assert pairs.items == [
        ("a large feline", "a big cat"),
        ("move fast", "she runs"),
        ("move fast", "he ran"),
    ]
    gloss = parse_data_line(lines["noun"].decode().splitlines()[1], "noun")
    assert gloss is not None and gloss.words == ("big cat", "lion")
    with pytest.raises(ValueError, match="wordnet-base"):
        read_wordnet(tmp_path / "missing")


# --- the real corpora -------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize(
    ("name", "kind", "size"),
    [
        ("brown", "sentences", 57340),
        ("sentence_polarity", "sentences", 10662),
        ("subjectivity", "sentences", 10000),
        ("movie_reviews", "sentences", 64720),
        ("flickr8k_captions", "groups", 8091),
        ("stsb", "scored_pairs", 5749),
    ],
)
def test_real_corpora(name: str, kind: str, size: int) -> None:
    corpus = load_text_corpus(name)
    assert corpus.kind == kind and len(corpus) == size and corpus.skipped == 0
    assert all(isinstance(text, str) and text for text in corpus.texts()[:1000])
    if name == "flickr8k_captions":
        assert {len(group) for group in corpus.items} == {5}


@needs_shared
def test_real_nltk_all_reports_skipped_lines() -> None:
    with pytest.warns(UserWarning, match="invalid UTF-8"):
        corpus = load_text_corpus("nltk")  # inaugural and state_union hold a few non-UTF-8 bytes
    assert len(corpus) > 170_000 and corpus.skipped < 500


@needs_wordnet
def test_real_wordnet() -> None:
    corpus = load_text_corpus("wordnet")
    assert len(corpus) > 150_000 and corpus.skipped == 0
    pairs = load_text_corpus("wordnet_pairs")
    assert len(pairs) > 40_000 and pairs.kind == "pairs"


@needs_shared
@needs_wordnet
@pytest.mark.filterwarnings("ignore:NLTK")
def test_unlabeled_sentences_are_distinct_and_limited() -> None:
    corpus = unlabeled_sentences(limit=200_000, seed=1)
    assert len(corpus) == 200_000
    keys = {" ".join(t.lower().split()) for t in corpus.items}
    assert len(keys) == 200_000
    assert all(len(t.split()) >= 3 for t in corpus.items[:5000])
    assert corpus.reasons["duplicate"] > 0


def test_corpus_names() -> None:
    assert {"wordnet", "nltk", "brown", "flickr8k_captions", "stsb"} <= set(TEXT_CORPORA)


# --- read_text_lines: what embed reads, one row per line ------------------------------------


def test_read_text_lines_keeps_every_line_in_place(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"\xef\xbb\xbffirst\n\n" + BAD_UTF8 + b"  spaced \r\nform\x0cfeed\rlast")
    lines = read_text_lines(path)
    assert lines == ["first", "", "caf\ufffd au lait", "  spaced ", "form\x0cfeed", "last"]
    with pytest.warns(UserWarning):
        kept = read_sentences(path).items
    assert len(kept) == len(lines) - 2  # training data skips the empty and the invalid line


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", []), (b"\n", [""]), (b"a\n", ["a"]), (b"a", ["a"]), (b"a\n\n", ["a", ""])],
)
def test_read_text_lines_counts_lines_like_an_editor(
    tmp_path: Path, data: bytes, expected: list[str]
) -> None:
    (tmp_path / "in.txt").write_bytes(data)
    assert read_text_lines(tmp_path / "in.txt") == expected


def test_read_text_lines_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"text file not found: .*nowhere\.txt"):
        read_text_lines(tmp_path / "nowhere.txt")
