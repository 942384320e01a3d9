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
from .state import StoreObserver, run_workflow

__all__ = ["execute", "run_workflow", "StoreObserver", "Scheduler", "ExecOptions", "JobResult", "RunResult", "JobRunner",
           "RunObserver", "Task", "Outcome", "WorkflowRef", "default_cores"]
