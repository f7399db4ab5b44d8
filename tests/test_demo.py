"""The digits demo: data split, augmentation, and that training improves kNN accuracy."""

from __future__ import annotations

import pytest
import torch

from contrastkit.demo import DemoConfig, augment, load_digit_split, run_demo


def test_split_is_stratified_and_disjoint() -> None:
    train_x, train_y, test_x, test_y = load_digit_split(seed=0)
    assert train_x.shape[1:] == (8, 8) and len(train_x) + len(test_x) == 1797
    assert set(train_y.tolist()) == set(test_y.tolist()) == set(range(10))
    assert float(train_x.min()) >= 0.0 and float(train_x.max()) <= 1.0


def test_augment_gives_independent_views_per_sample() -> None:
    images = torch.rand(64, 8, 8)
    generator = torch.Generator().manual_seed(0)
    view_a, view_b = augment(images, generator), augment(images, generator)
    assert view_a.shape == images.shape
    assert not torch.equal(view_a, view_b)
    assert float(view_a.min()) >= 0.0 and float(view_a.max()) <= 1.0


def test_training_beats_the_untrained_encoder() -> None:
    results = run_demo(DemoConfig(epochs=20))
    before = results["encoder before training"]["top1"]
    after = results["encoder after training"]["top1"]
    assert after > before
    assert after > 0.9
    assert results["nt_xent loss"]["last epoch"] < results["nt_xent loss"]["first epoch"]


@pytest.mark.parametrize("field", ["temperature", "epochs", "batch_size", "learning_rate"])
def test_config_rejects_non_positive_values(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DemoConfig(**{field: 0})
