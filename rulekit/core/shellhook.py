"""How `shell()` in a rule file runs a command once the language has formatted it.

The language never starts processes itself: the package root installs the execution layer's
runner here (`set_shell_runner`), and `lang/namespace.py` calls what is installed. This module
imports nothing, so installing the hook costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["set_shell_runner", "shell_runner"]

_RUNNER: list[Callable[..., Any]] = []


def set_shell_runner(run: Callable[..., Any]) -> None:
    """Install `run(workflow, text, *, read, iterable)` as what shell() calls."""
    _RUNNER[:] = [run]


def shell_runner() -> Callable[..., Any] | None:
    """The installed runner, or None when only part of the package was imported."""
    return _RUNNER[0] if _RUNNER else None
