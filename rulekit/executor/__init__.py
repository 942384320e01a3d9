"""Running planned jobs: the scheduler (local.py), runners (pool.py; dask later), workers.

    execute(workflow, plan_or_jobs, ExecOptions(...)) -> RunResult
"""

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
from .local import Scheduler, execute

__all__ = ["execute", "Scheduler", "ExecOptions", "JobResult", "RunResult", "JobRunner",
           "RunObserver", "Task", "Outcome", "WorkflowRef", "default_cores"]
