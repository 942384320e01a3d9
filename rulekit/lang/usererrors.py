"""Exceptions raised by a rule file's own code, as errors at the rule file's line."""

from __future__ import annotations

import os
from collections.abc import Collection

from ..core.errors import LoadError, RulesSyntaxError, WorkflowError
from ..core.source import Span

__all__ = ["user_error", "user_span"]

_PACKAGE = os.path.dirname(os.path.dirname(__file__))  # rulekit/, all subpackages


def user_error(exc: BaseException, fallback: Span, files: Collection[str]) -> WorkflowError:
    """Turn an exception from the user's code (in one of `files`) into an error at the
    user's line; `fallback` is where the code started."""
    if isinstance(exc, WorkflowError):
        if exc.span is None:        # raised by a helper (shell.executable...): locate it
            exc.span = user_span(exc, fallback, files)[0]
        return exc
    if isinstance(exc, SyntaxError):
        if exc.filename in files and exc.lineno:
            span = Span(str(exc.filename), exc.lineno, max(exc.offset or 1, 1))
        else:
            span = fallback
        return RulesSyntaxError(f"invalid Python: {exc.msg}", span)
    span, raised_in = user_span(exc, fallback, files)
    facts = [("raised in", raised_in)] if raised_in else []
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return LoadError(message, span, facts=facts)


def user_span(exc: BaseException, fallback: Span, files: Collection[str]
              ) -> tuple[Span, str | None]:
    """The innermost rule-file line of `exc`'s traceback, and the code it called there
    (outside rulekit) that raised, if any."""
    import traceback  # errors only (start-up time)

    span = fallback
    raised_in = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename in files and frame.lineno:
            col = getattr(frame, "colno", None)
            span = Span(frame.filename, frame.lineno, (col + 1) if col is not None else 1)
            raised_in = None
        elif not frame.filename.startswith(_PACKAGE):
            raised_in = f"{frame.filename}:{frame.lineno}"
    return span, raised_in
