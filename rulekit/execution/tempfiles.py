"""temp() files in a run: who still reads them, and removing them once nobody does.

`TempFiles` is a mixin of the Scheduler (local.py): `temp_users` counts, per temp() path, the
jobs of the run that read it (filled while the graph is built); `_temps_read` is called when a
job is done with its inputs and `_remove_temps` after each step's jobs have been recorded.

Another rulekit run in the same workdir may still read a temp file (it locked it as an input
when it started): `remove_temp_files` keeps such a file, with a warning; that run, or a later
one, removes it when it is done with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import LockError
from ..state.locks import remove_unless_read
from .jobfiles import remove_paths

__all__ = ["TempFiles", "remove_temp_files"]


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


class TempFiles:
    """Mixin of the Scheduler (local.py): removing temp() files nobody reads any more."""

    temp_users: dict[str, int]
    temps_due: list[str]
    checkpoints: list[Any]
    wf: Any
    reporter: Any

    def _temps_read(self, js: Any) -> None:
        """`js` is done with its temp() inputs; one no other job of the run reads is due
        for removal (by `_remove_temps`, after the finished jobs have been recorded)."""
        for path in js.temp_inputs:
            left = self.temp_users[path] - 1
            self.temp_users[path] = left
            if left == 0:
                self.temps_due.append(path)

    def _remove_temps(self, final: bool = False) -> None:
        """Delete due temp() files, once the store has recorded the jobs that read them
        (their records must list them). While a checkpoint of this run has still to finish,
        they stay: the re-plan after it may add jobs that read them. At the end of the run
        (`final`) every due file goes."""
        if not self.temps_due:
            return
        if not final and self.checkpoints:
            self.checkpoints = [js for js in self.checkpoints
                                if js.status not in ("done", "failed", "cancelled")]
            if self.checkpoints:
                return
        due, self.temps_due = self.temps_due, []
        free = list(dict.fromkeys(p for p in due if self.temp_users.get(p) == 0))
        remove_temp_files(self.wf.workdir, free, self.reporter.warn)
