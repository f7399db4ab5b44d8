"""TrainConfig checks every recipe value: the message names the key, the value, what is wanted."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

import pytest

from contrastkit.train import TrainConfig

# (key, bad value, expected words): strings arrive from --set key=value when TOML can't parse them
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("lr", "abc", "lr must be a finite number > 0, got 'abc'"),
    ("lr", "", "lr must be a finite number > 0, got ''"),
    ("lr", float("inf"), "lr must be a finite number > 0, got inf"),
    ("lr", float("nan"), "lr must be a finite number > 0, got nan"),
    ("lr", 0.0, "lr must be a finite number > 0, got 0.0"),
    ("lr", True, "lr must be a finite number > 0, got True"),
    ("min_lr", -0.1, "min_lr must be a finite number >= 0, got -0.1"),
    ("warmup_epochs", "abc", "warmup_epochs must be a finite number >= 0, got 'abc'"),
    ("weight_decay", [1], "weight_decay must be a finite number >= 0, got [1]"),
    ("optimizer_momentum", 1.5, "optimizer_momentum must be a finite number >= 0 and <= 1"),
    ("batch_size", "abc", "batch_size must be an integer >= 2, got 'abc'"),
    ("batch_size", 1, "batch_size must be an integer >= 2, got 1"),
    ("batch_size", 8.5, "batch_size must be an integer >= 2, got 8.5"),
    ("batch_size", True, "batch_size must be an integer >= 2, got True"),
    ("epochs", "abc", "epochs must be an integer >= 1, got 'abc'"),
    ("epochs", 0, "epochs must be an integer >= 1, got 0"),
    ("accumulate", 2.0, "accumulate must be an integer >= 1, got 2.0"),
    ("log_every", None, "log_every must be an integer >= 1, got None"),
    ("checkpoint_every", 0, "checkpoint_every must be an integer >= 1, got 0"),
    ("seed", -1, "seed must be an integer >= 0, got -1"),
    ("seed", "x", "seed must be an integer >= 0, got 'x'"),
    ("max_steps", "abc", "max_steps must be an integer >= 1, got 'abc'"),
    ("max_steps", 0, "max_steps must be an integer >= 1, got 0"),
    ("time_budget_s", 0, "time_budget_s must be a finite number > 0, got 0"),
    ("time_budget_s", "1h", "time_budget_s must be a finite number > 0, got '1h'"),
    ("optimizer", "adam", "optimizer must be one of sgd, lars, adamw; got 'adam'"),
    ("precision", "fp16", "precision must be one of auto, fp32, bf16; got 'fp16'"),
    ("device", "gpu", "device must be auto, cpu, cuda, cuda:N or mps, got 'gpu'"),
    ("device", 0, "device must be auto, cpu, cuda, cuda:N or mps, got 0"),
    ("channels_last", "yes", "channels_last must be true or false, got 'yes'"),
    ("global_batch_norm", 1, "global_batch_norm must be true or false, got 1"),
    ("progress_bar", "false", "progress_bar must be true or false, got 'false'"),
    ("micro_batch_size", "abc", "micro_batch_size must be an integer >= 1"),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_VALUES)
def test_bad_value_names_the_key_the_value_and_what_is_expected(
    key: str, value: Any, expected: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        TrainConfig(**{key: value})


def test_every_field_is_checked() -> None:
    assert {f.name for f in fields(TrainConfig)} == {key for key, _, _ in BAD_VALUES}


def test_batch_size_of_one_says_why_two_are_needed() -> None:
    with pytest.raises(ValueError, match="contrastive learning compares the samples of a batch"):
        TrainConfig(batch_size=1)


def test_good_values_pass() -> None:
    config = TrainConfig(
        lr=1,
        batch_size=2,
        max_steps=20,
        time_budget_s=3,
        optimizer_momentum=0.0,
        device="cuda:1",
        seed=0,
        warmup_epochs=0,
    )
    assert config.lr == 1 and config.max_steps == 20
    assert TrainConfig(device="cpu", max_steps=None, time_budget_s=None).device == "cpu"
