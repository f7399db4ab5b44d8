"""load_cifar10: the real test split when present, the cache and the errors on a tiny pack."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from contrastkit.data import cifar, data_root, load_cifar10

CIFAR_TEST = data_root() / "image" / "cifar10-jpeg" / "test.npz"
needs_cifar = pytest.mark.skipif(
    not CIFAR_TEST.is_file(),
    reason=f"CIFAR-10 not found at {CIFAR_TEST}: set CONTRASTKIT_DATA to the shared data folder",
)


def _pack(path: Path, count: int = 6, size: int = 8) -> np.ndarray:
    """Write a packed-JPEG .npz of ``count`` random images; return what PIL decodes them to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    blobs, decoded = [], []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, "JPEG")
        blobs.append(np.frombuffer(buffer.getvalue(), np.uint8))
        decoded.append(np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))
    np.savez(
        path,
        jpeg=np.concatenate(blobs),
        offsets=np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64),
        labels=(np.arange(count) % 2).astype(np.int16),
        classes=np.array(["even", "odd"]),
        names=np.array([f"img{i}.jpg" for i in range(count)]),
    )
    return np.stack(decoded).transpose(0, 3, 1, 2)


@needs_cifar
def test_real_test_split() -> None:
    dataset = load_cifar10("test", cache=False)
    assert (
        tuple(dataset.images.shape) == (10_000, 3, 32, 32) and dataset.images.dtype == torch.uint8
    )
    assert dataset.labels is not None
    assert torch.bincount(dataset.labels).tolist() == [1000] * 10
    assert dataset.classes[0] == "airplane" and dataset.classes[9] == "truck"
    with np.load(CIFAR_TEST, allow_pickle=False) as npz:
        first = npz["jpeg"][npz["offsets"][0] : npz["offsets"][1]].tobytes()
    direct = np.array(Image.open(io.BytesIO(first)).convert("RGB"))
    assert dataset.images[0].float().mean().item() == pytest.approx(direct.mean(), abs=1e-4)
    assert torch.equal(dataset.images[0], torch.from_numpy(direct).permute(2, 0, 1))


def test_tiny_pack_decodes_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    expected = _pack(data / "test.npz")
    first = load_cifar10("test", root=data)
    np.testing.assert_array_equal(first.images.numpy(), expected)
    assert first.labels is not None and first.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert first.classes == ["even", "odd"] and first.name == "cifar10/test"
    assert len(list((tmp_path / "cache").glob("cifar10-test-*.npy"))) == 1
    assert [p.name for p in data.iterdir()] == ["test.npz"]

    def no_decoding(path: Path) -> np.ndarray:
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(cifar, "decode_packed", no_decoding)
    assert torch.equal(load_cifar10("test", root=data).images, first.images)
    stat = (data / "test.npz").stat()
    os.utime(data / "test.npz", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="decoded although cached"):
        load_cifar10("test", root=data)


def test_cache_off_writes_nothing(tmp_path: Path) -> None:
    _pack(tmp_path / "data" / "train.npz")
    load_cifar10("train", root=tmp_path / "data", cache=False)
    assert not (tmp_path / "cache").exists()


def test_cache_inside_data_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pack(tmp_path / "test.npz")
    monkeypatch.setenv("CONTRASTKIT_CACHE", str(tmp_path / "inside"))
    with pytest.warns(UserWarning, match="inside the data folder"):
        load_cifar10("test", root=tmp_path)
    assert not (tmp_path / "inside").exists()


def test_missing_file_names_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTRASTKIT_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="CONTRASTKIT_DATA") as error:
        load_cifar10("train")
    assert str(tmp_path / "nowhere" / "image" / "cifar10-jpeg" / "train.npz") in str(error.value)
    with pytest.raises(ValueError, match=r"train\.npz") as error:
        load_cifar10("train", root=tmp_path)
    assert "root=" not in str(error.value) and "given to load_cifar10" in str(error.value)
    with pytest.raises(ValueError, match="'train', 'test'"):
        load_cifar10("all")


def test_corrupt_files(tmp_path: Path) -> None:
    (tmp_path / "train.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a readable \.npz"):
        load_cifar10("train", root=tmp_path, cache=False)
    _pack(tmp_path / "test.npz")
    with np.load(tmp_path / "test.npz") as npz:
        parts = dict(npz)
    parts["jpeg"] = parts["jpeg"].copy()
    parts["jpeg"][parts["offsets"][2] : parts["offsets"][3]] = 0
    np.savez(tmp_path / "test.npz", **parts)
    with pytest.raises(ValueError, match=r"image 2 \(img2.jpg\) does not decode"):
        load_cifar10("test", root=tmp_path, cache=False)
    np.savez(tmp_path / "test.npz", **{k: v for k, v in parts.items() if k != "names"})
    with pytest.raises(ValueError, match=r"missing keys \['names'\]"):
        load_cifar10("test", root=tmp_path, cache=False)
