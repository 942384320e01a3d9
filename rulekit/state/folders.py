"""rulekit's own folders in a working directory (`.rulekit/`, `.rulekit-locks/`)."""

from __future__ import annotations

import os

__all__ = ["private_folder", "LOCK_DIR", "lock_dir", "run_files"]

LOCK_DIR = ".rulekit-locks"


def lock_dir(root_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(root_dir), LOCK_DIR)


def run_files(root_dir: str | os.PathLike[str]) -> list[str]:
    """The `run-*.json` files in the lock folder (none when it is missing or unreadable).
    Cheap on purpose: with none, a run has no dead run to recover from and needs neither
    the registry lock nor the lock module (a no-op run asks this first)."""
    try:
        names = os.listdir(lock_dir(root_dir))
    except OSError:
        return []
    return [n for n in names if n.startswith("run-") and n.endswith(".json")]


def private_folder(path: str) -> None:
    """Create the folder if needed, with a `.gitignore` of `*` in it: what rulekit keeps
    for itself never shows up in `git status` nor gets committed by `git add -A`."""
    os.makedirs(path, exist_ok=True)
    ignore = os.path.join(path, ".gitignore")
    if not os.path.exists(ignore):
        try:
            with open(ignore, "x", encoding="utf-8") as fh:
                fh.write("*\n")
        except OSError:   # created meanwhile by another run, or a read-only folder: fine
            pass
