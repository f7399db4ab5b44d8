"""Properties every batched op shares: per-sample independence, determinism, p, range, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from contrastkit.transforms import (
    ColorJitter,
    RandomGaussianBlur,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomSolarize,
)

# Each factory builds the op with a given probability (the crop has none and always applies).
OPS: dict[str, Callable[[float], object]] = {
    "crop": lambda p: RandomResizedCrop(size=8, scale=(0.1, 1.0)),
    "flip": lambda p: RandomHorizontalFlip(p=p),
    "jitter": lambda p: ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=p),
    "grayscale": lambda p: RandomGrayscale(p=p),
    "blur": lambda p: RandomGaussianBlur(kernel_size=3, p=p),
    "solarize": lambda p: RandomSolarize(p=p),
}
WITH_PROBABILITY = [name for name in OPS if name != "crop"]


def _run(op: object, images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    return op(images, torch.Generator().manual_seed(seed))  # type: ignore[operator]


@pytest.mark.parametrize("name", sorted(OPS))
def test_identical_samples_get_different_augmentations(name: str, rgb: torch.Tensor) -> None:
    same = rgb[:1].expand(32, -1, -1, -1).contiguous()
    out = _run(OPS[name](0.5), same)
    distinct = {tuple(sample.flatten().tolist()) for sample in out}
    assert len(distinct) > 1, "every sample got the same parameters"


@pytest.mark.parametrize("name", sorted(OPS))
def test_same_seed_same_output_and_generator_state_resumes(name: str, rgb: torch.Tensor) -> None:
    op = OPS[name](0.5)
    assert torch.equal(_run(op, rgb, seed=7), _run(op, rgb, seed=7))
    generator = torch.Generator().manual_seed(7)
    op(rgb, generator)  # type: ignore[operator]
    state = generator.get_state()
    second = op(rgb, generator)  # type: ignore[operator]
    generator.set_state(state)
    assert torch.equal(op(rgb, generator), second)  # type: ignore[operator]


@pytest.mark.parametrize("name", WITH_PROBABILITY)
def test_probability_zero_is_identity(name: str, rgb: torch.Tensor) -> None:
    assert torch.equal(_run(OPS[name](0.0), rgb), rgb)


@pytest.mark.parametrize("name", WITH_PROBABILITY)
def test_probability_one_changes_every_sample(name: str, rgb: torch.Tensor) -> None:
    out = _run(OPS[name](1.0), rgb)
    changed = (out != rgb).flatten(1).any(dim=1)
    assert changed.all()


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("channels", [1, 3])
def test_range_shape_and_dtype(name: str, channels: int) -> None:
    images = torch.rand(8, channels, 16, 16, generator=torch.Generator().manual_seed(0))
    images[:, :, :2] = 1.0  # saturated rows push brightness and contrast past 1
    out = _run(OPS[name](1.0), images)
    expected_side = 8 if name == "crop" else 16
    assert out.shape == (8, channels, expected_side, expected_side)
    assert out.dtype == images.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", sorted(OPS))
def test_bad_images_raise(name: str) -> None:
    op = OPS[name](0.5)
    with pytest.raises(ValueError, match="images"):
        _run(op, torch.rand(3, 8, 8))  # no batch dimension
    with pytest.raises(ValueError, match="images"):
        _run(op, torch.zeros(2, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="channels"):
        _run(op, torch.rand(2, 4, 8, 8))
    with pytest.raises(ValueError, match="generator"):
        op(torch.rand(2, 3, 8, 8), None)  # type: ignore[operator]


@pytest.mark.parametrize("name", WITH_PROBABILITY)
@pytest.mark.parametrize("p", [-0.1, 1.1])
def test_probability_outside_unit_interval_raises(name: str, p: float) -> None:
    with pytest.raises(ValueError, match="p must be"):
        OPS[name](p)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(OPS))
def test_cuda_matches_cpu(name: str, rgb: torch.Tensor) -> None:
    op = OPS[name](0.5)
    cpu = _run(op, rgb)
    cuda = _run(op, rgb.cuda())
    assert cuda.device.type == "cuda"
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-5, rtol=0)
