"""Commands whose stdout is one document (`--format json`, `--format markdown`).

While `document_stdout()` is active, everything else that would reach stdout goes to stderr:
`print()` in the rule file and in `run:` bodies, click's human lines, and the output of
processes started meanwhile (jobs, shells, Dask workers), which inherit file descriptor 1.
The document itself is written with `emit()`, to the real stdout. A Markdown document also
goes to the GitHub Actions job summary (`step_summary()`), and so does an error that stops
a command asked for Markdown.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import click

from ..core.errors import RulekitError
from .pipeguard import PipeSafe

__all__ = ["document_stdout", "document_command", "document_stream", "emit", "step_summary"]

_target: list[TextIO] = []


@contextlib.contextmanager
def document_stdout(active: bool = True) -> Iterator[None]:
    if not active:
        yield
        return
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = -1
    if fd != 1:   # a replaced sys.stdout (click's CliRunner): swap the Python object only
        real = sys.stdout
        sys.stdout = sys.stderr
        _target.append(real)
        try:
            yield
        finally:
            _target.pop()
            sys.stdout = real
        return
    saved = os.dup(1)
    os.dup2(2, 1)
    real = os.fdopen(saved, "w", encoding=sys.stdout.encoding or "utf-8", closefd=True)
    _target.append(PipeSafe(real))  # type: ignore[arg-type]  # `... --format json | head`
    try:
        yield
    finally:
        _target.pop()
        sys.stdout.flush()
        real.flush()
        os.dup2(saved, 1)
        real.close()


def document_stream() -> TextIO:
    """Where the document goes (for writing it in parts)."""
    return _target[-1] if _target else sys.stdout


def emit(text: str) -> None:
    """Write the document (a newline is added) where stdout really goes."""
    click.echo(text, file=_target[-1] if _target else None)


def emit_json(data: Any, default: Callable[[Any], Any] | None = None) -> None:
    """Write `data` as the JSON document (indented by 2)."""
    import json  # only for --format json (start-up time, issue 12)

    emit(json.dumps(data, indent=2, default=default))


def document_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """For a command with `--format` (its `fmt` argument): with json or markdown, stdout
    holds the document alone for the whole command, loading the rule file included."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with document_stdout(kwargs.get("fmt") in ("json", "markdown")):
                return func(*args, **kwargs)
        except RulekitError as err:
            if kwargs.get("fmt") == "markdown":
                step_summary(f"### rulekit {func.__name__}: error\n\n```\n{err.show()}\n```")
            raise
    wrapper.documents_stdout = True  # type: ignore[attr-defined]  # tests check every command
    return wrapper


def step_summary(markdown: str) -> None:
    """Append to the GitHub Actions job summary when `$GITHUB_STEP_SUMMARY` names a file."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n\n")
