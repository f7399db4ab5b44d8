"""End-to-end tests of the command line, called in-process through ``cli.main``."""

from __future__ import annotations

import subprocess
import sys

import pytest

from contrastkit import __version__
from contrastkit.cli import main


def test_demo_prints_knn_before_and_after(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    for row in ("raw pixels", "encoder before training", "encoder after training", "NT-Xent"):
        assert row in out


def test_losses_lists_every_registered_loss(capsys: pytest.CaptureFixture[str]) -> None:
    from contrastkit.registry import LOSSES

    assert main(["losses"]) == 0
    out = capsys.readouterr().out
    for name, entry in LOSSES.items():
        assert name in out and entry.module.__name__ in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--temperature", "0"], "temperature"),
        (["demo", "--epochs", "0"], "--epochs"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_user_errors_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_version_and_python_dash_m(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    done = subprocess.run(
        [sys.executable, "-m", "contrastkit", "losses"], capture_output=True, text=True, check=True
    )
    assert "nt_xent" in done.stdout
