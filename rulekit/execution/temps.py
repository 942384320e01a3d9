"""Removing `temp()` files without pulling them from under another live run.

A temp file is removed once no job of this run reads it any more; another rulekit run in
the same workdir may still read it (it locked it as an input when it started). Such a file
stays, with a warning: that run, or a later one, removes it when it is done with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ..core.errors import LockError
from ..state.locks import remove_unless_read
from .jobfiles import remove_paths

__all__ = ["remove_temp_files"]


def remove_temp_files(root: str | os.PathLike[str], paths: Sequence[str],
                      warn: Callable[[str], None]) -> list[str]:
    """Remove `paths` that no other live run reads; warn about each one kept. Returns the
    removed paths. When the lock registry cannot be used, every file stays."""
    removed: list[str] = []

    def remove(free: list[str]) -> None:
        removed.extend(remove_paths(free))

    try:
        kept = remove_unless_read(root, paths, remove)
    except LockError as exc:
        warn(f"kept {len(paths)} temp() file(s): cannot check whether another run reads "
             f"them ({exc})")
        return removed
    for path, holder in kept.items():
        warn(f"kept temp() file {path}: a live rulekit run reads it (pid {holder.pid} on "
             f"{holder.host}); it is removed when no run needs it")
    return removed
