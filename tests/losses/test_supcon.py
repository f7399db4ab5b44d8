"""Tests for supcon / SupConLoss against an independent loop reference.

Spec: the loss's docstring and README table.
"""

import math

import loss_checks as lc
import pytest
import torch
from loss_checks import ATOL, RTOL, dot, name_and, randn, unit
from torch import nn
from torch.testing import assert_close

from contrastkit.losses import SupConLoss, nt_xent, supcon


def _randint(high: int, size: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, (size,), generator=gen)


def reference_supcon(
    features: torch.Tensor, labels: torch.Tensor, temperature: float
) -> torch.Tensor:
    batch, views, _ = features.shape
    emb, lab = [], []
    for b in range(batch):
        for v in range(views):
            emb.append(unit(features[b, v].tolist()))
            lab.append(int(labels[b]))
    total, anchors = 0.0, 0
    for a in range(len(emb)):
        positives = [p for p in range(len(emb)) if p != a and lab[p] == lab[a]]
        if not positives:
            continue
        denominator = 0.0
        for c in range(len(emb)):
            if c != a:
                denominator += math.exp(dot(emb[a], emb[c]) / temperature)
        loss_a = 0.0
        for p in positives:
            loss_a += -math.log(math.exp(dot(emb[a], emb[p]) / temperature) / denominator)
        total += loss_a / len(positives)
        anchors += 1
    return torch.tensor(total / anchors, dtype=torch.float64)


# --------------------------------------------------------------------------- reference equality


