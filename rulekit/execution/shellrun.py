"""Running shell commands: the argv for a command and `shell()` inside `run:` bodies.

    shell_argv(command, executable, prefix, suffix)   bash gets `-euo pipefail`; a command
                                                      too long for one argv goes in a file
    run_shell(workflow, text, read=, iterable=)       what `shell("...")` does once the
                                                      language (lang/namespace.py) formatted it

Formatting and quoting are core/shellfmt.py; `shell:` jobs are spawned by the runners.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from typing import Any

__all__ = ["ShellCommandError", "shell_argv", "run_shell"]


class ShellCommandError(RuntimeError):
    """A `shell()` call inside a `run:` body exited with a non-zero status."""

    def __init__(self, command: str, returncode: int) -> None:
        super().__init__(f"shell command exited with status {returncode}: {command}")
        self.command = command
        self.returncode = returncode


def shell_argv(command: str, executable: str = "bash", prefix: str = "",
               suffix: str = "") -> list[str]:
    """The argv running `command`: bash gets `-euo pipefail`; another shell just `-c`."""
    text = f"{prefix}{command}{suffix}"
    exe = _which(executable)
    strict = ["-euo", "pipefail"] if os.path.basename(exe) in ("bash", "zsh") else []
    if len(text.encode()) > _MAX_ARG:
        # Linux refuses one argv string over 128 KiB (E2BIG), e.g. `touch {output}` with
        # 10^4 paths: hand such a command over in a script file that removes itself.
        # In the working directory's .rulekit/ (cwd here), which Dask workers share.
        folder = os.path.abspath(os.path.join(".rulekit", "tmp"))
        os.makedirs(folder, exist_ok=True)
        fd, path = tempfile.mkstemp(prefix="cmd-", suffix=".sh", dir=folder)
        with os.fdopen(fd, "w") as fh:
            fh.write('rm -f -- "$0"\n' + text + "\n")
        return [exe, *strict, path]
    return [exe, *strict, "-c", text]


_MAX_ARG = 100_000


@functools.lru_cache(maxsize=16)
def _which(executable: str) -> str:
    return shutil.which(executable) or executable


def run_shell(workflow: Any, text: str, *, read: bool = False, iterable: bool = False) -> Any:
    """Run `shell("...")`'s formatted command for a `run:` body (or top-level code).

    Runs in the caller's process group (a worker's own group), so terminating the worker's
    group also stops the command. As in Snakemake, `read=True` returns the command's
    standard output as text and `iterable=True` returns its lines (without newlines).
    """
    argv = shell_argv(text, workflow.shell_executable, workflow.shell_prefix,
                      workflow.shell_suffix)
    capture = subprocess.PIPE if (read or iterable) else None
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=capture)
    if proc.returncode != 0:
        raise ShellCommandError(text, proc.returncode)
    if capture is None:
        return None
    out = proc.stdout.decode("utf-8", "replace")
    return iter(out.splitlines()) if iterable else out
