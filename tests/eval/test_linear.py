"""Linear probe: accuracy on easy and impossible data, sklearn agreement, fractions, records."""

from __future__ import annotations

import json

import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from contrastkit.eval import ProbeResult, linear_probe


def clusters(n: int, d: int, classes: int, spread: float, seed: int) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(classes).repeat(n // classes)
    centers = torch.randn(classes, d, generator=generator) * spread
    features = centers[labels] + torch.randn(len(labels), d, generator=generator) + 3.0
    return features, labels


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, ...]:
    """Digits through a fixed random projection to 128-D features, split 1400 / 397."""
    images, labels = load_digits(return_X_y=True)
    generator = torch.Generator().manual_seed(0)
    features = torch.tensor(images, dtype=torch.float32) @ torch.randn(64, 128, generator=generator)
    order = torch.randperm(len(labels), generator=generator)
    train, test = order[:1400], order[1400:]
    targets = torch.tensor(labels)
    return features[train], targets[train], features[test], targets[test]


def test_separable_clusters_reach_full_accuracy() -> None:
    train, train_labels = clusters(300, 16, 5, spread=6.0, seed=0)
    test, test_labels = clusters(100, 16, 5, spread=6.0, seed=0)
    result = linear_probe(train, train_labels, test, test_labels)
    assert result.top1_mean == 1.0 and result.top1_std == 0.0
    assert result.top1_per_seed == (1.0, 1.0, 1.0)
    assert result.selection_per_seed == ("holdout",) * 3


def test_random_labels_give_chance() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(1000, 32, generator=generator)
    labels = torch.randint(0, 4, (1000,), generator=generator)
    result = linear_probe(features[:600], labels[:600], features[600:], labels[600:], seeds=(0, 1))
    assert 0.15 < result.top1_mean < 0.35


def test_agrees_with_sklearn_pipeline() -> None:
    features, labels = clusters(640, 8, 4, spread=1.0, seed=1)
    train, train_labels, test, test_labels = (
        features[:240],
        labels[:240],
        features[240:],
        labels[240:],
    )
    weight_decay = 1e-2
    result = linear_probe(
        train.double(), train_labels, test.double(), test_labels,
        weight_decays=(weight_decay,), seeds=(0,), max_iter=500,
    )  # fmt: skip
    scaler = StandardScaler().fit(train.numpy())
    reference = LogisticRegression(C=1 / (len(train) * weight_decay), tol=1e-10, max_iter=10_000)
    reference.fit(scaler.transform(train.numpy()), train_labels.numpy())
    expected = reference.score(scaler.transform(test.numpy()), test_labels.numpy())
    assert 0.5 < expected < 0.99  # a problem where the fit matters
    assert abs(result.top1_mean - expected) < 1e-3
    assert result.selection_per_seed == ("none",)


def test_digits_label_fractions(digits: tuple[torch.Tensor, ...]) -> None:
    full = linear_probe(*digits, seeds=(0,))
    assert full.top1_mean > 0.93
    tenth = linear_probe(*digits, label_fraction=0.1, seeds=(0, 1))
    assert tenth.num_labelled_per_seed == (141, 141)
    assert tenth.selection_per_seed == ("holdout", "holdout")
    assert 0.75 < tenth.top1_mean < full.top1_mean
    one = linear_probe(*digits, label_fraction=0.01)
    assert one.num_labelled_per_seed == (10, 10, 10)  # 1% of ~140 a class: one each
    assert one.selection_per_seed == ("train_fit",) * 3
    assert 0.4 < one.top1_mean < tenth.top1_mean
    assert one.top1_std > 0.0
    two = linear_probe(*digits, label_fraction=0.015)
    assert two.num_labelled_per_seed == (20, 20, 20)  # two each: none left for a holdout
    assert two.selection_per_seed == ("cross_validation",) * 3
    assert one.top1_mean < two.top1_mean < tenth.top1_mean


def test_one_label_per_class_selects_on_the_subset() -> None:
    train, labels = clusters(100, 8, 5, spread=6.0, seed=3)
    result = linear_probe(train, labels, train, labels, label_fraction=0.01, seeds=(0,))
    assert result.num_labelled_per_seed == (5,)
    assert result.selection_per_seed == ("train_fit",)
    assert result.weight_decay_per_seed == (1e-2,)  # the strongest that still fits
    assert result.top1_mean > 0.9


def test_reproducible_and_seed_by_seed(digits: tuple[torch.Tensor, ...]) -> None:
    options = {"label_fraction": 0.1, "weight_decays": (1e-4, 1e-2)}
    first = linear_probe(*digits, seeds=(3, 4), **options)  # type: ignore[arg-type]
    assert first == linear_probe(*digits, seeds=(3, 4), **options)  # type: ignore[arg-type]
    alone = linear_probe(*digits, seeds=(4,), **options)  # type: ignore[arg-type]
    assert alone.top1_per_seed == first.top1_per_seed[1:]


def test_sgd_solver(digits: tuple[torch.Tensor, ...]) -> None:
    result = linear_probe(
        *digits, seeds=(0,), weight_decays=(1e-3,), solver="sgd", batch_size=128,
        learning_rate=0.01,
    )  # fmt: skip
    assert result.top1_mean > 0.9
    assert result.parameters["solver"] == "sgd" and "max_iter" not in result.parameters


def test_result_is_json_ready() -> None:
    train, labels = clusters(60, 4, 3, spread=6.0, seed=0)
    result = linear_probe(train, labels, train, labels, seeds=(0, 1), weight_decays=(0, 1e-3))
    record = result.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["protocol"] == "linear_probe"
    assert record["parameters"]["label_fraction"] == 1.0
    assert record["parameters"]["weight_decays"] == [0.0, 1e-3]
    assert record["parameters"]["num_classes"] == 3
    assert isinstance(result, ProbeResult) and isinstance(result.top1_mean, float)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"label_fraction": 0.0}, "label_fraction"),
        ({"label_fraction": 1.01}, "label_fraction"),
        ({"seeds": ()}, "seeds"),
        ({"weight_decays": ()}, "weight_decays"),
        ({"weight_decays": (1e-3, -1.0)}, "weight_decays"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"num_folds": 1}, "num_folds"),
        ({"solver": "newton"}, "solver"),
        ({"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_hyper_parameters(kwargs: dict[str, object], name: str) -> None:
    features, labels = torch.randn(10, 3), torch.arange(2).repeat(5)
    with pytest.raises(ValueError, match=name):
        linear_probe(features, labels, features, labels, **kwargs)  # type: ignore[arg-type]


def test_bad_inputs() -> None:
    features, labels = torch.randn(10, 3), torch.arange(2).repeat(5)
    with pytest.raises(ValueError, match="train_features"):
        linear_probe(features[0], labels, features, labels)
    with pytest.raises(ValueError, match="test_features"):
        linear_probe(features, labels, features.long(), labels)
    with pytest.raises(ValueError, match="same D"):
        linear_probe(features, labels, features[:, :2], labels)
    with pytest.raises(ValueError, match="train_labels"):
        linear_probe(features, labels[:9], features, labels)
    with pytest.raises(ValueError, match="test_labels"):
        linear_probe(features, labels, features, labels.float())
    with pytest.raises(ValueError, match="train_labels"):
        linear_probe(features, labels - 1, features, labels)
