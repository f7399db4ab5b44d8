"""Ctrl-C during training: finish the current step, save a checkpoint, then stop."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any


class StopRequest:
    """Context manager that turns the first SIGINT into a request to stop at a step boundary.

    Stopping between steps keeps the checkpoint exact (EMA teachers and queues are updated
    inside a step). A second Ctrl-C interrupts immediately: it raises a plain
    ``KeyboardInterrupt`` whose message is one line for the user (a command-line front end
    catches it, prints the message without a traceback and exits with 130). Outside the main
    thread (where signal handlers cannot be installed) it does nothing.
    """

    ABORTED = "training aborted by a second Ctrl-C; the last saved checkpoint, if any, is kept"

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt(self.ABORTED)
        self.requested = True
        print(
            "\nstopping after this step and saving a checkpoint (Ctrl-C again to abort)",
            file=sys.stderr,
        )

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
