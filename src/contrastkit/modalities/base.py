"""What a modality plug-in provides, and the per-run cache of decoded data it reads through.

A modality (image, text, image-text, ...) is one package under ``contrastkit/modalities/``:
its recipe section (a :class:`~contrastkit.recipe.DataConfig` subclass, one comment per key)
and an object satisfying :class:`Modality`, registered in :mod:`contrastkit.registry` with its
evaluation protocols. :class:`contrastkit.Run` drives it; the modality never sees a run folder
except through the observers it asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from torch import Tensor, nn

from contrastkit.recipe import DataConfig, Recipe
from contrastkit.train.loop import BatchSource, StepObserver

T = TypeVar("T")


class Splits:
    """Decoded data of one run, each item loaded at most once per run object.

    Modalities read every data split through :meth:`get`, so one ``contrastkit train`` (train,
    evaluate, report) decodes each split once; ``loads`` counts the loads by key.

    Example:
        >>> splits = Splits()
        >>> splits.get(("digits", "test"), lambda: [1, 2]), splits.get(("digits", "test"), list)
        ([1, 2], [1, 2])
        >>> splits.loads
        {('digits', 'test'): 1}
    """

    def __init__(self) -> None:
        self._items: dict[Any, Any] = {}
        self.loads: dict[Any, int] = {}

    def get(self, key: Any, load: Callable[[], T]) -> T:
        """The item stored under ``key``, loading it with ``load()`` the first time."""
        if key not in self._items:
            self._items[key] = load()
            self.loads[key] = self.loads.get(key, 0) + 1
        return self._items[key]


@dataclass
class TrainingSetup:
    """Everything ``fit`` needs besides the training options.

    Attributes:
        method: the method module with its encoder(s), untrained.
        source: turns sample indices into the method's batches (and owns their order).
        notes: lines to print after training (for example, how many corrupt files were skipped).
        observers: step observers to run beside the health monitor, each made for the run
            folder (e.g. model selection on a dev set that keeps ``run_dir/best.pt``).
    """

    method: nn.Module
    source: BatchSource
    notes: list[str] = field(default_factory=list)
    observers: list[Callable[[Path], StepObserver]] = field(default_factory=list)


def skipped_note(skipped: list[str], what: str) -> list[str]:
    """The line to print after training about files left out (none when nothing was).

    Example:
        >>> skipped_note(["a/1.png", "a/2.png"], "unreadable image files")
        ['skipped 2 unreadable image files, e.g. a/1.png']
    """
    return [f"skipped {len(skipped)} {what}, e.g. {skipped[0]}"] if skipped else []


class Modality(Protocol):
    """One modality's recipe-to-run glue.

    Attributes:
        name: the modality's name (``MethodEntry.modality`` of its methods).
        data_section: its recipe section, a frozen :class:`DataConfig` subclass.
        default_encoder: the encoder of a recipe that names none.
        default_protocols: the protocols of a recipe that names none.
    """

    name: str
    data_section: type[DataConfig]
    default_encoder: str
    default_protocols: tuple[str, ...]

    def model_spec(self, recipe: Recipe, splits: Splits) -> dict[str, Any]:
        """What the model's shape depends on besides the recipe (e.g. image channels), read
        from the data once at training time and saved in the run folder (``model.json``)."""
        ...

    def build_method(self, recipe: Recipe, spec: dict[str, Any]) -> nn.Module:
        """The untrained method; a checkpoint's weights load into it."""
        ...

    def training_setup(self, recipe: Recipe, splits: Splits, spec: dict[str, Any]) -> TrainingSetup:
        """The method and its batch source for training."""
        ...

    def context(self, recipe: Recipe, method: nn.Module, splits: Splits) -> Any:
        """The evaluation context its protocols run on (:mod:`contrastkit.eval.protocol`)."""
        ...

    def embed(
        self,
        recipe: Recipe,
        method: nn.Module,
        splits: Splits,
        data: str | None,
        split: str,
        skip_corrupt: bool,
    ) -> tuple[Tensor, str]:
        """Frozen features of ``data`` (``contrastkit embed``) and a line saying what they are."""
        ...


__all__ = ["Modality", "Splits", "TrainingSetup", "skipped_note"]
