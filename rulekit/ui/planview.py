"""A plan as text for people: the table `rulekit plan` and `run -n` print.

`render_plan_text(plan)` is plain text (fast even for 10^5 jobs, fine for CI logs);
`render_plan_rich(plan)` returns a rich renderable for terminals. Both end with the
per-rule counts, or say that there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..planning.dag import no_gc
from ..planning.plan import Plan

__all__ = ["render_plan_text", "plan_text_pieces", "render_plan_rich", "render_plan_markdown", "NOTHING_TO_DO",
           "TOTAL"]

NOTHING_TO_DO = "Nothing to do: all outputs are up to date."
# The label of the per-rule table's sum: not an identifier, so no rule can be named so.
TOTAL = "(total)"
MARKDOWN_ROWS = 1000   # a job summary on GitHub holds at most 1 MiB


def _rows(plan: Plan) -> list[tuple[str, str, str, list[str]]]:
    return [(p.job.rule.name, _wildcards_text(p.job.wildcards), _outputs_text(p.job.output),
             [r.describe() for r in p.reasons]) for p in plan.jobs]


def _counts_lines(counts: dict[str, int]) -> list[str]:
    total = sum(counts.values())
    width = max([len(r) for r in counts] + [len(TOTAL)])
    lines = [f"{'rule':<{width}}  jobs"]
    lines += [f"{rule:<{width}}  {n}" for rule, n in counts.items()]
    lines.append(f"{TOTAL:<{width}}  {total}")
    return lines


def render_plan_text(plan: Plan, *, max_width: int = 60) -> str:
    """Plain-text table: one line per job (more lines when it has several reasons)."""
    return "".join(plan_text_pieces(plan, max_width=max_width))


def plan_text_pieces(plan: Plan, *, max_width: int = 60) -> Iterator[str]:
    """The text of render_plan_text in pieces of a few thousand lines, to be written as
    they come: the whole text of a 900,000-job plan (and the rows behind it) would take
    ~0.5 GB at once."""
    # plan.warnings go to stderr (cli.show_warnings), not here
    if plan.is_empty:
        yield NOTHING_TO_DO
        return
    counts = plan.counts()
    headers = ("rule", "wildcards", "outputs", "reasons")
    w_rule = max(len(headers[0]), max(len(r) for r in counts))
    w_wc, w_out = _widths(plan, len(headers[1]), len(headers[2]), max_width)
    yield (f"{headers[0]:<{w_rule}}  {headers[1]:<{w_wc}}  {headers[2]:<{w_out}}  "
           f"{headers[3]}")
    pad = " " * (w_rule + w_wc + w_out + 6)
    rule_col = {name: name.ljust(w_rule) for name in counts}
    jobs = plan.jobs
    for start in range(0, len(jobs), _CHUNK):
        with no_gc():  # many short-lived strings and tuples, no cycles
            lines = [""]
            append = lines.append
            for p in jobs[start:start + _CHUNK]:
                job = p.job
                wc, outs = _wildcards_text(job.wildcards), _outputs_text(job.output)
                if len(wc) > max_width or len(outs) > max_width:
                    wc, outs = _clip(wc, max_width), _clip(outs, max_width)
                reasons = p.reasons
                first = reasons[0].describe() if reasons else ""
                # str.ljust: much cheaper than format specs
                append(f"{rule_col[job.rule.name]}  {wc.ljust(w_wc)}  {outs.ljust(w_out)}  "
                       f"{first}".rstrip())
                if len(reasons) > 1:
                    lines.extend([pad + more.describe() for more in reasons[1:]])
            yield "\n".join(lines)
    n = len(plan)
    yield "\n".join(["", "", f"{n} job{'s' if n != 1 else ''} to run:"]
                    + ["  " + line for line in _counts_lines(counts)])


_CHUNK = 4000   # jobs per piece


def _widths(plan: Plan, w_wc: int, w_out: int, max_width: int) -> tuple[int, int]:
    """The widths of the wildcards and outputs columns (at least the given ones), from
    the lengths of what _wildcards_text and _outputs_text would make, clipped to
    `max_width`; without making the texts."""
    for p in plan.jobs:
        job = p.job
        wcs = job.wildcards
        if len(wcs) == 1:
            ((k, v),) = wcs.items()
            n = len(k) + 1 + (len(v) if type(v) is str else len(f"{v}"))
        else:
            n = len(_wildcards_text(wcs))
        if n > w_wc:
            w_wc = min(n, max_width)
        outs = job.output
        if len(outs) == 1:
            (only,) = outs   # (not outs[0]: NamedList.__getitem__ is Python code)
            n = len(only)
        else:
            n = len(_outputs_text(outs))
        if n > w_out:
            w_out = min(n, max_width)
    return w_wc, w_out


def _wildcards_text(wcs: dict[str, Any]) -> str:
    if len(wcs) == 1:
        ((k, v),) = wcs.items()
        return f"{k}={v}"
    return ", ".join([f"{k}={v}" for k, v in wcs.items()])


def _outputs_text(outs: list[str], max_outputs: int = 3) -> str:
    if len(outs) == 1:
        (only,) = outs   # (not outs[0]: NamedList.__getitem__ is Python code)
        return str(only)
    shown = ", ".join(outs[:max_outputs])
    if len(outs) > max_outputs:
        shown += f" (+{len(outs) - max_outputs} more)"
    return shown


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
