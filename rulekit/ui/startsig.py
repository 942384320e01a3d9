"""Signals during start-up: before the CLI's own handling is in place (imports take ~0.25 s),
SIGINT and SIGTERM end the `rulekit` command with exit code 130 and one line, no traceback.

Imported first by the package, but acts only when this process is the `rulekit` command
(`rulekit ...` or `python -m rulekit ...`), never inside an application using the API.
Nothing needs cleaning up at that stage: no lock, no store write, no job exists yet.
`cli.handle_errors` replaces these handlers once a command starts.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

__all__ = ["is_cli", "install_early", "install_command"]


def is_cli() -> bool:
    argv = getattr(sys, "orig_argv", None) or sys.argv
    if os.path.basename(sys.argv[0] if sys.argv else "") == "rulekit":
        return True
    return any(a == "-m" and b == "rulekit" for a, b in zip(argv, argv[1:]))


def _exit_130(signum: int, frame: Any) -> None:
    try:
        os.write(2, b"error: interrupted\n")
    finally:
        os._exit(130)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def install_early() -> None:
    if not is_cli():
        return
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, _exit_130)
    except (ValueError, OSError):  # not the main thread
        pass


def install_command() -> None:
    """Inside a command: SIGINT and SIGTERM raise KeyboardInterrupt (exit 130, cleanups run)."""
    try:
        if signal.getsignal(signal.SIGINT) is _exit_130:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if signal.getsignal(signal.SIGTERM) is _exit_130:
            signal.signal(signal.SIGTERM, _raise_interrupt)
    except (ValueError, OSError):
        pass


install_early()
