"""Small output helpers shared by the commands: tables and the rule listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core.model import Unpack, Workflow


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *,
                title: str | None = None, console: Console | None = None) -> None:
    """A rich table on a terminal; otherwise plain aligned text, one line per row (cells
    never wrapped, several values in a cell joined by "; "), for logs, pipes and grep."""
    console = console or Console(soft_wrap=False)
    if not console.is_terminal:
        text = plain_table(headers, rows)
        console.out(f"{title}\n{text}" if title else text, highlight=False)
        return
    table = Table(title=title, box=Table().box, show_edge=True, header_style="bold",
                  pad_edge=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console.print(table)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(headers)] + [["; ".join(str(c).splitlines()) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in cells)


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
