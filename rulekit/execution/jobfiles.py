"""What happens to a job's files around its run, in the driver.

Before: old outputs and logs removed (a failing job must not leave a stale output that looks
complete), the folders holding outputs, logs and benchmark created (never a `directory()`
output itself: the job makes it). After: `touch()` outputs touched, every declared output
checked (a `directory()` output must be a folder), `protected()` outputs made read-only. On failure or
interruption: outputs removed. `temp()` outputs are removed by the scheduler through
`remove_paths` once no pending job needs them.

Also the driver-side helpers the scheduler needs around a job: its command and message,
the Task sent to a runner, and the failure text (reason, captured output, log tails).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable

from ..core.model import Job, Workflow, has_flag
from ..core.shellfmt import format_command, format_message, job_names, mentions
from .base import Outcome, Task
from .shellrun import shell_argv

__all__ = ["FileOps", "remove_paths", "prune_empty_folders", "failure_text", "format_job",
           "make_task"]


class FileOps:
    """Per-run helper; remembers which folders exist to skip repeated makedirs."""

    def __init__(self) -> None:
        self._dirs: set[str] = {""}

    def _makedirs(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder not in self._dirs:
            os.makedirs(folder, exist_ok=True)
            self._dirs.add(folder)

    def prepare(self, job: Job) -> str | None:
        """Get ready to run `job`; returns an error text if it must not run."""
        try:
            for path in job.output:
                if has_flag(path, "protected") and os.path.lexists(path):
                    return (f"protected output {path} exists; remove it by hand to rebuild it "
                            "(rulekit never overwrites a protected() file)")
            for path in job.output:
                # A directory() output itself is left for the job to make (`mkdir {output}`,
                # `ln -s X {output}`), as Snakemake does: only its parent folder is created.
                _remove(path)
                self._makedirs(path)
            for path in job.log:
                _remove(path)
                self._makedirs(path)
            if job.benchmark:
                self._makedirs(job.benchmark)
        except OSError as exc:
            return f"cannot prepare the job's files: {exc}"
        return None

    def missing_outputs(self, job: Job) -> list[str]:
        """Touch touch() outputs and symlink outputs, then list declared outputs that do
        not exist."""
        missing = []
        for path in job.output:
            if has_flag(path, "touch"):
                try:
                    with open(path, "a"):
                        pass
                    os.utime(path)
                except OSError:
                    pass
            if os.path.islink(path):
                # judged by the link's own mtime (as Snakemake does): make it newer than
                # the inputs even when the job copied an old link
                try:
                    os.utime(path, follow_symlinks=False)
                except OSError:
                    pass
            elif not os.path.lexists(path):
                missing.append(str(path))
        return missing

    @staticmethod
    def not_directories(job: Job) -> list[str]:
        """directory() outputs that exist but are not folders (nor links to one)."""
        return [str(p) for p in job.output if has_flag(p, "directory") and not os.path.isdir(p)]

    @staticmethod
    def protect(job: Job) -> None:
        for path in job.output:
            if has_flag(path, "protected"):
                _make_read_only(path)

    @staticmethod
    def remove_outputs(job: Job) -> list[str]:
        """Remove what exists of the job's outputs; returns the paths removed."""
        return remove_paths(job.output)

    @staticmethod
    def remove_outputs_reporting(job: Job) -> list[tuple[str, str]]:
        """Remove what exists of the job's outputs; returns (path, reason) of each that
        could not be removed (a read-only folder, ...) instead of raising."""
        failures = []
        for path in job.output:
            try:
                _remove(path)
            except OSError as exc:
                failures.append((str(path), exc.strerror or str(exc)))
        return failures


def remove_paths(paths: Iterable[str]) -> list[str]:
    removed = []
    for path in paths:
        if _remove(path):
            removed.append(str(path))
    return removed


def prune_empty_folders(paths: Iterable[str]) -> list[str]:
    """Remove the folders (below the current folder) that removing `paths` left empty,
    innermost first; a folder with anything left in it stays. Returns those removed."""
    removed = []
    folders = {os.path.dirname(os.path.normpath(str(p))) for p in paths}
    for folder in sorted(folders, key=lambda f: -f.count(os.sep)):
        while folder and not os.path.isabs(folder) and not folder.startswith(".."):
            try:
                os.rmdir(folder)
            except OSError:
                break
            removed.append(folder)
            folder = os.path.dirname(folder)
    return removed


def _remove(path: str) -> bool:
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)
        return True
    except PermissionError:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
            return True
        raise


def _make_read_only(path: str) -> None:
    mask = ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    p = os.path.join(root, name)
                    os.chmod(p, os.stat(p).st_mode & mask)
        os.chmod(path, os.stat(path).st_mode & mask)
    except OSError:
        pass


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-lines:])


def failure_text(job: Job, outcome: Outcome, command: str | None = None) -> str:
    """What went wrong: the reason or traceback, the shell command that failed, its output
    and the log tails."""
    parts = [outcome.error or "failed"]
    if command:
        lines = command.strip("\n").splitlines() or [""]
        parts.append("command: " + "\n         ".join(lines))
    if outcome.output:
        parts.append("output (last lines):\n" + _tail(outcome.output))
    for path in job.log:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()[-20000:]
        except OSError:
            continue
        if text.strip():
            parts.append(f"log {path} (last lines):\n" + _tail(text))
    return "\n".join(parts)


def format_job(wf: Workflow, job: Job, threads: int) -> tuple[str | None, str | None]:
    """(shell command, message) of a job, formatted; raises ShellFormatError."""
    rule = job.rule
    kind = rule.body.kind if rule.body else "none"
    if kind != "shell" and not rule.message:
        return None, None
    names = job_names(input=job.input, output=job.output, params=job.params,
                      wildcards=job.wildcards, threads=threads, resources=job.resources,
                      log=job.log, config=rule.config_in(wf), rule=rule.name, jobid=job.id,
                      benchmark=job.benchmark)
    glob = rule.globals_in(wf)
    message = format_message(rule.message, names, rule.name, glob) if rule.message else None
    command = None
    if kind == "shell":
        command = format_command(rule.body.command or "", names, rule.name, glob)  # type: ignore[union-attr]
    return command, message


def make_task(wf: Workflow, job: Job, threads: int, command: str | None,
              attempt: int = 1) -> Task:
    """The plain-data Task for a job about to start.

    A shell job's stdout and stderr are appended to its first log file unless the command
    itself mentions `{log}` (then the command decides where its output goes, as in
    `cmd 2> {log}`, and rulekit captures whatever is left)."""
    rule = job.rule
    kind = rule.body.kind if rule.body else "none"
    argv = None
    redirect = None
    if command is not None:
        argv = shell_argv(command, wf.shell_executable, wf.shell_prefix, wf.shell_suffix)
        if job.log and not mentions(rule.body.command or "", "log"):  # type: ignore[union-attr]
            redirect = job.log[0]
    script = None
    config = None
    if kind == "script":
        script = os.path.join(wf.basedir, rule.body.script or "")  # type: ignore[union-attr]
        config = rule.config_in(wf)
    return Task(job.id, rule.name, kind, job.input, job.output, job.params, dict(job.wildcards),
                threads, dict(job.resources), job.log, job.benchmark, argv, script,
                redirect=redirect, config=config, attempt=attempt)
