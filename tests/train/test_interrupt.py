"""Ctrl-C during training: the first stops at a step boundary, a second aborts at once."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from tiny_run import NoiseSource, TinyMethod, config

from contrastkit.train import fit
from contrastkit.train.interrupt import StopRequest


def test_first_ctrl_c_requests_a_stop_and_a_second_aborts_with_a_short_message() -> None:
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt) as caught:
            os.kill(os.getpid(), signal.SIGINT)
    assert type(caught.value) is KeyboardInterrupt
    assert str(caught.value) == StopRequest.ABORTED
    assert "second Ctrl-C" in str(caught.value) and "\n" not in str(caught.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_leaves_fit_as_a_plain_keyboard_interrupt() -> None:
    class DoubleInterrupt(NoiseSource):
        calls = 0

        def __call__(
            self, indices: torch.Tensor, generator: torch.Generator, device: torch.device
        ) -> tuple[torch.Tensor, torch.Tensor]:
            self.calls += 1
            if self.calls == 3:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)
            return super().__call__(indices, generator, device)

    with pytest.raises(KeyboardInterrupt, match="second Ctrl-C"):
        fit(TinyMethod(), DoubleInterrupt(), config())
