"""Helpers for the job-execution CLI tests: a temp workflow folder and `rulekit` as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def rk(folder: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None
       ) -> subprocess.CompletedProcess[str]:
    """`python -m rulekit ARGS` in `folder`, output captured."""
    full_env = dict(os.environ, **(env or {}))
    full_env.pop("RULEKIT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "rulekit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def run_ok(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    res = rk(folder, "run", "--cores", "2", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "internal error" not in res.stdout + res.stderr
    return res


def nothing_to_do(folder: Path, *args: str) -> None:
    res = rk(folder, "run", "--cores", "2", *args)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "nothing to do" in (res.stdout + res.stderr).lower(), res.stdout + res.stderr
