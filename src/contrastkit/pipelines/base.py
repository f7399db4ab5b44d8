"""What a modality (images, text, image-text pairs) provides to turn a recipe into a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from torch import Tensor, nn

from contrastkit.recipe import Recipe
from contrastkit.train.loop import BatchSource, StepObserver


@dataclass
class TrainingSetup:
    """Everything ``fit`` needs besides the training options.

    Attributes:
        method: the method module with its encoder(s), untrained.
        source: turns sample indices into the method's batches.
        notes: lines to print after training (for example, how many corrupt files were skipped).
        observers: step observers to run beside the health monitor, each made for the run
            folder (e.g. model selection on a dev set that keeps ``run_dir/best.pt``).
    """

    method: nn.Module
    source: BatchSource
    notes: list[str] = field(default_factory=list)
    observers: list[Callable[[Path], StepObserver]] = field(default_factory=list)


class Pipeline(Protocol):
    """One modality's recipe-to-run glue; :mod:`contrastkit.runs` dispatches on the method.

    ``build_method`` must give the same architecture as ``training_setup`` so that a checkpoint's
    weights load into it; ``evaluate`` runs ``recipe.eval.protocols`` on a trained method and
    returns one record per result (the rows of ``eval.json``); ``embed`` gives a trained
    method's frozen features of some data (``contrastkit embed``) and a line saying what it
    embedded.
    """

    def training_setup(self, recipe: Recipe) -> TrainingSetup: ...

    def build_method(self, recipe: Recipe) -> nn.Module: ...

    def evaluate(self, recipe: Recipe, method: nn.Module) -> list[dict[str, Any]]: ...

    def embed(
        self, recipe: Recipe, method: nn.Module, data: str | None, split: str
    ) -> tuple[Tensor, str]: ...
