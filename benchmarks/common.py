"""What every benchmark script records about its run, and its common set-up."""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def run_record(script: str, argv: list[str], threads: int) -> dict[str, Any]:
    """The command line, git commit, date, torch version and thread count of this run."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "command": " ".join([sys.executable, script, *argv]),
        "commit": commit or "unknown",
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
    from contrastkit.eval.sts import read_sts_benchmark

    first, second, scores = read_sts_benchmark("test")
    path = folder / "sts-test-subset.tsv"
    rows = zip(first[:pairs], second[:pairs], scores[:pairs], strict=True)
    path.write_text(
        "".join(f"g\tf\t2017\t{i}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(rows))
    )
    return str(path)
