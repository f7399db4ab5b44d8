"""Zero-shot protocol: prompt ensembling as specified and a fake text tower with known answers."""

from __future__ import annotations

import json
import zlib

import pytest
import torch

from contrastkit.eval.zero_shot import (
    CIFAR_TEMPLATES,
    DEFAULT_TEMPLATES,
    zero_shot_accuracy,
    zero_shot_classifier,
    zero_shot_evaluate,
)

CLASSES = ["airplane", "bird", "cat", "deer", "frog", "ship"]
DIM = 64


def slot(name: str) -> int:
    return zlib.crc32(name.encode()) % DIM


def fake_encode_text(texts: list[str]) -> torch.Tensor:
    """One-hot at a hash of the class name that occurs in the prompt (any template)."""
    out = torch.zeros(len(texts), DIM)
    for i, text in enumerate(texts):
        (name,) = [c for c in CLASSES if c in text.replace(".", " ").split()]
        out[i, slot(name)] = 1.0 + i  # the norm varies per template; it must not matter
    return out


def test_slots_are_distinct() -> None:
    assert len({slot(c) for c in CLASSES}) == len(CLASSES)


@pytest.mark.parametrize("templates", [DEFAULT_TEMPLATES, CIFAR_TEMPLATES])
def test_fake_two_tower_model_is_perfect(templates: tuple[str, ...]) -> None:
    labels = torch.arange(len(CLASSES)).repeat(3)
    images = torch.zeros(len(labels), DIM)
    images[torch.arange(len(labels)), [slot(CLASSES[y]) for y in labels]] = 2.0
    images += 0.01 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))
    record = zero_shot_evaluate(images, labels, CLASSES, fake_encode_text, templates=templates)
    assert record["metrics"] == {"top1": 1.0, "top5": 1.0, "mean_per_class_top1": 1.0}
    assert record["params"]["num_templates"] == len(templates)
    assert record["params"]["class_names"] == CLASSES
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_prompt_ensembling_normalizes_then_averages_then_normalizes() -> None:
    calls: list[list[str]] = []

    def encode_text(texts: list[str]) -> torch.Tensor:
        calls.append(texts)
        return torch.tensor([[3.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # one row per template

    weights = zero_shot_classifier(["cat"], encode_text, templates=["a {}.", "the {}!"])
    assert calls == [["a cat.", "the cat!"]]  # one call per class, all templates
    expected = torch.tensor([[1.0, 1.0, 0.0]]) / 2**0.5  # not (3, 1, 0) / sqrt(10)
    torch.testing.assert_close(weights, expected)


def test_cifar_templates_are_usable() -> None:
    assert 8 <= len(CIFAR_TEMPLATES) <= 18 and len(set(CIFAR_TEMPLATES)) == len(CIFAR_TEMPLATES)
    assert all(t.count("{}") == 1 for t in CIFAR_TEMPLATES)
    assert DEFAULT_TEMPLATES == ("a photo of a {}.",)


def test_top_k_and_ties() -> None:
    classifier = torch.eye(3)
    images = torch.tensor([[1.0, 0.5, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 1.0]])
    metrics = zero_shot_accuracy(images, torch.tensor([0, 1, 2]), classifier, ks=(1, 2))
    assert metrics["top1"] == pytest.approx(2 / 3) and metrics["top2"] == 1.0
    assert metrics["mean_per_class_top1"] == pytest.approx(2 / 3)
    collapsed = zero_shot_accuracy(torch.ones(3, 3), torch.tensor([0, 1, 2]), torch.ones(3, 3))
    assert collapsed["top1"] == 0.0  # ties count against the prediction


def test_mean_per_class_differs_on_unbalanced_labels() -> None:
    classifier = torch.eye(2)
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    metrics = zero_shot_accuracy(images, torch.tensor([0, 0, 0, 1]), classifier, ks=(1,))
    assert metrics["top1"] == 0.75 and metrics["mean_per_class_top1"] == 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"class_names": "cat"}, "class_names"),
        ({"class_names": []}, "class_names"),
        ({"templates": ["a photo"]}, "templates"),
        ({"templates": []}, "templates"),
        ({"encode_text": lambda texts: torch.zeros(len(texts))}, "encode_text"),
        ({"encode_text": lambda texts: torch.zeros(len(texts) + 1, 4)}, "encode_text"),
        ({"encode_text": lambda texts: torch.full((len(texts), 4), float("nan"))}, "non-finite"),
    ],
)
def test_classifier_bad_inputs(kwargs: dict, match: str) -> None:
    arguments = {"class_names": ["cat", "dog"], "encode_text": fake_encode_text} | kwargs
    with pytest.raises(ValueError, match=match):
        zero_shot_classifier(**arguments)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((torch.eye(3, 4), torch.tensor([0, 1, 2]), torch.eye(3)), "same D"),
        ((torch.eye(3), torch.tensor([0, 1]), torch.eye(3)), "labels"),
        ((torch.eye(3), torch.tensor([0, 1, 3]), torch.eye(3)), "labels must lie"),
        ((torch.eye(3), torch.tensor([0.0, 1.0, 2.0]), torch.eye(3)), "labels"),
        ((torch.eye(3), torch.tensor([0, 1, 2]), torch.ones(3)), "classifier"),
    ],
)
def test_accuracy_bad_inputs(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        zero_shot_accuracy(*args)
