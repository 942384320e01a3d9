"""rulekit's own folders in a working directory (`.rulekit/`, `.rulekit-locks/`)."""

from __future__ import annotations

import os

__all__ = ["private_folder"]


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
