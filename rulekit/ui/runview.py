"""Console output of a run: a line per job start and end, a progress bar on a terminal, plain
lines otherwise (CI logs), failures with their log tail, and a per-rule table at the end.

    -q/--quiet              only failures and the final line
    -p/--print-commands     each shell command under its start line

The scheduler calls a `Reporter`; anything with the same methods can stand in (tests, GUIs).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..core.model import Job
from ..execution.base import RunReporter, format_duration

__all__ = ["Reporter", "format_duration", "rule_table"]


def rule_table(result: Any) -> list[tuple[str, int, int, int, float]]:
    """(rule, jobs, done, failed, total seconds) per rule, in first-seen order."""
    rows: dict[str, list[Any]] = {}
    for r in result.results:
        row = rows.setdefault(r.job.rule.name, [0, 0, 0, 0.0])
        row[0] += 1
        row[1] += r.status == "done" and not r.skipped
        row[2] += r.status == "failed"
        row[3] += r.duration
    return [(name, *vals) for name, vals in rows.items()]


_stamp: list[Any] = [None, ""]


def _clock() -> str:
    """HH:MM:SS now (formatted once per second)."""
    now = int(time.time())
    if now != _stamp[0]:
        _stamp[:] = [now, time.strftime("%H:%M:%S", time.localtime(now))]
    return str(_stamp[1])


class Reporter(RunReporter):
    def __init__(self, *, quiet: bool = False, print_commands: bool = False,
                 stream: TextIO | None = None, err: TextIO | None = None,
                 progress: bool | None = None) -> None:
        self.quiet = quiet
        self.print_commands = print_commands
        self.out = stream or sys.stdout
        self.err = err or sys.stderr
        tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.use_progress = (tty and not quiet) if progress is None else progress
        self.total = 0
        self.done = 0
        self.failed = 0
        self.running = 0
        self._progress: Any = None
        self._task: Any = None
        # lines held until flush() when the output is no terminal (one write per step)
        self._hold: list[str] | None = None if tty else []

    # -- plumbing ---------------------------------------------------------------------------

    def _line(self, text: str, error: bool = False) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False,
                                         style="red" if error else None)
        elif error:
            self.flush()   # what came before goes first
            self.err.write(text + "\n")
            self.err.flush()
        elif self._hold is not None:
            self._hold.append(text)
        else:
            self.out.write(text + "\n")

    def flush(self) -> None:
        """Write the lines held back (output that is not a terminal): the scheduler calls
        this before it waits for anything, so a step's lines go out in one write, and none
        waits in a buffer while nothing happens (a log file shows a running job at once)."""
        if self._hold:
            self.out.write("\n".join(self._hold) + "\n")
            self._hold.clear()
            self.out.flush()

    def _update(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done + self.failed, total=self.total,
                                  running=self.running, failed=self.failed)

    # -- events -----------------------------------------------------------------------------

    def run_started(self, total: int) -> None:
        self.total = total
        self.start = time.time()
        if self.use_progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]rulekit"), BarColumn(), MofNCompleteColumn(),
                TextColumn("running {task.fields[running]}, failed {task.fields[failed]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                transient=True, refresh_per_second=8)
            self._task = self._progress.add_task("jobs", total=total, running=0, failed=0)
            self._progress.start()
        elif not self.quiet:
            self._line(f"rulekit: {total} job{'s' if total != 1 else ''} to run")

    def set_total(self, total: int) -> None:
        self.total = total
        self._update()

    def job_started(self, job: Job, command: str | None = None, message: str | None = None) -> None:
        self.running += 1
        if not self.quiet:
            self._line(f"[{_clock()}] start {job.name}")
            if message:
                self._line(f"    {message}")
            if command is not None and self.print_commands:
                self._line(f"    $ {command}")
        self._update()

    def job_output(self, job: Job, text: str) -> None:
        if not self.quiet and text.strip():
            self._line("\n".join(f"    | {line}" for line in text.rstrip().splitlines()))

    def job_retrying(self, job: Job, attempt: int, error: str) -> None:
        self.running -= 1
        retries = job.rule.retries
        self._line(f"[{_clock()}] retry {job.name} (attempt {attempt} of "
                   f"{retries + 1} failed: {error.splitlines()[0] if error else ''})", error=True)
        self._update()

    def job_finished(self, result: Any) -> None:
        self.running -= 1
        job = result.job
        if result.status == "done":
            self.done += 1
            if not self.quiet:
                self._line(f"[{_clock()}] done  {job.name} "
                           f"({format_duration(result.duration)})")
        else:
            self.failed += 1
            lines = [f"[{_clock()}] FAILED {job.name} "
                     f"({format_duration(result.duration)}, attempt {result.attempts})"]
            body = job.rule.body
            if body is not None:
                lines.append(f"  rule {job.rule.name} at {job.rule.span}")
            if result.error:
                lines.extend("  " + line for line in result.error.splitlines())
            self._line("\n".join(lines), error=True)
        self._update()

    def job_cut_off(self, job: Job) -> None:
        """A job skipped at run time: its inputs were rebuilt with identical content."""
        self.done += 1
        if not self.quiet:
            self._line(f"[{_clock()}] skip  {job.name} "
                       "(inputs rebuilt with identical content)")
        self._update()

    def warn(self, text: str) -> None:
        self._line(f"warning: {text}", error=True)

    def interrupted(self) -> None:
        self._line("rulekit: interrupted - stopping running jobs (SIGTERM, then SIGKILL)",
                   error=True)

    def run_finished(self, result: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self.flush()
        if not self.quiet and result.results:
            self._table(result)
        self._line(f"rulekit: {result.summary()}", error=not result.ok)
        self.flush()
        self.out.flush()

    def _table(self, result: Any) -> None:
        rows = rule_table(result)
        if getattr(self.out, "isatty", lambda: False)():
            from rich.console import Console
            from rich.table import Table

            table = Table(title=None, show_edge=False)
            for col in ("rule", "jobs", "done", "failed", "total time"):
                table.add_column(col, justify="left" if col == "rule" else "right")
            for name, jobs, done, failed, secs in rows:
                table.add_row(name, str(jobs), str(done), str(failed), format_duration(secs))
            Console(file=self.out).print(table)
            return
        width = max([4] + [len(r[0]) for r in rows])
        self._line(f"{'rule':<{width}}  {'jobs':>6}  {'done':>6}  {'failed':>6}  {'time':>8}")
        for name, jobs, done, failed, secs in rows:
            self._line(f"{name:<{width}}  {jobs:>6}  {done:>6}  {failed:>6}  "
                       f"{format_duration(secs):>8}")
