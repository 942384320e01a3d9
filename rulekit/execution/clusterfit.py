"""Worker sizes of a batch-cluster executor, and whether a job fits a worker.

    spec = worker_spec(max_workers=4, cores=2, mem="8GB", walltime="4h", gpus=0)
    check_fits(jobs, spec)        # located error (exit 2) for a job bigger than any worker
    misfit(task, spec)            # the same question at run time (resources functions)
    task_resources(tasks)         # the Dask resources a task (or a batch) asks for
    spec.dask_resources()         # what every worker offers

Every worker is alike, so "bigger than any worker" means bigger than the one size: more
`threads:` than --worker-cores, more `mem_mb` than --worker-mem, a `runtime` longer than
--worker-walltime, or more `gpu` than --worker-gpus. Dask then places a task only on a
worker with enough of each resource left, so concurrent jobs on one worker never add up to
more than it has. Demands not known yet (a resources function that runs just before the
job) are checked when the job is about to start.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import UsageError, WorkflowError
from ..core.jobvalues import parse_minutes, parse_size_mb
from ..core.model import Job
from .base import Task

__all__ = ["WorkerSpec", "worker_spec", "check_fits", "misfit", "task_resources",
           "DEFAULT_MAX_WORKERS", "DEFAULT_WORKER_MEM"]

DEFAULT_MAX_WORKERS = 4
DEFAULT_WORKER_MEM = "2GB"


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's size (every worker is alike) and how many there may be at once."""

    max_workers: int
    cores: int
    mem_mb: int                    # megabytes (10^6 bytes), as the mem_mb resource counts
    walltime_min: int | None       # None: the partition's default time limit
    gpus: int = 0

    def dask_resources(self) -> dict[str, int]:
        out = {"cpus": self.cores, "mem_mb": self.mem_mb}
        if self.gpus:
            out["gpu"] = self.gpus
        return out


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _mem_mb(text: Any) -> int:
    if _number(text) is not None:    # a bare number is megabytes, like the mem_mb resource
        return max(int(math.ceil(float(text))), 1)
    raw = str(text).strip()
    mb = int(math.ceil(float(raw))) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) \
        else parse_size_mb(raw)
    if mb is None or mb <= 0:
        raise UsageError(f"--worker-mem {text!r} is not a size",
                         hint="give a size such as 4GB or 16GiB (a bare number is MB)")
    return mb


_CLOCK = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def _walltime_min(text: Any) -> int | None:
    """SLURM's forms (minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]) or a timespan such as 2h."""
    if text is None or text == "":
        return None
    raw = str(text).strip()
    m = _CLOCK.match(raw)
    if m:
        days, a, b, c = (int(g) if g else None for g in m.groups())
        if days is None and b is None:          # "90": minutes
            seconds = (a or 0) * 60
        elif days is None and c is None:        # "MM:SS"
            seconds = (a or 0) * 60 + (b or 0)
        else:                                   # "HH:MM:SS", "D-HH", "D-HH:MM", "D-HH:MM:SS"
            seconds = (days or 0) * 86400 + (a or 0) * 3600 + (b or 0) * 60 + (c or 0)
        minutes: int | None = max(int(math.ceil(seconds / 60)), 1) if seconds else None
    else:
        minutes = parse_minutes(raw)
    if minutes is None:
        raise UsageError(f"--worker-walltime {text!r} is not a time",
                         hint="give minutes (90), HH:MM:SS (01:30:00), D-HH:MM:SS or a "
                              "timespan such as 2h")
    return minutes


def worker_spec(max_workers: int | None = None, cores: int | None = None, mem: Any = None,
                walltime: Any = None, gpus: int | None = None) -> WorkerSpec:
    """The worker size from the options' values (None: the default); UsageError if bad."""
    n = DEFAULT_MAX_WORKERS if max_workers is None else int(max_workers)
    c = 1 if cores is None else int(cores)
    g = 0 if gpus is None else int(gpus)
    for name, value, least in (("--max-workers", n, 1), ("--worker-cores", c, 1),
                               ("--worker-gpus", g, 0)):
        if value < least:
            raise UsageError(f"{name} {value}: must be at least {least}")
    return WorkerSpec(n, c, _mem_mb(DEFAULT_WORKER_MEM if mem is None else mem),
                      _walltime_min(walltime), g)


def _why_too_big(threads: Any, resources: dict[str, Any], spec: WorkerSpec,
                 ) -> tuple[str, str] | None:
    """(what the job needs, which option would make room), or None when it fits."""
    t = _number(threads)
    if t is not None and t > spec.cores:
        return f"{t:g} threads", f"--worker-cores {spec.cores}"
    mem = _number(resources.get("mem_mb"))
    if mem is not None and mem > spec.mem_mb:
        return f"mem_mb={mem:g}", f"--worker-mem gives {spec.mem_mb} MB"
    runtime = _number(resources.get("runtime"))
    if runtime is not None and spec.walltime_min is not None and runtime > spec.walltime_min:
        return (f"runtime={runtime:g} minutes",
                f"--worker-walltime gives {spec.walltime_min} minutes")
    gpu = _number(resources.get("gpu"))
    if gpu is not None and gpu > spec.gpus:
        return f"gpu={gpu:g}", f"--worker-gpus {spec.gpus}"
    return None


def _text(name: str, why: tuple[str, str]) -> str:
    return (f"job {name} needs {why[0]}, more than any worker has ({why[1]}), so it could "
            "never start")


def misfit(task: Task, spec: WorkerSpec) -> str | None:
    """Why `task` fits no worker (its values as evaluated just before it runs), or None."""
    why = _why_too_big(task.threads, task.resources, spec)
    return None if why is None else _text(f"{task.rule} (job {task.jobid})", why)


def check_fits(jobs: Iterable[Job], spec: WorkerSpec, local: Any = None) -> None:
    """A located WorkflowError (exit 2) for the first job that fits no worker; jobs for
    which `local(job)` is true run in the driver and are not checked."""
    bad = []
    for job in jobs:
        if local is not None and local(job):
            continue
        why = _why_too_big(job.threads, job.resources, spec)
        if why is not None:
            bad.append((job, why))
    if not bad:
        return
    job, why = bad[0]
    rule = job.rule
    directive = "threads" if why[0].endswith("threads") else "resources"
    facts = [("worker", f"{spec.cores} core{'s' if spec.cores != 1 else ''}, {spec.mem_mb} MB"
              + (f", {spec.walltime_min} minutes" if spec.walltime_min else "")
              + (f", {spec.gpus} gpu" if spec.gpus else ""))]
    if len(bad) > 1:
        facts.append(("also", f"{len(bad) - 1} more job{'s' if len(bad) > 2 else ''}: "
                              + ", ".join(j.name for j, _ in bad[1:6])
                              + (" ..." if len(bad) > 6 else "")))
    raise WorkflowError(_text(job.name, why), rule.spans.get(directive, rule.span), facts=facts,
                        hint="give bigger workers (--worker-cores, --worker-mem, "
                             "--worker-walltime, --worker-gpus), lower the rule's needs, or "
                             "run it in the driver with `localrules:`")


def task_resources(tasks: Sequence[Task]) -> dict[str, float]:
    """What a Dask task running `tasks` (one after another) asks of its worker."""
    out: dict[str, float] = {"cpus": 1.0}
    for task in tasks:
        out["cpus"] = max(out["cpus"], float(task.threads or 1))
        for key in ("mem_mb", "gpu"):
            value = _number(task.resources.get(key))
            if value is not None and value > 0:
                out[key] = max(out.get(key, 0.0), value)
    return out
