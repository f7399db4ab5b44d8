"""A run: one folder from recipe to report, with the trained model handed forward in memory.

:class:`Run` owns a run folder::

    recipe.json     the flat recipe it was trained with (every key, resolved)
    model.json      what the model's shape depends on besides the recipe (image channels)
    checkpoint.pt   the full training state (model, optimizer, data position, random states)
    best.pt         weights selected on a dev set during training (text runs with select_every)
    metrics.jsonl   one record per logged step
    eval.json       the evaluation records ({"protocol", "params", "metrics"})
    report.html     the self-contained report

and the steps ``train``, ``evaluate``, ``embed`` and ``report``. Within one ``Run`` object the
trained method and every decoded data split are kept in memory, so ``contrastkit train``
(train, evaluate, report) decodes each split once. What data, model and evaluation a run has is
its method's modality (:func:`contrastkit.registry.modality_of`); this module is the same for
all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from contrastkit.data.atomic_write import write_atomically
from contrastkit.distributed import rank
from contrastkit.eval.health import HealthMonitor
from contrastkit.methods.base import MethodOutput
from contrastkit.modalities.base import Splits
from contrastkit.modalities.text.selection import BEST_NAME
from contrastkit.recipe import Recipe, read_recipe_file, recipe_from_dict
from contrastkit.registry import PROTOCOLS, modality_of
from contrastkit.train import FitResult, StepObserver, fit, load_checkpoint
from contrastkit.train.state import CHECKPOINT_NAME, load_weights

RECIPE_NAME = "recipe.json"
SPEC_NAME = "model.json"
EVAL_NAME = "eval.json"
Record = dict[str, Any]


class Run:
    """A run folder and what it holds in memory.

    Build one with :func:`train_run` (new or resumed training) or
    :func:`contrastkit.load_run` (a trained folder), or ``Run(recipe, folder)``.

    Attributes:
        recipe: the run's recipe.
        folder: the run folder.
        splits: the decoded data of this run object (each split decoded once); runs over
            the same data (a sweep) may share one.

    Example:
        >>> import contrastkit
        >>> recipe = "recipes/simclr_digits.toml"
        >>> run = contrastkit.train_run(recipe, "runs/x", epochs=5)  # doctest: +SKIP
        >>> run.evaluate()  # doctest: +SKIP
        >>> features, what = run.embed()  # doctest: +SKIP
        >>> run.report()  # doctest: +SKIP
    """

    def __init__(self, recipe: Recipe, folder: str | Path, *, splits: Splits | None = None) -> None:
        self.recipe = recipe
        self.folder = Path(folder)
        self.modality = modality_of(recipe.model.method)
        self.splits = splits if splits is not None else Splits()
        self._method: nn.Module | None = None
        self._spec: dict[str, Any] | None = None
        self._context: Any = None

    @classmethod
    def load(cls, folder: str | Path) -> Run:
        """The run in ``folder`` (written by training), its model loaded on first use."""
        folder = Path(folder)
        path = folder / RECIPE_NAME
        if not path.is_file():
            raise ValueError(f"{folder} is not a run folder (no {RECIPE_NAME}); train one first")
        try:
            values = json.loads(path.read_text())
        except ValueError as error:
            raise ValueError(
                f"{path} is not valid JSON ({error}); train into a new folder"
            ) from error
        return cls(recipe_from_dict(values, saved=True), folder)

    # --- the model ---------------------------------------------------------------------

    @property
    def spec(self) -> dict[str, Any]:
        """What the model's shape depends on besides the recipe (``model.json``)."""
        if self._spec is None:
            path = self.folder / SPEC_NAME
            if path.is_file():
                self._spec = json.loads(path.read_text())
            else:  # a folder from before model.json: read it off the data
                self._spec = self.modality.model_spec(self.recipe, self.splits)
        return self._spec

    @property
    def method(self) -> nn.Module:
        """The trained method: the one just trained, else the folder's selected or last weights."""
        if self._method is None:
            method = self.modality.build_method(self.recipe, self.spec)
            load_weights(method, load_checkpoint(self.weights_path())["model"], self.folder)
            self._method = method
        return self._method

    def weights_path(self) -> Path:
        """``best.pt`` when training selected a model on a dev set, else ``checkpoint.pt``."""
        best = self.folder / BEST_NAME
        return best if best.is_file() else self.folder / CHECKPOINT_NAME

    # --- the steps -----------------------------------------------------------------------

    def train(self) -> FitResult:
        """Train in the folder (resuming from its checkpoint); keeps the trained method."""
        torch.manual_seed(self.recipe.train.seed)
        self._spec = self.modality.model_spec(self.recipe, self.splits)
        setup = self.modality.training_setup(self.recipe, self.splits, self._spec)
        self._save_recipe()
        every = self.recipe.eval.health_every
        observers: list[StepObserver] = [HealthMonitor(every=every)] if every > 0 else []
        observers += [make(self.folder) for make in setup.observers]
        observer = _Observers(observers) if observers else None
        result = fit(
            setup.method, setup.source, self.recipe.train, run_dir=self.folder, observer=observer
        )
        for note in setup.notes:
            print(note)
        best = self.folder / BEST_NAME
        if best.is_file():  # evaluate the weights selected on the dev set
            load_weights(setup.method, load_checkpoint(best)["model"], self.folder)
        self._method, self._context = setup.method, None
        return result

    def evaluate(
        self, protocols: list[str] | None = None, *, data: str | None = None, save: bool = True
    ) -> list[Record]:
        """Run the recipe's evaluation protocols (or ``protocols``) on the trained method.

        ``data`` replaces the data option of the protocols that have one (``eval_data`` for
        ``sts``, ``zero_shot_dataset`` for ``zero_shot``). With ``save``, the records are
        written to ``eval.json`` (:meth:`save_eval`). Returns the records.
        """
        recipe = self.recipe.with_eval(protocols, data)
        records = run_protocols(recipe, self.context())
        if save:
            self.save_eval(records)
        return records

    def context(self) -> Any:
        """The modality's evaluation context for the trained method, kept for this run object
        (features it computes, e.g. of the image splits, are computed once: evaluation and the
        report share them)."""
        if self._context is None:
            self._context = self.modality.context(self.recipe, self.method, self.splits)
        return self._context

    def save_eval(self, records: list[Record]) -> Path:
        """Write ``eval.json`` atomically; an ``OSError`` names the folder."""
        path = self.folder / EVAL_NAME
        _write_text(path, json.dumps(records, indent=2) + "\n")
        return path

    def embed(
        self,
        data: str | None = None,
        *,
        split: str = "test",
        skip_corrupt: bool = False,
        dim: int | None = None,
        precision: str = "float32",
    ) -> tuple[Tensor, str]:
        """Frozen features (N, D) of ``data`` (see ``contrastkit embed --help``; default: the
        run's own data set where the modality has one), on the CPU, and a line saying what
        was embedded.

        ``dim``: keep the first ``dim`` coordinates, re-normalized (for a run trained with
        ``matryoshka_dims``). ``precision``: ``float32``, ``int8`` (int8 tensor, per-dimension
        ranges calibrated on these embeddings) or ``binary`` (sign bits packed 8 per byte,
        uint8 (N, ceil(D / 8))); see :mod:`contrastkit.eval.compression`.
        """
        from contrastkit.eval.compression import check_precision, quantize, truncate

        check_precision(precision)
        features, what = self.modality.embed(
            self.recipe, self.method, self.splits, data, split, skip_corrupt
        )
        if dim is not None:
            features = truncate(features, dim)
        return quantize(features, precision), what

    def export(self, format: str, out: str | Path) -> Path:
        """Write the trained model in ``format`` (``contrastkit export --help``; the names of
        :data:`contrastkit.registry.EXPORT_FORMATS` that apply to the run's modality) into the
        new or empty folder ``out``, with a model card; returns ``out``."""
        from contrastkit.export import write_export
        from contrastkit.registry import export_format

        return write_export(self, export_format(format, self.modality.name), out)

    def report(self, *, max_points: int = 2000) -> Path:
        """Write ``report.html`` (:func:`contrastkit.report.write_report`) and return its path."""
        from contrastkit.report import write_report

        return write_report(self, max_points=max_points)

    # --- the folder ----------------------------------------------------------------------

    def _save_recipe(self) -> None:
        """Write ``recipe.json`` and ``model.json``; when resuming, first check that nothing
        that matters changed."""
        path = self.folder / RECIPE_NAME
        flat = self.recipe.to_flat()
        if (self.folder / CHECKPOINT_NAME).exists() and path.is_file():
            saved = json.loads(path.read_text())
            resumable = self.recipe.resumable_keys()
            changed = sorted(
                key
                for key in set(saved) | set(flat)
                if key not in resumable and saved.get(key) != flat.get(key)
            )
            if changed:
                details = ", ".join(f"{k}: {saved.get(k)!r} -> {flat.get(k)!r}" for k in changed)
                raise ValueError(
                    f"cannot resume {self.folder}: the recipe changed ({details}); train with the "
                    "original settings or into a new --out folder"
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        if rank() == 0:  # with several processes, one writes
            _write_text(path, json.dumps(flat, indent=2) + "\n")
            _write_text(self.folder / SPEC_NAME, json.dumps(self.spec, indent=2) + "\n")


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; an ``OSError`` names the file."""
    try:
        write_atomically(path, lambda handle: handle.write(text.encode()))
    except OSError as error:
        raise OSError(f"cannot write {path}: {error.strerror or error}") from error


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


def run_protocols(recipe: Recipe, context: Any) -> list[Record]:
    """The records of ``recipe.protocols`` on an evaluation context (a trained run's, or one
    over features you have, such as :class:`contrastkit.eval.protocols.FeatureSplits`)."""
    return [
        r for name in recipe.protocols for r in PROTOCOLS[name].run(context, recipe.params(name))
    ]


def train_run(
    recipe: str | Path | Recipe | dict[str, Any],
    out: str | Path,
    *,
    overrides: list[str] | None = None,
    **settings: Any,
) -> Run:
    """Train a recipe into the run folder ``out`` (resuming if it holds a checkpoint).

    The Python twin of ``contrastkit train --recipe RECIPE --out OUT --set key=value``:
    ``recipe`` is a TOML path, a flat dict or a :class:`~contrastkit.recipe.Recipe`;
    ``overrides`` are ``"key=value"`` strings and ``settings`` recipe keys as keyword
    arguments (``epochs=5``). Returns the :class:`Run`, its trained method in memory; it is not
    evaluated (call ``run.evaluate()``).

    Raises:
        KeyboardInterrupt: training was interrupted with Ctrl-C (the checkpoint is saved;
            training again resumes).
        contrastkit.train.TrainingDivergedError: the loss became nan or inf.
    """
    if isinstance(recipe, Recipe):
        values = recipe.to_flat()
    elif isinstance(recipe, dict):
        values = dict(recipe)
    else:
        values = read_recipe_file(recipe)
    run = Run(recipe_from_dict({**values, **settings}, overrides), out)
    if run.train().stopped == "interrupted":
        raise KeyboardInterrupt(f"training interrupted; the checkpoint in {out} resumes it")
    return run


def load_run(folder: str | Path) -> Run:
    """The trained run in ``folder`` (``contrastkit eval/embed/report RUN`` open it so)."""
    return Run.load(folder)


__all__ = ["EVAL_NAME", "RECIPE_NAME", "SPEC_NAME", "Run", "load_run", "run_protocols", "train_run"]
