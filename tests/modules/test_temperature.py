"""LearnableTemperature: value, clamping, gradient and checkpointing."""

from __future__ import annotations

import io

import pytest
import torch

from contrastkit.modules import LearnableTemperature


def test_initial_value_and_gradient() -> None:
    temperature = LearnableTemperature(0.2)
    value = temperature()
    assert float(value) == pytest.approx(0.2)
    value.backward()
    # d exp(-s) / ds = -exp(-s) = -t
    assert float(temperature.log_scale.grad) == pytest.approx(-0.2)


def test_clamped_at_both_bounds_with_zero_gradient() -> None:
    temperature = LearnableTemperature(0.1, min_temperature=0.05, max_temperature=0.5)
    with torch.no_grad():
        temperature.log_scale.fill_(10.0)
    value = temperature()
    assert float(value) == pytest.approx(0.05)
    value.backward()
    assert float(temperature.log_scale.grad) == 0.0
    with torch.no_grad():
        temperature.log_scale.fill_(-10.0)
    assert float(temperature()) == pytest.approx(0.5)


def test_state_round_trip() -> None:
    temperature = LearnableTemperature(0.3)
    with torch.no_grad():
        temperature.log_scale.add_(0.25)
    buffer = io.BytesIO()
    torch.save(temperature.state_dict(), buffer)
    buffer.seek(0)
    restored = LearnableTemperature(0.3)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert float(restored()) == float(temperature())


def test_invalid_bounds() -> None:
    with pytest.raises(ValueError, match="min_temperature"):
        LearnableTemperature(0.001)
