"""Health metrics on hand-built embeddings, the monitor's logic, and collapse in real training."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from contrastkit.data import load_dataset
from contrastkit.data.dataset import ImageDataset
from contrastkit.data.views import ViewSource
from contrastkit.encoders import SmallConvNet
from contrastkit.eval import (
    CollapseWarning,
    HealthMonitor,
    alignment,
    effective_rank,
    embedding_std,
    health_metrics,
    positive_negative_similarity,
    uniformity,
)
from contrastkit.eval.health import HEALTH_KEYS
from contrastkit.methods import SimCLR, SimSiam
from contrastkit.methods.base import MethodOutput
from contrastkit.train import fit
from contrastkit.train.config import TrainConfig
from contrastkit.transforms import digits


def collapsed(batch: int = 16, dim: int = 8) -> torch.Tensor:
    """Every row the same direction (at different norms): complete collapse."""
    return torch.linspace(1.0, 2.0, batch)[:, None] * torch.arange(1.0, dim + 1.0)


def random_orthogonal(dim: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    return q.float()


def output(z_a: torch.Tensor, z_b: torch.Tensor | None = None, **logs: float) -> MethodOutput:
    return MethodOutput(torch.tensor(0.0), (z_a, z_a if z_b is None else z_b), logs)


# --- metrics on hand-built embeddings --------------------------------------------------------


def test_collapsed_rows() -> None:
    z = collapsed()
    assert embedding_std(z) == pytest.approx(0.0, abs=1e-6)
    assert effective_rank(z) == pytest.approx(1.0, abs=1e-4)
    assert alignment(z, z) == pytest.approx(0.0, abs=1e-6)
    assert uniformity(z) == pytest.approx(0.0, abs=1e-5)
    assert positive_negative_similarity(z, z) == pytest.approx((1.0, 1.0, 0.0), abs=1e-5)


def test_orthonormal_rows() -> None:
    dim = 16
    assert effective_rank(3.0 * random_orthogonal(dim)) == pytest.approx(dim, rel=1e-4)
    # rows e_1..e_D: each column holds one 1, so its unbiased std is exactly 1/sqrt(D)
    assert embedding_std(5.0 * torch.eye(dim)) == pytest.approx(1 / math.sqrt(dim), rel=1e-5)


def test_effective_rank_matches_rankme_formula() -> None:
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(20, 6, generator=generator) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.1, 0.01])
    s = torch.linalg.svdvals(z.double())
    p = s / s.sum() + 1e-7
    assert effective_rank(z) == pytest.approx(math.exp(-float((p * p.log()).sum())), rel=1e-4)
    # singular values (3, 1): p = (3/4, 1/4)
    expected = math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert effective_rank(torch.diag(torch.tensor([3.0, 1.0]))) == pytest.approx(expected, rel=1e-5)


def test_effective_rank_is_bounded_by_min_batch_dim() -> None:
    generator = torch.Generator().manual_seed(1)
    assert effective_rank(torch.randn(3, 50, generator=generator)) <= 3.0
    assert effective_rank(torch.randn(50, 3, generator=generator)) <= 3.0
    assert effective_rank(torch.zeros(4, 3)) == 0.0


def test_alignment_and_uniformity_known_values() -> None:
    eye = torch.eye(3)
    assert alignment(eye, -eye) == pytest.approx(4.0)  # antipodal pairs, distance 2
    assert alignment(eye, -eye, alpha=1.0) == pytest.approx(2.0)
    antipodal = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(antipodal) == pytest.approx(-8.0)  # log exp(-2 * 4)
    assert uniformity(antipodal, t=1.0) == pytest.approx(-4.0)
    cross = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    # 2 antipodal pairs (squared distance 4) and 4 orthogonal ones (squared distance 2)
    expected = math.log((2 * math.exp(-8.0) + 4 * math.exp(-4.0)) / 6)
    assert uniformity(cross) == pytest.approx(expected, rel=1e-5)


def test_positive_negative_similarity_constructed() -> None:
    z_a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_b = torch.tensor([[2.0, 2.0], [0.0, 3.0]])  # cosines: diag (1/sqrt2, 1), off (0, 1/sqrt2)
    root = 1 / math.sqrt(2)
    pos, neg, gap = positive_negative_similarity(z_a, z_b)
    assert (pos, neg, gap) == pytest.approx(((root + 1) / 2, root / 2, 0.5))
    assert positive_negative_similarity(torch.eye(3), -torch.eye(3)) == pytest.approx(
        (-1.0, 0.0, -1.0)
    )


def test_positive_negative_similarity_matches_loop() -> None:
    generator = torch.Generator().manual_seed(2)
    z_a, z_b = torch.randn(5, 4, generator=generator), torch.randn(5, 4, generator=generator)
    cos = nn.functional.cosine_similarity
    pos = [float(cos(z_a[i], z_b[i], dim=0)) for i in range(5)]
    neg = [float(cos(z_a[i], z_b[j], dim=0)) for i in range(5) for j in range(5) if i != j]
    expected = (sum(pos) / 5, sum(neg) / 20)
    got = positive_negative_similarity(z_a, z_b)
    assert got == pytest.approx((*expected, expected[0] - expected[1]), abs=1e-6)


def test_health_metrics_keys_and_values() -> None:
    z = torch.eye(4, requires_grad=True)
    metrics = health_metrics(z, z.double())
    assert tuple(metrics) == HEALTH_KEYS
    assert all(type(value) is float for value in metrics.values())
    assert metrics["embedding_std"] == pytest.approx(0.5)
    assert metrics["embedding_std_healthy"] == pytest.approx(0.5)
    assert metrics["effective_rank"] == pytest.approx(4.0, rel=1e-4)
    assert metrics["effective_rank_fraction"] == pytest.approx(1.0, rel=1e-4)
    assert metrics["alignment"] == pytest.approx(0.0)
    # 8 rows (two copies of e_1..e_4): 4 coincident pairs, 24 orthogonal ones
    expected = math.log((4 + 24 * math.exp(-4.0)) / 28)
    assert metrics["uniformity"] == pytest.approx(expected, rel=1e-5)
    assert (metrics["positive_similarity"], metrics["similarity_gap"]) == pytest.approx((1, 1))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        embedding_std(torch.ones(4))
    with pytest.raises(ValueError, match="same shape"):
        alignment(torch.ones(4, 2), torch.ones(3, 2))
    with pytest.raises(ValueError, match="at least 2"):
        effective_rank(torch.ones(1, 4))
    with pytest.raises(ValueError, match="non-finite"):
        uniformity(torch.tensor([[1.0, math.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="floating-point"):
        health_metrics(torch.ones(4, 2, dtype=torch.long), torch.ones(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha"):
        alignment(torch.eye(2), torch.eye(2), alpha=0.0)
    with pytest.raises(ValueError, match="t must"):
        uniformity(torch.eye(2), t=-1.0)


# --- the monitor -----------------------------------------------------------------------------


def test_monitor_cadence_and_logs() -> None:
    monitor = HealthMonitor(every=3)
    z = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    assert monitor(1, output(z)) == {}
    assert monitor(2, output(z)) == {}
    metrics = monitor(3, output(z, temperature=0.07, queue_fill=0.5))
    assert set(metrics) == {*HEALTH_KEYS, "temperature"}
    assert metrics["temperature"] == pytest.approx(0.07)
    assert monitor.display == ("effective_rank", "embedding_std")
    assert set(monitor.display) <= set(metrics)
    assert not any(isinstance(value, torch.Tensor) for value in vars(monitor).values())


def test_monitor_warns_once_after_patience() -> None:
    monitor = HealthMonitor(every=1, patience=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in (1, 2):
            monitor(step, output(collapsed()))
    assert not caught and not monitor.collapsed
    with pytest.warns(CollapseWarning) as record:
        for step in range(3, 8):
            monitor(step, output(collapsed()))
    assert len(record) == 1
    message = str(record[0].message)
    for expected in ("effective rank 1.00 of D=8", "embedding std 0.0000", "stop-gradient"):
        assert expected in message
    for cause in ("batch", "queue", "temperature", "learning rate", "weight_decay"):
        assert cause in message
    assert monitor.collapsed and monitor.collapse_step == 3


def test_monitor_recovery_resets_the_count() -> None:
    monitor = HealthMonitor(every=1, patience=3)
    healthy = random_orthogonal(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step, z in enumerate([collapsed(), collapsed(), healthy, collapsed(), collapsed()], 1):
            monitor(step, output(z))
    assert not caught and not monitor.collapsed and monitor.collapsed_observations == 2
    with pytest.warns(CollapseWarning):
        monitor(6, output(collapsed()))
    assert monitor.collapse_step == 6


def test_monitor_quiet_on_healthy_random_embeddings() -> None:
    monitor = HealthMonitor(every=1, patience=1)
    generator = torch.Generator().manual_seed(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(1, 21):
            z_a = torch.randn(32, 16, generator=generator)
            monitor(step, output(z_a, z_a + 0.1 * torch.randn(32, 16, generator=generator)))
    assert not caught and not monitor.collapsed


def test_monitor_threshold_skip_and_validation() -> None:
    monitor = HealthMonitor(collapse_rank_fraction=0.01)
    assert monitor.collapse_threshold(64) == 1.5  # the floor for small D
    assert monitor.collapse_threshold(4096) == pytest.approx(40.96)
    nan = torch.full((4, 3), math.nan)
    assert monitor(10, output(nan)) == {}
    low_precision = HealthMonitor(every=1)(1, output(torch.eye(4, dtype=torch.bfloat16)))
    assert low_precision["effective_rank"] == pytest.approx(4.0, rel=1e-3)
    for bad in ({"every": 0}, {"patience": 0}, {"collapse_rank_fraction": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            HealthMonitor(**bad)  # type: ignore[arg-type]


# --- end to end: the real trainer on digits --------------------------------------------------
# SimSiam without stop-gradient (arXiv 2011.10566, Fig. 2) on digits: SmallConvNet(width=16,
# feature_dim=32), projector 64-64-64 with SimSiam's affine-free output BatchNorm, predictor
# bottleneck 16, batch 128, AdamW lr 0.03 with the cosine schedule over 10 epochs = 100 steps,
# seed 0, monitor every 5 steps with patience 3. The output BatchNorm keeps each dimension's
# batch std at 1, so collapse shows as the effective rank (of D=64) falling from ~11 at step
# 5 to ~1.2-1.5 by step 50; the warning fires at step 65 (seeds 0-5 all fire by step 65). The
# same budget with the stop-gradient keeps a rank of ~6, and SimCLR ~15. About 2.5 s a run.


@pytest.fixture(scope="module")
def digits_train() -> ImageDataset:
    return load_dataset("digits", "train")


def train_on_digits(method: nn.Module, data: ImageDataset, monitor: HealthMonitor) -> list[float]:
    ranks: list[float] = []

    def observe(step: int, out: MethodOutput) -> dict[str, float]:
        metrics = monitor(step, out)
        if metrics:
            ranks.append(metrics["effective_rank"])
        return metrics

    config = TrainConfig(
        epochs=10,
        batch_size=128,
        optimizer="adamw",
        lr=0.03,
        progress_bar=False,
        device="cpu",
        max_steps=100,
        seed=0,
    )
    fit(method, ViewSource(data, digits(8)), config, observer=observe)
    return ranks


def simsiam(stop_gradient: bool) -> nn.Module:
    torch.manual_seed(0)
    encoder = SmallConvNet(in_channels=1, width=16, feature_dim=32)
    return SimSiam(
        encoder,
        stop_gradient=stop_gradient,
        proj_dim=64,
        proj_hidden_dim=64,
        pred_hidden_dim=16,
    )


def simclr() -> nn.Module:
    torch.manual_seed(0)
    encoder = SmallConvNet(in_channels=1, width=16, feature_dim=32)
    return SimCLR(encoder, proj_dim=64, proj_hidden_dim=64, temperature=0.2)


def test_simsiam_without_stop_gradient_collapses(digits_train: ImageDataset) -> None:
    monitor = HealthMonitor(every=5, patience=3)
    with pytest.warns(CollapseWarning, match="representation collapse"):
        ranks = train_on_digits(simsiam(stop_gradient=False), digits_train, monitor)
    assert monitor.collapsed and monitor.collapse_step is not None
    assert ranks[0] > 5.0 and min(ranks) < 1.5


@pytest.mark.parametrize("build", [simclr, lambda: simsiam(True)], ids=["simclr", "simsiam"])
def test_healthy_training_does_not_warn(build: object, digits_train: ImageDataset) -> None:
    monitor = HealthMonitor(every=5, patience=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranks = train_on_digits(build(), digits_train, monitor)  # type: ignore[operator]
    assert not [w for w in caught if issubclass(w.category, CollapseWarning)]
    assert not monitor.collapsed and min(ranks) > 4.0


def test_monitor_state_round_trip_keeps_a_streak() -> None:
    collapsed = MethodOutput(torch.tensor(0.0), (torch.ones(8, 4), torch.ones(8, 4)))
    monitor = HealthMonitor(every=1, patience=3)
    monitor(1, collapsed)
    monitor(2, collapsed)
    restored = HealthMonitor(every=1, patience=3)
    restored.load_state_dict(monitor.state_dict())
    assert restored.collapsed_observations == 2 and not restored.collapsed
    with pytest.warns(CollapseWarning):
        restored(3, collapsed)  # the third collapsed observation in a row, across the resume
    assert restored.state_dict() == {
        "collapsed": True,
        "collapse_step": 3,
        "collapsed_observations": 3,
    }


def test_monitor_ignores_another_observers_state() -> None:
    monitor = HealthMonitor()
    with pytest.warns(UserWarning, match="starts afresh"):
        monitor.load_state_dict({"HealthMonitor": {"collapsed": True}})  # a wrapper's state
    assert monitor.state_dict() == {
        "collapsed": False,
        "collapse_step": None,
        "collapsed_observations": 0,
    }
