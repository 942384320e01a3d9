"""Running planned jobs: the scheduler (local.py), runners (pool.py, dask.py), workers, job
files, processes, the run guard. May import core, lang, planning and state.

    execute(workflow, plan_or_jobs, ExecOptions(...)) -> RunResult

The scheduler is imported on first use, so `from rulekit.execution.base import RunResult`
(an empty run) stays cheap.
"""

from typing import Any

from .base import (
    ExecOptions,
    JobResult,
    JobRunner,
    Outcome,
    RunObserver,
    RunResult,
    Task,
    WorkflowRef,
    default_cores,
)

__all__ = ["execute", "Scheduler", "ExecOptions", "JobResult", "RunResult", "JobRunner",
           "RunObserver", "Task", "Outcome", "WorkflowRef", "default_cores"]


def __getattr__(name: str) -> Any:
    if name in ("execute", "Scheduler"):
        from . import local

        return getattr(local, name)
    raise AttributeError(name)
