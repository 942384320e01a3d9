"""rulekit: file-based workflows from version-controlled rule files.

The public API is small: `load()` a rule file into a `Workflow`, then `plan()` or `run()` it;
`summary()` reports every known output. Errors are `RulekitError`s with an `exit_code`.
"""

# isort: off
from .ui import startsig  # noqa: F401 - first: exit 130 on a signal while the CLI starts
# isort: on
from .core.errors import (
    JobFailedError,
    LockError,
    RulekitError,
    WorkflowError,
)
from .planning.plan import Plan, PlannedJob
from .ui.api import Workflow, load, summary

__all__ = [
    "load", "summary", "Workflow", "Plan", "PlannedJob", "RunResult", "JobResult",
    "RulekitError", "WorkflowError", "JobFailedError", "LockError", "__version__",
]


def __getattr__(name: str) -> object:
    if name == "__version__":  # looked up on first use: importlib.metadata is slow to import
        from .core.version import rulekit_version

        return rulekit_version()
    # The executor is imported only when a run needs it (planning stays fast to start).
    if name in ("JobResult", "RunResult"):
        from .execution import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
