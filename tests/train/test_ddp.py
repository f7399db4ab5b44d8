"""Multi-process training: 2 gloo processes equal 1 process with the same global batch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
RECIPE = HERE.parents[1] / "recipes" / "simclr_digits.toml"


def _port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def _torchrun(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={_port()}",
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo"}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def _why(done: subprocess.CompletedProcess[str]) -> str:
    """The lines that say why a worker died (torchrun's own summary hides them), then the tail."""
    causes = [
        line
        for line in done.stderr.splitlines()
        if any(key in line for key in ("terminate", "what()", "Error", "error:", "Fatal"))
    ]
    return "\n".join(causes[:40]) + "\n...\n" + done.stderr[-1500:]


def test_two_processes_repeat_the_single_process_losses(tmp_path: Path) -> None:
    single = subprocess.run(
        [sys.executable, str(HERE / "ddp_worker.py"), str(tmp_path / "one")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert single.returncode == 0, _why(single)
    done = _torchrun(str(HERE / "ddp_worker.py"), str(tmp_path / "two"))
    assert done.returncode == 0, _why(done)
    assert "broadcast_buffers" not in done.stderr  # fit silences DDP's deprecation warning
    reference = json.loads((tmp_path / "one.rank0.json").read_text())
    ranks = [json.loads((tmp_path / f"two.rank{r}.json").read_text()) for r in range(2)]
    assert len(reference) == len(ranks[0]) == len(ranks[1]) == 20
    averaged = [(a + b) / 2 for a, b in zip(*ranks, strict=True)]
    assert averaged == pytest.approx(reference, rel=1e-4)


def test_torchrun_cli_trains_and_rank_zero_writes_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _torchrun(
        "-m",
        "contrastkit",
        "train",
        "--recipe",
        str(RECIPE),
        "--set",
        "max_steps=3",
        "--set",
        "batch_size=32",
        "--set",
        "progress_bar=false",
        "--no-eval",
        "--no-report",
        "--out",
        str(out),
    )
    assert done.returncode == 0, _why(done)
    assert "max_steps after 3 steps" in done.stdout
    assert (out / "checkpoint.pt").is_file() and (out / "recipe.json").is_file()
    assert not list(out.glob("*.tmp"))
