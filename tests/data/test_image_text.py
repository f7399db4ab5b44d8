"""Image-caption data: CSV parsing, the fixed split, missing images, caption sampling, caching."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from pair_data import write_pairs
from torch import nn

from contrastkit.data.feature_cache import cached_features, feature_cache_path, weights_digest
from contrastkit.data.image_text import (
    load_image_captions,
    locate_captions,
    read_captions,
    split_names,
)
from contrastkit.data.pair_source import CaptionPairSource, TensorPairSource


def test_load_split_and_captions(tmp_path: Path) -> None:
    root = write_pairs(tmp_path / "pairs")
    train = load_image_captions(root, "train", image_size=16)
    test = load_image_captions(root, "test", image_size=16)
    assert train.names == ["img00.png", "img01.png", "img02.png", "img03.png"]
    assert test.names == ["img04.png"] and tuple(test.images.shape) == (1, 3, 16, 16)
    assert train.captions[1][2] == "caption 2 of image 1, with a comma"
    texts, owners = train.flat_captions()
    assert len(texts) == 12 and owners.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    whole = load_image_captions(root / "captions.txt", "all", image_size=8)
    assert len(whole) == 5 and whole.images.dtype == torch.uint8


def test_split_is_by_sorted_name() -> None:
    names = [f"{i:03d}.jpg" for i in range(1000)][::-1]
    train, test = split_names(names, "train"), split_names(names, "test")
    assert len(train) == 800 and len(test) == 200 and test[0] == "800.jpg"
    assert not set(train) & set(test)
    with pytest.raises(ValueError, match="unknown split"):
        split_names(names, "val")


def test_missing_images_are_listed_unless_skipped(tmp_path: Path) -> None:
    root = write_pairs(tmp_path / "pairs", images=10, missing=2)
    with pytest.raises(
        ValueError, match=r"2 of the 2 test images .*img08.png, img09.png.*skip-missing"
    ):
        load_image_captions(root, "test", image_size=8)
    kept = load_image_captions(root, "all", image_size=8, skip_missing=True)
    assert len(kept) == 8 and kept.skipped == ["img08.png", "img09.png"]


def test_malformed_csv_names_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("file,text\na.png,hi\n")
    with pytest.raises(ValueError, match="header 'image,caption'"):
        read_captions(bad)
    bad.write_text("image,caption\na.png,hi,there\n")
    with pytest.raises(ValueError, match="line 2"):
        read_captions(bad)
    with pytest.raises(ValueError, match="image-caption data"):
        load_image_captions(tmp_path / "nowhere")


class Texts(list):
    """A stand-in for Tokens that keeps the drawn captions readable."""

    @property
    def batch_size(self) -> int:
        return len(self)

    def to(self, device: torch.device) -> Texts:
        return self


def test_caption_sampling_is_deterministic_and_covers_all_captions(tmp_path: Path) -> None:
    data = load_image_captions(write_pairs(tmp_path / "pairs"), "all", image_size=8)
    source = CaptionPairSource(data, tokenize=Texts)
    indices = torch.arange(5)

    def draw(seed: int) -> list[str]:
        return source(indices, torch.Generator().manual_seed(seed), torch.device("cpu")).b

    assert draw(0) == draw(0)
    seen = {text for seed in range(30) for text in draw(seed)}
    assert len(seen) == 15  # every caption of every image
    assert all(text.endswith(f"of image {i}, with a comma") for i, text in enumerate(draw(1)))


def test_sources_take_cached_features(tmp_path: Path) -> None:
    data = load_image_captions(write_pairs(tmp_path / "pairs"), "all", image_size=8)
    source = CaptionPairSource(
        data, image_features=torch.randn(5, 4), caption_features=torch.arange(15.0)[:, None]
    )
    batch = source(torch.tensor([4, 0]), torch.Generator(), torch.device("cpu"))
    assert batch.a is None and tuple(batch.features_a.shape) == (2, 4)
    assert 12 <= batch.features_b[0, 0] <= 14 and 0 <= batch.features_b[1, 0] <= 2
    with pytest.raises(ValueError, match="one row per caption"):
        CaptionPairSource(data, caption_features=torch.randn(5, 2))
    pairs = TensorPairSource(torch.randn(6, 3), torch.randn(6, 2), labels=torch.arange(6))
    assert pairs(torch.tensor([1, 2]), torch.Generator(), torch.device("cpu")).labels.tolist() == [
        1,
        2,
    ]


def test_feature_cache_is_keyed_by_weights_settings_and_keys(tmp_path: Path) -> None:
    layer, x = nn.Linear(3, 2), torch.randn(4, 3)
    calls = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return layer(x)

    first = cached_features(layer, list("abcd"), compute, tag="t", root=tmp_path)
    again = cached_features(layer, list("abcd"), compute, tag="t", root=tmp_path)
    assert torch.equal(first, again) and len(calls) == 1 and not first.requires_grad
    cached_features(layer, list("abcd"), compute, tag="t", settings="size=64", root=tmp_path)
    cached_features(layer, list("abce"), compute, tag="t", root=tmp_path)
    digest = weights_digest(layer)
    with torch.no_grad():
        layer.weight.add_(1.0)
    assert weights_digest(layer) != digest
    cached_features(layer, list("abcd"), compute, tag="t", root=tmp_path)
    assert len(calls) == 4 and not list(tmp_path.glob("*.tmp"))
    path = feature_cache_path(layer, list("abcd"), tag="t", root=tmp_path)
    path.write_bytes(b"not a tensor")  # a corrupt entry is recomputed and rewritten
    cached_features(layer, list("abcd"), compute, tag="t", root=tmp_path)
    assert len(calls) == 5 and torch.load(path, weights_only=True).shape == (4, 2)
    with pytest.raises(ValueError, match="one row per key"):
        cached_features(layer, list("abc"), compute, tag="u", root=tmp_path)


def flickr_available() -> bool:
    try:
        locate_captions("flickr8k_1k")
    except ValueError:
        return False
    return True


@pytest.mark.skipif(not flickr_available(), reason="shared data (CONTRASTKIT_DATA) not found")
def test_flickr8k_1k_has_800_train_and_200_test_images_with_5_captions() -> None:
    test = load_image_captions("flickr8k_1k", "test", image_size=32)
    assert len(test) == 200 and all(len(c) == 5 for c in test.captions)
    csv_path, _ = locate_captions("flickr8k_1k")
    assert test.names == sorted(read_captions(csv_path))[800:]  # the last 200 names
    assert tuple(test.images.shape) == (200, 3, 32, 32)
