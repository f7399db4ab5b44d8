"""A run folder end to end: build from a recipe, train, reload, evaluate.

A run folder holds ``recipe.json`` (the flat recipe it was trained with), ``checkpoint.pt``,
``metrics.jsonl`` and, after evaluation, ``eval.json``. What data, model and evaluation a run
has depends on its method's modality (:mod:`contrastkit.pipelines`); this module is the same for
all of them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.eval.health import HealthMonitor
from contrastkit.eval.sts_selection import BEST_NAME
from contrastkit.methods.base import MethodOutput
from contrastkit.pipelines import pipeline_for
from contrastkit.pipelines.image import build_views, encode_dataset, load_data
from contrastkit.recipe import Recipe, recipe_from_dict
from contrastkit.train import FitResult, StepObserver, fit, load_checkpoint
from contrastkit.train.state import load_weights
from contrastkit.transforms.multiview import MultiView

RECIPE_NAME = "recipe.json"
EVAL_NAME = "eval.json"


def train_run(recipe: Recipe, run_dir: str | Path) -> FitResult:
    """Train the recipe's method in ``run_dir`` (resuming if it holds a checkpoint)."""
    run_dir = Path(run_dir)
    torch.manual_seed(recipe.train.seed)
    setup = pipeline_for(recipe.model.method).training_setup(recipe)
    _save_recipe(run_dir, recipe)
    every = recipe.eval.health_every
    observers: list[StepObserver] = [HealthMonitor(every=every)] if every > 0 else []
    observers += [make(run_dir) for make in setup.observers]
    observer = _Observers(observers) if observers else None
    result = fit(setup.method, setup.source, recipe.train, run_dir=run_dir, observer=observer)
    for note in setup.notes:
        print(note)
    return result


class _Observers:
    """Several step observers as one: their metrics merged, their displays joined."""

    def __init__(self, observers: list[StepObserver]) -> None:
        self.observers = observers
        self.display = tuple(n for o in observers for n in getattr(o, "display", ()))

    def __call__(self, step: int, output: MethodOutput) -> dict[str, float]:
        return {k: v for observer in self.observers for k, v in observer(step, output).items()}

    def finish(self, step: int) -> dict[str, float]:
        finishes = [getattr(o, "finish", None) for o in self.observers]
        return {k: v for finish in finishes if finish for k, v in finish(step).items()}

    def _stateful(self) -> dict[str, Any]:
        """The observers that keep state, by class name (unique within a run)."""
        return {type(o).__name__: o for o in self.observers if hasattr(o, "state_dict")}

    def state_dict(self) -> dict[str, Any]:
        return {name: observer.state_dict() for name, observer in self._stateful().items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, observer in self._stateful().items():
            if name in state and hasattr(observer, "load_state_dict"):
                observer.load_state_dict(state[name])


# Keys a resumed run may change: they do not alter what is trained.
RESUMABLE_CHANGES = frozenset(
    {
        "max_steps",
        "time_budget_s",
        "progress_bar",
        "log_every",
        "checkpoint_every",
        "device",
        "protocols",
        "knn_k",
        "knn_temperature",
        "label_fractions",
        "probe_seeds",
        "health_every",
        "select_every",
        "eval_data",
        "zero_shot_dataset",
        "zero_shot_limit",
        "prompt_ensemble",
        "micro_batch_size",  # gradient caching changes memory, not the gradients
    }
)


def _save_recipe(run_dir: Path, recipe: Recipe) -> None:
    """Write ``recipe.json``; when resuming, first check that nothing that matters changed."""
    path = run_dir / RECIPE_NAME
    flat = recipe.to_flat()
    if (run_dir / "checkpoint.pt").exists() and path.exists():
        saved = json.loads(path.read_text())
        changed = sorted(
            key
            for key in set(saved) | set(flat)
            if key not in RESUMABLE_CHANGES and saved.get(key) != flat.get(key)
        )
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {flat.get(k)!r}" for k in changed)
            raise ValueError(
                f"cannot resume {run_dir}: the recipe changed ({details}); train with the "
                "original settings or into a new --out folder"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(flat, indent=2) + "\n")


def load_trained(run_dir: str | Path) -> tuple[Recipe, nn.Module]:
    """A trained run's recipe and its method with the checkpoint's weights (any modality).

    When training selected a model on a dev set (``best.pt``, e.g. STS-B dev for text runs),
    those weights are loaded instead of the last checkpoint's.
    """
    run_dir = Path(run_dir)
    recipe_path = run_dir / RECIPE_NAME
    if not recipe_path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no {RECIPE_NAME}); train one first")
    recipe = recipe_from_dict(json.loads(recipe_path.read_text()))
    method = pipeline_for(recipe.model.method).build_method(recipe)
    weights = run_dir / BEST_NAME
    weights = weights if weights.is_file() else run_dir / "checkpoint.pt"
    load_weights(method, load_checkpoint(weights)["model"], run_dir)
    return recipe, method


def load_run(run_dir: str | Path) -> tuple[Recipe, nn.Module, MultiView]:
    """An image run's recipe, its trained method and its view maker (for embedding images)."""
    recipe, method = load_trained(run_dir)
    if pipeline_for(recipe.model.method) is not pipeline_for("simclr"):
        raise ValueError(
            f"{run_dir} trained {recipe.model.method!r}, not an image method; "
            "use contrastkit eval on it instead"
        )
    channels = load_data(recipe.data, recipe.data.test_split).images.shape[1]
    return recipe, method, build_views(recipe.data, channels)


def embed_run(
    run_dir: str | Path, data: str | None = None, split: str = "test"
) -> tuple[Tensor, str]:
    """A trained run's frozen features of ``data`` (see ``contrastkit embed --help``), CPU.

    Returns the (N, D) features and a line saying what was embedded.
    """
    recipe, method = load_trained(run_dir)
    return pipeline_for(recipe.model.method).embed(recipe, method, data, split)


def evaluate_run(
    run_dir: str | Path, protocols: list[str] | None = None, *, data: str | None = None
) -> list[dict[str, Any]]:
    """Run the recipe's evaluation protocols (or ``protocols``) on a trained run.

    ``data`` replaces the recipe's ``eval_data`` (what the protocols evaluate on, where the
    modality has a choice: ``stsb`` or an STS file for text runs). Writes the records to
    ``eval.json`` and returns them.
    """
    run_dir = Path(run_dir)
    recipe, method = load_trained(run_dir)
    if protocols is not None:
        recipe = dataclasses.replace(
            recipe, eval=dataclasses.replace(recipe.eval, protocols=protocols)
        )
    if data is not None:
        recipe = dataclasses.replace(recipe, eval=dataclasses.replace(recipe.eval, eval_data=data))
    results = pipeline_for(recipe.model.method).evaluate(recipe, method)
    (run_dir / EVAL_NAME).write_text(json.dumps(results, indent=2) + "\n")
    return results


__all__ = [
    "EVAL_NAME",
    "RECIPE_NAME",
    "embed_run",
    "encode_dataset",
    "evaluate_run",
    "load_run",
    "load_trained",
    "train_run",
]
