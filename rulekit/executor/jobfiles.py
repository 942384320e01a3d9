"""What happens to a job's files around its run, in the driver.

Before: old outputs and logs removed (a failing job must not leave a stale output that looks
complete), folders of outputs, logs and benchmark created. After: `touch()` outputs touched,
every declared output checked, `protected()` outputs made read-only. On failure or
interruption: outputs removed. `temp()` outputs are removed by the scheduler through
`remove_paths` once no pending job needs them.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable

from ..model import Job, has_flag

__all__ = ["FileOps"]


class FileOps:
    """Per-run helper; remembers which folders exist to skip repeated makedirs."""

    def __init__(self) -> None:
        self._dirs: set[str] = {""}

    def _makedirs(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)

    def prepare(self, job: Job) -> str | None:
        """Get ready to run `job`; returns an error text if it must not run."""
        try:
            for path in job.output:
                if has_flag(path, "protected") and os.path.lexists(path):
                    return (f"protected output {path} exists; remove it by hand to rebuild it "
                            "(rulekit never overwrites a protected() file)")
            for path in job.output:
                _remove(path)
                if has_flag(path, "directory"):
                    os.makedirs(path, exist_ok=True)
                else:
                    self._makedirs(path)
            for path in job.log:
                _remove(path)
                self._makedirs(path)
            if job.benchmark:
                self._makedirs(job.benchmark)
        except OSError as exc:
            return f"cannot prepare the job's files: {exc}"
        return None

    def missing_outputs(self, job: Job) -> list[str]:
        """Touch touch() outputs, then list declared outputs that do not exist."""
        missing = []
        for path in job.output:
            if has_flag(path, "touch"):
                try:
                    with open(path, "a"):
                        pass
                    os.utime(path)
                except OSError:
                    pass
            if not os.path.lexists(path):
                missing.append(str(path))
        return missing

    @staticmethod
    def protect(job: Job) -> None:
        for path in job.output:
            if has_flag(path, "protected"):
                _make_read_only(path)

    @staticmethod
    def remove_outputs(job: Job) -> list[str]:
        """Remove what exists of the job's outputs; returns the paths removed."""
        return remove_paths(job.output)


def remove_paths(paths: Iterable[str]) -> list[str]:
    removed = []
    for path in paths:
        if _remove(path):
            removed.append(str(path))
    return removed


def _remove(path: str) -> bool:
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)
        return True
    except PermissionError:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
            return True
        raise


def _make_read_only(path: str) -> None:
    mask = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    p = os.path.join(root, name)
                    os.chmod(p, os.stat(p).st_mode & mask)
        os.chmod(path, os.stat(path).st_mode & mask)
    except OSError:
        pass
