"""`run --touch` and `run --delete-temp-output`: act on planned outputs without running jobs.

`touch_jobs` marks the planned jobs' outputs as up to date (as `make -t` does): in
dependency order each output gets the current time (a missing one is created: an empty file,
or an empty folder for `directory()`), and the metadata store records the job as done with
today's params, code and inputs, so the next plan has nothing to do.

`delete_temp_outputs` removes every existing `temp()` output of the jobs a target needs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..core.model import Job, has_flag
from .base import JobResult, RunResult
from .tempfiles import remove_temp_files

__all__ = ["touch_jobs", "delete_temp_outputs"]


def touch_jobs(jobs: Sequence[Job], recorder: Any, warn: Callable[[str], None], *,
               quiet: bool = False) -> RunResult:
    start = time.time()
    results: list[JobResult] = []
    for job in jobs:
        now = time.time()
        for i, path in enumerate(job.output):
            if os.path.lexists(path):
                os.utime(path, None, follow_symlinks=not os.path.islink(path))
            elif has_flag(path, "directory") or has_flag(job.rule.output[i], "directory"):
                os.makedirs(path)
            else:
                folder = os.path.dirname(path)
                if folder:
                    os.makedirs(folder, exist_ok=True)
                open(path, "a").close()   # an empty file, as make -t / touch create
            if not quiet:
                print(f"touched {path}")
        result = JobResult(job, "done", now, time.time(), attempts=0)
        recorder.jobs_finished([result])
        results.append(result)
    return RunResult(results, start, time.time())


def delete_temp_outputs(jobs: Sequence[Job], root: str,
                        warn: Callable[[str], None]) -> list[str]:
    """Remove the existing temp() outputs of `jobs` that no live run reads (each one kept
    is passed to `warn`); returns what was removed."""
    paths = [str(p) for job in jobs for i, p in enumerate(job.output)
             if (has_flag(p, "temp") or has_flag(job.rule.output[i], "temp"))
             and os.path.lexists(p)]
    paths = list(dict.fromkeys(paths))
    return remove_temp_files(root, paths, warn) if paths else []
