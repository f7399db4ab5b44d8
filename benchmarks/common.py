"""What every benchmark script records about its run, and its common set-up."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _git(*args: str) -> str | None:
    """The output of a git command in this checkout, or None when git cannot answer."""
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def run_record(script: str, argv: list[str], threads: int) -> dict[str, Any]:
    """The command line, git commit (and the tracked files that differ from it), date, torch
    version and thread count of this run."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "command": " ".join([sys.executable, script, *argv]),
        "commit": (_git("rev-parse", "HEAD") or "").strip() or "unknown",
        "uncommitted": None if status is None else [line[3:] for line in status.splitlines()],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "threads": threads,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def set_up(threads: int, seed: int) -> None:
    """Fix the thread count and the torch and numpy seeds."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed)


def write_results(path: Path | None, results: dict[str, Any]) -> None:
    """Write ``results`` as indented JSON to ``path`` (the scripts' ``--out``), if given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=2) + "\n")


def clear_run_dir(run_dir: Path, overwrite: bool, files: Sequence[str]) -> None:
    """Refuse to reuse a trained run folder unless ``overwrite`` (then remove ``files`` only)."""
    if (run_dir / "checkpoint.pt").exists():
        if not overwrite:
            raise SystemExit(
                f"{run_dir} already holds a checkpoint; pass --overwrite to train it again "
                "(training would otherwise resume it) or choose another --run-dir"
            )
        for name in files:
            (run_dir / name).unlink(missing_ok=True)


def sts_test_subset(pairs: int, folder: Path) -> str:
    """``stsb`` (the whole STS-B test split), or its first ``pairs`` pairs written to a file."""
    if pairs <= 0:
        return "stsb"
    from contrastkit.eval import read_sts_benchmark

    first, second, scores = read_sts_benchmark("test")
    path = folder / "sts-test-subset.tsv"
    rows = zip(first[:pairs], second[:pairs], scores[:pairs], strict=True)
    path.write_text(
        "".join(f"g\tf\t2017\t{i}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(rows))
    )
    return str(path)


def read_sts_test(name: str) -> tuple[list[str], list[str], list[float]]:
    """The pairs :func:`sts_test_subset` named: STS-B test, or its subset file."""
    from contrastkit.eval import read_sts_benchmark, read_sts_tsv

    return read_sts_benchmark("test") if name == "stsb" else read_sts_tsv(name)


def sts_record(run: Any, method: Any) -> dict[str, Any]:
    """The ``sts`` protocol's record of ``method`` (e.g. an untrained one) on ``run``'s
    ``eval_data``, through the run's evaluation context, as ``run.evaluate()`` computes it."""
    from contrastkit.registry import PROTOCOLS, modality_of

    context = modality_of(run.recipe.model.method).context(run.recipe, method, run.splits)
    (record,) = PROTOCOLS["sts"].run(context, run.recipe.params("sts"))
    return record  # type: ignore[no-any-return]


def fresh_splits(recipe: Any) -> Any:
    """An empty cache of decoded data for ``recipe`` (``contrastkit.Run.splits``: each split
    decoded at most once), for scripts that call a modality's ``training_setup`` and
    ``context`` themselves to time set-up and training apart. It is the data cache of a Run
    that is never trained, evaluated or saved (its folder is never touched)."""
    from contrastkit.run import Run

    return Run(recipe, os.devnull).splits


def image_views(recipe: Any) -> Any:
    """The view maker (a ``contrastkit.transforms.MultiView``; its ``eval`` is the evaluation
    transform) of an image recipe: the registered view recipe
    (``contrastkit.registry.VIEW_RECIPES``) at ``image_size`` with ``views_options``, at its
    default channel count (3 for ``simclr``, 1 for ``digits``: CIFAR-10's and Fashion-MNIST's)."""
    from contrastkit.registry import VIEW_RECIPES

    data = recipe.data
    return VIEW_RECIPES[data.views](data.image_size, **data.views_options)