@pytest.mark.parametrize("batch", [2, 5, 8])
@pytest.mark.parametrize("dim", [3, 16])
@pytest.mark.parametrize("views", [1, 2, 3])
def test_matches_reference(batch: int, dim: int, views: int) -> None:
    features = randn(batch, views, dim, seed=batch * 100 + dim * 10 + views)
    labels = _randint(max(1, batch // 2), batch, seed=batch + dim + views)
    if views == 1 and len(set(labels.tolist())) == batch:
        labels[0] = labels[1]  # at least one positive pair
    out = supcon(features, labels, temperature=0.1)
    assert out.dim() == 0
    assert_close(out, reference_supcon(features, labels, 0.1), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("temperature", [0.05, 0.5, 1.0])
def test_matches_reference_temperatures(temperature: float) -> None:
    features = randn(6, 2, 5, seed=1)
    labels = torch.tensor([0, 1, 0, 2, 1, 0])
    out = supcon(features, labels, temperature=temperature)
    assert_close(out, reference_supcon(features, labels, temperature), rtol=RTOL, atol=ATOL)


def test_anchors_without_positives_are_skipped() -> None:
    # V = 1, labels 2 and 3 are singletons: those anchors are skipped in the mean but
    # still appear in every other anchor's denominator.
    features = randn(6, 1, 4, seed=2)
    labels = torch.tensor([0, 0, 2, 1, 1, 3])
    out = supcon(features, labels, temperature=0.2)
    assert_close(out, reference_supcon(features, labels, 0.2), rtol=RTOL, atol=ATOL)


def test_default_temperature() -> None:
    features, labels = randn(4, 2, 5, seed=3), torch.tensor([1, 0, 1, 0])
    assert_close(
        supcon(features, labels), reference_supcon(features, labels, 0.1), rtol=RTOL, atol=ATOL
    )


def test_module_matches_function() -> None:
    features, labels = randn(5, 2, 6, seed=4), torch.tensor([0, 1, 1, 2, 0])
    assert_close(
        SupConLoss(temperature=0.3)(features, labels),
        supcon(features, labels, temperature=0.3),
        rtol=RTOL,
        atol=ATOL,
    )
    assert_close(SupConLoss()(features, labels), supcon(features, labels), rtol=RTOL, atol=ATOL)


def test_two_views_distinct_labels_equals_nt_xent() -> None:
    for seed, t in [(5, 0.1), (6, 0.5), (7, 0.9)]:
        features = randn(6, 2, 5, seed=seed)
        labels = torch.arange(6)
        out = supcon(features, labels, temperature=t)
        expected = nt_xent(features[:, 0], features[:, 1], temperature=t)
        assert_close(out, expected, rtol=RTOL, atol=ATOL)


def test_label_values_only_matter_through_equality() -> None:
    features = randn(5, 2, 4, seed=8)
    labels = torch.tensor([3, 7, 3, 1, 7])
    relabelled = torch.tensor([0, 1, 0, 2, 1])
    assert_close(supcon(features, labels), supcon(features, relabelled), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- known values


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_known_value_distinct_labels_one_hot(temperature: float) -> None:
    # sample 0 views = (e1, e1), sample 1 views = (e2, e2), distinct labels:
    # each anchor: one positive (s = 1), two others (s = 0) -> log(1 + 2 e^{-1/t}).
    eye = torch.eye(2, dtype=torch.float64)
    features = torch.stack([eye, eye], dim=1)  # (2, 2, 2): features[b, v] = e_b
    expected = math.log(1.0 + 2.0 * math.exp(-1.0 / temperature))
    out = supcon(features, torch.tensor([0, 1]), temperature=temperature)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_known_value_same_labels_one_hot(temperature: float) -> None:
    # Same embeddings, both samples share a label: every anchor has 3 positives
    # with similarities (1, 0, 0) and denominator D = e^{1/t} + 2, so
    # l = -(1/3) [(1/t - log D) + 2 (0 - log D)] = log D - 1 / (3 t).
    eye = torch.eye(2, dtype=torch.float64)
    features = torch.stack([eye, eye], dim=1)
    denominator = math.exp(1.0 / temperature) + 2.0
    expected = math.log(denominator) - 1.0 / (3.0 * temperature)
    out = supcon(features, torch.tensor([4, 4]), temperature=temperature)
    assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=RTOL, atol=ATOL)


def test_scale_invariance() -> None:
    features, labels = randn(5, 2, 4, seed=9), torch.tensor([0, 1, 0, 1, 2])
    scales = torch.linspace(0.05, 20.0, 10, dtype=torch.float64).reshape(5, 2, 1)
    assert_close(supcon(scales * features, labels), supcon(features, labels), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- optimisation / grads


def test_descent() -> None:
    features = nn.Parameter(randn(8, 2, 4, seed=10))
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    lc.assert_descends(lambda: supcon(features, labels, temperature=0.2), [features])


@pytest.mark.parametrize("views", [1, 2])
def test_gradcheck(views: int) -> None:
    labels = torch.tensor([0, 0, 1])
    lc.assert_gradcheck(lambda f: supcon(f, labels, temperature=0.5), randn(3, views, 4, seed=11))


# --------------------------------------------------------------------------- bad input


def test_wrong_ndim_features() -> None:
    lc.assert_shape_error(lambda: supcon(randn(4, 3, seed=0), torch.arange(4)), "features", (4, 3))


def test_integer_features() -> None:
    with pytest.raises(ValueError, match="features"):
        supcon(torch.ones(4, 2, 3, dtype=torch.long), torch.arange(4))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite(bad: float) -> None:
    features = randn(4, 2, 3, seed=0)
    features[2, 1, 0] = bad
    with pytest.raises(ValueError, match=name_and("features", "finite")):
        supcon(features, torch.tensor([0, 1, 0, 1]))


def test_labels_wrong_length() -> None:
    with pytest.raises(ValueError, match="labels"):
        supcon(randn(4, 2, 3, seed=0), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="labels"):
        SupConLoss()(randn(4, 2, 3, seed=0), torch.tensor([0, 1, 0, 1, 1]))


def test_labels_wrong_ndim() -> None:
    with pytest.raises(ValueError, match="labels"):
        supcon(randn(4, 2, 3, seed=0), torch.tensor([[0, 1, 0, 1]]))


@pytest.mark.parametrize("temperature", [0.0, -0.1])
def test_bad_temperature(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature"):
        supcon(randn(4, 2, 3, seed=0), torch.arange(4), temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        SupConLoss(temperature=temperature)


def test_no_positive_anywhere() -> None:
    # V = 1 and all labels distinct: no anchor has a positive.
    with pytest.raises(ValueError, match="positive"):
        supcon(randn(4, 1, 3, seed=0), torch.arange(4))


def test_batch_of_one_single_view() -> None:
    # B = 1, V = 1: no positives; the "batch" rule and the "positive" rule both apply.
    with pytest.raises(ValueError, match="positive") as excinfo:
        supcon(randn(1, 1, 3, seed=0), torch.tensor([0]))
    assert "batch" in str(excinfo.value)
