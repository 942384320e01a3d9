"""stdout that may be a pipe its reader closes early: `rulekit run | head -3`.

Writing to such a pipe raises BrokenPipeError. A run must not stop for that (its jobs, their
records and locks matter more than its progress lines), and a listing cut short by `head`
is what the user asked for. So the first broken write points the file descriptor at
/dev/null and everything after it is dropped quietly; the command carries on and ends with
its own exit code.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["PipeSafe", "guard_stdout"]


class PipeSafe:
    """A text stream (sys.stdout, a document's stream) whose writes survive a closed pipe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Make sys.stdout a PipeSafe one (once)."""
    if not isinstance(sys.stdout, PipeSafe):
        sys.stdout = PipeSafe(sys.stdout)
