"""rulekit: file-based workflows from version-controlled rule files.

The public API is small: `load()` a rule file into a `Workflow`, then `plan()` or `run()` it;
`summary()` reports every known output. Errors are `RulekitError`s with an `exit_code`.
"""

from .api import Workflow, load, summary
from .errors import (
    JobFailedError,
    LockError,
    RulekitError,
    WorkflowError,
)
from .executor.base import JobResult, RunResult
from .plan import Plan, PlannedJob

__version__ = "0.1.0"

__all__ = [
    "load", "summary", "Workflow", "Plan", "PlannedJob", "RunResult", "JobResult",
    "RulekitError", "WorkflowError", "JobFailedError", "LockError", "__version__",
]
