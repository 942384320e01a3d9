"""Every error rulekit reports to a user.

    RulekitError                 exit_code 2 unless stated; show() renders it
    ├── WorkflowError            the rule file or the request is invalid (2)
    │   ├── RulesSyntaxError     the text does not parse
    │   ├── LoadError            a value, include, configfile or body failed to load
    │   ├── ResolutionError      targets cannot be turned into jobs
    │   │   ├── MissingInputError
    │   │   ├── AmbiguousRuleError
    │   │   └── CycleError
    │   ├── ProtectedOutputError a protected() output would be overwritten
    │   └── UsageError           a bad command-line option or API argument
    ├── JobFailedError           a job failed while running (1)
    ├── NotFoundError            a query names a file that neither exists nor has a record (1)
    ├── LockError                another run holds a lock on our outputs (3)
    └── Interrupted              SIGINT/SIGTERM stopped the run (130)

An error renders as DESIGN's shape: `FILE:LINE:COL: error: MESSAGE` (or `error: MESSAGE`
without a position), the source line with a caret, aligned facts, and a hint.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .source import Span, caret_snippet

__all__ = [
    "RulekitError", "WorkflowError", "RulesSyntaxError", "LoadError", "ResolutionError",
    "MissingInputError", "AmbiguousRuleError", "CycleError", "ProtectedOutputError",
    "UsageError", "JobFailedError", "NotFoundError", "LockError", "Interrupted",
]


class RulekitError(Exception):
    exit_code: int = 2

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        *,
        facts: Sequence[tuple[str, str]] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.facts = list(facts)
        self.hint = hint

    def header(self) -> str:
        where = ""
        if self.span is not None:
            where = f"{display_path(self.span.path)}:{self.span.line}:{self.span.col}: "
        return f"{where}error: {self.message}"

    def show(self) -> str:
        """The full user-facing text (no trailing newline)."""
        parts = [self.header()]
        if self.span is not None:
            snippet = caret_snippet(self.span)
            if snippet:
                parts.append(snippet)
        if self.facts:
            width = max(len(k) for k, _ in self.facts) + 1
            for key, value in self.facts:
                lines = str(value).splitlines() or [""]
                parts.append(f"  {key + ':':<{width}} {lines[0]}")
                parts.extend(f"  {'':<{width}} {more}" for more in lines[1:])
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.header()


def display_path(path: str) -> str:
    """A path as the user would type it: relative to the current folder when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


class WorkflowError(RulekitError):
    exit_code = 2


class RulesSyntaxError(WorkflowError):
    pass


class LoadError(WorkflowError):
    pass


class ResolutionError(WorkflowError):
    pass


class MissingInputError(ResolutionError):
    pass


class AmbiguousRuleError(ResolutionError):
    pass


class CycleError(ResolutionError):
    pass


class ProtectedOutputError(WorkflowError):
    pass


class UsageError(WorkflowError):
    pass


class JobFailedError(RulekitError):
    exit_code = 1


class NotFoundError(RulekitError):
    """A query about a file that does not exist and that nothing knows about."""

    exit_code = 1


class LockError(RulekitError):
    exit_code = 3


class Interrupted(RulekitError):
    exit_code = 130
