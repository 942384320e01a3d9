"""rulekit: file-based workflows from version-controlled rule files.

The public API is small: `load()` a rule file into a `Workflow`, then `plan()` or `run()` it;
`summary()` reports every known output. Errors are `RulekitError`s with an `exit_code`.
"""

from . import startsig  # noqa: F401 - first: exit 130 on a signal while the CLI starts
from .api import Workflow, load, summary
from .errors import (
    JobFailedError,
    LockError,
    RulekitError,
    WorkflowError,
)
from .plan import Plan, PlannedJob

__version__ = "0.1.0"

__all__ = [
    "load", "summary", "Workflow", "Plan", "PlannedJob", "RunResult", "JobResult",
    "RulekitError", "WorkflowError", "JobFailedError", "LockError", "__version__",
]


def __getattr__(name: str) -> object:
    # The executor is imported only when a run needs it (planning stays fast to start).
    if name in ("JobResult", "RunResult"):
        from .executor import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
