"""Contract tests over every registered loss: defaults build, errors are ValueErrors, scalar out."""

from __future__ import annotations

import inspect

import pytest
import torch

from contrastkit import losses
from contrastkit.registry import LOSSES, build_loss


def _inputs(name: str) -> tuple[tuple, dict]:
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 8, generator=generator), torch.randn(6, 8, generator=generator)
    if name == "supcon":
        return (torch.stack([a, b], dim=1), torch.tensor([0, 1, 2, 0, 1, 2])), {}
    if name == "clip":
        return (a, b, 10.0), {}
    if name == "siglip":
        return (a, b, 10.0, -10.0), {}
    if name == "cosent":
        return (a, b, torch.linspace(0.0, 5.0, 6)), {}
    if name == "dino":
        return (torch.randn(6, 4, 8), torch.randn(6, 2, 8)), {"center": torch.zeros(8)}
    return (a, b), {}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_module_and_function_agree_and_return_a_scalar(name: str) -> None:
    entry = LOSSES[name]
    module = build_loss(name)
    args, kwargs = _inputs(name)
    value = module(*args, **kwargs)
    assert value.shape == () and torch.isfinite(value)
    function = getattr(losses, entry.function)
    assert function.__name__ == entry.function
    assert "gather_distributed" in inspect.signature(entry.module).parameters or not (
        entry.uses_negatives
    )


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_hyperparameters_are_keyword_only_and_documented(name: str) -> None:
    entry = LOSSES[name]
    for parameter in inspect.signature(entry.module).parameters.values():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name
    doc = inspect.getdoc(entry.module) or ""
    assert "arXiv" in doc and "Example" in doc, f"{entry.module.__name__} docstring"


def test_unknown_loss_names_the_choices() -> None:
    with pytest.raises(ValueError, match="nt_xent"):
        build_loss("ntxent")
