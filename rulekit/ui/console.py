"""Small output helpers shared by the commands: tables and the rule listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core.model import Unpack, Workflow


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
                title: str | None = None, console: Console | None = None) -> None:
    """A rich table; plain (no colour, no box-drawing) when stdout is not a terminal."""
    console = console or Console(soft_wrap=False)
    plain = not console.is_terminal
    table = Table(title=title, box=None if plain else Table().box, show_edge=not plain,
                  header_style="" if plain else "bold", pad_edge=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console.print(table)


def _describe(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _describe(v)]
    if isinstance(value, Unpack):
        return [f"unpack({getattr(value.func, '__name__', 'function')})"]
    if callable(value):
        return [f"<function {getattr(value, '__name__', '?')}>"]
    return [str(value)]


def rules_table_rows(wf: Workflow) -> list[dict[str, Any]]:
    """One dict per rule: name, input, output, body kind, file position."""
    rows = []
    for rule in wf.rules.values():
        rows.append({
            "name": rule.name,
            "checkpoint": rule.checkpoint,
            "input": [x for _, v in rule.input for x in _describe(v)],
            "output": list(rule.output),
            "body": rule.body.kind if rule.body else "",
            "location": str(rule.span),
        })
    return rows
