"""The executor's small interfaces: what a job runner and a run observer must offer.

    scheduler (local.py, in the driver)  -- Task -->  JobRunner  -- Outcome -->  scheduler
                                                      ├── LocalRunner (pool.py): worker processes
                                                      │   for run:/script:, posix_spawn for shell:
                                                      └── a Dask runner: worker.run_task on a cluster

The scheduler decides what runs when (cores, resources, priority, failures, signals); a runner
only starts tasks and reports outcomes. A `Task` is plain picklable data, so any runner can ship
it to another process or host, where `worker.run_task(task)` executes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..core.model import Job, NamedList

__all__ = ["RunReporter", "format_duration", "WorkflowRef", "Task", "Outcome", "JobRunner", "RunObserver", "ExecOptions",
           "JobResult", "RunResult", "default_cores", "interrupted_text", "RECORD_AFTER_S"]


RECORD_AFTER_S = 0.001  # a started job's process is recorded within about this long


def interrupted_text(keep_incomplete: bool) -> str:
    """The message of the Interrupted error ending a run stopped by a signal."""
    if keep_incomplete:
        return ("interrupted: running jobs were stopped; their outputs were kept "
                "(--keep-incomplete) and stay marked incomplete")
    return "interrupted: running jobs were stopped and their outputs removed"


def default_cores() -> int:
    """The CPUs this process may use (affinity-aware on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds >= 0.1 else f"{seconds * 1000:.0f}ms"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"



class RunReporter:
    """What a scheduler tells about a run as it goes: this one says nothing.

    The API and the CLI pass the console reporter (ui/runview.py); a scheduler started
    without one (tests, embedding code) stays quiet except for warnings on stderr."""

    def run_started(self, total: int) -> None:
        pass

    def set_total(self, total: int) -> None:
        pass

    def job_started(self, job: Job, command: str | None = None, message: str | None = None) -> None:
        pass

    def job_output(self, job: Job, text: str) -> None:
        pass

    def job_retrying(self, job: Job, attempt: int, error: str) -> None:
        pass

    def job_finished(self, result: Any) -> None:
        pass

    def job_cut_off(self, job: Job) -> None:
        pass

    def flush(self) -> None:
        """Called before the scheduler waits: write anything held back."""

    def warn(self, text: str) -> None:
        print(f"warning: {text}", file=sys.stderr)

    def interrupted(self) -> None:
        pass

    def run_finished(self, result: Any) -> None:
        pass


@dataclass(frozen=True)
class WorkflowRef:
    """How a worker loads the workflow once per process: rule file, final config, workdir."""

    path: str
    config: dict[str, Any]
    workdir: str


@dataclass(slots=True)
class Task:
    """One job as plain data. `command` is the formatted shell argv for kind "shell"."""

    jobid: int
    rule: str
    kind: str                      # "run" | "shell" | "script"
    input: NamedList
    output: NamedList
    params: NamedList
    wildcards: dict[str, str]
    threads: int
    resources: dict[str, Any]
    log: NamedList
    benchmark: str | None = None
    command: list[str] | None = None
    script: str | None = None      # absolute path of a script: body
    workflow: WorkflowRef | None = None   # None: the worker already holds the workflow
    redirect: str | None = None    # shell: append stdout+stderr here (log[0]); None: capture
    config: dict[str, Any] | None = None  # script: the config the script sees
    attempt: int = 1               # 1, then 2, 3, ... on retries


@dataclass(slots=True)
class Outcome:
    """What running a Task gave. `error` is user-facing text (a traceback or a reason)."""

    jobid: int
    ok: bool
    start: float
    end: float
    error: str | None = None
    output: str = ""                   # captured stdout/stderr (shell jobs without a log)
    returncode: int | None = None
    host: str | None = None            # where it ran, when not this host (a Dask worker's)


class JobRunner(Protocol):
    """Starts tasks and reports their outcomes. Used by the scheduler from one thread."""

    def free_slots(self, kind: str) -> int:
        """How many more tasks of `kind` ("run" for run:/script: bodies) can start now;
        cores and resources are the scheduler's business. An optional
        `prestart(count)` may start workers before the first job."""

    def submit(self, tasks: Sequence[Task]) -> None:
        """Start `tasks`; several tasks of one call may run one after another in one worker."""

    def wait(self, timeout: float | None, wakeup_fd: int | None) -> list[Outcome]:
        """Block until an outcome is ready, `wakeup_fd` is readable, or `timeout` passes."""

    def terminate(self, grace: float) -> list[Outcome]:
        """Stop everything running: SIGTERM, then SIGKILL after `grace` seconds."""

    def close(self) -> None:
        """Release workers. Idempotent."""


class RunObserver(Protocol):
    """Hooks for the state layer; calls are batched (one per scheduler step)."""

    def jobs_started(self, jobs: Sequence[Job]) -> None:
        """Before the jobs start (mark their outputs incomplete here)."""

    def jobs_finished(self, results: Sequence[JobResult]) -> None:
        """After outputs were verified (write records / clear markers for the ok ones)."""


@dataclass
class ExecOptions:
    cores: int | None = None               # None: default_cores()
    resources: dict[str, float] = field(default_factory=dict)   # --resources bounds
    keep_going: bool = False
    keep_incomplete: bool = False
    latency_wait: float = 0.0
    print_commands: bool = False
    quiet: bool = False
    dry_run: bool = False
    grace_period: float = 3.0              # SIGTERM -> SIGKILL
    start_method: str | None = None        # worker processes: "forkserver" (default) | "fork" | "spawn"
    max_batch: int = 64                    # most tiny run: jobs sent to a worker at once
    observer: RunObserver | None = None
    # After a checkpoint job ran: return the jobs to run now (a Plan or Jobs); see local.py.
    replan: Callable[[Job], Iterable[Any]] | None = None
    # Early cutoff: called once when a job becomes ready; True skips it as up to date.
    skip_ready: Callable[[Job], bool] | None = None
    reporter: Any = None                   # a RunReporter; None: a quiet one (the API passes the console's)
    runner: JobRunner | None = None        # None: pool.LocalRunner
    handle_signals: bool = True


@dataclass(slots=True)
class JobResult:
    """The fate of one job: "done", "failed", "not started" (an upstream job failed or the
    run stopped first), or "cancelled" (terminated by an interruption). `skipped`: "done"
    without running, its rebuilt inputs being identical to those it was made from."""

    job: Job
    status: str
    start: float = 0.0
    end: float = 0.0
    attempts: int = 0
    error: str | None = None
    skipped: bool = False
    host: str | None = None      # where it ran, when not this host (a Dask worker's)

    @property
    def duration(self) -> float:
        return max(self.end - self.start, 0.0)

    def __repr__(self) -> str:
        tries = f", {self.attempts} attempts" if self.attempts > 1 else ""
        return f"<JobResult {self.job.name}: {self.status}{tries}, {self.duration:.3g}s>"


@dataclass
class RunResult:
    results: list[JobResult]
    start: float
    end: float
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(r.status == "done" for r in self.results)

    def by_status(self, status: str) -> list[JobResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[JobResult]:
        return self.by_status("failed")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def summary(self) -> str:
        """One line: `ok: 9 of 9 jobs done in 0.3s`, `FAILED: 7 of 9 jobs done, 1 failed,
        1 not started in 2.1s`, `ok: 1 of 3 jobs done, 2 skipped (up to date) in 0.2s`."""
        counts = self.counts()
        skipped = sum(1 for r in self.results if r.skipped)
        parts = [f"{counts.get('done', 0) - skipped} of {len(self.results)} jobs done"]
        if skipped:
            parts.append(f"{skipped} skipped (up to date)")
        for status in ("failed", "not started", "cancelled"):
            if counts.get(status):
                parts.append(f"{counts[status]} {status}")
        state = "interrupted" if self.interrupted else ("ok" if self.ok else "FAILED")
        return f"{state}: {', '.join(parts)} in {format_duration(max(self.end - self.start, 0))}"

    def __repr__(self) -> str:
        return f"<RunResult {self.summary()}>"

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            [{"job": r.job.name, "rule": r.job.rule.name, "status": r.status,
              "start": r.start, "end": r.end, "duration": r.duration,
              "attempts": r.attempts, "error": r.error} for r in self.results])

    def raise_for_status(self) -> None:
        """Raise Interrupted (130) or JobFailedError (1) unless every job is done."""
        from ..core.errors import Interrupted, JobFailedError

        if self.interrupted:
            raise Interrupted(interrupted_text(False))
        failed = self.failed
        if failed:
            names = ", ".join(r.job.name for r in failed[:5]) + (" ..." if len(failed) > 5 else "")
            raise JobFailedError(f"{len(failed)} job{'s' if len(failed) != 1 else ''} failed: {names}")
        left = [r for r in self.results if r.status != "done"]
        if left:
            names = ", ".join(r.job.name for r in left[:5]) + (" ..." if len(left) > 5 else "")
            raise JobFailedError(f"{len(left)} job{'s' if len(left) != 1 else ''} did not "
                                 f"start: {names}")
