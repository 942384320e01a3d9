"""A plan as text for people: the table `rulekit plan` and `run -n` print.

`render_plan_text(plan)` is plain text (fast even for 10^5 jobs, fine for CI logs);
`render_plan_rich(plan)` returns a rich renderable for terminals. Both end with the
per-rule counts, or say that there is nothing to do.
"""

from __future__ import annotations

from typing import Any

from ..planning.dag import no_gc
from ..planning.plan import Plan

__all__ = ["render_plan_text", "render_plan_rich", "render_plan_markdown", "NOTHING_TO_DO",
           "TOTAL"]

NOTHING_TO_DO = "Nothing to do: all outputs are up to date."
# The label of the per-rule table's sum: not an identifier, so no rule can be named so.
TOTAL = "(total)"
MARKDOWN_ROWS = 1000   # a job summary on GitHub holds at most 1 MiB


def _rows(plan: Plan, max_outputs: int = 3) -> list[tuple[str, str, str, list[str]]]:
    rows = []
    for p in plan.jobs:
        job = p.job
        wcs = job.wildcards
        if len(wcs) == 1:
            ((k, v),) = wcs.items()
            wc = f"{k}={v}"
        else:
            wc = ", ".join([f"{k}={v}" for k, v in wcs.items()])
        outs = job.output
        if len(outs) == 1:
            shown = str(outs[0])
        else:
            shown = ", ".join(outs[:max_outputs])
            if len(outs) > max_outputs:
                shown += f" (+{len(outs) - max_outputs} more)"
        rows.append((job.rule.name, wc, shown, [r.describe() for r in p.reasons]))
    return rows


def _counts_lines(plan: Plan) -> list[str]:
    counts = plan.counts()
    total = sum(counts.values())
    width = max([len(r) for r in counts] + [len(TOTAL)])
    lines = [f"{'rule':<{width}}  jobs"]
    lines += [f"{rule:<{width}}  {n}" for rule, n in counts.items()]
    lines.append(f"{TOTAL:<{width}}  {total}")
    return lines


def render_plan_text(plan: Plan, *, max_width: int = 60) -> str:
    """Plain-text table: one line per job (more lines when it has several reasons)."""
    with no_gc():  # millions of short-lived strings and tuples, no cycles
        return _render_text(plan, max_width)


def _render_text(plan: Plan, max_width: int) -> str:
    lines: list[str] = []  # plan.warnings go to stderr (cli.show_warnings), not here
    if plan.is_empty:
        lines.append(NOTHING_TO_DO)
        return "\n".join(lines)
    rows = _rows(plan)
    headers = ("rule", "wildcards", "outputs", "reasons")
    for i, (rule, wc, outs, reasons) in enumerate(rows):
        if len(wc) > max_width or len(outs) > max_width:
            rows[i] = (rule, _clip(wc, max_width), _clip(outs, max_width), reasons)
    w_rule = max(len(headers[0]), max(len(r[0]) for r in rows))
    w_wc = max(len(headers[1]), max(len(r[1]) for r in rows))
    w_out = max(len(headers[2]), max(len(r[2]) for r in rows))
    lines.append(f"{headers[0]:<{w_rule}}  {headers[1]:<{w_wc}}  {headers[2]:<{w_out}}  "
                 f"{headers[3]}")
    pad = " " * (w_rule + w_wc + w_out + 6)
    append = lines.append
    for rule, wc, outs, reasons in rows:  # str.ljust: much cheaper than format specs
        first = reasons[0] if reasons else ""
        append(f"{rule.ljust(w_rule)}  {wc.ljust(w_wc)}  {outs.ljust(w_out)}  {first}".rstrip())
        if len(reasons) > 1:
            lines.extend([pad + more for more in reasons[1:]])
    n = len(plan)
    lines.append("")
    lines.append(f"{n} job{'s' if n != 1 else ''} to run:")
    lines.extend("  " + line for line in _counts_lines(plan))
    return "\n".join(lines)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def render_plan_rich(plan: Plan, *, max_rows: int | None = 1000) -> Any:
    """A rich Group: the job table (first `max_rows` jobs) and the per-rule counts."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []  # plan.warnings go to stderr (cli.show_warnings), not here
    if plan.is_empty:
        parts.append(Text(NOTHING_TO_DO, style="green"))
        return Group(*parts)
    table = Table(show_header=True, header_style="bold", box=None)
    for name in ("rule", "wildcards", "outputs", "reasons"):
        table.add_column(name, overflow="fold")
    rows = _rows(plan)
    for rule, wc, outs, reasons in rows[:max_rows] if max_rows else rows:
        table.add_row(rule, wc, outs, "\n".join(reasons))
    parts.append(table)
    if max_rows and len(rows) > max_rows:
        parts.append(Text(f"... and {len(rows) - max_rows} more jobs "
                          "(--format json lists them all)", style="dim"))
    counts = Table(show_header=True, header_style="bold", box=None,
                   title=f"{len(plan)} job{'s' if len(plan) != 1 else ''} to run",
                   title_justify="left")
    counts.add_column("rule")
    counts.add_column("jobs", justify="right")
    for rule, n in plan.counts().items():
        counts.add_row(rule, str(n))
    counts.add_row(TOTAL, str(len(plan)), style="bold")
    parts.append(counts)
    return Group(*parts)


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def render_plan_markdown(plan: Plan, *, max_rows: int = MARKDOWN_ROWS) -> str:
    """The plan for a pull-request comment or a CI job summary: a heading, the jobs (at most
    `max_rows`) with their reasons, and the jobs per rule."""
    if plan.is_empty:
        return "### rulekit plan: nothing to do\n\nAll outputs are up to date."
    n = len(plan)
    lines = [f"### rulekit plan: {n} job{'s' if n != 1 else ''} to run", "",
             "| rule | wildcards | outputs | reasons |", "|---|---|---|---|"]
    rows = _rows(plan)
    for rule, wc, outs, reasons in rows[:max_rows]:
        lines.append(f"| {rule} | {_md(wc)} | {_md(outs)} | "
                     f"{'<br>'.join(_md(r) for r in reasons)} |")
    if len(rows) > max_rows:
        lines += ["", f"... and {len(rows) - max_rows} more jobs "
                      "(`rulekit plan --format json` lists them all)"]
    lines += ["", "| rule | jobs |", "|---|---:|"]
    lines += [f"| {rule} | {k} |" for rule, k in plan.counts().items()]
    lines.append(f"| **{TOTAL}** | **{n}** |")
    return "\n".join(lines)
