"""What every benchmark script records about its run, and its common set-up."""

from __future__ import annotations

import datetime
import json
import platform
import subprocess
import sys
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
