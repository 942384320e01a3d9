"""rulekit: file-based workflows from version-controlled rule files.

The public API is small: `load()` a rule file into a `Workflow`, then `plan()` or `run()` it;
`summary()` reports every known output. Errors are `RulekitError`s with an `exit_code`.
"""

# isort: off
from .ui import startsig  # noqa: F401 - first: exit 130 on a signal while the CLI starts
# isort: on
from .core.errors import (  # noqa: F401 - public names
    JobFailedError,
    LockError,
    RulekitError,
    WorkflowError,
)
from .core.shellhook import set_shell_runner

# load, Workflow, summary, Plan and PlannedJob are imported on first use (see __getattr__):
# `import rulekit` for the CLI's sake must not pull in the planner.
_LAZY = {"load": "ui.api", "Workflow": "ui.api", "summary": "ui.api",
         "Plan": "planning.plan", "PlannedJob": "planning.plan",
         "JobResult": "execution.base", "RunResult": "execution.base"}

__all__ = [
    "load", "summary", "Workflow", "Plan", "PlannedJob", "RunResult", "JobResult",
    "RulekitError", "WorkflowError", "JobFailedError", "LockError", "__version__",
]


def _run_shell(workflow: object, text: str, *, read: bool = False,
               iterable: bool = False) -> object:
    # shell() in rule files: the language formats, the execution layer runs (imported on use)
    from .execution.shellrun import run_shell

    return run_shell(workflow, text, read=read, iterable=iterable)


set_shell_runner(_run_shell)


def __getattr__(name: str) -> object:
    if name == "__version__":  # looked up on first use: importlib.metadata is slow to import
        from .core.version import rulekit_version

        return rulekit_version()
    where = _LAZY.get(name)
    if where is not None:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
